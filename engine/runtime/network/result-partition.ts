/**
 * Contracts inside the shuffle layer: the producer API tasks write through
 * (ResultPartitionWriter), what the TM's partition manager keeps (ManagedPartition), the
 * reader of one subpartition (SubpartitionView, Flink's ResultSubpartitionView) and the
 * environment services partitions and gates use (ShuffleContext).
 *
 * Invariant: view listeners are called synchronously by the producer; every listener
 * defers its real work to a kernel event, so nothing runs inside a producer's call.
 */
import type { StreamEvent } from "../buffer";
import type { Kernel } from "../../../sim/kernel";
import type { World } from "../../../sim/world";
import type { NetworkBufferPool } from "./buffer-pool";
import type { ShuffleErrorKind } from "./messages";
import type { ResolvedShuffleParams } from "./params";
import type { ShuffleBuffer } from "./shuffle-buffer";

/** Flink's ResultPartitionType, the subset the simulator models. */
export type PartitionType = "PIPELINED_BOUNDED" | "BLOCKING" | "HYBRID_FULL" | "HYBRID_SELECTIVE";

export interface ResultPartitionSpec {
  partitionId: string;
  numSubpartitions: number;
  type: PartitionType;
  /** Every record goes to every subpartition (a broadcast edge): only broadcastRecord is allowed. */
  broadcast?: boolean;
  /** The producing task attempt. */
  owner: string;
}

/**
 * Lifecycle: producing → finishing (finish() called, output still waiting for buffers or
 * disk) → finished (everything produced; for blocking: durable in the file) → released;
 * failed from any state.
 */
export type WriterState = "producing" | "finishing" | "finished" | "released" | "failed";

export interface ResultPartitionWriter {
  readonly partitionId: string;
  readonly type: PartitionType;
  readonly numSubpartitions: number;
  readonly owner: string;
  readonly state: WriterState;

  emitRecord(subpartition: number, value: unknown, timestampMs: number, recordBytes: number): void;
  broadcastRecord(value: unknown, timestampMs: number, recordBytes: number): void;
  broadcastWatermark(watermarkMs: number): void;
  /** A watermark status (idle or active again) to every subpartition, in order with the data. */
  broadcastWatermarkStatus(idle: boolean): void;
  /**
   * Queues an event (a checkpoint barrier, EndOfData) after everything written so far, in
   * every subpartition: open buffers are finished first, as Flink's broadcastEvent does.
   */
  broadcastEvent(event: StreamEvent, sizeBytes: number, onSent?: () => void): void;
  /**
   * The aligned-checkpoint timeout on the producer side (Flink ≥ 1.16's timeoutable
   * barriers): wherever `event` (given earlier to broadcastEvent with onSent) still waits
   * in a subpartition — or has not been written yet — it is replaced by `priorityEvent` at
   * the head; returns the data it overtook. Its onSent will not run: the caller, which gets
   * the overtaken data, goes on from here.
   */
  prioritizeEvent(event: StreamEvent, priorityEvent: StreamEvent, sizeBytes: number): OvertakenData[];
  /**
   * Unaligned checkpoints: puts the event at the head of every subpartition, ahead of all
   * data not yet sent (open buffers are finished first; records waiting for a buffer count
   * too), and returns that overtaken data per subpartition (pipelined partitions only).
   */
  broadcastPriorityEvent(event: StreamEvent, sizeBytes: number): OvertakenData[];

  /** The task may start another record: a non-overdraft buffer is free (blocking: no spill in progress). */
  isAvailable(): boolean;
  /** `cb` runs once, in a kernel event, when the writer is available (now or later). */
  onAvailable(cb: () => void): void;

  /** CPU-time hold: buffers finished between hold and unhold are queued but not sendable. */
  hold(): void;
  unhold(): void;

