/**
 * BLOCKING result partition as Flink's sort-merge shuffle (SortMergeResultPartition,
 * FLIP-148; the default for blocking results since 1.15): records collect in an
 * in-memory sort buffer; when it is full (or at finish) it is spilled as one *region* to
 * a single data file per partition on the producer host's local disk, grouped by
 * subpartition; an in-memory index maps (subpartition, region) to file ranges. Readers
 * read their subpartition's ranges region by region, after the producer finished.
 *
 * Model:
 * - Memory: the partition reserves taskmanager.network.sort-shuffle.min-buffers (512) of
 *   the TM budget, as a fixed reservation (Flink's pool has that min and may grow; it
 *   uses min for sorting and write buffers). Sort buffer = min − min(min/2, 16 MiB of
 *   buffers) buffers' worth of bytes (Flink's numBuffersForSort). Released at finish.
 * - Within a region each subpartition's records are packed into buffers of at most the
 *   buffer size (a record may span buffers; its value sits in the buffer with its last
 *   byte); each buffer costs FILE_BUFFER_HEADER_BYTES plus its payload on disk, LZ4
 *   compressed by LZ4_COMPRESSION_RATIO when compression is on (events stay raw).
 * - One disk append per (region, subpartition) chunk, in order, so offsets are known at
 *   issue time; broadcast data (broadcastRecord, watermarks, END_OF_PARTITION) is one
 *   chunk per region that every subpartition's index points to (written once). Switching
 *   between unicast and broadcast spills the other buffer, as Flink does.
 * - The task thread of Flink writes regions synchronously; here the writer is
 *   unavailable while a region write is in flight, so disk bandwidth backpressures it.
 * - finish(): spill what is left, append END_OF_PARTITION as a broadcast region and the
 *   index file (12 bytes per region and subpartition); finished when every append has
 *   completed. No fsync (Flink does not sync shuffle files): a host crash loses the
 *   files, and requests then find no partition.
 * - A reader reads the next chunk of its subpartition when fewer than READ_AHEAD_BUFFERS
 *   of its buffers are queued or held by the consumer; reads go through the disk's FIFO
 *   queue (so many readers interleave, paying seeks on hdd). The TM-wide batch-shuffle
 *   read pool is not modelled.
 *
 * Hash layout (Flink's BoundedBlockingResultPartition, "hash" blocking shuffle; chosen by
 * the shuffle environment when the result has fewer subpartitions than
 * taskmanager.network.sort-shuffle.min-parallelism): the same class with layout "hash",
 * so the reader/credit path, compression and outcome handling are shared.
 * - One data file per subpartition (`shuffle/<id>.<sub>.data`): P producers × C
 *   consumers make P×C files. No sort buffer: each subpartition packs records into its
 *   current buffer and the buffer is appended to its file as soon as it is full (Flink's
 *   BoundedBlockingSubpartition writes every finished buffer), so writes are many small
 *   appends interleaved across files — on hdd nearly every one pays a seek. The OS page
 *   cache, which would coalesce those writes in reality, is not modelled: that makes the
 *   hash layout's write side pessimistic (see scenarios/sort-vs-hash-shuffle).
 * - Memory: numSubpartitions + 1 buffers reserved (Flink's pool minimum for this type).
 * - Broadcast data is copied into every subpartition (Flink's BufferWritingResultPartition
 *   does the same); finish() flushes each partial buffer and appends END_OF_PARTITION to
 *   every file; there is no index file.
 * - A reader reads consecutive buffers of its file in one op, up to its read-ahead budget
 *   (sequential within a file; many readers at once interleave across files).
 *
 * Invariants: chunks are appended in offset order per file; every index entry matches
 * exactly one chunk; nothing is written after finish(); the reservation is returned
 * exactly once.
 */
