/**
 * What a task needs from the shuffle layer, the JobManager and the cost model, as small
 * interfaces (engine/runtime/network implements the first two for real; tests may fake
 * them). Keeping them here lets the task runtime stay a pure state machine on the kernel.
 */
import type { KeySelector, PartitionerKind, RuntimeMode, SourceSplit } from "../api/types";
import type { CheckpointingMode } from "../checkpoint/barrier-aligner";
import type { CheckpointId, StateHandle, SubtaskCheckpointStats } from "../checkpoint/snapshot";
import type { RocksDbSettings } from "../state/rocksdb-backend";
import type { ChangelogSettings } from "../state/changelog-backend";
import type { DebloatParams } from "./network/buffer-debloater";
import type { InputGate } from "./network/input-gate";
import type { ResultPartitionWriter } from "./network/result-partition";

/** The producer side of one result partition, as the task writes it (runtime/network). */
export type PartitionWriter = Pick<
  ResultPartitionWriter,
  | "numSubpartitions"
  | "emitRecord"
  | "broadcastRecord"
  | "broadcastWatermark"
  | "broadcastWatermarkStatus"
  | "broadcastEvent"
  | "broadcastPriorityEvent"
  | "prioritizeEvent"
  | "isAvailable"
  | "onAvailable"
  | "hold"
  | "unhold"
  | "flush"
  | "finish"
  | "onFinished"
  | "onFailed"
  | "release"
  | "queuedBuffers"
>;

/** The consumer side: one input gate per input job edge (runtime/network). */
export type InputGateReader = Pick<
  InputGate,
  "requestPartitions" | "poll" | "onAvailable" | "recycle" | "isFinished" | "onError" | "release" | "numChannels" | "queuedBuffers" | "partitionOf" | "blockChannel" | "unblockAll" | "announceBufferSize" | "buffersInUse" | "consumedBytes" | "overtakenData" | "hasPriority" | "pollPriority" | "setPriorityListener"
>;

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
  /** `failedPartition`: the input partition that could not be read (PartitionNotFound, lost connection). */
  failed(cause: string, failedPartition?: string): void;
  /** This subtask's part of checkpoint n is durable in the blob store. */
  acknowledgeCheckpoint(checkpointId: CheckpointId, handle: StateHandle, stats: SubtaskCheckpointStats): void;
  /** This subtask cannot take part in checkpoint n; `counts`: a failure the coordinator counts. */
  declineCheckpoint(checkpointId: CheckpointId, reason: string, counts: boolean): void;
  /** A coverage mark in the trace. */
  mark(name: string): void;
  /** The subtask announced a new watermark status on its outputs (idle or active again); `watermarkMs` its current watermark. */
  watermarkStatusChanged?(idle: boolean, watermarkMs: number): void;
  /** Buffer debloating announced a new buffer size on input gate `gate`. */
  bufferSizeAnnounced?(gate: number, bufferBytes: number, throughputBytesPerS: number): void;
  /** A latency marker emitted by a source at `originNs` reached sink `sinkName`. */
  latencyMarker?(sinkName: string, subtaskIndex: number, originNs: number): void;
  /** A keyed operator's RocksDB instance flushed a memtable. */
  rocksDbFlushed?(operator: string, e: { bytes: number; files: number; l0Files: number; sync: boolean }): void;
  /** A keyed operator's RocksDB instance finished a compaction. */
  rocksDbCompacted?(operator: string, e: { level: number; bytesIn: number; bytesOut: number; filesIn: number; filesOut: number }): void;
  /** A keyed operator's changelog uploaded a log segment. */
  changelogUploaded?(operator: string, e: { bytes: number; changes: number; preemptive: boolean; attempts: number }): void;
  /** A keyed operator's changelog backend materialized its state. */
  changelogMaterialized?(operator: string, e: { id: number; bytes: number; uploadedBytes: number; upTo: number }): void;
  /** The attempt restored checkpointed state: from deployment to RUNNING (download, deserialization, log replay). */
  stateRestored?(e: { checkpointId: number; durationNs: number; stateBytes: number; replayedChanges: number; replayedBytes: number }): void;
}

/** Settings a task takes from the engine config. */
export interface TaskSettings {
  runtimeMode: RuntimeMode;
  sortedInputs: boolean;
  batchStateBackend: boolean;
  autoWatermarkIntervalNs: number;
  /** Records a source emits per work item at most (one buffer's worth, bounded). */
  sourceBatchRecords: number;
  /** state.backend.type: heap objects, or the LSM cost model (engine/state/rocksdb-backend.ts). */
  stateBackend: "hashmap" | "rocksdb";
  /** The RocksDB options and state.backend.incremental (read when stateBackend is rocksdb). */
  rocksdb: RocksDbSettings;
  /** state.changelog.*: keyed state also goes to a DSTL log (undefined: off, or no checkpointing). */
  changelog?: ChangelogSettings;
  /** metrics.latency.interval: sources emit a latency marker this often (0 = off). */
  latencyIntervalNs: number;
  /** Checkpointing (STREAMING with an interval set), or undefined when off. */
  checkpointing: { mode: CheckpointingMode; unaligned: boolean; alignedTimeoutNs: number } | undefined;
  /** Buffer debloating (taskmanager.network.memory.buffer-debloat.*), or undefined when off. */
  debloat: (DebloatParams & { periodNs: number }) | undefined;
}

export type SplitAssignment = { splits: SourceSplit[]; noMoreSplits: boolean };
