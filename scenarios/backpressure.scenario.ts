/**
 * Backpressure: an unbounded source at `ratePerSecond` per split feeds a sink that can take
 * only `1 / capacityFraction` of it (its per-record CPU cost is set accordingly). Credit-
 * based flow control must slow the source to the sink's pace: in steady state the source's
 * throughput matches the sink's and the source is backpressured most of the time, while
 * the network buffers in flight stay bounded (the engine asserts the per-channel bounds).
 * Knock-out twin: a fast sink — no backpressure.
 */
import { slowMapJob } from "./workloads";
import { defineScenario } from "./define";
import { backpressuredAbove, throughputsMatch } from "./expectations";

export default defineScenario({
  name: "backpressure",
  description: "a sink with 1/5 of the source rate: the source slows to the sink's pace",
  cluster: { taskManagers: 2, coresPerTaskManager: 2 },
  config: { "taskmanager.numberOfTaskSlots": 2, "parallelism.default": 2 },
  params: { ratePerSecond: 10_000, splits: 2, capacityFraction: 0.2 },
  job: slowMapJob,
  timeLimit: "20s",
  knockout: { params: { capacityFraction: 20 } },
  expect: [throughputsMatch("Source", "Slow Map", 0.05), backpressuredAbove("Source", 0.5)],
});
