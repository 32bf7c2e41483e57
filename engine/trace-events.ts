/**
 * The engine's trace event kinds (the kernel's are in sim/trace/events.ts). These are what
 * the visualizer and the reports read: job and task lifecycle, slots, regions, sources'
 * splits, decisions, and sampled per-subtask metrics.
 *
 * Naming: a task attempt is (vertex, subtask, attempt); `vertex` is the job vertex id
 * ("v0", "v1", ...), `name` its display name.
 */
import type { TraceLevel } from "../sim/trace/events";
import type { SubtaskCheckpointStats } from "./checkpoint/snapshot";

/** RECONCILING: a new JobManager leader recovers a batch job from its event log (Flink 1.20, FLIP-383). */
export type JobStatus = "CREATED" | "RECONCILING" | "RUNNING" | "FINISHED" | "FAILED" | "CANCELED";
export type ExecutionState = "CREATED" | "SCHEDULED" | "DEPLOYING" | "INITIALIZING" | "RUNNING" | "FINISHED" | "CANCELED" | "FAILED";

export interface EngineEvents {
  JobSubmitted: {
    job: string;
    runtimeMode: string;
    vertices: { id: string; name: string; parallelism: number; maxParallelism: number; chain: string[] }[];
    /** `input`: the target operator's input the edge feeds (0, or 1 for a two-input operator's second). */
    edges: { source: string; target: string; input: number; distribution: string; partitioner: string; partitionType: string }[];
    regions: { id: number; subtasks: string[] }[];
  };
  JobStatusChanged: { job: string; status: JobStatus; cause?: string };
  TaskManagerRegistered: { host: string; slots: number };
  TaskManagerLost: { host: string; cause: string };
  /**
   * The resource manager asked for a TaskManager on a new host: a spare started with the
   * cluster (startDelayNs 0), or a replacement for a lost one, whose host appears
   * (HostAdded) and registers after startDelayNs.
   */
  TaskManagerRequested: { host: string; reason: string; startDelayNs: number };
  SlotRequested: { request: number; group: string; vertices: string[] };
  SlotAllocated: { request: number; host: string; slot: number };
  SlotReleased: { host: string; slot: number };
  SlotRequestTimedOut: { request: number; timeoutNs: number };
  RegionScheduled: { region: number; subtasks: string[] };
  /** Adaptive batch scheduler: a vertex's parallelism decided from its inputs' bytes (path: the decider's rule). */
  VertexParallelismDecided: {
    vertex: string;
    name: string;
    parallelism: number;
    path: string;
    /** Σ non-broadcast input bytes. */
    inputBytes: number;
    inputs: { name: string; pattern: string; broadcast: boolean; partitions: number; subpartitions: number; bytes: number }[];
    /** Subpartition range each subtask reads of the first non-broadcast input ("[0,3] [4,4] …"), if any. */
    ranges?: string;
    summary: string;
  };
  /** Adaptive batch scheduler: a job vertex's subtasks attached to the execution graph. */
  VertexInitialized: { vertex: string; parallelism: number; subtasks: string[] };
  TaskStateChanged: {
    vertex: string;
    name: string;
    subtask: number;
    attempt: number;
    host: string;
    slot: number;
    state: ExecutionState;
    cause?: string;
    /** A speculative attempt (engine/scheduler/speculative), drawn beside the original. */
    speculative?: boolean;
  };
  SplitsAssigned: { vertex: string; subtask: number; splits: string[] };
  PartitionFinished: { partition: string; vertex: string; subtask: number; host: string; bytes: number };
  /** Sampled per subtask at the metrics interval: ratios over the last interval. */
  TaskMetrics: {
    vertex: string;
    subtask: number;
    host: string;
    busy: number;
    backpressured: number;
    idle: number;
    recordsIn: number;
    recordsOut: number;
    inputQueueBuffers: number;
    outputQueueBuffers: number;
    watermarkMs: number | null;
  };
  /** A subtask failed and the failover strategy picked what to restart. */
  FailoverTriggered: {
    cause: string;
    failed: string;
    failoverStrategy: string;
    restartStrategy: string;
    vertices: string[];
    regions: number[];
    backoffNs: number;
    merged: boolean;
  };
  /** The back-off ended: new attempts of these subtasks are scheduled. */
  TasksRestarted: { vertices: string[] };
  /** Checkpoint n is pending: `triggered` subtasks (those with no running producers) were told to start it. */
  CheckpointTriggered: { checkpoint: number; mode: string; subtasks: number; triggered: string[] };
  /** One subtask's part of a checkpoint is durable; its phases as Flink's checkpoint statistics report them. */
  CheckpointAcknowledged: { checkpoint: number; subtask: string; host: string } & SubtaskCheckpointStats;
  CheckpointCompleted: { checkpoint: number; durationNs: number; stateBytes: number; uploadedBytes: number; subtasks: number };
  CheckpointAborted: { checkpoint: number; reason: string; durationNs: number };
  /** Restarted subtasks restore checkpoint n (their state handles). */
  CheckpointRestored: { checkpoint: number; subtasks: string[] };
  /** A savepoint (id from the checkpoint sequence) was triggered; terminate: stop-with-savepoint. */
  SavepointTriggered: { checkpoint: number; terminate: boolean; drain: boolean; format: string; subtasks: number };
  SavepointCompleted: { checkpoint: number; durationNs: number; stateBytes: number; subtasks: number; terminate: boolean; drain: boolean; format: string };
  SavepointFailed: { checkpoint: number; reason: string };
  /** The JobManager wrote the savepoint's metadata: its path and total size. */
  SavepointStored: { checkpoint: number; path: string; stateBytes: number; metadataBytes: number };
  /** The job starts from a savepoint (execution.state-recovery.path), per job vertex its old and new parallelism. */
  JobRestoredFromSavepoint: {
    checkpoint: number;
    path: string;
    claimMode: string;
    format: string;
    vertices: { vertex: string; name: string; oldParallelism: number; newParallelism: number; maxParallelism: number }[];
    /** Bytes the new subtasks read from the savepoint (ranged reads), by plan. */
    plannedReadBytes: number;
  };
  /** A file of the snapshot the job was restored from was deleted (CLAIM: the job owns it). */
  SnapshotFileDeleted: { key: string; owner: string; claimMode: string; reason: string };
  /** Buffer debloating: a subtask announced a new buffer size to the producers of one input gate. */
  BufferDebloated: { vertex: string; subtask: number; gate: number; bufferBytes: number; throughputBytesPerS: number };
  /**
   * A subtask's output watermark status changed (withIdleness): IDLE when its source read
   * nothing for the idle timeout, or every input channel became idle; ACTIVE again on a
   * record or an active input. `watermarkMs`: its watermark then (null while ±∞).
   */
  WatermarkStatusChanged: { vertex: string; subtask: number; attempt: number; status: "IDLE" | "ACTIVE"; watermarkMs: number | null };
  /** A RocksDB memtable of a keyed operator was flushed to a new L0 SST file on the local disk. */
  RocksDbFlush: { vertex: string; subtask: number; operator: string; bytes: number; files: number; l0Files: number; sync: boolean };
  /** A RocksDB compaction merged `filesIn` files of `level` and `level`+1 into `filesOut` files of `level`+1. */
  RocksDbCompaction: { vertex: string; subtask: number; operator: string; level: number; bytesIn: number; bytesOut: number; filesIn: number; filesOut: number };
  /** A keyed operator's changelog (DSTL) uploaded a log segment; `preemptive`: no checkpoint asked for it yet. */
  ChangelogUpload: { vertex: string; subtask: number; operator: string; bytes: number; changes: number; preemptive: boolean; attempts: number };
  /** A changelog backend's periodic materialization is uploaded: checkpoints use it from now on and the log before it is truncated. */
  ChangelogMaterialized: { vertex: string; subtask: number; operator: string; materialization: number; bytes: number; uploadedBytes: number };
  /** A task attempt restored checkpointed state: download, deserialization and (changelog) log replay took durationNs. */
  StateRestored: { vertex: string; subtask: number; attempt: number; checkpointId: number; durationNs: number; stateBytes: number; replayedChanges: number; replayedBytes: number };
  /** Speculative execution started another attempt of a slow subtask, in a slot of its own. */
  SpeculativeAttemptLaunched: { vertex: string; name: string; subtask: number; attempt: number; host: string; slot: number; slowAttempts: number[] };
  /** A subtask that ran speculative attempts finished: the winner and the attempts cancelled. */
  SpeculativeExecutionFinished: { vertex: string; subtask: number; winner: number; speculativeWin: boolean; cancelled: number[] };
  /** The blocklist: a host gets no new slots until untilNs (extended: it was blocked already). */
  NodeBlocked: { host: string; untilNs: number; cause: string; extended: boolean };
  /** A blocklist entry expired. */
  NodeUnblocked: { host: string };
  /** The JobManager process died with its host: its leadership, buffered job events and running tasks are lost. */
  JobManagerLost: { host: string; epoch: number; cause: string };
  /** A JobManager process became the leader (HA) for the job: epoch 0 at submission, then one per failover. */
  JobManagerLeaderElected: { host: string; epoch: number; recovery: "none" | "from-scratch" | "event-log" | "checkpoint"; reason: string };
  /**
   * A new leader read the retained completed checkpoints' metadata from HA storage (the
   * completed checkpoint store); the ID counter goes on at nextCheckpointId.
   */
  CheckpointStoreRecovered: { checkpoints: number[]; bytes: number; readNs: number; attempts: number; nextCheckpointId: number };
  /** The job event store flushed its buffer to HA storage (one sequential append). */
  JobEventsFlushed: { segment: number; events: number; bytes: number; reason: "full" | "interval" | "vertex-finished" };
  /**
   * Batch job recovery replayed the event log: vertices re-initialized with their logged
   * decisions, subtasks recovered as finished, and finished events dropped by the tail trim
   * (no snapshot after them).
   */
  JobEventsReplayed: { events: number; segments: number; readNs: number; initialized: string[]; finished: string[]; trimmed: string[] };
  /** Batch job recovery asked the re-registered TaskManagers for their partitions (waitedNs, up to the previous-worker timeout). */
  PartitionsReconciled: { expected: number; found: number; missing: string[]; released: number; waitedNs: number; timedOut: boolean };
  /** Batch job recovery reset these subtasks (producers of missing partitions and, by the region rule, their consumers). */
  RecoveryVerticesReset: { vertices: string[]; cause: string };
  /** Batch job recovery ended: the job is RUNNING again (or, failed, restarts from scratch). */
  JobRecoveryFinished: { succeeded: boolean; recoveredFinished: number; reset: number; durationNs: number; cause?: string };
  /** A record committed to the external store became visible. */
  SinkCommitted: { sink: string; txn: string; records: number };
}