import { SubpartitionBytes } from "./subpartition-bytes";
import { InvariantError, assert } from "../../../sim/errors";
import type { Chunk, DiskError } from "../../../sim/disk";
import { LATENCY_MARKER, RECORD_HEADER_BYTES, WATERMARK, WATERMARK_BYTES, WATERMARK_STATUS, WATERMARK_STATUS_ACTIVE, WATERMARK_STATUS_BYTES, WATERMARK_STATUS_IDLE, type StreamEvent } from "../buffer";
import type { FixedReservation } from "./buffer-pool";
import { checkRecordBytes } from "./buffer-writing-partition";
import { Fifo } from "../../../sim/fifo";
import { PartitionOutcome } from "./partition-outcome";
import type { ShuffleErrorKind } from "./messages";
import { FILE_BUFFER_HEADER_BYTES, INDEX_ENTRY_BYTES, READ_AHEAD_BUFFERS, compressedSize } from "./params";
import type {
  ManagedPartition,
  OvertakenData,
  ResultPartitionSpec,
  ResultPartitionWriter,
  ShuffleContext,
  SubpartitionView,
  ViewListener,
  ViewOrError,
  WriterState,
} from "./result-partition";
import { ShuffleBuffer, endOfPartitionBuffer, isEndOfPartition } from "./shuffle-buffer";

interface IndexEntry {
  file: string;
  offsetBytes: number;
  sizeBytes: number;
  numBuffers: number;
}

const WRITE_BUFFER_BYTES = 16 * 1024 * 1024;

/** Sort-buffer buffers for a reservation of `minBuffers` (Flink's numBuffersForSort). */
export function sortBufferBuffers(minBuffers: number, bufferSizeBytes: number): number {
  const writeBuffers = Math.min(Math.floor(minBuffers / 2), Math.floor(WRITE_BUFFER_BYTES / bufferSizeBytes));
  return minBuffers - writeBuffers;
}

/** Appends one element to a subpartition's packed buffers. */
function appendPacked(list: ShuffleBuffer[], value: unknown, timestampMs: number, totalBytes: number, bufferSizeBytes: number): void {
  let last = list.length > 0 ? list[list.length - 1]! : undefined;
  let remaining = totalBytes;
  for (;;) {
    if (last === undefined || last.sizeBytes === bufferSizeBytes) {
      last = new ShuffleBuffer();
      list.push(last);
    }
    const take = Math.min(bufferSizeBytes - last.sizeBytes, remaining);
    last.sizeBytes += take;
    remaining -= take;
    if (remaining === 0) break;
  }
  last.values.push(value);
  last.timestamps.push(timestampMs);
}

export type BlockingLayout = "sort-merge" | "hash";

export class SortMergeResultPartition implements ResultPartitionWriter, ManagedPartition {
  readonly type = "BLOCKING" as const;
  /** Hash layout: per-subpartition data files, written buffer by buffer. */
  readonly hashFiles: readonly string[];
  /** Bytes appended to each hash file so far (the next chunk's offset). */
  private readonly hashFileBytes: number[];
  readonly partitionId: string;
  readonly numSubpartitions: number;
  readonly owner: string;
  readonly broadcast: boolean;
  readonly dataFile: string;
  readonly indexFile: string;
  state: WriterState = "producing";
  bytesEmitted = 0;
  private readonly bytesPerSubpartition: SubpartitionBytes;
  bytesSent = 0;
  buffersSent = 0;
  /** Bytes appended to the data file (headers and compression included). */
  fileBytes = 0;
  regions = 0;
  readonly sortBufferCapacityBytes: number;
  private readonly reservation: FixedReservation;
  private reservationReleased = false;
  private maxInUse: number;
  private readonly compression: boolean;
  private readonly bufferSizeBytes: number;
  private readonly unicast: (ShuffleBuffer[] | undefined)[];
  private unicastBytes = 0;
  private broadcastList: ShuffleBuffer[] | undefined = undefined;
  private broadcastBytes = 0;
  private readonly index: IndexEntry[][] = [];
  private outstandingWrites = 0;
  private deferred: { file: string; sizeBytes: number; data: unknown }[] = [];
  private holdDepth = 0;
  private finalIssued = false;
  private availabilityListeners: (() => void)[] = [];
  private availabilityScheduled = false;
  private readonly outcome: PartitionOutcome;
  private readonly views = new Set<SortMergeSubpartitionView>();
  private readonly onAppendDone = (err?: DiskError) => this.appendDone(err);
  private readonly onAvailabilityDue = () => this.availabilityDue();

