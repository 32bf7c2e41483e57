/**
 * Adaptive batch parallelism (Flink's AdaptiveBatchScheduler, FLIP-187): three independent
 * pipelines read inputs of three sizes (skewed keys, zipf), count per key, and write the
 * counts. Sources have a set parallelism; the aggregation and the sink are left unset, so
 * the scheduler decides each from the bytes its input produced: about one subtask per
 * `avg-data-volume-per-task` of input.
 *
 * The comparison runs the same job with every parallelism fixed (`parallelism.default`
 * written in the config, which Flink applies to every operator): high (the cluster's 32
 * slots) and low (4). Auto should finish within 10 % of the best fixed makespan while
 * holding at most 75 % of fixed-high's slot-seconds: it gives the small inputs one or two
 * subtasks instead of 32, and every subtask costs its startup (20 ms here). Fixed-low
 * holds the fewest slot-seconds but is the slowest. The knock-out twin turns
 * auto-parallelism off: every unset vertex then runs at parallelism.default (1), and the
 * large input crawls.
 *
 * Measured (seeds 1–4): auto 0.217 s and 3.71 slot-s (parallelism 1 / 2 / 20); fixed
 * high 0.231 s, 5.83 slot-s; fixed low 0.308 s, 2.10 slot-s; knock-out 0.810 s.
 */
import type { StreamExecutionEnvironment } from "../engine/api/environment";
import { CollectSink } from "../engine/api/sinks";
import { GeneratorSource } from "../engine/api/sources";
import { runJob, type JobRunResult } from "../engine/job-run";
import { withCosts } from "../engine/costs";
import { defineScenario, type Expectation } from "./define";
import { finishes, matchesOracle } from "./expectations";

/** Records per input; × RECORD_BYTES ≈ 8 MB, 64 MB and 256 MB. */
export const INPUTS = [
  { name: "small", records: 2_000 },
  { name: "medium", records: 16_000 },
  { name: "large", records: 128_000 },
] as const;
const RECORD_BYTES = 1000;
const SLOTS = 32;
export const FIXED_HIGH = SLOTS;
export const FIXED_LOW = 4;

function job(env: StreamExecutionEnvironment): void {
  for (const input of INPUTS) {
    env
      .fromSource<{ key: number; seq: number }>(GeneratorSource({ records: input.records, splits: 8, keys: { count: 4096, distribution: "zipf", exponent: 0.7 } }), "none", input.name)
      .setParallelism(8)
      .withCost({ recordBytes: RECORD_BYTES })
      .keyBy((r) => r.key)
      .reduce((a, b) => ({ key: a.key, seq: a.seq + b.seq }), `Count ${input.name}`)
      .withCost({ cpuNsPerRecord: 5_000, recordBytes: 16 })
      .sinkTo(CollectSink(`counts-${input.name}`));
  }
}

const CLUSTER = { taskManagers: 8, coresPerTaskManager: 4 };
/**
 * Per-task startup (deployment descriptor, operator open, gate and partition setup), the
 * overhead that makes surplus subtasks cost slot time; flowsim's default is 0 (costs.ts).
 */
const COSTS = { taskStartupNsPerTask: 20_000_000 };
const BASE_CONFIG = {
  "execution.runtime-mode": "BATCH",
  "taskmanager.numberOfTaskSlots": SLOTS / 8,
  "execution.batch.adaptive.auto-parallelism.max-parallelism": SLOTS,
  "execution.batch.adaptive.auto-parallelism.avg-data-volume-per-task": "8mb",
};

/** The same job with every parallelism fixed (runs the scenario's seed). */
export function runFixed(seed: number, parallelism: number): JobRunResult {
  return runJob({ seed, scenario: `adaptive-parallelism (fixed ${parallelism})`, config: { ...BASE_CONFIG, "parallelism.default": parallelism }, costs: withCosts(COSTS), cluster: CLUSTER, job });
}

/** Decided parallelism of each input's aggregation, in INPUTS order. */
export function countParallelism(r: JobRunResult): number[] {
  return INPUTS.map((i) => r.vertices.find((v) => v.name === `Count ${i.name}` || v.name.startsWith(`Count ${i.name} ->`))!.parallelism);
}

const scalesWithInput: Expectation = {
  name: "decided parallelism grows with the input (small < medium < large)",
  check: (r) => {
    const [s, m, l] = countParallelism(r);
    return s! < m! && m! < l! ? undefined : `aggregation parallelisms ${s}, ${m}, ${l}`;
  },
};

const nearBestAtFewerSlots: Expectation = {
  name: "within 10 % of the best fixed makespan, at ≤ 75 % of fixed-high's slot-seconds",
  check: (r, ctx) => {
    const high = runFixed(ctx.seed, FIXED_HIGH);
    const low = runFixed(ctx.seed, FIXED_LOW);
    const best = Math.min(high.makespanNs!, low.makespanNs!);
    const auto = r.makespanNs!;
    const problems: string[] = [];
    if (auto > best * 1.1) problems.push(`makespan ${(auto / 1e9).toFixed(3)} s vs best fixed ${(best / 1e9).toFixed(3)} s (high ${(high.makespanNs! / 1e9).toFixed(3)} s, low ${(low.makespanNs! / 1e9).toFixed(3)} s)`);
    if (r.slotSeconds > high.slotSeconds * 0.75) problems.push(`${r.slotSeconds.toFixed(2)} slot-s vs fixed-high ${high.slotSeconds.toFixed(2)} slot-s`);
    return problems.length === 0 ? undefined : problems.join("; ");
  },
};

export default defineScenario({
  name: "adaptive-parallelism",
  description: "three input sizes with skew: the adaptive batch scheduler decides each aggregation's parallelism from its input bytes",
  cluster: CLUSTER,
  config: BASE_CONFIG,
  costs: COSTS,
  knockout: { config: { "execution.batch.adaptive.auto-parallelism.enabled": false } },
  job,
  expect: [finishes(), matchesOracle(), scalesWithInput, nearBestAtFewerSlots],
});
