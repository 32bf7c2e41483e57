/**
 * The job event store (Flink 1.20's FileSystemJobEventStore behind JobEventManager,
 * FLIP-383): the operation log a JobManager writes on HA storage — flowsim's blob store —
 * so that a new leader can recover a batch job's progress after a JobManager failover.
 *
 * Writing (as Flink's): events are serialized into a write buffer; the buffer is flushed
 * when it reaches `job-event.store.write-buffer.size`, every
 * `job-event.store.write-buffer.flush-interval`, and at once when the caller asks (a job
 * vertex finished: Flink's `cutBlock`). Flink appends to one file through an output
 * stream, so a flush never overtakes an earlier one: here each flush is one blob object
 * (a segment, numbered in order) and at most one put is in flight; later flushes queue
 * behind it. A flush costs the blob store's latency and bandwidth. What is still in the
 * buffer, or in a put that has not completed, when the JobManager's host crashes is lost
 * (the blob store abandons ops of a crashed host).
 *
 * Reading: a new leader lists the segments and reads them in order; the log is the
 * concatenation. A gap (a missing segment) ends the readable log: nothing after it can be
 * trusted to be in order. Clearing deletes every segment (recovery failed: start over).
 *
 * Invariants: segments are written strictly in number order, one at a time; an event is
 * in at most one segment; the store writes nothing after `stop()`.
 */
import { InvariantError, assert } from "../../sim/errors";
import type { BlobError, BlobStore } from "../../sim/blob-store";
import type { Host } from "../../sim/host";
import type { Kernel } from "../../sim/kernel";
import type { Ns } from "../../sim/time";
import type { SubtaskInputRange } from "../graph/dynamic-execution-graph";
import type { ExecutionVertexId } from "../graph/execution-graph";

/** Flink's ExecutionJobVertexInitializedEvent: the decision a vertex was initialized with. */
export interface ExecutionJobVertexInitializedEvent {
  readonly type: "ExecutionJobVertexInitialized";
  readonly vertexIndex: number;
  readonly parallelism: number;
  /** Per input gate (JobVertex.inputs order), what each subtask reads (Flink's JobVertexInputInfo). */
  readonly inputRanges: readonly (readonly SubtaskInputRange[])[];
}

/** Flink's ExecutionVertexFinishedEvent: a subtask finished, where, and what it produced. */
export interface ExecutionVertexFinishedEvent {
  readonly type: "ExecutionVertexFinished";
  readonly vertex: ExecutionVertexId;
  readonly attemptNumber: number;
  /** The TaskManager holding its result partitions (TaskManagerLocation). */
  readonly host: string;
  /** Bytes per subpartition of each produced partition (IOMetrics.resultPartitionBytes). */
  readonly producedBytes: readonly (readonly number[])[] | undefined;
  /**
   * Whether operator-coordinator and shuffle-master snapshots were taken with this event.
   * flowsim's sources assign their splits statically and its shuffle master keeps no
   * state, so a snapshot is a marker with nothing inside; it still decides the tail trim.
   */
  readonly snapshot: boolean;
}

/** Flink's ExecutionVertexResetEvent: these subtasks were reset for a new attempt. */
export interface ExecutionVertexResetEvent {
  readonly type: "ExecutionVertexReset";
  readonly vertices: readonly ExecutionVertexId[];
}

export type JobEvent = ExecutionJobVertexInitializedEvent | ExecutionVertexFinishedEvent | ExecutionVertexResetEvent;

export type FlushReason = "full" | "interval" | "vertex-finished";

export interface JobEventStoreOptions {
  /** job-event.store.write-buffer.size, bytes. */
  writeBufferBytes: number;
  /** job-event.store.write-buffer.flush-interval, ns. */
  flushIntervalNs: Ns;
  /** Blob key prefix of this job's log (one per job). */
  prefix: string;
  /** Told of every segment that became durable. */
  onFlushed?: (segment: number, events: number, bytes: number, reason: FlushReason) => void;
}

/** Most segments a log may have (a named limit, DESIGN style rule 3). */
export const MAX_JOB_EVENT_SEGMENTS = 1_000_000;

/**
 * Serialized size of an event, bytes: a header (type, ids, attempt id, location) plus its
 * variable parts, about as Flink's SimpleVersionedSerializer writes them.
 */
export function jobEventBytes(e: JobEvent): number {
  switch (e.type) {
    case "ExecutionJobVertexInitialized":
      return 64 + e.inputRanges.reduce((n, gate) => n + 24 * gate.length, 0);
    case "ExecutionVertexFinished":
      return 128 + 8 * (e.producedBytes?.reduce((n, row) => n + row.length, 0) ?? 0);
    case "ExecutionVertexReset":
      return 32 + 24 * e.vertices.length;
  }
}

export function segmentKey(prefix: string, segment: number): string {
  // Zero-padded so a lexicographic listing is the numeric order.
  return `${prefix}/segment-${String(segment).padStart(9, "0")}`;
}

interface Segment {
  readonly number: number;
  readonly events: readonly JobEvent[];
  readonly bytes: number;
  readonly reason: FlushReason;
}

export class JobEventStore {
  private buffer: JobEvent[] = [];
  private bufferBytes = 0;
  /** Segments cut from the buffer, waiting for the one put in flight. */
  private readonly queued: Segment[] = [];
  private inFlight: Segment | undefined;
  private nextSegment: number;
  private timer = -1;
  private stopped = false;
  /** Events made durable so far, by this writer. */
  durableEvents = 0;

