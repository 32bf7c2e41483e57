/**
 * HYBRID_FULL / HYBRID_SELECTIVE result partitions (FLIP-235, Flink's HsResultPartition):
 * written like a pipelined partition into memory buffers, readable while the producer
 * runs (but not required to be), and spilled to one data file on the producer's disk.
 *
 * Model:
 * - Each subpartition is a log of finished buffers; a reader walks it in order, taking a
 *   buffer from memory if it is still there, else reading the spilled chunk holding it
 *   (disk.read). Reads use the credit-based path like pipelined ones.
 * - FULL: every buffer is spilled, in batches once 10 finished buffers are unspilled
 *   (and at finish); a buffer leaves memory when it is spilled and either consumed or
 *   under memory pressure. The result can be read again after finish (a new reader
 *   starts from the first buffer, from disk), one reader at a time.
 * - SELECTIVE: only what memory pressure evicts is spilled; consumed buffers are dropped;
 *   one reader ever.
 * - Memory pressure: when the pool's buffers in use (minus those already being evicted)
 *   reach 70 % of its size, 40 % of the size is evicted (spilled first if needed, and
 *   freed once on disk), oldest first — the data not consumed in time. Flink's selective
 *   strategy orders eviction by consumption priority per subpartition; here it is plain
 *   age, across subpartitions.
 * - Pool: min = min(8, n + 1), max unbounded (NettyShuffleUtils), so redistribution gives
 *   hybrid pools the TM's spare buffers; no per-subpartition quota. The producer is
 *   backpressured only when the pool is exhausted and spilling has not freed buffers yet.
 * - Compression (when on) shrinks both the wire and the file size of data buffers.
 * - Finished: SELECTIVE when END_OF_PARTITION is queued; FULL once every spill write has
 *   completed (the file then holds the whole result). Released by the scheduler.
 *
 * Simplifications: no separate index file; chunks are per (spill batch, subpartition)
 * and broadcast buffers are spilled once per subpartition; the 64 MiB read pool is not
 * modelled (read-back buffers are outside the network budget).
 *
 * Invariants (asserted): an entry holds its segment reference iff it is in memory; a
 * chunk's entries belong to one subpartition in log order; buffers are handed to a
 * reader in log order, each once per reader.
 */
import { InvariantError, assert } from "../../../sim/errors";
import type { Chunk, DiskError } from "../../../sim/disk";
import { BufferWritingPartition } from "./buffer-writing-partition";
import { Fifo } from "../../../sim/fifo";
import type { ShuffleErrorKind } from "./messages";
import {
  FILE_BUFFER_HEADER_BYTES,
  HYBRID_FULL_SPILL_TRIGGER_BUFFERS,
  HYBRID_MEMORY_THRESHOLD_RATIO,
  HYBRID_MIN_BUFFERS,
  HYBRID_RELEASE_RATIO,
  MAX_QUEUED_BUFFERS,
  compressedSize,
} from "./params";
import type { ResultPartitionSpec, ShuffleContext, SubpartitionView, ViewListener, ViewOrError } from "./result-partition";
import { endOfPartitionBuffer, isEndOfPartition, type ShuffleBuffer } from "./shuffle-buffer";

const enum Spill {
  None = 0,
  Writing = 1,
  OnDisk = 2,
}

interface SpillChunk {
  readonly offsetBytes: number;
  readonly sizeBytes: number;
  readonly entries: HybridEntry[];
}

class HybridEntry {
  /** Holds a reference on the buffer's segment (events: always "in memory", no segment). */
  inMemory = true;
  spill = Spill.None;
  chunk: SpillChunk | undefined = undefined;
  consumed = false;
  evicting = false;
  /** Read back from disk for the current reader and not yet taken. */
  readyForView = false;
  constructor(
    readonly sub: HybridSubpartition,
    readonly index: number,
    readonly buffer: ShuffleBuffer,
  ) {}
}

class HybridSubpartition {
  readonly entries: HybridEntry[] = [];
  visible = 0;
  visibleData = 0;
  /** Entries before this index are spilled or being spilled (FULL). */
  unspilledFrom = 0;
  view: HybridSubpartitionView | undefined = undefined;
  viewsCreated = 0;
  constructor(readonly index: number) {}
}

export class HybridResultPartition extends BufferWritingPartition {
  readonly mode: "FULL" | "SELECTIVE";
  readonly dataFile: string;
  /** Bytes appended to the spill file. */
  fileBytes = 0;
  spilledBuffers = 0;
  private readonly subs: HybridSubpartition[] = [];
  private readonly eop = endOfPartitionBuffer();
  /** Entries holding memory, in the order they were finished (stale ones skipped lazily). */
  private readonly memoryOrder = new Fifo<HybridEntry>();
  private unspilledCount = 0;
  private evictingCount = 0;
  private outstandingWrites = 0;
  private finishPending = false;
  private evictionMarked = false;
  private readonly compression: boolean;

