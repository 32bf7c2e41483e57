/**
 * Backpressure: an unbounded source at `ratePerSecond` per split feeds a sink that can take
 * only `1 / capacityFraction` of it (its per-record CPU cost is set accordingly). Credit-
 * based flow control must slow the source to the sink's pace: in steady state the source's
 * throughput matches the sink's and the source is backpressured most of the time, while
 * the network buffers in flight stay bounded (the engine asserts the per-channel bounds).
 * Knock-out twin: a fast sink — no backpressure.
 */
import { DiscardingSink } from "../engine/api/sinks";
import { GeneratorSource } from "../engine/api/sources";
import { defineScenario } from "./define";
import { backpressuredAbove, throughputsMatch } from "./expectations";

export default defineScenario({
  name: "backpressure",
  description: "a sink with 1/5 of the source rate: the source slows to the sink's pace",
  cluster: { taskManagers: 2, coresPerTaskManager: 2 },
  config: { "taskmanager.numberOfTaskSlots": 2, "parallelism.default": 2 },
  params: { ratePerSecond: 10_000, splits: 2, capacityFraction: 0.2 },
  job: (env, p) => {
    const rate = Number(p.ratePerSecond);
    const splits = Number(p.splits);
    const parallelism = 2;
    // Sink capacity = parallelism × 1e9 / cost = capacityFraction × (splits × rate).
    const sinkCostNs = Math.round((parallelism * 1e9) / (Number(p.capacityFraction) * splits * rate));
    env
      .fromSource<number>(GeneratorSource({ splits, ratePerSecond: rate, value: (i) => i }), "none", "numbers")
      .map((x) => x + 1)
      .withCost({ recordBytes: Number(p.recordBytes ?? 64) })
      .rebalance()
      .map((x) => x * 2)
      .withCost({ cpuNsPerRecord: sinkCostNs })
      .name("Slow Map")
      .sinkTo(DiscardingSink("out"));
  },
  timeLimit: "20s",
  knockout: { params: { capacityFraction: 20 } },
  expect: [throughputsMatch("Source", "Slow Map", 0.05), backpressuredAbove("Source", 0.5)],
});
