/**
 * JobManager failover of a BATCH job (Flink 1.20, FLIP-383: batch job recovery from the
 * job event log). A four-stage job — parse, sum per key, max per bucket, a transactional
 * sink — runs under the adaptive batch scheduler (the parallelism of every stage but the
 * source is decided from its input). The JobManager's host crashes while the third stage
 * runs, after the first two finished, and is back 10 s later; the new leader takes over.
 *
 * With `execution.batch.job-recovery.enabled`, the new leader replays the event log
 * (vertices re-initialized with their logged parallelism and ranges), finds the finished
 * stages' partitions on the TaskManagers that re-register, and reruns only what was
 * running: no finished subtask runs again. The knock-out twin (recovery off) runs the job
 * from scratch: every subtask finished before the crash runs again.
 *
 * Measured (seed 1): crash at 2.6 s with Source (4) and Parse (9) finished, 13 subtasks.
 * Recovery: RUNNING again 10.07 s after the loss (10 s down, then 70 ms to read 4 log
 * segments / 15 events; all 9 needed partitions found at once), 0 subtasks rerun, makespan
 * 24.10 s. Twin (recovery off): from scratch, 13 of 13 rerun, makespan 26.23 s. Variant with
 * tm-2 lost during the outage (test/jm-failover.test.ts): the reconcile waits the full 30 s,
 * 3 Parse partitions missing, 11 subtasks reset by the region rule, makespan 57.87 s.
 */
import type { StreamExecutionEnvironment } from "../engine/api/environment";
import { TransactionalSink } from "../engine/api/sinks";
import { GeneratorSource } from "../engine/api/sources";
import type { JobRunResult } from "../engine/job-run";
import { defineScenario } from "./define";
import { finishes, matchesOracle } from "./expectations";

export const CRASH_AT = "2.6s";
export const JM_DOWNTIME = "10s";

function job(env: StreamExecutionEnvironment): void {
  env
    .fromSource<{ key: number; seq: number }>(GeneratorSource({ records: 4000, splits: 8, keys: { count: 200, distribution: "uniform" } }), "none", "events")
    .setParallelism(4)
    .withCost({ cpuNsPerRecord: 1_000_000, recordBytes: 4096 })
    .map((r) => ({ key: r.key, value: 1 + (r.seq % 7) }), "Parse")
    .withCost({ cpuNsPerRecord: 2_000_000, recordBytes: 4096 })
    .keyBy((kv) => kv.key)
    .reduce((a, b) => ({ key: a.key, value: a.value + b.value }), "Sum per key")
    .withCost({ cpuNsPerRecord: 2_000_000, recordBytes: 4096 })
    .keyBy((kv) => kv.key % 16)
    .reduce((a, b) => (b.value > a.value || (b.value === a.value && b.key < a.key) ? b : a), "Max per bucket")
    .withCost({ cpuNsPerRecord: 50_000_000 })
    .sinkTo(TransactionalSink("maxima"));
}

/** Time from losing the JobManager to the job RUNNING again under the new leader, ns (first failover). */
export function recoveryNs(r: JobRunResult): number | undefined {
  const f = r.jobManagerFailovers[0];
  return f?.runningNs === undefined ? undefined : f.runningNs - f.lostNs;
}

export default defineScenario({
  name: "jm-failover-batch",
  description: "the JobManager crashes mid-job: batch job recovery reruns no finished task, the twin (recovery off) reruns them all",
  cluster: { taskManagers: 4, coresPerTaskManager: 2 },
  config: {
    "execution.runtime-mode": "BATCH",
    "taskmanager.numberOfTaskSlots": 2,
    "execution.batch.adaptive.auto-parallelism.avg-data-volume-per-task": "2mb",
    "execution.batch.job-recovery.enabled": true,
  },
  knockout: { config: { "execution.batch.job-recovery.enabled": false } },
  job: (env) => job(env),
  faults: [{ trigger: { at: CRASH_AT }, fault: { type: "crash", restartAfter: JM_DOWNTIME }, target: "jm" }],
  expect: [
    finishes(),
    matchesOracle(),
    {
      name: "the JobManager failed over once, with subtasks finished before the crash",
      check: (r) => {
        const f = r.jobManagerFailovers;
        if (f.length !== 1) return `${f.length} JobManager failovers`;
        return f[0]!.finishedAtLoss.length > 0 ? undefined : "nothing had finished when the JobManager was lost";
      },
    },
    {
      name: "no subtask finished before the crash runs again",
      check: (r) => (r.rerunFinishedTasks === 0 ? undefined : `${r.rerunFinishedTasks} of ${r.jobManagerFailovers[0]?.finishedAtLoss.length} finished subtasks ran again`),
    },
  ],
});
