/**
 * Test helper: runs a library job (scenarios/jobs) on a simulated cluster and compares its
 * committed output with the oracle's, for the engine-vs-oracle property, the determinism
 * fixture and ad-hoc reproductions. Every case is described by a plain JSON-able spec, so a
 * failure prints a one-line reproducer that `reproduceLine` round-trips.
 */
import { StreamExecutionEnvironment, resolvePartitioners } from "../engine/api/environment";
import type { RuntimeMode } from "../engine/api/types";
import { runJob, type JobRunResult } from "../engine/job-run";
import { compareWithOracle, runOracle, type CompareResult } from "../engine/oracle/oracle";
import { getJob } from "../scenarios/jobs/index";
import type { TraceOptions } from "../sim/trace/recorder";

export interface LibraryCase {
  job: string;
  /** Partial params (defaults fill the rest). */
  params: Record<string, unknown>;
  mode: RuntimeMode;
  /** Engine options besides execution.runtime-mode (which `mode` sets). */
  config: Record<string, unknown>;
  cluster: { taskManagers: number; coresPerTaskManager: number };
  seed: number;
}

export interface LibraryRunLimits {
  timeLimitNs?: number;
  maxEvents?: number;
  trace?: TraceOptions;
}

/** The config runJob gets: the case's options plus the runtime mode. */
export function runConfig(c: LibraryCase): Record<string, unknown> {
  return { ...c.config, "execution.runtime-mode": c.mode };
}

export function runLibraryCase(c: LibraryCase, limits: LibraryRunLimits = {}): JobRunResult {
  const job = getJob(c.job);
  const params = job.parseParams(c.params);
  return runJob({
    seed: c.seed,
    scenario: `library/${c.job}`,
    config: runConfig(c),
    cluster: { taskManagers: c.cluster.taskManagers, coresPerTaskManager: c.cluster.coresPerTaskManager },
    job: (env) => job.build(env, params),
    ...(limits.timeLimitNs !== undefined ? { timeLimitNs: limits.timeLimitNs } : {}),
    ...(limits.maxEvents !== undefined ? { maxEvents: limits.maxEvents } : {}),
    ...(limits.trace !== undefined ? { trace: limits.trace } : {}),
  });
}

/** The oracle's expected output for the case (same program, same seed, in memory). */
export function oracleOutputs(c: LibraryCase): Map<string, unknown[]> {
  const job = getJob(c.job);
  const params = job.parseParams(c.params);
  const env = new StreamExecutionEnvironment();
  job.build(env, params);
  const graph = env.getStreamGraph();
  resolvePartitioners(graph, 1);
  return runOracle(graph, { runtimeMode: c.mode, seed: c.seed });
}

/** The run's committed output against the oracle's, with the job's compare mode and options. */
export function compareCase(c: LibraryCase, result: JobRunResult): CompareResult {
  const job = getJob(c.job);
  const params = job.parseParams(c.params);
  const actual = new Map([...result.outputs].map(([sink, records]) => [sink, [...records]]));
  return compareWithOracle(actual, oracleOutputs(c), job.compare, job.compareOptions?.(params) ?? {});
}

/** One line naming everything needed to rerun the case. */
export function reproduceLine(c: LibraryCase): string {
  return (
    `reproduce: job=${c.job} params=${JSON.stringify(c.params)} mode=${c.mode} ` +
    `config=${JSON.stringify(c.config)} cluster=${JSON.stringify(c.cluster)} seed=${c.seed} ` +
    `(npx tsx test/fixtures/run-library-job.ts '${JSON.stringify(c)}')`
  );
}
