/**
 * Property: random multi-stage BATCH jobs under hybrid shuffle (FULL or SELECTIVE, any
 * consume constraint or none, enough or too few slots) with random injected task failures
 * commit exactly the oracle's output. Failures are thrown by a map on attempt 0 (or 0 and
 * 1) of a chosen subtask at its n-th record, so the region failover must restart the
 * right producers (SELECTIVE: not re-consumable) or re-read spilled data (FULL).
 * A failure prints a one-line reproducer with the simulation seed.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StreamExecutionEnvironment, resolvePartitioners } from "../engine/api/environment";
import { CollectSink } from "../engine/api/sinks";
import { GeneratorSource } from "../engine/api/sources";
import { runJob } from "../engine/job-run";
import { compareWithOracle } from "../engine/oracle/compare";
import { runOracle } from "../engine/oracle/oracle";
import { Rng } from "../sim/rng";
import { NS_PER_MIN } from "../sim/time";
import { PROP_SCALE, propRuns, propSeed, throwIfFailed } from "./prop";

const CASES = 150;
const WALL_BUDGET_MS = 120_000 * PROP_SCALE;

type Edge = "rebalance" | "rescale" | "keyBy";

interface HybridCase {
  mode: "ALL_EXCHANGES_HYBRID_FULL" | "ALL_EXCHANGES_HYBRID_SELECTIVE";
  constraint: "UNFINISHED_PRODUCERS" | "ONLY_FINISHED_PRODUCERS" | "ALL_PRODUCERS_FINISHED" | null;
  records: number;
  /** Stage i: the edge into map i and its parallelism. */
  stages: { edge: Edge; parallelism: number }[];
  sourceParallelism: number;
  slots: number;
  /** Map `stage`, subtask `subtask` throws at its `atRecord`-th record on attempts below `attempts`. */
  failures: { stage: number; subtask: number; atRecord: number; attempts: number }[];
  seed: number;
}

const caseArb: fc.Arbitrary<HybridCase> = fc
  .record({
    mode: fc.constantFrom("ALL_EXCHANGES_HYBRID_FULL" as const, "ALL_EXCHANGES_HYBRID_SELECTIVE" as const),
    constraint: fc.constantFrom("UNFINISHED_PRODUCERS" as const, "ONLY_FINISHED_PRODUCERS" as const, "ALL_PRODUCERS_FINISHED" as const, null),
    records: fc.integer({ min: 50, max: 600 }),
    stages: fc.array(fc.record({ edge: fc.constantFrom<Edge>("rebalance", "rescale", "keyBy"), parallelism: fc.integer({ min: 1, max: 3 }) }), { minLength: 1, maxLength: 3 }),
    sourceParallelism: fc.integer({ min: 1, max: 3 }),
    slots: fc.integer({ min: 1, max: 4 }),
    failures: fc.array(fc.record({ stage: fc.nat(2), subtask: fc.nat(2), atRecord: fc.integer({ min: 1, max: 60 }), attempts: fc.integer({ min: 1, max: 2 }) }), { maxLength: 2 }),
    seed: fc.integer({ min: 1, max: 1_000_000 }),
  })
  .map((c) => ({ ...c, failures: c.failures.filter((f) => f.stage < c.stages.length && f.subtask < c.stages[f.stage]!.parallelism) }));

function build(env: StreamExecutionEnvironment, c: HybridCase, inject: boolean): void {
  let stream = env
    .fromSource<{ key: number; seq: number }>(GeneratorSource({ records: c.records, splits: 4, keys: { count: 17, distribution: "uniform" } }), "none", "gen")
    .setParallelism(c.sourceParallelism)
    .map((r) => ({ key: r.key, value: 1 + (r.seq % 11) }), "Value")
    .setParallelism(c.sourceParallelism)
    .withCost({ recordBytes: 512 });
  c.stages.forEach((stage, i) => {
    const fails = c.failures.filter((f) => f.stage === i);
    const seen = new Map<string, number>();
    const fn = (kv: { key: number; value: number }, ctx: { subtaskIndex: number; attemptNumber: number }) => {
      for (const f of fails) {
        if (!inject || f.subtask !== ctx.subtaskIndex || ctx.attemptNumber >= f.attempts) continue;
        const id = `${ctx.subtaskIndex}#${ctx.attemptNumber}`;
        const n = (seen.get(id) ?? 0) + 1;
        seen.set(id, n);
        if (n === f.atRecord) throw new Error(`injected failure in stage ${i} subtask ${ctx.subtaskIndex} attempt ${ctx.attemptNumber}`);
      }
      return { key: kv.key, value: kv.value + i };
    };
    const input = stage.edge === "keyBy" ? stream.keyBy((kv) => kv.key) : stage.edge === "rescale" ? stream.rescale() : stream.rebalance();
    stream = input.map(fn, `Stage ${i}`).setParallelism(stage.parallelism);
  });
  stream
    .keyBy((kv) => kv.key)
    .reduce((a, b) => ({ key: a.key, value: a.value + b.value }), "Sum")
    .setParallelism(2)
    .sinkTo(CollectSink("sums"));
}

function configOf(c: HybridCase): Record<string, unknown> {
  return {
    "execution.runtime-mode": "BATCH",
    "execution.batch-shuffle-mode": c.mode,
    ...(c.constraint !== null ? { "jobmanager.partition.hybrid.partition-data-consume-constraint": c.constraint } : {}),
    "taskmanager.numberOfTaskSlots": c.slots,
    "restart-strategy.type": "fixed-delay",
    "restart-strategy.fixed-delay.attempts": 10,
    "restart-strategy.fixed-delay.delay": "200ms",
  };
}

function problemOf(c: HybridCase): string | undefined {
  const result = runJob({ seed: c.seed, scenario: "hybrid-property", config: configOf(c), cluster: { taskManagers: 2, coresPerTaskManager: 2 }, job: (env) => build(env, c, true), timeLimitNs: 10 * NS_PER_MIN, maxEvents: 200_001 });
  if (result.status !== "FINISHED") return `status ${result.status}: ${result.failureCause ?? ""}`;
  const env = new StreamExecutionEnvironment();
  build(env, c, false);
  const graph = env.getStreamGraph();
  resolvePartitioners(graph, 1);
  const expected = runOracle(graph, { runtimeMode: "BATCH", seed: Rng.root(c.seed) });
  const cmp = compareWithOracle(new Map([...result.outputs].map(([k, v]) => [k, [...v]])), expected, "multiset", {});
  return cmp.equal ? undefined : cmp.summary;
}

function reproducer(c: HybridCase): string {
  return `reproduce: hybrid case ${JSON.stringify(c)} (seed ${c.seed}; problemOf(case) in test/hybrid-shuffle.property.test.ts)`;
}

describe("hybrid shuffle property", () => {
  it(
    "random hybrid BATCH jobs with random task failures commit the oracle's output",
    () => {
      const envSeed = propSeed();
      const details = fc.check(
        fc.property(caseArb, (c) => {
          const problem = problemOf(c);
          if (problem !== undefined) throw new Error(problem);
        }),
        { numRuns: propRuns(CASES), interruptAfterTimeLimit: WALL_BUDGET_MS, ...(envSeed !== undefined ? { seed: envSeed } : {}) },
      );
      throwIfFailed(details, reproducer);
      expect(details.numRuns).toBeGreaterThanOrEqual(Math.min(20, propRuns(CASES)));
    },
    WALL_BUDGET_MS + 30_000,
  );
});