  constructor(ctx: ShuffleContext, spec: ResultPartitionSpec) {
    const n = spec.numSubpartitions;
    super(ctx, spec, {
      label: `${spec.partitionId}@${ctx.host}`,
      minBuffers: Math.min(HYBRID_MIN_BUFFERS, n + 1),
      maxBuffers: Infinity,
      numSubpartitions: n,
      maxBuffersPerChannel: Infinity,
      maxOverdraftBuffers: ctx.params.maxOverdraftBuffersPerGate,
    });
    this.mode = spec.type === "HYBRID_FULL" ? "FULL" : "SELECTIVE";
    this.compression = ctx.params.compression;
    for (let i = 0; i < n; i++) this.subs.push(new HybridSubpartition(i));
    this.dataFile = `shuffle/${spec.partitionId}.hybrid`;
    ctx.world.disk(ctx.host).delete(this.dataFile);
  }

  outputQueueLengthBuffers(subpartition: number): number {
    const sp = this.subs[subpartition];
    if (sp === undefined) return 0;
    return sp.entries.length - (sp.view?.position ?? 0);
  }

  queuedBuffers(): number {
    let n = 0;
    for (let i = 0; i < this.subs.length; i++) n += this.outputQueueLengthBuffers(i);
    return n;
  }

  /** Data buffers held in memory now. */
  get buffersInMemory(): number {
    let n = 0;
    for (const sp of this.subs) for (const e of sp.entries) if (e.inMemory && !e.buffer.isEvent) n++;
    return n;
  }

  createView(subpartition: number): ViewOrError {
    if (this.state === "released" || this.state === "failed") return { error: "ProducerFailed", reason: `partition ${this.partitionId} was released` };
    const sp = this.subs[subpartition];
    if (sp === undefined) return { error: "ProducerFailed", reason: `partition ${this.partitionId} has no subpartition ${subpartition}` };
    if (sp.view !== undefined) return { error: "ProducerFailed", reason: `subpartition ${subpartition} of ${this.partitionId} is being consumed` };
    if (this.mode === "SELECTIVE" && sp.viewsCreated > 0) {
      return { error: "ProducerFailed", reason: `subpartition ${subpartition} of selective hybrid partition ${this.partitionId} can only be consumed once` };
    }
    sp.viewsCreated++;
    sp.view = new HybridSubpartitionView(this, this.ctx, sp);
    return sp.view;
  }

  protected addSlice(target: number, slice: ShuffleBuffer): void {
    if (this.compression && slice.compressedBytes < 0) slice.compressedBytes = compressedSize(slice.sizeBytes);
    if (target >= 0) this.append(this.subs[target]!, slice);
    else for (const sp of this.subs) this.append(sp, slice);
    if (this.mode === "FULL" && this.unspilledCount >= HYBRID_FULL_SPILL_TRIGGER_BUFFERS) this.spillUnspilled();
    this.checkMemoryPressure();
  }

  protected publishAll(): void {
    for (const sp of this.subs) this.publish(sp);
  }

  protected replaceWithPriority(old: ShuffleBuffer, _priority: ShuffleBuffer, _out: ShuffleBuffer[][]): void {
    throw new InvariantError(`partition ${this.partitionId}: ${old.event?.type} as a priority event on a hybrid partition`);
  }

  protected liveSubpartitions(): number {
    return this.numSubpartitions;
  }

  protected prependEvent(buffer: ShuffleBuffer, _out: ShuffleBuffer[][]): void {
    // Hybrid partitions belong to BATCH jobs, which do not checkpoint.
    throw new InvariantError(`partition ${this.partitionId}: ${buffer.event?.type} as a priority event on a hybrid partition`);
  }

  protected addEndOfPartition(): void {
    for (const sp of this.subs) this.append(sp, this.eop);
  }

  protected subpartitionAccepts(): boolean {
    return true;
  }

  protected afterFinish(): void {
    if (this.mode === "SELECTIVE") {
      this.notifyFinished();
      return;
    }
    this.spillUnspilled();
    this.finishPending = true;
    if (this.outstandingWrites === 0) this.notifyFinished();
  }

  protected dropData(error: ShuffleErrorKind, reason: string): void {
    for (const sp of this.subs) {
      for (const e of sp.entries) this.freeMemory(e);
      sp.view?.fail(error, reason);
    }
    this.memoryOrder.clear();
    this.ctx.world.disk(this.ctx.host).delete(this.dataFile);
  }

  // ---- for the view ----

