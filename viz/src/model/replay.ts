/**
 * Everything the views need from one trace, built once at load: the time index and the
 * per-view models. Building is linear in the trace; every query at a scrub time after
 * that is a search or touches only the entities on screen.
 */
import type { TraceEvent } from "../../../sim/trace/events";
import { buildDecisions, type DecisionModel } from "./adaptive";
import { buildBlocklist, type BlocklistModel } from "./blocklist";
import { buildCheckpoints, type CheckpointModel } from "./checkpoints";
import { buildFailovers, type Failover } from "./failures";
import { buildGantt, type GanttModel } from "./gantt";
import { buildJmFailovers, type JmFailover } from "./jm-failover";
import { buildJobStatus, type JobStatusModel } from "./job-status";
import { readJobGraph, type JobGraph } from "./graph";
import { buildMetrics, type MetricsModel } from "./metrics";
import { buildSpeculation, type SpeculationModel } from "./speculation";
import { buildRestore, type RestoreModel } from "./restore";
import { buildTasks, type TaskModel } from "./tasks";
import { buildTraceIndex, eventsOfKind, type TraceIndex } from "./trace-index";
import { buildWatermarkStatus, type WatermarkStatusModel } from "./watermark-status";

export interface Replay {
  index: TraceIndex;
  graph: JobGraph | undefined;
  tasks: TaskModel;
  metrics: MetricsModel;
  failovers: Failover[];
  /** JobManager failovers (batch job recovery). */
  jmFailovers: JmFailover[];
  jobStatus: JobStatusModel;
  checkpoints: CheckpointModel;
  /** The savepoint this trace's job started from (claim mode, rescale) and the snapshot files deleted. */
  restore: RestoreModel;
  gantt: GanttModel;
  /** Adaptive batch scheduler: when each runtime-decided vertex got its parallelism, and why. */
  decisions: DecisionModel;
  /** withIdleness: which subtasks are idle when. */
  watermarkStatus: WatermarkStatusModel;
  speculation: SpeculationModel;
  blocklist: BlocklistModel;
  /** RunStarted fields worth a header line. */
  scenario: string | undefined;
  seed: string | undefined;
}

export function buildReplay(events: readonly TraceEvent[]): Replay {
  const index = buildTraceIndex(events);
  const of = (kind: string) => eventsOfKind(index, kind);
  const tasks = buildTasks([...of("TaskStateChanged"), ...of("JobManagerLost")].sort((a, b) => a.seq - b.seq));
  const lifecycle = [...of("FailoverTriggered"), ...of("TasksRestarted")].sort((a, b) => a.seq - b.seq);
  const checkpointEvents = index.kinds.filter((k) => k.startsWith("Checkpoint") || k.startsWith("Savepoint")).flatMap(of).sort((a, b) => a.seq - b.seq);
  const ganttEvents = ["HostAdded", "FaultFired", "HostCrashed", "LinkPartitioned", "DiskFaultStarted", "BlobOutageStarted", "TaskManagerLost", "FailoverTriggered", "TasksRestarted"]
    .flatMap(of)
    .sort((a, b) => a.seq - b.seq);
  const first = events[0];
  const graph = readJobGraph(of("JobSubmitted")[0]);
  const bySeq = (kinds: string[]) => kinds.flatMap(of).sort((a, b) => a.seq - b.seq);
  const speculation = buildSpeculation(bySeq(["SpeculativeAttemptLaunched", "SpeculativeExecutionFinished"]), tasks);
  const blocklist = buildBlocklist(bySeq(["NodeBlocked", "NodeUnblocked"]));
  const jmFailovers = buildJmFailovers(bySeq(["JobManagerLost", "JobManagerLeaderElected", "JobEventsReplayed", "PartitionsReconciled", "RecoveryVerticesReset", "JobRecoveryFinished", "CheckpointStoreRecovered", "CheckpointRestored"]), tasks);
  return {
    index,
    graph,
    tasks,
    metrics: buildMetrics(of("TaskMetrics")),
    failovers: buildFailovers(lifecycle, tasks),
    jmFailovers,
    jobStatus: buildJobStatus(of("JobStatusChanged")),
    checkpoints: buildCheckpoints(checkpointEvents),
    restore: buildRestore(bySeq(["JobRestoredFromSavepoint", "SnapshotFileDeleted"])),
    gantt: buildGantt(ganttEvents, tasks, speculation, blocklist, jmFailovers),
    decisions: buildDecisions(graph, bySeq(["VertexParallelismDecided", "VertexInitialized"])),
    watermarkStatus: buildWatermarkStatus(of("WatermarkStatusChanged")),
    speculation,
    blocklist,
    scenario: first !== undefined && typeof first.scenario === "string" ? first.scenario : undefined,
    seed: first !== undefined && typeof first.seed === "string" ? first.seed : undefined,
  };
}
