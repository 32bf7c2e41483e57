/**
 * Failover without checkpoints: restart strategies decide whether a job recovers, the
 * failover strategy what restarts, and bounded jobs with a transactional sink still commit
 * exactly the oracle's output (commits happen only at the end of input).
 */
import { describe, expect, it } from "vitest";
import { StreamExecutionEnvironment, resolvePartitioners } from "../engine/api/environment";
import { GeneratorSource } from "../engine/api/sources";
import { TransactionalSink } from "../engine/api/sinks";
import { compareWithOracle } from "../engine/oracle/compare";
import { runOracle } from "../engine/oracle/oracle";
import { runJob, type JobRunResult } from "../engine/job-run";
import { MemorySink } from "../sim/trace/recorder";
import { Rng } from "../sim/rng";

type Rec = { key: number; seq: number };

/** source → map (fails once, on attempt 0 of subtask 0, at its 50th record) → keyBy → reduce → sink. */
function job(env: StreamExecutionEnvironment, inject = true): void {
  let seen = 0;
  env
    .fromSource<Rec>(GeneratorSource({ records: 400, splits: 4, keys: { count: 10, distribution: "uniform" } }), "none", "gen")
    .map((r, ctx) => {
      if (inject && ctx.attemptNumber === 0 && ctx.subtaskIndex === 0 && ++seen === 50) throw new Error("injected failure");
      return r;
    }, "Failing Map")
    .disableChaining()
    .keyBy((r) => r.key)
    .reduce((a, b) => ({ key: a.key, seq: a.seq + b.seq }))
    .sinkTo(TransactionalSink("out"));
}