  /** @internal a reader took the entry. */
  taken(e: HybridEntry): void {
    e.consumed = true;
    if (!e.buffer.isEvent) {
      this.bytesSent += e.buffer.sizeBytes;
      this.buffersSent++;
    }
    if (this.mode === "SELECTIVE" || e.spill === Spill.OnDisk) this.freeMemory(e);
  }

  /** @internal */
  viewEnded(view: HybridSubpartitionView): void {
    const sp = view.sub;
    if (sp.view !== view) return;
    sp.view = undefined;
    // Read-back buffers belonged to that reader; a later one reads them again.
    for (let i = view.position; i < sp.entries.length; i++) sp.entries[i]!.readyForView = false;
  }

  // ---- internals ----

  private append(sp: HybridSubpartition, b: ShuffleBuffer): void {
    assert(sp.entries.length < MAX_QUEUED_BUFFERS, `partition ${this.partitionId}: subpartition ${sp.index} holds ${MAX_QUEUED_BUFFERS} buffers`);
    const e = new HybridEntry(sp, sp.entries.length, b);
    sp.entries.push(e);
    if (b.segment !== undefined) {
      b.segment.retain();
      this.memoryOrder.push(e);
    }
    if (this.mode === "FULL") this.unspilledCount++;
    if (this.holdDepth === 0) this.publish(sp);
  }

  private publish(sp: HybridSubpartition): void {
    const from = sp.visible;
    const to = sp.entries.length;
    if (from === to) return;
    for (let i = from; i < to; i++) if (!sp.entries[i]!.buffer.isEvent) sp.visibleData++;
    sp.visible = to;
    sp.view?.checkAvailable();
  }

  /** Drops the entry's memory (its data stays readable from the file if spilled). */
  private freeMemory(e: HybridEntry): void {
    if (!e.inMemory || e.buffer.segment === undefined) return;
    e.inMemory = false;
    if (e.evicting) {
      e.evicting = false;
      this.evictingCount--;
    }
    e.buffer.segment.release();
  }

  /** FULL: spills every entry not yet spilled, one chunk per subpartition. */
  private spillUnspilled(): void {
    for (const sp of this.subs) {
      if (sp.unspilledFrom === sp.entries.length) continue;
      const batch = sp.entries.slice(sp.unspilledFrom);
      sp.unspilledFrom = sp.entries.length;
      this.writeChunk(batch);
    }
    this.unspilledCount = 0;
  }

  private writeChunk(entries: HybridEntry[]): void {
    let sizeBytes = 0;
    for (const e of entries) sizeBytes += FILE_BUFFER_HEADER_BYTES + e.buffer.wireBytes;
    const chunk: SpillChunk = { offsetBytes: this.fileBytes, sizeBytes, entries };
    this.fileBytes += sizeBytes;
    for (const e of entries) {
      assert(e.spill === Spill.None, `partition ${this.partitionId}: buffer ${e.index} of subpartition ${e.sub.index} spilled twice`);
      e.spill = Spill.Writing;
      e.chunk = chunk;
    }
    this.spilledBuffers += entries.length;
    this.outstandingWrites++;
    this.ctx.world.disk(this.ctx.host).append(this.dataFile, sizeBytes, entries.map((e) => e.buffer), (err) => this.spillDone(chunk, err));
  }

  private spillDone(chunk: SpillChunk, err: DiskError | undefined): void {
    this.outstandingWrites--;
    if (this.state === "released" || this.state === "failed") return;
    if (err !== undefined) {
      this.failInternal(`hybrid shuffle spill of ${this.partitionId} failed: ${err.code} (${err.message})`);
      return;
    }
    const sp = chunk.entries[0]!.sub;
    for (const e of chunk.entries) {
      e.spill = Spill.OnDisk;
      if (e.evicting || (e.consumed && this.mode === "FULL")) this.freeMemory(e);
    }
    sp.view?.fill();
    if (this.finishPending && this.outstandingWrites === 0) {
      this.finishPending = false;
      this.notifyFinished();
    }
  }

  /** Evicts the oldest data in memory when the pool runs full. */
  private checkMemoryPressure(): void {
    const size = this.pool.size;
    if (this.pool.requested - this.evictingCount < Math.ceil(HYBRID_MEMORY_THRESHOLD_RATIO * size)) return;
    const target = Math.max(1, Math.ceil(HYBRID_RELEASE_RATIO * size));
    if (!this.evictionMarked) {
      this.evictionMarked = true;
      this.ctx.mark("network.hybridEviction");
    }
    let chosen = 0;
    const toSpill = new Map<HybridSubpartition, HybridEntry[]>();
    for (let i = 0; i < this.memoryOrder.length && chosen < target; ) {
      const e = this.memoryOrder.at(i)!;
      if (!e.inMemory) {
        if (i === 0) this.memoryOrder.shift();
        else i++;
        continue;
      }
      i++;
      if (e.evicting) continue;
      chosen++;
      if (e.spill === Spill.OnDisk) {
        this.freeMemory(e);
        e.sub.view?.fill();
        continue;
      }
      e.evicting = true;
      this.evictingCount++;
      if (e.spill === Spill.None && this.mode === "SELECTIVE") {
        let list = toSpill.get(e.sub);
        if (list === undefined) toSpill.set(e.sub, (list = []));
        list.push(e);
      }
    }
    if (this.mode === "FULL") this.spillUnspilled();
    for (const list of toSpill.values()) {
      list.sort((a, b) => a.index - b.index);
      this.writeChunk(list);
    }
  }
}