  constructor(
    private readonly ctx: ShuffleContext,
    spec: ResultPartitionSpec,
    readonly layout: BlockingLayout = "sort-merge",
  ) {
    this.outcome = new PartitionOutcome(ctx.kernel);
    this.partitionId = spec.partitionId;
    this.numSubpartitions = spec.numSubpartitions;
    this.bytesPerSubpartition = new SubpartitionBytes(spec.numSubpartitions);
    this.owner = spec.owner;
    this.broadcast = spec.broadcast === true;
    const p = ctx.params;
    this.compression = p.compression;
    this.bufferSizeBytes = p.bufferSizeBytes;
    this.reservation =
      layout === "hash"
        ? ctx.bufferPool.reserveFixed(spec.numSubpartitions + 1, `${spec.partitionId}@${ctx.host} (hash)`)
        : ctx.bufferPool.reserveFixed(p.sortShuffleMinBuffers, `${spec.partitionId}@${ctx.host} (sort-merge)`);
    this.maxInUse = this.reservation.held;
    this.sortBufferCapacityBytes = sortBufferBuffers(p.sortShuffleMinBuffers, p.bufferSizeBytes) * p.bufferSizeBytes;
    this.unicast = new Array<ShuffleBuffer[] | undefined>(spec.numSubpartitions).fill(undefined);
    for (let i = 0; i < spec.numSubpartitions; i++) this.index.push([]);
    this.dataFile = `shuffle/${spec.partitionId}.data`;
    this.indexFile = `shuffle/${spec.partitionId}.index`;
    this.hashFiles = layout === "hash" ? Array.from({ length: spec.numSubpartitions }, (_, i) => `shuffle/${spec.partitionId}.${i}.data`) : [];
    this.hashFileBytes = this.hashFiles.map(() => 0);
    const disk = ctx.world.disk(ctx.host);
    // A rerun of the same partition id on this host replaces the old files.
    for (const f of this.ownFiles()) disk.delete(f);
  }

  /** Every file this partition may have on disk. */
  ownFiles(): string[] {
    return this.layout === "hash" ? [...this.hashFiles] : [this.dataFile, this.indexFile];
  }

  // ---- metrics ----

  get buffersInUse(): number {
    return this.reservationReleased ? 0 : this.reservation.held;
  }

  get maxBuffersInUseObserved(): number {
    if (!this.reservationReleased && this.reservation.held > this.maxInUse) this.maxInUse = this.reservation.held;
    return this.maxInUse;
  }

  get poolSizeBuffers(): number {
    return this.reservationReleased ? 0 : this.reservation.wanted;
  }

  /** Buffers of this subpartition in the current sort buffer. */
  outputQueueLengthBuffers(subpartition: number): number {
    return this.unicast[subpartition]?.length ?? 0;
  }

  queuedBuffers(): number {
    let n = this.broadcastList?.length ?? 0;
    for (const l of this.unicast) n += l?.length ?? 0;
    return n;
  }

  /** Index entries (region chunks) of a subpartition, for tests. */
  indexOf(subpartition: number): readonly IndexEntry[] {
    return this.index[subpartition] ?? [];
  }

  subpartitionBytes(): number[] {
    return this.bytesPerSubpartition.snapshot();
  }

  // ---- writing ----

  emitRecord(subpartition: number, value: unknown, timestampMs: number, recordBytes: number): void {
    if (!this.accepting("emitRecord")) return;
    // The one unicast on a broadcast partition is a latency marker to a random channel (Flink's BroadcastRecordWriter.randomEmit).
    if (this.broadcast && value !== LATENCY_MARKER) throw new InvariantError(`partition ${this.partitionId} is a broadcast partition: use broadcastRecord`);
    if (!Number.isInteger(subpartition) || subpartition < 0 || subpartition >= this.numSubpartitions) {
      throw new InvariantError(`partition ${this.partitionId}: subpartition ${subpartition} out of range 0..${this.numSubpartitions - 1}`);
    }
    checkRecordBytes(recordBytes, `partition ${this.partitionId}`);
    const total = recordBytes + RECORD_HEADER_BYTES;
    this.bytesEmitted += total;
    this.bytesPerSubpartition.add(subpartition, total);
    if (this.layout === "hash") {
      this.hashAdd(subpartition, value, timestampMs, total);
      return;
    }
    if (this.broadcastBytes > 0) this.spillBroadcast();
    if (this.unicastBytes > 0 && this.unicastBytes + total > this.sortBufferCapacityBytes) this.spillUnicast();
    const list = (this.unicast[subpartition] ??= []);
    appendPacked(list, value, timestampMs, total, this.bufferSizeBytes);
    this.unicastBytes += total;
  }

