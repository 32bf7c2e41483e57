/**
 * RPC between the JobManager and the TaskManagers over the simulated network, like
 * Flink's Pekko RPC: one connection per TaskManager, messages delivered in order, each
 * with a realistic size. Messages carry their sender's execution attempt where it matters
 * (fencing comes with failover).
 */
import type { SourceSplit } from "../api/types";
import type { ExecutionState } from "../trace-events";
import type { CheckpointId, StateHandle, SubtaskCheckpointStats } from "../checkpoint/snapshot";
import type { TaskDeployment } from "./deployment";

export type JmToTm =
  | { type: "RegistrationAccepted" }
  | { type: "SubmitTask"; deployment: TaskDeployment }
  | { type: "CancelTask"; attemptId: string }
  | { type: "AddSplits"; attemptId: string; splits: SourceSplit[]; noMoreSplits: boolean }
  | { type: "FreeSlot"; slot: number }
  | { type: "HeartbeatRequest"; seq: number }
  | { type: "TriggerCheckpoint"; attemptId: string; checkpointId: CheckpointId; timestampNs: number }
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
      /** FINISHED: bytes per subpartition of each produced blocking partition (null: not tracked), Flink's ResultPartitionBytes. */
      partitionBytes?: (number[] | null)[];
    }
  | { type: "ReaderRegistered"; attemptId: string }
  | { type: "HeartbeatResponse"; seq: number; host: string }
  | { type: "AcknowledgeCheckpoint"; attemptId: string; checkpointId: CheckpointId; handle: StateHandle; stats: SubtaskCheckpointStats }
  | { type: "DeclineCheckpoint"; attemptId: string; checkpointId: CheckpointId; reason: string; counts: boolean };

/** Serialized sizes (bytes): small control messages; a deployment descriptor is larger. */
export function messageBytes(message: JmToTm | TmToJm): number {
  switch (message.type) {
    case "SubmitTask":
      return 8 * 1024;
    case "AddSplits":
      return 256 + 128 * message.splits.length;
    default:
      return 256;
  }
}
