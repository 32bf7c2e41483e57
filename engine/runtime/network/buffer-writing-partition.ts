/**
 * The write path shared by pipelined and hybrid partitions (Flink's
 * BufferWritingResultPartition + RecordWriter's OutputFlusher): records are appended to
 * the current buffer of their subpartition; a full buffer is finished and a new one is
 * requested from the partition's LocalBufferPool. Subclasses decide where finished
 * buffers go.
 *
 * Model:
 * - A record takes recordBytes + RECORD_HEADER_BYTES and may span buffers; its value sits
 *   in the buffer holding its last byte (where the consumer can deserialize it).
 * - Unicast and broadcast builders are exclusive, as in Flink: a broadcast element
 *   (broadcastRecord, every watermark) finishes all unicast buffers and goes into one
 *   shared buffer queued in every subpartition; the next unicast record finishes it.
 * - A flush turns the written part of a buffer into a sendable slice; the builder keeps
 *   filling the same segment (Flink's BufferConsumer slices share the MemorySegment).
 * - When no buffer can be had (pool and overdraft exhausted) the rest of the element and
 *   everything after it wait in `blocked`, in order — the model of a task thread blocked
 *   in requestBufferBuilderBlocking — and are written as buffers come back. The writer is
 *   unavailable meanwhile; finish() completes after them.
 * - Buffer timeout T > 0: while some partly filled buffer exists, one kernel timer flushes
 *   all subpartitions at the next point of the grid creation + k·T (the OutputFlusher
 *   thread sleeps T between flushes); T = 0 flushes after every element.
 * - hold()/unhold(): slices finished while held are queued but not visible to readers.
 *
 * Invariants: every segment reference is dropped exactly once (on send/recycle, on
 * release or when the builder closes); nothing is written after finish(); the blocked
 * queue is bounded by MAX_BLOCKED_ELEMENTS.
 */
import { SubpartitionBytes } from "./subpartition-bytes";
import { InvariantError, assert } from "../../../sim/errors";
import type { TimerHandle } from "../../../sim/kernel";
import { LATENCY_MARKER, RECORD_HEADER_BYTES, WATERMARK, WATERMARK_BYTES, WATERMARK_STATUS, WATERMARK_STATUS_ACTIVE, WATERMARK_STATUS_BYTES, WATERMARK_STATUS_IDLE, isRecordValue, type StreamEvent } from "../buffer";
import { Grant, type LocalBufferPool, type LocalPoolSpec } from "./buffer-pool";
import { Fifo } from "../../../sim/fifo";
import { PartitionOutcome } from "./partition-outcome";
import { MAX_BLOCKED_ELEMENTS } from "./params";
import type {
  ManagedPartition,
  OvertakenData,
  PartitionType,
  ResultPartitionSpec,
  ResultPartitionWriter,
  ShuffleContext,
  ViewOrError,
  WriterState,
} from "./result-partition";
import { Segment, ShuffleBuffer } from "./shuffle-buffer";

interface Builder {
  segment: Segment;
  /** Bytes this buffer takes before it is finished: the segment size, or less when debloated. */
  capacity: number;
  usedBytes: number;
  /** The slice being filled: written bytes since the last flush of this builder. */
  slice: ShuffleBuffer;
}

/** A blocked element's target when it is an event for every subpartition. */
const EVENT_TARGET = -2;

interface BlockedElement {
  /** Subpartition, −1 for broadcast, EVENT_TARGET for an event (value: the StreamEvent). */
  target: number;
  value: unknown;
  timestampMs: number;
  remainingBytes: number;
}

/** Checks a caller-supplied size. */
export function checkRecordBytes(recordBytes: number, what: string): void {
  if (!Number.isSafeInteger(recordBytes) || recordBytes < 0) {
    throw new InvariantError(`${what}: record size must be a whole number of bytes ≥ 0, got ${recordBytes}`);
  }
}

export abstract class BufferWritingPartition implements ResultPartitionWriter, ManagedPartition {
  readonly partitionId: string;
  readonly type: PartitionType;
  readonly numSubpartitions: number;
  readonly owner: string;
  readonly broadcast: boolean;
  state: WriterState = "producing";
  bytesEmitted = 0;
  private readonly bytesPerSubpartition: SubpartitionBytes;
  bytesSent = 0;
  buffersSent = 0;
  recordsEmitted = 0;