  broadcastRecord(value: unknown, timestampMs: number, recordBytes: number): void {
    if (!this.accepting("broadcastRecord")) return;
    checkRecordBytes(recordBytes, `partition ${this.partitionId}`);
    this.addBroadcast(value, timestampMs, recordBytes + RECORD_HEADER_BYTES);
  }

  broadcastEvent(event: StreamEvent, _sizeBytes: number): void {
    // Barriers and EndOfData belong to STREAMING jobs, whose partitions are pipelined.
    throw new InvariantError(`partition ${this.partitionId}: ${event.type} on a blocking partition (BATCH jobs do not checkpoint)`);
  }

  prioritizeEvent(event: StreamEvent, _priorityEvent: StreamEvent, _sizeBytes: number): OvertakenData[] {
    throw new InvariantError(`partition ${this.partitionId}: ${event.type} on a blocking partition (BATCH jobs do not checkpoint)`);
  }

  broadcastPriorityEvent(event: StreamEvent, _sizeBytes: number): OvertakenData[] {
    throw new InvariantError(`partition ${this.partitionId}: ${event.type} on a blocking partition (BATCH jobs do not checkpoint)`);
  }

  broadcastWatermark(watermarkMs: number): void {
    if (!this.accepting("broadcastWatermark")) return;
    this.addBroadcast(WATERMARK, watermarkMs, WATERMARK_BYTES);
  }

  broadcastWatermarkStatus(idle: boolean): void {
    if (!this.accepting("broadcastWatermarkStatus")) return;
    this.addBroadcast(WATERMARK_STATUS, idle ? WATERMARK_STATUS_IDLE : WATERMARK_STATUS_ACTIVE, WATERMARK_STATUS_BYTES);
  }

  isAvailable(): boolean {
    return this.ctx.alive() && this.state === "producing" && this.outstandingWrites === 0 && this.deferred.length === 0;
  }

  onAvailable(cb: () => void): void {
    if (!this.ctx.alive() || this.state === "released" || this.state === "failed") return;
    this.availabilityListeners.push(cb);
    if (this.isAvailable()) this.scheduleAvailability();
  }

  hold(): void {
    this.holdDepth++;
  }

  unhold(): void {
    assert(this.holdDepth > 0, `partition ${this.partitionId}: unhold without hold`);
    if (--this.holdDepth > 0 || !this.ctx.alive()) return;
    const deferred = this.deferred;
    this.deferred = [];
    for (const d of deferred) this.issueAppend(d.file, d.sizeBytes, d.data);
  }

  /** Sort-merge partitions have nothing to flush: data leaves in regions. */
  flush(): void {}

  finish(): void {
    if (!this.ctx.alive() || this.state === "released" || this.state === "failed") return;
    if (this.state !== "producing") throw new InvariantError(`partition ${this.partitionId}: finish() called twice`);
    this.state = "finishing";
    if (this.layout === "hash") {
      for (let sub = 0; sub < this.numSubpartitions; sub++) {
        const list = this.unicast[sub];
        this.unicast[sub] = undefined;
        for (const b of list ?? []) this.hashWrite(sub, b);
        this.hashWrite(sub, endOfPartitionBuffer());
      }
      this.finalIssued = true;
      this.availabilityListeners = [];
      this.maybeFinished();
      return;
    }
    if (this.unicastBytes > 0) this.spillUnicast();
    if (this.broadcastBytes > 0) this.spillBroadcast();
    this.broadcastList = [endOfPartitionBuffer()];
    this.spillBroadcast();
    this.append(this.indexFile, this.regions * this.numSubpartitions * INDEX_ENTRY_BYTES, undefined);
    this.finalIssued = true;
    this.availabilityListeners = [];
    this.maybeFinished();
  }