  /** Makes partly filled buffers sendable (buffer timeout, end of a work item). */
  flush(): void;
  /** Flushes and appends END_OF_PARTITION to every subpartition; blocking: completes the file. */
  finish(): void;
  /** Drops the partition and its data (cancellation; scheduler release of a blocking result). */
  release(): void;
  /** Like release, and readers get ProducerFailed(reason). */
  fail(reason: string): void;
  /** `cb` runs once, in a kernel event, when the partition is finished (blocking: durable and consumable). */
  onFinished(cb: () => void): void;
  /** `cb` runs once, in a kernel event, if the partition fails by itself (disk error). */
  onFailed(cb: (reason: string) => void): void;

  /** Network buffers this partition holds now (overdraft included; blocking: its reservation). */
  readonly buffersInUse: number;
  readonly maxBuffersInUseObserved: number;
  /** Its pool's current size (Flink's currentPoolSize). */
  readonly poolSizeBuffers: number;
  /** Buffers queued in a subpartition and not yet taken by its reader. */
  outputQueueLengthBuffers(subpartition: number): number;
  /** Σ outputQueueLengthBuffers. */
  queuedBuffers(): number;
  /** Serialized bytes of the records and watermarks written. */
  readonly bytesEmitted: number;
  /**
   * Bytes written to each subpartition, a broadcast element counted in every one (Flink's
   * ResultPartitionBytes, which a finished task reports for the adaptive batch scheduler).
   */
  subpartitionBytes(): number[];
  /** Payload bytes of data buffers taken by readers (sent remotely or read locally). */
  readonly bytesSent: number;
  readonly buffersSent: number;
}

export interface ViewListener {
  /** The view went from nothing to read to something to read. */
  onDataAvailable(): void;
  /** The partition was released or failed under the reader. */
  onViewFailed(error: ShuffleErrorKind, reason: string): void;
  /** A priority event (an unaligned barrier) was put at the head of the view's queue. */
  onPriorityEvent?(): void;
}

/** Data an unaligned barrier overtook in one subpartition (output channel state). */
export interface OvertakenData {
  subpartition: number;
  values: unknown[];
  timestamps: number[];
  bytes: number;
}

/** A reader of one subpartition (Flink's ResultSubpartitionView). */
export interface SubpartitionView {
  /** Set once, right after creation; called at once if data is already there. */
  setListener(listener: ViewListener): void;
  poll(): ShuffleBuffer | undefined;
  hasNext(): boolean;
  nextIsEvent(): boolean;
  /** Data buffers readable now after the next poll, Flink's backlog. */
  backlog(): number;
  /** A data buffer taken by poll is no longer referenced (remote: sent; local: processed). */
  recycle(buffer: ShuffleBuffer): void;
  /** The consumer went away (cancelled, connection lost). */
  release(): void;
  /** Buffers queued and readable now. */
  queued(): number;
  /** Buffer debloating: the consumer wants buffers of this many bytes (pipelined partitions). */
  notifyNewBufferSize?(bytes: number): void;
}

export type ViewOrError = SubpartitionView | { error: ShuffleErrorKind; reason: string };

export interface ManagedPartition {
  readonly partitionId: string;
  readonly type: PartitionType;
  readonly numSubpartitions: number;
  createView(subpartition: number): ViewOrError;
  release(): void;
}

/** What a ShuffleEnvironment lends its partitions and gates. */
export interface ShuffleContext {
  readonly world: World;
  readonly kernel: Kernel;
  readonly host: string;
  readonly params: ResolvedShuffleParams;
  readonly bufferPool: NetworkBufferPool;
  /** False once the host crashed: the TaskManager process is gone. */
  alive(): boolean;
  /** A coverage mark (DESIGN style rule 9). */
  mark(name: string): void;
  unregisterPartition(partition: ManagedPartition): void;
}

export function isViewError(v: ViewOrError): v is { error: ShuffleErrorKind; reason: string } {
  return (v as { error?: unknown }).error !== undefined;
}