class HybridSubpartitionView implements SubpartitionView {
  /** Index of the next entry to hand out. */
  position = 0;
  private listener: ViewListener | undefined = undefined;
  private done = false;
  private reading = false;
  private dataTaken = 0;
  /** Data buffers handed out from memory (their segment is retained until recycled). */
  private readonly fromMemory = new Set<ShuffleBuffer>();
  private readonly onRead = (err: DiskError | undefined, chunks: readonly Chunk[]) => this.readDone(err, chunks);

  constructor(
    private readonly partition: HybridResultPartition,
    private readonly ctx: ShuffleContext,
    readonly sub: HybridSubpartition,
  ) {}

  setListener(listener: ViewListener): void {
    assert(this.listener === undefined, "subpartition view: listener set twice");
    this.listener = listener;
    this.fill();
    this.checkAvailable();
  }

  poll(): ShuffleBuffer | undefined {
    if (!this.hasNext()) {
      this.fill();
      return undefined;
    }
    const e = this.sub.entries[this.position]!;
    const b = e.buffer;
    if (e.readyForView) {
      e.readyForView = false;
    } else if (b.segment !== undefined) {
      b.segment.retain();
      this.fromMemory.add(b);
    }
    this.position++;
    if (!b.isEvent) this.dataTaken++;
    this.partition.taken(e);
    if (isEndOfPartition(b)) {
      this.done = true;
      this.partition.viewEnded(this);
    }
    this.fill();
    return b;
  }

  hasNext(): boolean {
    if (this.done || this.position >= this.sub.visible) return false;
    const e = this.sub.entries[this.position]!;
    return e.readyForView || e.inMemory;
  }

  nextIsEvent(): boolean {
    return this.hasNext() && this.sub.entries[this.position]!.buffer.isEvent;
  }

  backlog(): number {
    return this.sub.visibleData - this.dataTaken;
  }

  recycle(buffer: ShuffleBuffer): void {
    if (this.fromMemory.delete(buffer)) buffer.segment!.release();
  }

  release(): void {
    if (this.done) return;
    this.done = true;
    this.partition.viewEnded(this);
  }

  queued(): number {
    return this.done ? 0 : this.sub.visible - this.position;
  }

  /**
   * @internal tells the listener when something is readable. Not deduplicated here: an
   * eviction can take the next buffer out of memory between polls, so "already told" would
   * go stale; listeners ignore repeats (a queued reader, a pending channel notification).
   */
  checkAvailable(): void {
    if (this.listener !== undefined && this.hasNext()) this.listener.onDataAvailable();
  }

  /** @internal reads the chunk of the next entry when it is only on disk. */
  fill(): void {
    if (this.done || this.reading || this.listener === undefined || !this.ctx.alive()) return;
    if (this.position >= this.sub.visible) return;
    const e = this.sub.entries[this.position]!;
    if (e.inMemory || e.readyForView || e.spill !== Spill.OnDisk) return;
    const chunk = e.chunk!;
    this.reading = true;
    this.ctx.world.disk(this.ctx.host).read(this.partition.dataFile, chunk.offsetBytes, chunk.sizeBytes, this.onRead);
  }

  /** @internal */
  fail(error: ShuffleErrorKind, reason: string): void {
    if (this.done) return;
    this.done = true;
    this.partition.viewEnded(this);
    this.listener?.onViewFailed(error, reason);
  }

  private readDone(err: DiskError | undefined, chunks: readonly Chunk[]): void {
    this.reading = false;
    if (this.done) return;
    if (err !== undefined) {
      this.fail(err.code === "ENOENT" ? "PartitionNotFound" : "ProducerFailed", `reading ${this.partition.dataFile}: ${err.code} (${err.message})`);
      return;
    }
    const e = this.sub.entries[this.position]!;
    const chunk = e.chunk!;
    assert(chunks.length === 1 && chunks[0]!.offsetBytes === chunk.offsetBytes, `hybrid view of ${this.partition.partitionId}: spilled chunk not found`);
    for (const c of chunk.entries) {
      if (c.index >= this.position && !c.inMemory) c.readyForView = true;
    }
    this.checkAvailable();
    this.fill();
  }
}