  release(): void {
    this.teardown("released", "partition released");
  }

  fail(reason: string): void {
    this.teardown("failed", reason);
  }

  onFinished(cb: () => void): void {
    this.outcome.onFinished(cb);
  }

  onFailed(cb: (reason: string) => void): void {
    this.outcome.onFailed(cb);
  }

  createView(subpartition: number): ViewOrError {
    if (this.state === "released" || this.state === "failed") return { error: "ProducerFailed", reason: `partition ${this.partitionId} was ${this.state}` };
    if (this.state !== "finished") return { error: "ProducerFailed", reason: `blocking partition ${this.partitionId} is read before its producer finished` };
    const entries = this.index[subpartition];
    if (entries === undefined) return { error: "ProducerFailed", reason: `partition ${this.partitionId} has no subpartition ${subpartition}` };
    const view = new SortMergeSubpartitionView(this, this.ctx, entries);
    this.views.add(view);
    return view;
  }

  /** @internal */
  noteTaken(buffer: ShuffleBuffer): void {
    this.bytesSent += buffer.sizeBytes;
    this.buffersSent++;
  }

  /** @internal */
  viewDone(view: SortMergeSubpartitionView): void {
    this.views.delete(view);
  }

  // ---- internals ----

  private accepting(op: string): boolean {
    if (!this.ctx.alive() || this.state === "released" || this.state === "failed") return false;
    if (this.state !== "producing") throw new InvariantError(`partition ${this.partitionId}: ${op} after finish()`);
    return true;
  }


  private addBroadcast(value: unknown, timestampMs: number, total: number): void {
    this.bytesEmitted += total;
    this.bytesPerSubpartition.add(-1, total);
    if (this.layout === "hash") {
      // Flink's hash partition copies broadcast data into every subpartition.
      for (let sub = 0; sub < this.numSubpartitions; sub++) this.hashAdd(sub, value, timestampMs, total);
      return;
    }
    if (this.unicastBytes > 0) this.spillUnicast();
    if (this.broadcastBytes > 0 && this.broadcastBytes + total > this.sortBufferCapacityBytes) this.spillBroadcast();
    const list = (this.broadcastList ??= []);
    appendPacked(list, value, timestampMs, total, this.bufferSizeBytes);
    this.broadcastBytes += total;
  }

  /** Bytes of one chunk on disk; sets each buffer's compressed size. */
  private chunkBytes(list: ShuffleBuffer[]): number {
    let bytes = 0;
    for (const b of list) {
      if (this.compression && !b.isEvent) b.compressedBytes = compressedSize(b.sizeBytes);
      bytes += FILE_BUFFER_HEADER_BYTES + b.wireBytes;
    }
    return bytes;
  }

  /** Hash layout: packs an element into the subpartition's buffer; full buffers go to its file. */
  private hashAdd(sub: number, value: unknown, timestampMs: number, total: number): void {
    const list = (this.unicast[sub] ??= []);
    appendPacked(list, value, timestampMs, total, this.bufferSizeBytes);
    let full = 0;
    while (full < list.length && list[full]!.sizeBytes === this.bufferSizeBytes) full++;
    if (full === 0) return;
    for (const b of list.splice(0, full)) this.hashWrite(sub, b);
  }

  /** Hash layout: one buffer appended to its subpartition's file. */
  private hashWrite(sub: number, b: ShuffleBuffer): void {
    const sizeBytes = this.chunkBytes([b]);
    const file = this.hashFiles[sub]!;
    this.index[sub]!.push({ file, offsetBytes: this.hashFileBytes[sub]!, sizeBytes, numBuffers: 1 });
    this.hashFileBytes[sub]! += sizeBytes;
    this.fileBytes += sizeBytes;
    this.append(file, sizeBytes, [b]);
  }

  private spillUnicast(): void {
    this.regions++;
    for (let sub = 0; sub < this.numSubpartitions; sub++) {
      const list = this.unicast[sub];
      if (list === undefined) continue;
      this.unicast[sub] = undefined;
      const sizeBytes = this.chunkBytes(list);
      this.index[sub]!.push({ file: this.dataFile, offsetBytes: this.fileBytes, sizeBytes, numBuffers: list.length });
      this.fileBytes += sizeBytes;
      this.append(this.dataFile, sizeBytes, list);
    }
    this.unicastBytes = 0;
  }