  constructor(
    private readonly kernel: Kernel,
    private readonly blob: BlobStore,
    /** The JobManager's host: the writer dies with it. */
    private readonly host: Host,
    private readonly options: JobEventStoreOptions,
    /** Segments already in the log (a recovered leader appends after them). */
    firstSegment = 0,
  ) {
    assert(options.writeBufferBytes >= 1 && options.flushIntervalNs >= 1, "job event store: buffer size and flush interval must be positive");
    this.nextSegment = firstSegment;
    this.armTimer();
  }

  /** Events written and not yet durable (buffered, queued or in flight). */
  get pendingEvents(): number {
    return this.buffer.length + this.queued.reduce((n, s) => n + s.events.length, 0) + (this.inFlight?.events.length ?? 0);
  }

  /** Appends an event; `cutBlock` (a job vertex finished) flushes at once, as Flink's writeEvent(event, cutBlock). */
  write(event: JobEvent, cutBlock: boolean): void {
    if (this.stopped) return;
    this.buffer.push(event);
    this.bufferBytes += jobEventBytes(event);
    if (cutBlock) this.flush("vertex-finished");
    else if (this.bufferBytes >= this.options.writeBufferBytes) this.flush("full");
  }

  /** The writer's process is gone (or the job ended): nothing more is written; the buffer is dropped. */
  stop(): void {
    this.stopped = true;
    if (this.timer >= 0) this.kernel.cancel(this.timer);
    this.timer = -1;
    this.buffer = [];
    this.bufferBytes = 0;
    this.queued.length = 0;
  }

  private armTimer(): void {
    // A daemon: a periodic flush must not keep a finished simulation alive.
    this.timer = this.kernel.scheduleDaemon(this.kernel.now + this.options.flushIntervalNs, () => {
      this.timer = -1;
      if (this.stopped) return;
      this.flush("interval");
      this.armTimer();
    });
  }

  private flush(reason: FlushReason): void {
    if (this.buffer.length === 0) return;
    if (this.nextSegment >= MAX_JOB_EVENT_SEGMENTS) throw new InvariantError(`job event log ${this.options.prefix}: more than ${MAX_JOB_EVENT_SEGMENTS} segments`);
    this.queued.push({ number: this.nextSegment++, events: this.buffer, bytes: this.bufferBytes, reason });
    this.buffer = [];
    this.bufferBytes = 0;
    this.putNext();
  }

  private putNext(): void {
    if (this.inFlight !== undefined || this.queued.length === 0 || this.stopped || !this.host.up) return;
    const segment = this.queued.shift()!;
    this.inFlight = segment;
    this.blob.put(this.host, segmentKey(this.options.prefix, segment.number), segment.bytes, segment.events, (err) => {
      if (this.inFlight !== segment) return;
      this.inFlight = undefined;
      if (err !== undefined) {
        // Flink's output stream would fail the JobManager; flowsim keeps the order by
        // retrying the same segment (the log is append-only and in order).
        this.queued.unshift(segment);
        this.kernel.after(this.options.flushIntervalNs, () => this.putNext());
        return;
      }
      this.durableEvents += segment.events.length;
      this.options.onFlushed?.(segment.number, segment.events.length, segment.bytes, segment.reason);
      this.putNext();
    });
  }
}

/** What a new leader read from the log. */
export interface ReadLog {
  readonly events: readonly JobEvent[];
  /** Segments read (the next writer appends after them). */
  readonly segments: number;
}

/** Segment numbers present under `prefix`, ascending. */
function listSegments(blob: BlobStore, prefix: string): number[] {
  return blob
    .list(`${prefix}/segment-`)
    .map((k) => Number(k.slice(`${prefix}/segment-`.length)))
    .sort((a, b) => a - b);
}

/** True when the log has any event (Flink's JobEventManager.hasJobEvents decides whether to recover). */
export function hasJobEvents(blob: BlobStore, prefix: string): boolean {
  return listSegments(blob, prefix).length > 0;
}

/**
 * Reads the log in order, one segment after the other (each get costs the store's latency
 * and bandwidth). A gap ends the log. `done(err)` on a failed read (an outage).
 */
export function readJobEvents(blob: BlobStore, host: Host, prefix: string, done: (err: BlobError | undefined, log?: ReadLog) => void): void {
  const present = listSegments(blob, prefix);
  let contiguous = 0;
  while (contiguous < present.length && present[contiguous] === contiguous) contiguous++;
  const events: JobEvent[] = [];
  const next = (i: number): void => {
    if (i >= contiguous) {
      done(undefined, { events, segments: contiguous });
      return;
    }
    blob.get(host, segmentKey(prefix, i), (err, obj) => {
      if (err !== undefined) {
        done(err);
        return;
      }
      events.push(...(obj!.data as JobEvent[]));
      next(i + 1);
    });
  };
  next(0);
}

/** Deletes every segment of the log (Flink's JobEventManager.stop(clear = true)); `done` when all are gone. */
export function clearJobEvents(blob: BlobStore, host: Host, prefix: string, done: () => void): void {
  const keys = blob.list(`${prefix}/segment-`);
  let left = keys.length;
  if (left === 0) {
    done();
    return;
  }
  for (const key of keys) {
    blob.delete(host, key, () => {
      if (--left === 0) done();
    });
  }
}
