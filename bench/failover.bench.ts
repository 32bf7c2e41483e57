/**
 * Failover figures (npm run bench): restarted task attempts and recovery time, region vs
 * full failover, on (a) the pointwise-heavy BATCH DAG of scenarios/region-failover and
 * (b) a keyed STREAMING job (WordCount, parallelism 4, aligned checkpoints every second)
 * whose TaskManager tm-2 crashes at 5 s and is back at 6 s. Virtual time from the cost
 * model, so the figures are deterministic (seed 1); recovery = from the failure to the
 * last restarted subtask RUNNING again.
 */
import { runJob, type JobRunResult } from "../engine/job-run";
import { programOf } from "../scenarios/define";
import regionFailover from "../scenarios/region-failover.scenario";
import { getJob } from "../scenarios/jobs/index";
import { MemorySink } from "../sim/trace/recorder";

interface Ev {
  t: number;
  kind: string;
  state?: string;
  vertex?: string;
  subtask?: number;
}

function figures(r: JobRunResult, lines: string[]) {
  const events = lines.map((l) => JSON.parse(l) as Ev);
  const failure = events.find((e) => e.kind === "FailoverTriggered");
  const restarted = events.filter((e) => e.kind === "TasksRestarted").at(-1);
  let recoveredNs = 0;
  if (failure !== undefined && restarted !== undefined) {
    for (const e of events) if (e.kind === "TaskStateChanged" && e.state === "RUNNING" && e.t >= restarted.t) recoveredNs = Math.max(recoveredNs, e.t);
  }
  return {
    status: r.status,
    restartedTasks: r.restartedTasks,
    ofTasks: r.jobManager.executionGraph.vertices.length,
    recoveryMs: failure === undefined ? null : Math.round((recoveredNs - failure.t) / 1e4) / 100,
    makespanMs: Math.round((r.makespanNs ?? r.endNs) / 1e4) / 100,
  };
}

function batchDag(strategy: "region" | "full") {
  const sink = new MemorySink();
  const r = runJob({
    seed: 1,
    scenario: "bench-failover-batch",
    config: { ...regionFailover.config, "jobmanager.execution.failover-strategy": strategy },
    cluster: regionFailover.cluster,
    job: programOf(regionFailover, {}),
    trace: { sink },
  });
  return figures(r, sink.lines);
}

function keyedStreaming(strategy: "region" | "full") {
  const wordcount = getJob("wordcount");
  const sink = new MemorySink();
  const r = runJob({
    seed: 1,
    scenario: "bench-failover-streaming",
    config: {
      "taskmanager.numberOfTaskSlots": 2,
      "execution.checkpointing.interval": "1s",
      "jobmanager.execution.failover-strategy": strategy,
      "heartbeat.interval": "1s",
      "heartbeat.timeout": "5s",
    },
    cluster: { taskManagers: 2, coresPerTaskManager: 2 },
    job: (env) => wordcount.build(env, wordcount.parseParams({ records: 2000, parallelism: 4, splits: 8, ratePerSecond: 25, sink: "transactional" })),
    faults: [{ trigger: { at: "5s" }, fault: { type: "crash", restartAfter: "1s" }, target: "tm-2" }],
    trace: { sink },
  });
  return figures(r, sink.lines);
}

const out = {
  pointwiseBatchDag: { region: batchDag("region"), full: batchDag("full") },
  keyedStreaming: { region: keyedStreaming("region"), full: keyedStreaming("full") },
};
console.log(JSON.stringify({ bench: "failover", ...out }, null, 2));