  private spillBroadcast(): void {
    const list = this.broadcastList;
    if (list === undefined) return;
    this.broadcastList = undefined;
    this.broadcastBytes = 0;
    this.regions++;
    const sizeBytes = this.chunkBytes(list);
    const entry = { file: this.dataFile, offsetBytes: this.fileBytes, sizeBytes, numBuffers: list.length };
    for (let sub = 0; sub < this.numSubpartitions; sub++) this.index[sub]!.push(entry);
    this.fileBytes += sizeBytes;
    this.append(this.dataFile, sizeBytes, list);
  }

  private append(file: string, sizeBytes: number, data: unknown): void {
    if (this.holdDepth > 0) this.deferred.push({ file, sizeBytes, data });
    else this.issueAppend(file, sizeBytes, data);
  }

  private issueAppend(file: string, sizeBytes: number, data: unknown): void {
    this.outstandingWrites++;
    this.ctx.world.disk(this.ctx.host).append(file, sizeBytes, data, this.onAppendDone);
  }

  private appendDone(err: DiskError | undefined): void {
    this.outstandingWrites--;
    assert(this.outstandingWrites >= 0, `partition ${this.partitionId}: more appends completed than issued`);
    if (this.state === "released" || this.state === "failed") return;
    if (err !== undefined) {
      this.failInternal(`${this.layout} shuffle write of ${this.partitionId} failed: ${err.code} (${err.message})`);
      return;
    }
    if (this.state === "finishing") this.maybeFinished();
    else if (this.isAvailable() && this.availabilityListeners.length > 0) this.runAvailability();
  }

  private maybeFinished(): void {
    if (!this.finalIssued || this.outstandingWrites > 0 || this.deferred.length > 0) return;
    this.state = "finished";
    this.releaseReservation();
    this.outcome.notifyFinished();
  }

  private scheduleAvailability(): void {
    if (this.availabilityScheduled) return;
    this.availabilityScheduled = true;
    this.ctx.kernel.after(0, this.onAvailabilityDue);
  }

  private availabilityDue(): void {
    this.availabilityScheduled = false;
    if (this.isAvailable()) this.runAvailability();
  }

  private runAvailability(): void {
    const cbs = this.availabilityListeners;
    this.availabilityListeners = [];
    for (const cb of cbs) cb();
  }

  private releaseReservation(): void {
    if (this.reservationReleased) return;
    if (this.reservation.held > this.maxInUse) this.maxInUse = this.reservation.held;
    this.reservationReleased = true;
    this.ctx.bufferPool.shrinkFixed(this.reservation, 0);
  }

  private failInternal(reason: string): void {
    this.teardown("failed", reason);
    this.outcome.notifyFailed(reason);
  }

  private teardown(state: "released" | "failed", reason: string): void {
    if (!this.ctx.alive() || this.state === "released" || this.state === "failed") return;
    this.state = state;
    this.unicast.fill(undefined);
    this.broadcastList = undefined;
    this.deferred = [];
    this.availabilityListeners = [];
    this.releaseReservation();
    for (const view of [...this.views]) view.fail("ProducerFailed", reason);
    this.views.clear();
    const disk = this.ctx.world.disk(this.ctx.host);
    for (const f of this.ownFiles()) disk.delete(f);
    this.ctx.unregisterPartition(this);
  }
}

class SortMergeSubpartitionView implements SubpartitionView {
  private listener: ViewListener | undefined = undefined;
  private readonly queue = new Fifo<ShuffleBuffer>();
  private queuedData = 0;
  private nextEntry = 0;
  private reading = false;
  /** Index entries the read in flight covers. */
  private readingEntries = 0;
  /** Data buffers taken by the consumer and not yet recycled. */
  private outstanding = 0;
  private done = false;
  private readonly onRead = (err: DiskError | undefined, chunks: readonly Chunk[]) => this.readDone(err, chunks);

  constructor(
    private readonly partition: SortMergeResultPartition,
    private readonly ctx: ShuffleContext,
    private readonly entries: readonly IndexEntry[],
  ) {}