function run(config: Record<string, unknown>, seed = 1): { result: JobRunResult; events: Record<string, unknown>[] } {
  const sink = new MemorySink();
  const result = runJob({
    seed,
    scenario: "failover-test",
    config: { "parallelism.default": 2, "taskmanager.numberOfTaskSlots": 2, ...config },
    cluster: { taskManagers: 2, coresPerTaskManager: 2 },
    job: (env) => job(env),
    trace: { sink },
  });
  return { result, events: sink.lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

function oracleEqual(result: JobRunResult, seed = 1): boolean {
  const env = new StreamExecutionEnvironment();
  job(env, false); // the oracle runs the program's logic without the injected failure
  const graph = env.getStreamGraph();
  resolvePartitioners(graph, 2);
  const expected = runOracle(graph, { runtimeMode: result.runtimeMode, seed: Rng.root(seed) });
  const actual = new Map([...result.outputs].map(([k, v]) => [k, [...v]]));
  // Rolling updates depend on arrival order; the final value per key and the number of updates do not.
  return compareWithOracle(actual, expected, "finalPerKey", { keyOf: (r) => (r as Rec).key }).equal;
}

describe("failover", () => {
  it("without a restart strategy a task failure fails the job", () => {
    const { result } = run({});
    expect(result.status).toBe("FAILED");
    expect(result.failureCause).toMatch(/Recovery is suppressed by .*injected failure/);
    expect(result.outputs.get("out") ?? []).toEqual([]);
  });

  it("fixed-delay: the job restarts after the delay and commits exactly the oracle's output", () => {
    const { result, events } = run({ "restart-strategy.type": "fixed-delay", "restart-strategy.fixed-delay.delay": "2s" });
    expect(result.status, result.failureCause).toBe("FINISHED");
    const failover = events.find((e) => e.kind === "FailoverTriggered")!;
    expect(failover).toBeDefined();
    expect(failover.backoffNs).toBe(2e9);
    const restarted = events.find((e) => e.kind === "TasksRestarted")!;
    expect((restarted.t as number) - (failover.t as number)).toBe(2e9);
    // STREAMING with keyBy is one pipelined region: everything restarts.
    expect((failover.vertices as string[]).length).toBe(result.jobManager.executionGraph.vertices.length);
    expect(result.jobManager.restarts).toBe(1);
    expect(oracleEqual(result)).toBe(true);
    // The second attempts ran: attempt 1 appears in task states.
    expect(events.some((e) => e.kind === "TaskStateChanged" && e.attempt === 1 && e.state === "FINISHED")).toBe(true);
  });

  it("BATCH region failover restarts only the failed stage; full restarts everything", () => {
    const region = run({ "execution.runtime-mode": "BATCH", "restart-strategy.type": "fixed-delay", "jobmanager.execution.failover-strategy": "region" });
    expect(region.result.status, region.result.failureCause).toBe("FINISHED");
    const f1 = region.events.find((e) => e.kind === "FailoverTriggered")!;
    const all = region.result.jobManager.executionGraph.vertices.length;
    expect((f1.vertices as string[]).length).toBeLessThan(all);
    expect(region.events.some((e) => e.kind === "Mark" && e.name === "failover.region")).toBe(true);
    expect(oracleEqual(region.result)).toBe(true);

    const full = run({ "execution.runtime-mode": "BATCH", "restart-strategy.type": "fixed-delay", "jobmanager.execution.failover-strategy": "full" });
    expect(full.result.status, full.result.failureCause).toBe("FINISHED");
    const f2 = full.events.find((e) => e.kind === "FailoverTriggered")!;
    expect((f2.vertices as string[]).length).toBe(all);
    expect(oracleEqual(full.result)).toBe(true);
    // Region failover reruns less, so it finishes no later than full failover.
    expect(region.result.makespanNs!).toBeLessThanOrEqual(full.result.makespanNs!);
  });

  it("a crashed TaskManager's subtasks fail over once it is lost, and the job finishes correctly", () => {
    const sink = new MemorySink();
    const result = runJob({
      seed: 4,
      scenario: "tm-crash",
      config: {
        "parallelism.default": 2,
        "taskmanager.numberOfTaskSlots": 2,
        "restart-strategy.type": "fixed-delay",
        "restart-strategy.fixed-delay.attempts": 5,
        "heartbeat.timeout": "20s",
        "heartbeat.interval": "2s",
      },
      cluster: { taskManagers: 2, coresPerTaskManager: 2 },
      job: (env) => {
        env
          .fromSource<Rec>(GeneratorSource({ records: 2000, splits: 4, ratePerSecond: 20, keys: { count: 10, distribution: "uniform" } }), "none", "gen")
          .keyBy((r) => r.key)
          .reduce((a, b) => ({ key: a.key, seq: a.seq + b.seq }))
          .sinkTo(TransactionalSink("out"));
      },
      faults: [{ trigger: { from: "5s", to: "8s" }, fault: "crash", target: "tm-1" }],
      trace: { sink },
      timeLimitNs: 600e9,
    });
    const events = sink.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(result.status, result.failureCause).toBe("FINISHED");
    expect(events.some((e) => e.kind === "TaskManagerLost" && e.host === "tm-1")).toBe(true);
    expect(events.some((e) => e.kind === "FailoverTriggered")).toBe(true);
    // Everything committed once: each key's final sum over all 2000 records.
    const out = result.outputs.get("out") as Rec[];
    const finals = new Map<number, number>();
    for (const r of out) finals.set(r.key, r.seq);
    const total = [...finals.values()].reduce((a, b) => a + b, 0);
    expect(total).toBe((1999 * 2000) / 2);
  });
});

describe("failover of lost blocking partitions", () => {
  it("a consumer that cannot read a crashed TaskManager's partition reruns its producer (PartitionNotFound)", () => {
    const sink = new MemorySink();
    const result = runJob({
      seed: 2,
      scenario: "lost-partition",
      config: {
        "execution.runtime-mode": "BATCH",
        "parallelism.default": 2,
        "taskmanager.numberOfTaskSlots": 1,
        "restart-strategy.type": "fixed-delay",
        "restart-strategy.fixed-delay.attempts": 10,
      },
      cluster: { taskManagers: 2, coresPerTaskManager: 2 },
      job: (env) => job(env, false),
      // Right after both producers finished, tm-2 (holding one producer's blocking file) crashes.
      faults: [{ trigger: { on: "task.finished", where: { vertex: "v1" }, nth: 2 }, fault: { type: "crash", restartAfter: "2s" }, target: "tm-2" }],
      trace: { sink },
      timeLimitNs: 600e9,
    });
    const events = sink.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(result.status, result.failureCause).toBe("FINISHED");
    expect(events.some((e) => e.kind === "FaultFired")).toBe(true);
    expect(events.some((e) => e.kind === "FailoverTriggered")).toBe(true);
    // Some producer subtask ran twice: its partition was lost with tm-2.
    expect(events.some((e) => e.kind === "TaskStateChanged" && String(e.name).includes("Failing Map") && (e.attempt as number) >= 1 && e.state === "FINISHED")).toBe(true);
    expect(events.some((e) => e.kind === "Mark" && e.name === "failover.partitionNotFound")).toBe(true);
    expect(oracleEqual(result, 2)).toBe(true);
  });
});
