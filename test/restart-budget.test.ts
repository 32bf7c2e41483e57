/**
 * Restart budgets end to end: a job whose map fails on every attempt ends FAILED once its
 * restart strategy's budget is spent — exactly `budget` failovers, and nothing committed
 * (TransactionalSink commits only at the end of input, so no partial, duplicate or phantom
 * output may ever become visible). A job that fails only on attempt 0 finishes, and the
 * exactly-once checker finds its committed output equal to the oracle's.
 */
import { describe, expect, it } from "vitest";
import { StreamExecutionEnvironment, resolvePartitioners } from "../engine/api/environment";
import { GeneratorSource } from "../engine/api/sources";
import { TransactionalSink } from "../engine/api/sinks";
import type { RuntimeMode } from "../engine/api/types";
import { checkExactlyOnce, type CheckOptions, type CheckResult } from "../engine/oracle/checker";
import { runOracle } from "../engine/oracle/oracle";
import { runJob, type JobRunResult } from "../engine/job-run";
import { MemorySink } from "../sim/trace/recorder";
import { Rng } from "../sim/rng";

type Rec = { key: number; seq: number };

const PARALLELISM = 2;
const RECORDS = 400;
/** The failing subtask throws at this record of every failing attempt. */
const FAIL_AT_RECORD = 50;

type Failing = "never" | "first-attempt" | "every-attempt";

interface JobSpec {
  failing: Failing;
  /** Which map subtasks fail ("0" = only subtask 0, "all" = every subtask). */
  subtasks: "0" | "all";
}

/** source → map (may throw at its 50th record) → keyBy → rolling reduce → transactional sink. */
function job(env: StreamExecutionEnvironment, spec: JobSpec): void {
  // Records seen per (subtask, attempt): each attempt counts from zero.
  const seen = new Map<string, number>();
  env
    .fromSource<Rec>(GeneratorSource({ records: RECORDS, splits: 4, keys: { count: 10, distribution: "uniform" } }), "none", "gen")
    .map((r, ctx) => {
      const failsHere =
        (spec.subtasks === "all" || ctx.subtaskIndex === 0) &&
        (spec.failing === "every-attempt" || (spec.failing === "first-attempt" && ctx.attemptNumber === 0));
      if (failsHere) {
        const id = `${ctx.subtaskIndex}#${ctx.attemptNumber}`;
        const n = (seen.get(id) ?? 0) + 1;
        seen.set(id, n);
        if (n === FAIL_AT_RECORD) throw new Error(`injected failure (subtask ${ctx.subtaskIndex}, attempt ${ctx.attemptNumber})`);
      }
      return r;
    }, "Failing Map")
    .disableChaining()
    .keyBy((r) => r.key)
    .reduce((a, b) => ({ key: a.key, seq: a.seq + b.seq }))
    .sinkTo(TransactionalSink("out"));
}

interface Run {
  result: JobRunResult;
  events: { kind: string; [field: string]: unknown }[];
  failovers: number;
}

function run(mode: RuntimeMode, spec: JobSpec, config: Record<string, unknown>, seed = 1): Run {
  const sink = new MemorySink();
  const result = runJob({
    seed,
    scenario: "restart-budget",
    config: {
      "execution.runtime-mode": mode,
      "parallelism.default": PARALLELISM,
      "taskmanager.numberOfTaskSlots": 2,
      ...config,
    },
    cluster: { taskManagers: 2, coresPerTaskManager: 2 },
    job: (env) => job(env, spec),
    trace: { sink },
    timeLimitNs: 600e9,
  });
  const events = sink.lines.map((l) => JSON.parse(l) as Run["events"][number]);
  return { result, events, failovers: events.filter((e) => e.kind === "FailoverTriggered").length };
}

/** The oracle's output for the same program without failures. */
function oracle(mode: RuntimeMode, seed = 1): Map<string, unknown[]> {
  const env = new StreamExecutionEnvironment();
  job(env, { failing: "never", subtasks: "0" });
  const graph = env.getStreamGraph();
  resolvePartitioners(graph, PARALLELISM);
  return runOracle(graph, { runtimeMode: mode, seed: Rng.root(seed) });
}

/** BATCH reduces emit one final record per key; STREAMING emits rolling updates whose order may vary. */
function compareFor(mode: RuntimeMode): CheckOptions {
  return mode === "BATCH" ? { compare: "multiset" } : { compare: "finalPerKey", keyOf: (r) => (r as Rec).key };
}

function check(r: Run, mode: RuntimeMode, seed = 1): CheckResult {
  const actual = new Map([...r.result.outputs].map(([k, v]) => [k, [...v]]));
  return checkExactlyOnce(actual, oracle(mode, seed), compareFor(mode));
}

interface Budget {
  name: string;
  config: Record<string, unknown>;
  /** Restarts allowed before the job fails. */
  budget: number;
}

const BUDGETS: Budget[] = [
  { name: "none", config: { "restart-strategy.type": "none" }, budget: 0 },
  { name: "fixed-delay", config: { "restart-strategy.type": "fixed-delay", "restart-strategy.fixed-delay.attempts": 2 }, budget: 2 },
  {
    name: "failure-rate",
    config: {
      "restart-strategy.type": "failure-rate",
      "restart-strategy.failure-rate.max-failures-per-interval": 2,
      "restart-strategy.failure-rate.failure-rate-interval": "1min",
    },
    budget: 2,
  },
  {
    name: "exponential-delay",
    config: { "restart-strategy.type": "exponential-delay", "restart-strategy.exponential-delay.attempts-before-reset-backoff": 2 },
    budget: 2,
  },
];

