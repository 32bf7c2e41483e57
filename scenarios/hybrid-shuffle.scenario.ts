/**
 * Hybrid shuffle (FLIP-235) on a three-stage BATCH job: a paced source, a rebalance
 * (all-to-all) into a map whose subtask 1 fails once, a keyBy into a per-key sum.
 *
 * With ALL_EXCHANGES_HYBRID_FULL and enough slots for every subtask, the consumers run
 * while their producers still produce (the default consume constraint,
 * UNFINISHED_PRODUCERS) — visible as metric samples where both stages are running and the
 * consumer reads. FULL spills everything, so its partitions are re-consumable: the failed
 * map subtask restarts with its downstream (the sums it feeds) and re-reads the sources'
 * data from the spill file; the sources are not rerun. The knock-out twin,
 * ALL_EXCHANGES_HYBRID_SELECTIVE, spills only what is not consumed in time and drops what
 * was read, so the same failure reruns the sources (and so every map subtask, all their
 * consumers) and fails the "producers not rerun" expectation.
 *
 * test/hybrid-shuffle.test.ts runs the other variants: too few slots (consumers wait for
 * their producers' slots and run after them), no failure, and the three consume constraints.
 */
import type { StreamExecutionEnvironment } from "../engine/api/environment";
import { CollectSink } from "../engine/api/sinks";
import { GeneratorSource } from "../engine/api/sources";
import type { JobRunResult } from "../engine/job-run";
import { defineScenario, type Expectation } from "./define";
import { finishes, matchesOracle } from "./expectations";

const PARALLELISM = 2;

export const SOURCE = "numbers";
export const FRAGILE = "Fragile Map";
export const SUM = "Sum per key";

export default defineScenario({
  name: "hybrid-shuffle",
  description: "hybrid shuffle: consumers overlap producers; a failed consumer re-reads a FULL partition (producers not rerun), SELECTIVE reruns them",
  cluster: { taskManagers: 2, coresPerTaskManager: 4 },
  config: {
    "execution.runtime-mode": "BATCH",
    "execution.batch-shuffle-mode": "ALL_EXCHANGES_HYBRID_FULL",
    // 3 vertices × parallelism 2: a slot for every subtask (hybrid shares no slots).
    "taskmanager.numberOfTaskSlots": 3,
    "parallelism.default": PARALLELISM,
    "restart-strategy.type": "fixed-delay",
    "restart-strategy.fixed-delay.attempts": 3,
    "restart-strategy.fixed-delay.delay": "500ms",
  },
  params: { records: 2000, ratePerSecond: 200, failAt: 150 },
  knockout: { config: { "execution.batch-shuffle-mode": "ALL_EXCHANGES_HYBRID_SELECTIVE" } },
  job: (env, params) => hybridJob(env, params),
  expect: [
    finishes(),
    matchesOracle(),
    {
      name: "consumers read while their producers run",
      check: (r) => (concurrentSampleTicks(r, SOURCE, FRAGILE) > 0 ? undefined : "no metric sample shows the map reading while a source runs"),
    },
    producersNotRerun(),
  ],
});

/**
 * The job: `records` in `splits` splits (default: one per source subtask) paced at
 * `ratePerSecond` per split (0: unpaced), `valueCpuNs` of CPU per record in the source's
 * chain (0: the default cost), rebalance into a map that throws on attempt 0 of subtask 1 at
 * its `failAt`-th record (0: never), keyBy into a sum.
 */
export function hybridJob(env: StreamExecutionEnvironment, params: Record<string, unknown>): void {
  const records = Number(params.records ?? 2000);
  const ratePerSecond = Number(params.ratePerSecond ?? 0) > 0 ? Number(params.ratePerSecond) : undefined;
  const cpuNsPerRecord = Number(params.valueCpuNs ?? 0);
  const failAt = Number(params.failAt ?? 0);
  const splits = Number(params.splits ?? PARALLELISM);
  let seen = 0;
  env
    .fromSource<{ key: number; seq: number }>(
      GeneratorSource({ records, splits, keys: { count: 40, distribution: "uniform" }, ...(ratePerSecond !== undefined ? { ratePerSecond } : {}) }),
      "none",
      SOURCE,
    )
    .map((r) => ({ key: r.key, value: 1 + (r.seq % 5) }), "Value")
    // 1 KiB records: a 32 KiB buffer fills (and becomes readable) every ~0.3 s per channel.
    .withCost({ recordBytes: 1024, ...(cpuNsPerRecord > 0 ? { cpuNsPerRecord } : {}) })
    .rebalance()
    .map((kv, ctx) => {
      if (failAt > 0 && ctx.attemptNumber === 0 && ctx.subtaskIndex === 1 && ++seen === failAt) throw new Error("injected failure in map subtask 1");
      return kv;
    }, FRAGILE)
    .keyBy((kv) => kv.key)
    .reduce((a, b) => ({ key: a.key, value: a.value + b.value }), SUM)
    .sinkTo(CollectSink("sums"));
}

/** Ids of the job vertices whose name starts with `prefix`. */
function vertexIds(r: JobRunResult, prefix: string): Set<string> {
  return new Set(r.vertices.filter((v) => v.name.startsWith(prefix) || v.name.includes(prefix)).map((v) => v.id));
}

/**
 * Metric sample times at which a subtask of `producer` was running and a subtask of
 * `consumer` read records in the interval ending there: evidence of pipelined consumption.
 */
export function concurrentSampleTicks(r: JobRunResult, producer: string, consumer: string): number {
  const p = vertexIds(r, producer);
  const c = vertexIds(r, consumer);
  const producing = new Set(r.samples.filter((s) => p.has(s.vertex)).map((s) => s.tNs));
  const reading = new Set(r.samples.filter((s) => c.has(s.vertex) && s.recordsIn > 0).map((s) => s.tNs));
  let n = 0;
  for (const t of reading) if (producing.has(t)) n++;
  return n;
}

/** Subtasks of a vertex (by name) restarted over the run. */
export function restartedSubtasksOf(r: JobRunResult, name: string): number {
  const ids = vertexIds(r, name);
  return r.jobManager.restartedVertices.filter((v) => ids.has(v.replace(/\[\d+\]$/, ""))).length;
}

function producersNotRerun(): Expectation {
  return {
    name: "a failed consumer does not rerun its producers",
    check: (r) => {
      if (r.restarts === 0) return "no failover happened";
      const n = restartedSubtasksOf(r, SOURCE);
      return n === 0 ? undefined : `${n} source subtask attempt(s) restarted (${r.restartedTasks} in total)`;
    },
  };
}