export type EngineKind = keyof EngineEvents;

export const ENGINE_KIND_LEVELS: Record<EngineKind, TraceLevel> = {
  JobSubmitted: "summary",
  JobStatusChanged: "summary",
  TaskManagerRegistered: "summary",
  TaskManagerLost: "summary",
  TaskManagerRequested: "summary",
  SlotRequested: "summary",
  SlotAllocated: "summary",
  SlotReleased: "summary",
  SlotRequestTimedOut: "summary",
  RegionScheduled: "summary",
  VertexParallelismDecided: "summary",
  VertexInitialized: "summary",
  TaskStateChanged: "summary",
  SplitsAssigned: "summary",
  PartitionFinished: "summary",
  TaskMetrics: "summary",
  FailoverTriggered: "summary",
  TasksRestarted: "summary",
  CheckpointTriggered: "summary",
  CheckpointAcknowledged: "summary",
  CheckpointCompleted: "summary",
  CheckpointAborted: "summary",
  CheckpointRestored: "summary",
  SavepointTriggered: "summary",
  SavepointCompleted: "summary",
  SavepointFailed: "summary",
  SavepointStored: "summary",
  JobRestoredFromSavepoint: "summary",
  SnapshotFileDeleted: "summary",
  BufferDebloated: "summary",
  WatermarkStatusChanged: "summary",
  RocksDbFlush: "summary",
  RocksDbCompaction: "summary",
  ChangelogUpload: "summary",
  ChangelogMaterialized: "summary",
  StateRestored: "summary",
  SinkCommitted: "summary",
  SpeculativeAttemptLaunched: "summary",
  SpeculativeExecutionFinished: "summary",
  NodeBlocked: "summary",
  NodeUnblocked: "summary",
  JobManagerLost: "summary",
  JobManagerLeaderElected: "summary",
  CheckpointStoreRecovered: "summary",
  JobEventsFlushed: "summary",
  JobEventsReplayed: "summary",
  PartitionsReconciled: "summary",
  RecoveryVerticesReset: "summary",
  JobRecoveryFinished: "summary",
};