  setListener(listener: ViewListener): void {
    assert(this.listener === undefined, "subpartition view: listener set twice");
    this.listener = listener;
    this.fill();
  }

  poll(): ShuffleBuffer | undefined {
    if (this.done) return undefined;
    const b = this.queue.shift();
    if (b === undefined) return undefined;
    if (!b.isEvent) {
      this.queuedData--;
      this.outstanding++;
      this.partition.noteTaken(b);
    } else if (isEndOfPartition(b)) {
      this.done = true;
      this.partition.viewDone(this);
    }
    this.fill();
    return b;
  }

  hasNext(): boolean {
    return !this.done && this.queue.length > 0;
  }

  nextIsEvent(): boolean {
    return this.hasNext() && this.queue.peek()!.isEvent;
  }

  backlog(): number {
    return this.queuedData;
  }

  recycle(buffer: ShuffleBuffer): void {
    if (buffer.isEvent) return;
    assert(this.outstanding > 0, "sort-merge view: recycled more buffers than it handed out");
    this.outstanding--;
    this.fill();
  }

  release(): void {
    if (this.done) return;
    this.done = true;
    this.queue.clear();
    this.partition.viewDone(this);
  }

  queued(): number {
    return this.done ? 0 : this.queue.length;
  }

  /** @internal */
  fail(error: ShuffleErrorKind, reason: string): void {
    if (this.done) return;
    this.done = true;
    this.queue.clear();
    this.listener?.onViewFailed(error, reason);
  }

  private fill(): void {
    if (this.done || this.reading || this.listener === undefined || !this.ctx.alive()) return;
    if (this.queue.length + this.outstanding >= READ_AHEAD_BUFFERS || this.nextEntry >= this.entries.length) return;
    const e = this.entries[this.nextEntry]!;
    let n = 1;
    let sizeBytes = e.sizeBytes;
    if (this.partition.layout === "hash") {
      // Consecutive one-buffer chunks of the same file, up to the read-ahead budget, in one op.
      let buffers = this.queue.length + this.outstanding + e.numBuffers;
      for (;;) {
        const next = this.entries[this.nextEntry + n];
        if (next === undefined || next.file !== e.file || next.offsetBytes !== e.offsetBytes + sizeBytes) break;
        if (buffers + next.numBuffers > READ_AHEAD_BUFFERS) break;
        buffers += next.numBuffers;
        sizeBytes += next.sizeBytes;
        n++;
      }
    }
    this.reading = true;
    this.readingEntries = n;
    this.ctx.world.disk(this.ctx.host).read(e.file, e.offsetBytes, sizeBytes, this.onRead);
  }

  private readDone(err: DiskError | undefined, chunks: readonly Chunk[]): void {
    this.reading = false;
    if (this.done) return;
    if (err !== undefined) {
      // ENOENT: the file is gone (released) — Flink reports the partition as not found.
      this.partition.viewDone(this);
      this.fail(err.code === "ENOENT" ? "PartitionNotFound" : "ProducerFailed", `reading ${this.entries[this.nextEntry]?.file ?? this.partition.dataFile}: ${err.code} (${err.message})`);
      return;
    }
    const n = this.readingEntries;
    assert(chunks.length === n, `${this.partition.layout} view of ${this.partition.partitionId}: read ${chunks.length} chunks for ${n} index entries`);
    const wasEmpty = this.queue.length === 0;
    for (let i = 0; i < n; i++) {
      const e = this.entries[this.nextEntry++]!;
      const c = chunks[i]!;
      assert(c.offsetBytes === e.offsetBytes && c.sizeBytes === e.sizeBytes, `${this.partition.layout} view of ${this.partition.partitionId}: index entry does not match a chunk`);
      const buffers = c.data as ShuffleBuffer[];
      assert(buffers.length === e.numBuffers, `${this.partition.layout} view of ${this.partition.partitionId}: chunk holds ${buffers.length} buffers, index says ${e.numBuffers}`);
      for (const b of buffers) {
        this.queue.push(b);
        if (!b.isEvent) this.queuedData++;
      }
    }
    if (wasEmpty && this.queue.length > 0) this.listener?.onDataAvailable();
    this.fill();
  }
}
