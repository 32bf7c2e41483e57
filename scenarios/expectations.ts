/**
 * Reusable scenario expectations: each checks an *effect* of a mechanism on a run and
 * returns a one-line problem, or undefined when met.
 */
import { StreamExecutionEnvironment, resolvePartitioners } from "../engine/api/environment";
import { checkExactlyOnce } from "../engine/oracle/checker";
import { compareWithOracle } from "../engine/oracle/compare";
import { runOracle } from "../engine/oracle/oracle";
import type { JobRunResult } from "../engine/job-run";
import { LatencyTracker } from "../engine/runtime/latency-tracker";
import { Rng } from "../sim/rng";
import { programOf, variantOf, type Expectation } from "./define";

/**
 * Quantile q of the completed checkpoints' durations (trigger to completion), ns, after the
 * first `skip` (the pipeline filling up); NaN when none is left.
 */
export function checkpointDurationNs(r: JobRunResult, q: number, skip = 0): number {
  return LatencyTracker.percentile((r.checkpoints?.durationsNs ?? []).slice(skip), q) ?? NaN;
}

export function finishes(): Expectation {
  return {
    name: "the job finishes",
    check: (r) => (r.status === "FINISHED" ? undefined : `status ${r.status}${r.failureCause ? ` (${r.failureCause})` : ""}`),
  };
}

/** Committed output equals the oracle's (library jobs: with the job's compare mode). */
export function matchesOracle(): Expectation {
  return {
    name: "committed output equals the oracle",
    check: (r, ctx) => {
      const job = ctx.scenario.libraryJob;
      const env = new StreamExecutionEnvironment();
      const variant = variantOf(ctx.scenario, ctx.knockout);
      programOf(ctx.scenario, ctx.knockout ? ctx.scenario.knockout?.params : {})(env);
      const graph = env.getStreamGraph();
      resolvePartitioners(graph, Number(variant.config["parallelism.default"] ?? 1));
      const expected = runOracle(graph, { runtimeMode: r.runtimeMode, seed: Rng.root(ctx.seed) });
      const actual = new Map([...r.outputs].map(([k, v]) => [k, [...v]]));
      const params = job?.parseParams(variant.params, "scenario.params");
      const cmp = compareWithOracle(actual, expected, job?.compare ?? "multiset", job?.compareOptions?.(params) ?? {});
      return cmp.equal ? undefined : cmp.summary;
    },
  };
}

/** Samples of vertices whose name starts with `prefix`, in the second half of the run. */
function steadySamples(r: JobRunResult, prefix: string) {
  const ids = new Set(r.vertices.filter((v) => v.name.startsWith(prefix)).map((v) => v.id));
  const half = r.endNs / 2;
  return r.samples.filter((s) => ids.has(s.vertex) && s.tNs > half);
}

/** Records/s through a vertex (by name prefix) in steady state (second half of the run). */
export function steadyThroughput(r: JobRunResult, prefix: string, field: "recordsIn" | "recordsOut"): number {
  const samples = steadySamples(r, prefix);
  if (samples.length === 0) return 0;
  const t0 = Math.min(...samples.map((s) => s.tNs));
  const t1 = Math.max(...samples.map((s) => s.tNs));
  const counted = samples.filter((s) => s.tNs > t0);
  const records = counted.reduce((a, s) => a + s[field], 0);
  return t1 > t0 ? records / ((t1 - t0) / 1e9) : 0;
}

/** Mean backpressured ratio of a vertex's subtasks in steady state. */
export function steadyBackpressure(r: JobRunResult, prefix: string): number {
  const samples = steadySamples(r, prefix);
  return samples.length === 0 ? 0 : samples.reduce((a, s) => a + s.backpressured, 0) / samples.length;
}

export function throughputsMatch(sourcePrefix: string, sinkPrefix: string, tolerance: number): Expectation {
  return {
    name: `steady source throughput within ${Math.round(tolerance * 100)} % of the sink's`,
    check: (r) => {
      const src = steadyThroughput(r, sourcePrefix, "recordsIn");
      const sink = steadyThroughput(r, sinkPrefix, "recordsIn");
      if (sink === 0) return "the sink processed nothing in steady state";
      const off = Math.abs(src - sink) / sink;
      return off <= tolerance ? undefined : `source ${Math.round(src)}/s vs sink ${Math.round(sink)}/s (${Math.round(off * 100)} % apart)`;
    },
  };
}

export function backpressuredAbove(prefix: string, ratio: number): Expectation {
  return {
    name: `"${prefix}" backpressured more than ${ratio} of the time`,
    check: (r) => {
      const bp = steadyBackpressure(r, prefix);
      return bp > ratio ? undefined : `backpressured ratio ${bp.toFixed(3)}`;
    },
  };
}

/**
 * Exactly-once against the oracle, each difference classified lost / duplicate / phantom
 * (engine/oracle/checker.ts). Library jobs use their compare mode; inline programs
 * "multiset", or "finalPerKey" with `keyOf`.
 */
export function exactlyOnce(opts: { compare?: "multiset" | "finalPerKey"; keyOf?: (r: unknown) => string | number } = {}): Expectation {
  return {
    name: "committed output is exactly once (nothing lost, duplicated or made up)",
    check: (r, ctx) => {
      const env = new StreamExecutionEnvironment();
      const variant = variantOf(ctx.scenario, ctx.knockout);
      // The oracle runs the program without faults: inline programs get params.inject = false.
      const inject = ctx.scenario.libraryJob === undefined ? { inject: false } : {};
      programOf(ctx.scenario, { ...(ctx.knockout ? ctx.scenario.knockout?.params : {}), ...inject })(env);
      const graph = env.getStreamGraph();
      resolvePartitioners(graph, Number(variant.config["parallelism.default"] ?? 1));
      const expected = runOracle(graph, { runtimeMode: r.runtimeMode, seed: Rng.root(ctx.seed) });
      const actual = new Map([...r.outputs].map(([k, v]) => [k, [...v]]));
      const job = ctx.scenario.libraryJob;
      const compare = opts.compare ?? (job?.compare === "finalPerKey" ? "finalPerKey" : "multiset");
      const keyOf = opts.keyOf ?? job?.compareOptions?.(job.parseParams(variant.params, "scenario.params")).keyOf;
      const result = checkExactlyOnce(actual, expected, { compare, ...(keyOf !== undefined ? { keyOf: keyOf as (r: unknown) => string | number } : {}) });
      return result.ok ? undefined : result.summary.split("\n").join("; ");
    },
  };
}
