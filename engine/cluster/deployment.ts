/**
 * The task deployment descriptor: everything a TaskManager needs to run one subtask
 * attempt — its chain, where each input channel's data lives, what it produces.
 */
import type { StateHandle } from "../checkpoint/snapshot";
import type { KeySelector, PartitionerKind } from "../api/types";
import type { StreamNode } from "../graph/stream-graph";
import type { ResultPartitionType } from "../graph/result-partition-type";
import type { TaskIdentity } from "../runtime/task";

export interface InputChannelDeployment {
  partitionId: string;
  subpartition: number;
  /** Undefined: an unfinished hybrid producer under ONLY_FINISHED_PRODUCERS (an UpdatePartitionInfo follows). */
  producerHost: string | undefined;
}

export interface InputGateDeployment {
  gateId: string;
  /** The head operator's input this gate feeds (0, or 1 for a two-input operator's second). */
  inputIndex: number;
  partitionType: ResultPartitionType;
  channels: InputChannelDeployment[];
}

export interface OutputDeployment {
  partitionId: string;
  numSubpartitions: number;
  partitionType: ResultPartitionType;
  partitioner: PartitionerKind;
  keySelector: KeySelector | undefined;
  fromNodeId: number;
  consumerParallelism: number;
  consumerMaxParallelism: number;
  recordBytes: number;
  sideOutputTag: string | undefined;
}

/** What the JobMaster sends a TaskManager: the task's identity (less the host it lands on) and its wiring. */
export interface TaskDeployment extends Omit<TaskIdentity, "host"> {
  attemptId: string;
  executionVertexId: string;
  chain: readonly StreamNode[];
  chainedEdges: { sourceId: number; targetId: number; sideOutputTag: string | undefined }[];
  inputs: InputGateDeployment[];
  outputs: OutputDeployment[];
  /** Report bytes per produced subpartition when FINISHED (the adaptive batch scheduler needs them). */
  reportProducedBytes?: boolean;
  /** The checkpointed state to restore (a restarted attempt, when a checkpoint completed). */
  restore?: StateHandle;
}