  protected readonly pool: LocalBufferPool;
  protected holdDepth = 0;
  protected readonly bufferSizeBytes: number;
  private readonly builders: (Builder | undefined)[];
  /** Buffer size per subpartition as its consumer announced it (debloating), bytes. */
  private readonly subpartitionBufferBytes: number[];
  private broadcastBuilder: Builder | undefined = undefined;
  private readonly blocked = new Fifo<BlockedElement>();
  private readonly bufferTimeoutNs: number;
  private readonly gridOriginNs: number;
  private flusherTimer: TimerHandle = -1;
  private availabilityListeners: (() => void)[] = [];
  private armed = false;
  private readonly outcome: PartitionOutcome;
  /** Events whose sending someone waits for (timeoutable barriers), by event. */
  private readonly tracked = new Map<StreamEvent, { buffer: ShuffleBuffer | undefined; remaining: number; onSent: () => void }>();
  private overdraftMarked = false;
  private blockedMarked = false;
  private readonly onFlusherDue = () => this.flusherDue();
  private readonly onArmedDue = () => this.armedDue();

  constructor(
    protected readonly ctx: ShuffleContext,
    spec: ResultPartitionSpec,
    poolSpec: LocalPoolSpec,
  ) {
    this.outcome = new PartitionOutcome(ctx.kernel);
    this.partitionId = spec.partitionId;
    this.type = spec.type;
    this.numSubpartitions = spec.numSubpartitions;
    this.bytesPerSubpartition = new SubpartitionBytes(spec.numSubpartitions);
    this.owner = spec.owner;
    this.broadcast = spec.broadcast === true;
    this.bufferSizeBytes = ctx.params.bufferSizeBytes;
    this.bufferTimeoutNs = ctx.params.bufferTimeoutNs;
    this.gridOriginNs = ctx.kernel.now;
    this.builders = new Array<Builder | undefined>(spec.numSubpartitions).fill(undefined);
    this.subpartitionBufferBytes = new Array<number>(spec.numSubpartitions).fill(this.bufferSizeBytes);
    this.pool = ctx.bufferPool.createPool(poolSpec);
  }

  // ---- subclass hooks ----

  /** A finished slice for `target` (−1: every subpartition); the subclass takes references. */
  protected abstract addSlice(target: number, slice: ShuffleBuffer): void;
  /** The hold ended: make everything queued visible. */
  protected abstract publishAll(): void;
  /**
   * Puts a priority event at the head of every subpartition and appends the data buffers
   * it overtook (queued, not yet sent) to `out[subpartition]`. Partitions that cannot
   * reorder (blocking, hybrid) throw.
   */
  protected abstract prependEvent(buffer: ShuffleBuffer, out: ShuffleBuffer[][]): void;
  /**
   * Replaces `old` wherever it still waits in a subpartition by `priority` at the head,
   * appending the data buffers queued ahead of it to `out[subpartition]`.
   */
  protected abstract replaceWithPriority(old: ShuffleBuffer, priority: ShuffleBuffer, out: ShuffleBuffer[][]): void;
  /** Subpartitions whose reader has not gone away. */
  protected abstract liveSubpartitions(): number;
  /** Queue END_OF_PARTITION in every subpartition. */
  protected abstract addEndOfPartition(): void;
  /** False once the subpartition's reader went away: its output is discarded. */
  protected abstract subpartitionAccepts(subpartition: number): boolean;
  /** After END_OF_PARTITION is queued; must call notifyFinished() when the partition is finished. */
  protected abstract afterFinish(): void;
  /** Release or failure: drop queued data and tell readers. */
  protected abstract dropData(error: "ProducerFailed", reason: string): void;
  abstract createView(subpartition: number): ViewOrError;
  abstract outputQueueLengthBuffers(subpartition: number): number;
  abstract queuedBuffers(): number;

  // ---- metrics ----

  get buffersInUse(): number {
    return this.pool.requested;
  }

  get maxBuffersInUseObserved(): number {
    return this.pool.maxRequestedObserved;
  }

  get poolSizeBuffers(): number {
    return this.pool.size;
  }

  /** The pool's bounds, for tests and metrics. */
  get poolMaxBuffers(): number {
    return this.pool.maxBuffers;
  }

  get blockedElements(): number {
    return this.blocked.length;
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
    this.recordsEmitted++;
    this.emit(subpartition, value, timestampMs, recordBytes + RECORD_HEADER_BYTES);
  }

