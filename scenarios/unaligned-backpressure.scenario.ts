/**
 * Unaligned checkpoints under backpressure (FLIP-76): the backpressure job — a source
 * faster than a slow map — with checkpoints every 2 s. Barriers of unaligned checkpoints
 * jump the full output and input queues, and the data they overtake is persisted as channel
 * state, so a checkpoint takes about as long whatever the backpressure. The expectation
 * runs the same job again with the slow map 10× slower (10× the backpressure, the same
 * buffers in flight but 1/10 the throughput): the p50 checkpoint duration stays within 2×,
 * and in-flight data is persisted.
 * Knock-out twin: aligned checkpoints — barriers wait behind the queued data, so the
 * duration grows with it (in-flight bytes / throughput), and nothing is persisted.
 */
import { runJob, type JobRunResult } from "../engine/job-run";
import { parseDuration } from "../sim/time";
import { slowMapJob } from "./workloads";
import { defineScenario, programOf, variantOf } from "./define";
import { backpressuredAbove, checkpointDurationNs } from "./expectations";

/** p50 duration of the checkpoints after the first two (the pipeline fills first), ns; Infinity when none. */
function p50Duration(r: JobRunResult): number {
  const ns = checkpointDurationNs(r, 0.5, 2);
  return Number.isNaN(ns) ? Infinity : ns;
}

const scenario = defineScenario({
  name: "unaligned-backpressure",
  description: "unaligned checkpoints under 1× and 10× backpressure: durations stay flat, in-flight data is persisted",
  cluster: { taskManagers: 2, coresPerTaskManager: 2 },
  config: {
    "taskmanager.numberOfTaskSlots": 2,
    "parallelism.default": 2,
    "execution.checkpointing.interval": "2s",
    "execution.checkpointing.unaligned.enabled": true,
  },
  params: { ratePerSecond: 10_000, splits: 2, capacityFraction: 0.2 },
  knockout: { config: { "execution.checkpointing.unaligned.enabled": false } },
  job: slowMapJob,
  timeLimit: "30s",
  expect: [
    backpressuredAbove("Source", 0.5),
    {
      name: "as backpressure grows 10×, the p50 checkpoint duration stays within 2×",
      check: (r, ctx) => {
        // The same scenario (or its twin) with the slow map 10× slower.
        const variant = variantOf(ctx.scenario, ctx.knockout);
        const tenfold = runJob({
          seed: ctx.seed,
          scenario: `${ctx.scenario.name} (10× backpressure)`,
          config: variant.config,
          cluster: ctx.scenario.cluster,
          job: programOf(ctx.scenario, { ...(ctx.knockout ? ctx.scenario.knockout?.params : {}), capacityFraction: Number(variant.params.capacityFraction) / 10 }),
          timeLimitNs: parseDuration(ctx.scenario.timeLimit ?? "30s", "timeLimit"),
        });
        const base = p50Duration(r);
        const big = p50Duration(tenfold);
        const show = (ns: number) => (Number.isFinite(ns) ? `${(ns / 1e6).toFixed(1)} ms` : "none completed");
        return big <= 2 * base ? undefined : `p50 ${show(base)} at 1×, ${show(big)} at 10×`;
      },
    },
    {
      name: "in-flight data is persisted as channel state",
      check: (r) => {
        const bytes = (r.checkpoints?.subtasks ?? []).reduce((n, a) => n + a.persistedBytes, 0);
        return bytes > 0 ? undefined : "no persisted in-flight bytes";
      },
    },
  ],
});

export default scenario;
