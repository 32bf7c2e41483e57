/**
 * Region failover on a pointwise-heavy BATCH DAG: eight parallel pipelines joined only
 * by blocking exchanges. One subtask of the middle stage fails once. Region failover
 * (Flink's default) restarts that subtask's region and what consumes it; the knock-out
 * twin (`full`) restarts the whole job and so reruns far more tasks.
 */
import { CollectSink } from "../engine/api/sinks";
import { GeneratorSource } from "../engine/api/sources";
import { defineScenario } from "./define";
import { finishes } from "./expectations";

const PARALLELISM = 8;

export default defineScenario({
  name: "region-failover",
  description: "one failing subtask in a pointwise batch DAG: region failover restarts a few tasks, full restarts all",
  cluster: { taskManagers: 4, coresPerTaskManager: 2 },
  config: {
    "execution.runtime-mode": "BATCH",
    "taskmanager.numberOfTaskSlots": 2,
    "parallelism.default": PARALLELISM,
    "restart-strategy.type": "fixed-delay",
    "restart-strategy.fixed-delay.delay": "1s",
    "jobmanager.execution.failover-strategy": "region",
  },
  knockout: { config: { "jobmanager.execution.failover-strategy": "full" } },
  job: (env) => {
    let seen = 0;
    env
      .fromSource<{ key: number; seq: number }>(GeneratorSource({ records: 4000, splits: PARALLELISM, keys: { count: 100, distribution: "uniform" } }), "none", "numbers")
      .map((r) => ({ key: r.key, seq: r.seq * 2 }), "Scale")
      .disableChaining()
      .rescale()
      .map((r, ctx) => {
        if (ctx.attemptNumber === 0 && ctx.subtaskIndex === 3 && ++seen === 100) throw new Error("injected failure in subtask 3");
        return r;
      }, "Fragile Map")
      .forward()
      .filter((r) => r.seq % 3 !== 0, "Filter")
      .disableChaining()
      .sinkTo(CollectSink("out"));
  },
  expect: [
    finishes(),
    {
      name: "at most a quarter of the task attempts restart",
      check: (r) => {
        const all = r.jobManager.executionGraph.vertices.length;
        return r.restartedTasks <= all / 4 ? undefined : `${r.restartedTasks} of ${all} task attempts restarted`;
      },
    },
  ],
});