  broadcastRecord(value: unknown, timestampMs: number, recordBytes: number): void {
    if (!this.accepting("broadcastRecord")) return;
    checkRecordBytes(recordBytes, `partition ${this.partitionId}`);
    this.recordsEmitted++;
    this.emit(-1, value, timestampMs, recordBytes + RECORD_HEADER_BYTES);
  }

  broadcastWatermark(watermarkMs: number): void {
    if (!this.accepting("broadcastWatermark")) return;
    this.emit(-1, WATERMARK, watermarkMs, WATERMARK_BYTES);
  }

  broadcastWatermarkStatus(idle: boolean): void {
    if (!this.accepting("broadcastWatermarkStatus")) return;
    this.emit(-1, WATERMARK_STATUS, idle ? WATERMARK_STATUS_IDLE : WATERMARK_STATUS_ACTIVE, WATERMARK_STATUS_BYTES);
  }

  broadcastEvent(event: StreamEvent, sizeBytes: number, onSent?: () => void): void {
    if (!this.accepting("broadcastEvent")) return;
    if (onSent !== undefined) this.tracked.set(event, { buffer: undefined, remaining: 0, onSent });
    // Behind blocked output, in order: a barrier never overtakes records (aligned checkpoints).
    if (this.blocked.length > 0) this.pushBlocked(EVENT_TARGET, event, NaN, sizeBytes);
    else this.writeEvent(event, sizeBytes);
  }

  /**
   * Buffer debloating: the consumer of `subpartition` wants buffers of this many bytes.
   * Buffers started from now on are finished at that size (Flink trims new BufferBuilders);
   * broadcast buffers take the smallest size of all subpartitions.
   */
  setSubpartitionBufferSize(subpartition: number, bytes: number): void {
    if (subpartition < 0 || subpartition >= this.numSubpartitions) throw new InvariantError(`partition ${this.partitionId}: no subpartition ${subpartition}`);
    this.subpartitionBufferBytes[subpartition] = Math.max(1, Math.min(this.bufferSizeBytes, Math.floor(bytes)));
  }

  broadcastPriorityEvent(event: StreamEvent, sizeBytes: number): OvertakenData[] {
    if (!this.accepting("broadcastPriorityEvent")) return [];
    if (this.broadcast) throw new InvariantError(`partition ${this.partitionId}: broadcast exchanges stay aligned (no priority barriers)`);
    return this.jumpAhead(eventBuffer(event, sizeBytes), this.blocked.length);
  }

  isAvailable(): boolean {
    return this.ctx.alive() && this.state === "producing" && this.blocked.length === 0 && this.pool.isAvailable();
  }

  onAvailable(cb: () => void): void {
    if (!this.ctx.alive() || this.state === "released" || this.state === "failed") return;
    this.availabilityListeners.push(cb);
    this.arm();
  }

  hold(): void {
    this.holdDepth++;
  }

  unhold(): void {
    assert(this.holdDepth > 0, `partition ${this.partitionId}: unhold without hold`);
    if (--this.holdDepth === 0 && this.ctx.alive() && (this.state === "producing" || this.state === "finishing" || this.state === "finished")) {
      this.publishAll();
    }
  }

  flush(): void {
    if (!this.ctx.alive() || (this.state !== "producing" && this.state !== "finishing")) return;
    this.flushAll();
  }