const MODES: RuntimeMode[] = ["STREAMING", "BATCH"];

describe("restart budgets: a job failing on every attempt", () => {
  for (const mode of MODES) {
    for (const { name, config, budget } of BUDGETS) {
      it(`${mode}, ${name}: FAILED after exactly ${budget} failovers, nothing committed`, () => {
        const r = run(mode, { failing: "every-attempt", subtasks: "0" }, config);
        expect(r.result.status).toBe("FAILED");
        expect(r.result.failureCause).toMatch(new RegExp(`^Recovery is suppressed by ${name}: .*injected failure \\(subtask 0, attempt ${budget}\\)`));
        expect(r.failovers).toBe(budget);
        expect(r.result.jobManager.restarts).toBe(budget);
        // Every attempt got as far as the failing record: attempts 0..budget all failed.
        const failedMaps = r.events.filter((e) => e.kind === "TaskStateChanged" && e.state === "FAILED" && e.subtask === 0 && String(e.name).includes("Failing Map"));
        expect(failedMaps.map((e) => e.attempt)).toEqual(Array.from({ length: budget + 1 }, (_, i) => i));

        expect(r.result.outputs.get("out") ?? []).toEqual([]);
        expect(r.result.store.openTransactions().filter((t) => t.state === "preCommitted")).toEqual([]);
        const c = check(r, mode);
        expect(c.ok).toBe(false);
        expect(c.differences.length).toBeGreaterThan(0);
        expect(c.differences.filter((d) => d.kind !== "lost"), c.summary).toEqual([]);
      });
    }
  }

  // Every map subtask fails at the same record: in STREAMING the job is one region, so the
  // second subtask's failure hits an attempt the first failover already cancelled and must
  // not spend budget.
  it("STREAMING, fixed-delay: concurrent failures of a cancelled region's subtasks do not spend budget", () => {
    const r = run("STREAMING", { failing: "every-attempt", subtasks: "all" }, BUDGETS[1]!.config);
    expect(r.result.status).toBe("FAILED");
    expect(r.failovers).toBe(2);
    expect(r.result.outputs.get("out") ?? []).toEqual([]);
  });
});

describe("restart budgets: a job failing only on attempt 0 recovers exactly once", () => {
  const RECOVERING: Budget[] = [
    { name: "fixed-delay", config: { "restart-strategy.type": "fixed-delay" }, budget: 1 },
    { name: "exponential-delay", config: { "restart-strategy.type": "exponential-delay" }, budget: Infinity },
  ];
  for (const mode of MODES) {
    for (const { name, config } of RECOVERING) {
      it(`${mode}, ${name}: FINISHED after one failover, committed output = oracle`, () => {
        const r = run(mode, { failing: "first-attempt", subtasks: "0" }, config);
        expect(r.result.status, r.result.failureCause).toBe("FINISHED");
        expect(r.failovers).toBe(1);
        const c = check(r, mode);
        expect(c.ok, c.summary).toBe(true);
      });
    }
  }
});

/** A rate-limited source (≈3.3 s of input) → keyBy → rolling reduce → transactional sink. */
function slowJob(env: StreamExecutionEnvironment): void {
  env
    .fromSource<Rec>(GeneratorSource({ records: RECORDS, splits: 4, ratePerSecond: 30, keys: { count: 10, distribution: "uniform" } }), "none", "gen")
    .keyBy((r) => r.key)
    .reduce((a, b) => ({ key: a.key, seq: a.seq + b.seq }))
    .sinkTo(TransactionalSink("out"));
}

describe("restart budgets: a TaskManager crash", () => {
  // REGRESSION (a liveness bug this suite found, now fixed): every subtask lands on tm-1,
  // which crashes for good at 2 s. The JobManager learns of it only from the heartbeat
  // timeout; its heartbeats used to be daemon events, so the run went idle at ≈2.0002 s and
  // the job was cancelled instead of failing over to tm-2/tm-3.
  it("STREAMING, fixed-delay: a TaskManager lost for good is detected by heartbeat and the job recovers on the others", () => {
    const sink = new MemorySink();
    const result = runJob({
      seed: 1,
      scenario: "restart-budget-tm-lost",
      config: {
        "execution.runtime-mode": "STREAMING",
        "parallelism.default": PARALLELISM,
        "taskmanager.numberOfTaskSlots": 2,
        "restart-strategy.type": "fixed-delay",
        "restart-strategy.fixed-delay.attempts": 2,
        "heartbeat.interval": "1s",
        "heartbeat.timeout": "10s",
      },
      cluster: { taskManagers: 3, coresPerTaskManager: 2 },
      job: slowJob,
      faults: [{ trigger: { at: "2s" }, fault: "crash", target: "tm-1" }],
      trace: { sink },
      timeLimitNs: 600e9,
    });
    expect(result.status, result.failureCause).toBe("FINISHED");
    const events = sink.lines.map((l) => JSON.parse(l) as { kind: string; host?: string });
    expect(events.some((e) => e.kind === "TaskManagerLost" && e.host === "tm-1")).toBe(true);
    expect(events.filter((e) => e.kind === "FailoverTriggered").length).toBeLessThanOrEqual(2);
    const env = new StreamExecutionEnvironment();
    slowJob(env);
    const graph = env.getStreamGraph();
    resolvePartitioners(graph, PARALLELISM);
    const expected = runOracle(graph, { runtimeMode: "STREAMING", seed: Rng.root(1) });
    const c = checkExactlyOnce(new Map([...result.outputs].map(([k, v]) => [k, [...v]])), expected, compareFor("STREAMING"));
    expect(c.ok, c.summary).toBe(true);
  });
});
