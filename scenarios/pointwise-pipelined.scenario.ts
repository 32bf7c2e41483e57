/**
 * POINTWISE_EDGES_PIPELINED on a multi-stage BATCH DAG: forward and rescale edges are
 * pipelined, the keyBy (all-to-all) edges stay blocking. Knock-out twin:
 * ALL_EXCHANGES_BLOCKING, where every exchange writes a sort-merge file and its consumer
 * starts only after the producer finished.
 *
 * The DAG: source (4) → parse (forward) → enrich (rescale, 2) → keyBy → sum (2) →
 * format (forward) → keyBy(bucket) → max (2) → sink. The pointwise edges carry the big
 * records (1 KiB before the first keyBy).
 *
 * What flowsim gives (seed 1): 0.642 s pipelined vs 0.848 s blocking, 24 % shorter
 * (ratio 0.757; scenarios.test.ts prints it). Why pipelining wins: the stages joined by pointwise edges run at the same time
 * (their CPU work overlaps instead of adding up) and the pointwise data never touches the
 * disk (no spill write, no read-back); the keyBy edges still cut the job into blocking
 * stages, so the gain is bounded by what the pointwise part costs. The seed documents
 * claim > 20 % on TPC-DS; that figure is unverified, and this small job is not TPC-DS.
 */
import type { StreamExecutionEnvironment } from "../engine/api/environment";
import { CollectSink } from "../engine/api/sinks";
import { GeneratorSource } from "../engine/api/sources";
import { runJob } from "../engine/job-run";
import { defineScenario, programOf, variantOf, type Expectation, type Scenario } from "./define";
import { finishes, matchesOracle } from "./expectations";

/**
 * The run's makespan over the same job's under ALL_EXCHANGES_BLOCKING (same seed, cluster
 * and other options) must stay at or below this. Measured, seed 1: 0.642 s vs 0.848 s,
 * ratio 0.757 (24 % shorter). The bound (≥ 15 % shorter) leaves room for cost-model
 * changes; the blocking twin itself has ratio 1 and fails it.
 */
export const MAKESPAN_RATIO_BOUND = 0.85;

/** Makespan of the same run with every exchange blocking, ns; cached by seed and config. */
const blockingMakespans = new Map<string, number>();

export function blockingMakespanNs(scenario: Scenario, seed: number, knockout: boolean): number {
  const config = { ...variantOf(scenario, knockout).config, "execution.batch-shuffle-mode": "ALL_EXCHANGES_BLOCKING" };
  const key = `${seed} ${JSON.stringify(config)}`;
  let ns = blockingMakespans.get(key);
  if (ns === undefined) {
    const r = runJob({ seed, scenario: `${scenario.name} (blocking reference)`, config, cluster: scenario.cluster, job: programOf(scenario, knockout ? scenario.knockout?.params : {}) });
    if (r.makespanNs === undefined || r.status !== "FINISHED") throw new Error(`the blocking reference run of ${scenario.name} did not finish: ${r.status}`);
    ns = r.makespanNs;
    blockingMakespans.set(key, ns);
  }
  return ns;
}

function fasterThanBlocking(): Expectation {
  return {
    name: `makespan at most ${MAKESPAN_RATIO_BOUND} × the ALL_EXCHANGES_BLOCKING run's`,
    check: (r, ctx) => {
      if (r.makespanNs === undefined) return "the job did not finish";
      const blocking = blockingMakespanNs(ctx.scenario, ctx.seed, ctx.knockout);
      const ratio = r.makespanNs / blocking;
      return ratio <= MAKESPAN_RATIO_BOUND ? undefined : `makespan ${(r.makespanNs / 1e9).toFixed(3)} s is ${ratio.toFixed(3)} × the blocking run's ${(blocking / 1e9).toFixed(3)} s`;
    },
  };
}

export default defineScenario({
  name: "pointwise-pipelined",
  description: "POINTWISE_EDGES_PIPELINED: forward/rescale stages overlap and skip the disk; blocking (twin) runs them one after another",
  cluster: { taskManagers: 2, coresPerTaskManager: 4 },
  config: {
    "execution.runtime-mode": "BATCH",
    "execution.batch-shuffle-mode": "POINTWISE_EDGES_PIPELINED",
    "taskmanager.numberOfTaskSlots": 4,
  },
  params: { records: 4000 },
  knockout: { config: { "execution.batch-shuffle-mode": "ALL_EXCHANGES_BLOCKING" } },
  job: (env, params) => pointwiseJob(env, params),
  expect: [finishes(), matchesOracle(), fasterThanBlocking()],
});

export function pointwiseJob(env: StreamExecutionEnvironment, params: Record<string, unknown>): void {
  const records = Number(params.records ?? 4000);
  env
    .fromSource<{ key: number; seq: number }>(GeneratorSource({ records, splits: 4, keys: { count: 64, distribution: "uniform" } }), "none", "events")
    .setParallelism(4)
    .map((r) => ({ key: r.key, value: 1 + (r.seq % 9) }), "Parse")
    .setParallelism(4)
    .withCost({ cpuNsPerRecord: 200_000, recordBytes: 4096 })
    .disableChaining()
    .rescale()
    .map((kv) => ({ key: kv.key, value: kv.value * 2 }), "Enrich")
    .setParallelism(2)
    .withCost({ cpuNsPerRecord: 300_000, recordBytes: 4096 })
    .keyBy((kv) => kv.key)
    .reduce((a, b) => ({ key: a.key, value: a.value + b.value }), "Sum")
    .setParallelism(2)
    .map((kv) => ({ bucket: kv.key % 8, key: kv.key, value: kv.value }), "Format")
    .setParallelism(2)
    .withCost({ cpuNsPerRecord: 100_000 })
    .disableChaining()
    .keyBy((r) => r.bucket)
    .reduce((a, b) => (b.value > a.value || (b.value === a.value && b.key < a.key) ? b : a), "Max")
    .setParallelism(2)
    .sinkTo(CollectSink("maxima"));
}
