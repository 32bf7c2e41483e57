/**
 * RPC between the JobManager and the TaskManagers over the simulated network, like
 * Flink's Pekko RPC: one connection per TaskManager, messages delivered in order, each
 * with a realistic size. Messages carry their sender's execution attempt where it matters
 * (fencing comes with failover).
 */
import type { SavepointOptions } from "../checkpoint/savepoint";
import type { SourceSplit } from "../api/types";
import type { ExecutionState } from "../trace-events";
import type { CheckpointId, StateHandle, SubtaskCheckpointStats } from "../checkpoint/snapshot";
import type { TaskDeployment } from "./deployment";

export type JmToTm =
  | { type: "RegistrationAccepted" }
  | { type: "SubmitTask"; deployment: TaskDeployment }
  | { type: "CancelTask"; attemptId: string }
  /** A consumed partition's producer finished there (Flink's updatePartitionInfo for unknown channels). */
  | { type: "UpdatePartitionInfo"; attemptId: string; partitionId: string; producerHost: string }
  | { type: "AddSplits"; attemptId: string; splits: SourceSplit[]; noMoreSplits: boolean }
  | { type: "FreeSlot"; slot: number }
  | { type: "HeartbeatRequest"; seq: number }
  /** Batch job recovery: report (and keep) the finished result partitions held here (Flink's getAndRetainPartitionWithMetrics). */
  | { type: "RequestPartitions" }
  /** The scheduler no longer needs these partitions: data and files go. */
  | { type: "ReleasePartitions"; partitionIds: string[] }
  | { type: "TriggerCheckpoint"; attemptId: string; checkpointId: CheckpointId; timestampNs: number; savepoint?: SavepointOptions }
  | { type: "NotifyCheckpointComplete"; attemptId: string; checkpointId: CheckpointId }
  | { type: "NotifyCheckpointAborted"; attemptId: string; checkpointId: CheckpointId };

export type TmToJm =
  | { type: "RegisterTaskManager"; host: string; slots: number }
  | {
      type: "TaskStateUpdate";
      attemptId: string;
      state: ExecutionState;
      cause?: string;
      failedPartition?: string;
      /** FINISHED, when the deployment asked for it: bytes per subpartition of each produced partition (Flink's IOMetrics.resultPartitionBytes). */
      producedBytes?: number[][];
    }
  | { type: "ReaderRegistered"; attemptId: string }
  | { type: "HeartbeatResponse"; seq: number; host: string }
  /** Finished result partitions this TaskManager holds, with bytes per subpartition (PartitionWithMetrics). */
  | { type: "PartitionsReport"; partitions: { partitionId: string; bytes: number[] }[] }
  | { type: "AcknowledgeCheckpoint"; attemptId: string; checkpointId: CheckpointId; handle: StateHandle; stats: SubtaskCheckpointStats }
  | { type: "DeclineCheckpoint"; attemptId: string; checkpointId: CheckpointId; reason: string; counts: boolean };

/** Serialized sizes (bytes): small control messages; a deployment descriptor is larger. */
export function messageBytes(message: JmToTm | TmToJm): number {
  switch (message.type) {
    case "SubmitTask":
      return 8 * 1024;
    case "AddSplits":
      return 256 + 128 * message.splits.length;
    case "PartitionsReport":
      return 256 + message.partitions.reduce((n, p) => n + 64 + 8 * p.bytes.length, 0);
    case "ReleasePartitions":
      return 256 + 64 * message.partitionIds.length;
    case "TaskStateUpdate":
      return 256 + 8 * (message.producedBytes?.reduce((n, row) => n + row.length, 0) ?? 0);
    default:
      return 256;
  }
}