  finish(): void {
    if (!this.ctx.alive() || this.state === "released" || this.state === "failed") return;
    if (this.state !== "producing") throw new InvariantError(`partition ${this.partitionId}: finish() called twice`);
    this.state = "finishing";
    if (this.blocked.length === 0) this.completeFinish();
    else this.arm();
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

  // ---- for subclasses ----

  /** Runs the finished callbacks in a kernel event. */
  protected notifyFinished(): void {
    this.outcome.notifyFinished();
  }

  /** The partition failed by itself (a disk error): readers and onFailed callbacks learn why. */
  protected failInternal(reason: string): void {
    if (this.state === "released" || this.state === "failed") return;
    this.teardown("failed", reason);
    this.outcome.notifyFailed(reason);
  }

  /** Drops the builder of one subpartition whose reader went away. */
  protected dropBuilder(subpartition: number): void {
    const b = this.builders[subpartition];
    if (b === undefined) return;
    this.builders[subpartition] = undefined;
    b.segment.release();
  }

  // ---- internals ----

  private accepting(op: string): boolean {
    if (!this.ctx.alive() || this.state === "released" || this.state === "failed") return false;
    if (this.state !== "producing") throw new InvariantError(`partition ${this.partitionId}: ${op} after finish()`);
    return true;
  }

  private emit(target: number, value: unknown, timestampMs: number, totalBytes: number): void {
    this.bytesEmitted += totalBytes;
    this.bytesPerSubpartition.add(target, totalBytes);
    if (this.blocked.length > 0) {
      this.pushBlocked(target, value, timestampMs, totalBytes);
      return;
    }
    const remaining = this.write(target, value, timestampMs, totalBytes);
    if (remaining > 0) {
      this.pushBlocked(target, value, timestampMs, remaining);
      return;
    }
    this.afterElement(target);
  }

  private afterElement(target: number): void {
    if (this.bufferTimeoutNs === 0) {
      if (target >= 0) this.flushBuilder(target);
      else this.flushBuilder(-1);
    } else if (this.bufferTimeoutNs > 0 && this.flusherTimer < 0) {
      const b = target >= 0 ? this.builders[target] : this.broadcastBuilder;
      if (b !== undefined && b.slice.sizeBytes > 0) {
        const k = Math.floor((this.ctx.kernel.now - this.gridOriginNs) / this.bufferTimeoutNs) + 1;
        this.flusherTimer = this.ctx.kernel.schedule(this.gridOriginNs + k * this.bufferTimeoutNs, this.onFlusherDue);
      }
    }
  }

  private pushBlocked(target: number, value: unknown, timestampMs: number, remainingBytes: number): void {
    if (this.blocked.length >= MAX_BLOCKED_ELEMENTS) {
      throw new InvariantError(`partition ${this.partitionId}: more than ${MAX_BLOCKED_ELEMENTS} output elements wait for buffers (the task ignored isAvailable())`);
    }
    this.blocked.push({ target, value, timestampMs, remainingBytes });
    if (!this.blockedMarked) {
      this.blockedMarked = true;
      this.ctx.mark("network.blockedMidRecord");
    }
    this.arm();
  }

  /** Finishes every open buffer, then queues the event in every subpartition. */
  private writeEvent(event: StreamEvent, sizeBytes: number): void {
    this.ensureMode(-1);
    this.finishBuilder(-1);
    const b = eventBuffer(event, sizeBytes);
    const t = this.tracked.get(event);
    if (t !== undefined) {
      t.buffer = b;
      t.remaining = this.liveSubpartitions();
    }
    this.addSlice(-1, b);
    if (t !== undefined && t.remaining === 0) this.eventSent(event);
  }

  /** @internal a reader took an event buffer from a subpartition. */
  eventTaken(buffer: ShuffleBuffer): void {
    const event = buffer.event!;
    const t = this.tracked.get(event);
    if (t === undefined || t.buffer !== buffer) return;
    if (--t.remaining === 0) this.eventSent(event);
  }

  private eventSent(event: StreamEvent): void {
    const t = this.tracked.get(event);
    if (t === undefined) return;
    this.tracked.delete(event);
    t.onSent();
  }

  prioritizeEvent(event: StreamEvent, priorityEvent: StreamEvent, sizeBytes: number): OvertakenData[] {
    const t = this.tracked.get(event);
    if (t === undefined || !this.ctx.alive() || (this.state !== "producing" && this.state !== "finishing")) return [];
    // Nothing of it waits any more; the caller takes over (its onSent will not run).
    this.tracked.delete(event);
    const priority = eventBuffer(priorityEvent, sizeBytes);
    if (t.buffer !== undefined) {
      const overtaken = this.emptyOvertaken();
      this.replaceWithPriority(t.buffer, priority, overtaken);
      return toOvertakenData(overtaken);
    }
    // Not written yet (behind records waiting for buffers): it leaves the blocked queue and
    // goes to the head now; the records before it there are before it still.
    let at = -1;
    for (let i = 0; i < this.blocked.length; i++) if (this.blocked.at(i)!.target === EVENT_TARGET && this.blocked.at(i)!.value === event) at = i;
    const rest: BlockedElement[] = [];
    for (let el = this.blocked.shift(); el !== undefined; el = this.blocked.shift()) rest.push(el);
    rest.forEach((el, i) => i !== at && this.blocked.push(el));
    return this.jumpAhead(priority, at);
  }

  /**
   * Puts a priority event at the head of every subpartition, after finishing the open
   * buffers; returns the data it overtook: the queued data, then the first `blockedBefore`
   * records waiting for a buffer (they are written after it, but belong before it).
   */
  private jumpAhead(priority: ShuffleBuffer, blockedBefore: number): OvertakenData[] {
    this.ensureMode(-1);
    this.finishBuilder(-1);
    const overtaken = this.emptyOvertaken();
    this.prependEvent(priority, overtaken);
    const out = toOvertakenData(overtaken, false);
    for (let i = 0; i < blockedBefore; i++) {
      const el = this.blocked.at(i)!;
      if (el.target === EVENT_TARGET) continue;
      const targets = el.target >= 0 ? [el.target] : out.map((_, s) => s);
      for (const t of targets) appendRecords(out[t]!, [el.value], [el.timestampMs], el.remainingBytes);
    }
    return out.filter((d) => d.values.length > 0);
  }

  private emptyOvertaken(): ShuffleBuffer[][] {
    return Array.from({ length: this.numSubpartitions }, () => []);
  }

  /** Writes what fits; returns the bytes still to write (0: the element is complete). */
  private write(target: number, value: unknown, timestampMs: number, remainingBytes: number): number {
    this.ensureMode(target);
    if (target >= 0 && !this.subpartitionAccepts(target)) return 0;
    let remaining = remainingBytes;
    for (;;) {
      let b = target >= 0 ? this.builders[target] : this.broadcastBuilder;
      if (b === undefined) {
        b = this.newBuilder(target);
        if (b === undefined) return remaining;
      }
      const take = Math.min(b.capacity - b.usedBytes, remaining);
      b.usedBytes += take;
      b.slice.sizeBytes += take;
      remaining -= take;
      if (remaining === 0) {
        b.slice.values.push(value);
        b.slice.timestamps.push(timestampMs);
      }
      if (b.usedBytes === b.capacity) this.finishBuilder(target);
      if (remaining === 0) return 0;
    }
  }

  private ensureMode(target: number): void {
    if (target >= 0) {
      if (this.broadcastBuilder !== undefined) this.finishBuilder(-1);
    } else {
      for (let i = 0; i < this.numSubpartitions; i++) if (this.builders[i] !== undefined) this.finishBuilder(i);
    }
  }

  private newBuilder(target: number): Builder | undefined {
    // Flink accounts broadcast buffers to subpartition 0 (requestNewBufferBuilderFromPool(0)).
    const acct = target >= 0 ? target : 0;
    const grant = this.pool.request(acct);
    if (grant === Grant.None) return undefined;
    if (grant === Grant.Overdraft && !this.overdraftMarked) {
      this.overdraftMarked = true;
      this.ctx.mark("network.overdraftUsed");
    }
    const segment = new Segment(this.pool, acct);
    const capacity = target >= 0 ? this.subpartitionBufferBytes[target]! : Math.min(...this.subpartitionBufferBytes);
    const b: Builder = { segment, capacity, usedBytes: 0, slice: newSlice(segment) };
    if (target >= 0) this.builders[target] = b;
    else this.broadcastBuilder = b;
    return b;
  }

  /** Closes the builder: its last slice becomes sendable; the builder's reference goes. */
  private finishBuilder(target: number): void {
    const b = target >= 0 ? this.builders[target] : this.broadcastBuilder;
    if (b === undefined) return;
    if (target >= 0) this.builders[target] = undefined;
    else this.broadcastBuilder = undefined;
    if (b.slice.sizeBytes > 0) this.addSlice(target, b.slice);
    b.segment.release();
  }

  /** Makes the written part sendable; the builder goes on in the same segment. */
  private flushBuilder(target: number): void {
    const b = target >= 0 ? this.builders[target] : this.broadcastBuilder;
    if (b === undefined || b.slice.sizeBytes === 0) return;
    this.addSlice(target, b.slice);
    b.slice = newSlice(b.segment);
  }

  private flushAll(): void {
    for (let i = 0; i < this.numSubpartitions; i++) this.flushBuilder(i);
    this.flushBuilder(-1);
    if (this.flusherTimer >= 0) {
      this.ctx.kernel.cancel(this.flusherTimer);
      this.flusherTimer = -1;
    }
  }

  private flusherDue(): void {
    this.flusherTimer = -1;
    if (!this.ctx.alive() || (this.state !== "producing" && this.state !== "finishing")) return;
    this.flushAll();
  }

  /** Waits (one pool listener or one zero-delay event) to drain blocked output and wake listeners. */
  private arm(): void {
    if (this.armed || this.pool.destroyed) return;
    this.armed = true;
    if (this.blocked.length === 0 && this.pool.isAvailable()) this.ctx.kernel.after(0, this.onArmedDue);
    else this.pool.onAvailable(this.onArmedDue);
  }

  private armedDue(): void {
    this.armed = false;
    if (!this.ctx.alive() || (this.state !== "producing" && this.state !== "finishing")) return;
    while (this.blocked.length > 0) {
      const el = this.blocked.peek()!;
      if (el.target === EVENT_TARGET) {
        this.blocked.shift();
        this.writeEvent(el.value as StreamEvent, el.remainingBytes);
        continue;
      }
      const remaining = this.write(el.target, el.value, el.timestampMs, el.remainingBytes);
      if (remaining > 0) {
        el.remainingBytes = remaining;
        break;
      }
      this.blocked.shift();
      this.afterElement(el.target);
    }
    if (this.blocked.length > 0) {
      this.arm();
      return;
    }
    if (this.state === "finishing") {
      this.completeFinish();
      return;
    }
    if (this.availabilityListeners.length === 0) return;
    if (!this.isAvailable()) {
      this.arm();
      return;
    }
    const cbs = this.availabilityListeners;
    this.availabilityListeners = [];
    for (const cb of cbs) cb();
  }

  private completeFinish(): void {
    this.ensureMode(-1); // closes every unicast builder
    this.finishBuilder(-1);
    this.addEndOfPartition();
    this.state = "finished";
    if (this.flusherTimer >= 0) {
      this.ctx.kernel.cancel(this.flusherTimer);
      this.flusherTimer = -1;
    }
    this.availabilityListeners = [];
    // Flink destroys the pool when the task's partitions close; queued buffers return to
    // the global pool as they are consumed.
    this.pool.destroy();
    this.afterFinish();
  }

  private teardown(state: "released" | "failed", reason: string): void {
    if (!this.ctx.alive() || this.state === "released" || this.state === "failed") return;
    const wasFinished = this.state === "finished";
    this.state = state;
    if (this.flusherTimer >= 0) {
      this.ctx.kernel.cancel(this.flusherTimer);
      this.flusherTimer = -1;
    }
    this.blocked.clear();
    this.availabilityListeners = [];
    if (!wasFinished) {
      for (let i = 0; i < this.numSubpartitions; i++) this.dropBuilder(i);
      const bb = this.broadcastBuilder;
      this.broadcastBuilder = undefined;
      bb?.segment.release();
    }
    this.dropData("ProducerFailed", reason);
    this.pool.destroy();
    this.ctx.unregisterPartition(this);
  }
}

function eventBuffer(event: StreamEvent, sizeBytes: number): ShuffleBuffer {
  const b = new ShuffleBuffer();
  b.event = event;
  b.sizeBytes = sizeBytes;
  return b;
}

/** Overtaken buffers per subpartition as records (subpartitions with none dropped unless `dropEmpty` is false). */
function toOvertakenData(overtaken: readonly ShuffleBuffer[][], dropEmpty = true): OvertakenData[] {
  const out = overtaken.map((buffers, subpartition) => {
    const d: OvertakenData = { subpartition, values: [], timestamps: [], bytes: 0 };
    for (const buf of buffers) appendRecords(d, buf.values, buf.timestamps, buf.sizeBytes);
    return d;
  });
  return dropEmpty ? out.filter((d) => d.values.length > 0) : out;
}

/** Records (not watermarks, statuses or latency markers: those are not channel state) into `d`. */
function appendRecords(d: OvertakenData, values: readonly unknown[], timestamps: readonly number[], bytes: number): void {
  let records = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!isRecordValue(v)) continue;
    d.values.push(v);
    d.timestamps.push(timestamps[i]!);
    records++;
  }
  if (records > 0) d.bytes += bytes;
}

function newSlice(segment: Segment): ShuffleBuffer {
  const s = new ShuffleBuffer();
  s.segment = segment;
  return s;
}
