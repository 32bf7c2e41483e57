/**
 * What a task needs from the shuffle layer, the JobManager and the cost model, as small
 * interfaces (engine/runtime/network implements the first two for real; tests may fake
 * them). Keeping them here lets the task runtime stay a pure state machine on the kernel.
 */
import type { KeySelector, PartitionerKind, RuntimeMode, SourceSplit } from "../api/types";
import type { NetworkBuffer } from "./buffer";

/** The producer side of one result partition, as the task writes it. */
export interface PartitionWriter {
  readonly numSubpartitions: number;
  emitRecord(subpartition: number, value: unknown, timestampMs: number, recordBytes: number): void;
  broadcastRecord(value: unknown, timestampMs: number, recordBytes: number): void;
  broadcastWatermark(watermarkMs: number): void;
  /** A free buffer exists (overdraft not counted): the task may start another record. */
  isAvailable(): boolean;
  /** Called once, as a kernel event, when a buffer becomes free. */
  onAvailable(cb: () => void): void;
  /** Between hold and unhold, finished buffers wait: outputs leave when CPU time has elapsed. */
  hold(): void;
  unhold(): void;
  flush(): void;
  finish(): void;
  /** Called once, as a kernel event, when the partition is finished (blocking: durable and consumable). */
  onFinished(cb: () => void): void;
  /** Drops the partition (the task was cancelled or failed). */
  release(): void;
  /** Buffers queued for sending (all subpartitions), for metrics. */
  queuedBuffers(): number;
}

/** The consumer side: one input gate per input job edge. */
export interface InputGateReader {
  requestPartitions(): void;
  poll(): { buffer: NetworkBuffer; channel: number } | undefined;
  onAvailable(cb: () => void): void;
  recycle(buffer: NetworkBuffer, channel: number): void;
  isFinished(): boolean;
  /** Called once, as a kernel event, on the first error (PartitionNotFound, connection lost, ...). */
  onError(cb: (error: { type: string }) => void): void;
  /** Returns the gate's buffers (task end or cancellation). */
  release(): void;
  readonly numChannels: number;
  queuedBuffers(): number;
}

/** How the records of one output reach the consumer's subtasks. */
export interface OutputSpec {
  writer: PartitionWriter;
  /** The chain node emitting into this output. */
  fromNodeId: number;
  partitioner: PartitionerKind;
  keySelector?: KeySelector;
  consumerParallelism: number;
  consumerMaxParallelism: number;
  /** Bytes per record on this edge (the emitting node's declared record size). */
  recordBytes: number;
  /** Set when the edge carries a side output of the emitting node. */
  sideOutputTag?: string;
}

/** The task's link to the JobManager (over the simulated network, in the cluster layer). */
export interface TaskCallbacks {
  /** A source reader registered; the coordinator answers with splits via task.addSplits. */
  registerReader(): void;
  running(): void;
  finished(): void;
  failed(cause: string): void;
  /** A latency marker emitted by a source at `originNs` reached sink `sinkName`. */
  latencyMarker?(sinkName: string, subtaskIndex: number, originNs: number): void;
}

/** Settings a task takes from the engine config. */
export interface TaskSettings {
  runtimeMode: RuntimeMode;
  sortedInputs: boolean;
  batchStateBackend: boolean;
  autoWatermarkIntervalNs: number;
  /** Records a source emits per work item at most (one buffer's worth, bounded). */
  sourceBatchRecords: number;
  /** state.backend.type: the cost of a keyed state access (the LSM model comes later). */
  stateBackend: "hashmap" | "rocksdb";
  /** metrics.latency.interval: sources emit a latency marker this often (0 = off). */
  latencyIntervalNs: number;
}

export type SplitAssignment = { splits: SourceSplit[]; noMoreSplits: boolean };
