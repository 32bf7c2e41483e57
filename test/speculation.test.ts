/**
 * Speculative execution end to end (flink-mechanics §3): the speculative-stragglers scenario
 * and its knock-out twin; the acceptance measurement (paired makespans over 20 seeds, median
 * reduction with a seeded bootstrap CI); and a property: random BATCH jobs with speculation,
 * slow hosts and faults that also hit speculative attempts finish with the oracle's output.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { runScenarioOnce } from "../cli/run";
import { MemorySink } from "../sim/trace/recorder";
import { Rng } from "../sim/rng";
import { StreamExecutionEnvironment, resolvePartitioners } from "../engine/api/environment";
import { GeneratorSource } from "../engine/api/sources";
import { CollectSink } from "../engine/api/sinks";
import { runJob } from "../engine/job-run";
import { runOracle } from "../engine/oracle/oracle";
import { checkExactlyOnce } from "../engine/oracle/checker";
import stragglers, { SLOW_HOSTS } from "../scenarios/speculative-stragglers.scenario";
import type { FileSink } from "../cli/files";
import { propRuns, propSeed, throwIfFailed } from "./prop";

interface TraceEvent {
  kind: string;
  host?: string;
  name?: string;
  state?: string;
  speculative?: boolean;
}

function traced(seed: number, knockout: boolean) {
  const trace = new MemorySink();
  const o = runScenarioOnce(stragglers, seed, {}, knockout, { sink: trace as unknown as FileSink, level: "summary" });
  return { o, events: trace.lines.map((l) => JSON.parse(l) as TraceEvent) };
}

/** Hosts where a vertex (by name) had an attempt deployed. */
function hostsOf(events: readonly TraceEvent[], name: string): Set<string> {
  return new Set(events.filter((e) => e.kind === "TaskStateChanged" && e.name === name && e.state === "DEPLOYING").map((e) => e.host!));
}

describe("speculative-stragglers scenario", () => {
  it("the slow hosts are blocklisted, Enrich avoids them and a speculative attempt wins; the speculation-off twin fails both", () => {
    const { o, events } = traced(1, false);
    expect(o.failures, `${JSON.stringify(o.failures)}\nflowsim run speculative-stragglers --seed 1`).toEqual([]);
    const blocked = events.filter((e) => e.kind === "NodeBlocked").map((e) => e.host!);
    for (const h of SLOW_HOSTS) expect(blocked, `${h} never blocked; flowsim run speculative-stragglers --seed 1`).toContain(h);
    expect(events.filter((e) => e.kind === "SpeculativeAttemptLaunched").length).toBe(o.result.speculation!.numSpeculativeAttempts);
    expect(events.some((e) => e.kind === "TaskStateChanged" && e.speculative === true)).toBe(true);
    // Seed 1 has a file big enough (> 1.5 × the median) on a slow host for a speculative win.
    expect(o.result.speculation!.numEffectiveSpeculativeExecutions).toBeGreaterThan(0);
    expect(o.result.marks["speculation.nonOriginalWin"]).toBe(o.result.speculation!.numEffectiveSpeculativeExecutions);
    expect(o.result.marks["blocklist.added"]).toBeGreaterThanOrEqual(2);
    // The blocklist's effect: Enrich is placed while the slow hosts are blocked.
    const enrichOn = hostsOf(events, "Enrich");
    for (const h of SLOW_HOSTS) expect(enrichOn.has(h), `Enrich ran on ${h}; flowsim run speculative-stragglers --seed 1`).toBe(false);
    const twin = traced(1, true);
    expect(twin.o.result.status).toBe("FINISHED");
    expect(twin.o.failures.map((f) => f.expectation)).toEqual([stragglers.expect![2]!.name, stragglers.expect![3]!.name]);
    expect(twin.events.some((e) => e.kind === "NodeBlocked")).toBe(false);
    expect(hostsOf(twin.events, "Enrich").has(SLOW_HOSTS[0]!), "without speculation Enrich fills tm-1..tm-4, tm-3 among them").toBe(true);
    expect(o.result.makespanNs!).toBeLessThan(twin.o.result.makespanNs!);
    console.log(
      `speculative-stragglers seed 1: makespan on ${(o.result.makespanNs! / 1e9).toFixed(1)} s, off ${(twin.o.result.makespanNs! / 1e9).toFixed(1)} s; ${JSON.stringify(o.result.speculation)}; blocked ${blocked.join(", ")}`,
    );
  });

  it("acceptance: 2 of 8 hosts at speed 0.5, default options, 20 seeds: median paired makespan reduction ≥ 15 %, bootstrap 95 % CI excludes 0, effective speculative executions > 0, slow hosts blocklisted", () => {
    const seeds = Array.from({ length: 20 }, (_, i) => i + 1);
    const reductions: number[] = [];
    const onS: number[] = [];
    const offS: number[] = [];
    let effective = 0;
    let blockedNodes = 0;
    for (const seed of seeds) {
      const on = runScenarioOnce(stragglers, seed, {}, false).result;
      const off = runScenarioOnce(stragglers, seed, {}, true).result;
      expect(on.status, `flowsim run speculative-stragglers --seed ${seed}`).toBe("FINISHED");
      expect(off.status, `flowsim run speculative-stragglers --seed ${seed} --knockout`).toBe("FINISHED");
      const everBlocked = on.jobManager.speculation!.everBlocked();
      for (const h of SLOW_HOSTS) expect(everBlocked, `${h} never blocked; flowsim run speculative-stragglers --seed ${seed}`).toContain(h);
      reductions.push(1 - on.makespanNs! / off.makespanNs!);
      onS.push(on.makespanNs! / 1e9);
      offS.push(off.makespanNs! / 1e9);
      effective += on.speculation!.numEffectiveSpeculativeExecutions;
      blockedNodes += on.speculation!.numBlockedNodes;
    }
    const median = (xs: readonly number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
    };
    // Percentile bootstrap of the median, resampling with the seeded RNG (never Math.random).
    const rng = Rng.root(20260101).child("bootstrap");
    const B = 2000;
    const medians: number[] = [];
    for (let b = 0; b < B; b++) medians.push(median(reductions.map(() => reductions[rng.int(0, reductions.length)]!)));
    medians.sort((a, b) => a - b);
    const lo = medians[Math.floor(0.025 * B)]!;
    const hi = medians[Math.ceil(0.975 * B) - 1]!;
    const m = median(reductions);
    const range = (xs: number[]) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;
    console.log(
      `speculation acceptance (20 seeds): median makespan reduction ${(m * 100).toFixed(1)} %, bootstrap 95 % CI [${(lo * 100).toFixed(1)} %, ${(hi * 100).toFixed(1)} %], per-seed ${range(reductions.map((r) => r * 100))} %; ` +
        `makespan on ${range(onS)} s (median ${median(onS).toFixed(1)}), off ${range(offS)} s (median ${median(offS).toFixed(1)}); ` +
        `effective speculative executions ${effective} (${(effective / seeds.length).toFixed(2)}/run), blocklist entries ${blockedNodes}`,
    );
    expect(m).toBeGreaterThanOrEqual(0.15);
    expect(lo).toBeGreaterThan(0);
    expect(effective).toBeGreaterThan(0);
  });
});

// ---- property: random BATCH jobs with speculation, stragglers and faults ---------------

interface SpecCase {
  seed: number;
  parallelism: number;
  stages: number;
  records: number;
  slowHosts: number[];
  /** A map subtask fails on its attempt whose number is given (original or speculative). */
  failAttempt: number | undefined;
  failSubtask: number;
  /** A TaskManager crash (it comes back after 20 s) at this many seconds, if any. */
  crashAtS: number | undefined;
  crashHost: number;
}

const specCase: fc.Arbitrary<SpecCase> = fc.record({
  seed: fc.integer({ min: 1, max: 1_000_000 }),
  parallelism: fc.integer({ min: 2, max: 8 }),
  stages: fc.integer({ min: 1, max: 3 }),
  records: fc.integer({ min: 40, max: 400 }),
  slowHosts: fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 2 }),
  failAttempt: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
  failSubtask: fc.nat(),
  // Speculation starts ~3 s in (subtasks take ~2 s on a fast host, 8 s on a slow one): crashes around then hit speculative attempts.
  crashAtS: fc.option(fc.integer({ min: 2, max: 12 }), { nil: undefined }),
  crashHost: fc.integer({ min: 0, max: 3 }),
});

function buildSpecJob(env: StreamExecutionEnvironment, c: SpecCase, inject: boolean): void {
  const failSubtask = c.failSubtask % c.parallelism;
  let seen = 0;
  let s = env
    .fromSource<{ key: number; seq: number }>(GeneratorSource({ records: c.records, splits: c.parallelism, keys: { count: 200, distribution: "uniform" } }), "none", "gen")
    .map(
      (r, ctx) => {
        if (inject && ctx.attemptNumber === c.failAttempt && ctx.subtaskIndex === failSubtask && ++seen === 5) throw new Error("injected failure");
        return { key: r.key, seq: r.seq + 1 };
      },
      "Stage 0",
    )
    .withCost({ cpuNsPerRecord: 2_000_000_000 / Math.max(1, c.records / c.parallelism) });
  for (let i = 1; i < c.stages; i++) {
    s = s
      .keyBy((r) => r.key)
      .map((r) => ({ key: r.key, seq: r.seq * 3 }), `Stage ${i}`)
      .withCost({ cpuNsPerRecord: 2_000_000_000 / Math.max(1, c.records / c.parallelism) });
  }
  s.keyBy((r) => r.key)
    .reduce((a, b) => ({ key: a.key, seq: a.seq + b.seq }), "Sum")
    .sinkTo(CollectSink("out"));
}

describe("speculation property", () => {
  it("random BATCH jobs with speculation, slow hosts and faults finish with the oracle's output", () => {
    const seen = { wins: 0, speculated: 0, failedSpeculative: 0 };
    const details = fc.check(
      fc.property(specCase, (c) => {
        const oracleEnv = new StreamExecutionEnvironment();
        buildSpecJob(oracleEnv, c, false);
        const graph = oracleEnv.getStreamGraph();
        resolvePartitioners(graph, c.parallelism);
        const expected = runOracle(graph, { runtimeMode: "BATCH", seed: Rng.root(c.seed) });
        const speeds = [0, 1, 2, 3].map((i) => (c.slowHosts.includes(i) ? 0.25 : 1));
        const result = runJob({
          seed: c.seed,
          scenario: "speculation-property",
          cluster: { taskManagers: 4, coresPerTaskManager: 2, speeds },
          config: {
            "execution.runtime-mode": "BATCH",
            "parallelism.default": c.parallelism,
            "taskmanager.numberOfTaskSlots": 4,
            "execution.batch.speculative.enabled": true,
            "slow-task-detector.execution-time.baseline-lower-bound": "1s",
            "execution.batch.speculative.block-slow-node-duration": "10s",
            "restart-strategy.type": "fixed-delay",
            "restart-strategy.fixed-delay.attempts": 50,
            "restart-strategy.fixed-delay.delay": "1s",
            "heartbeat.interval": "1s",
            "heartbeat.timeout": "5s",
          },
          job: (env) => buildSpecJob(env, c, true),
          faults: c.crashAtS === undefined ? [] : [{ trigger: { at: `${c.crashAtS}s` }, fault: { type: "crash", restartAfter: "20s" }, target: `tm-${c.crashHost + 1}` }],
          timeLimitNs: 3600e9,
        });
        expect(result.status, result.failureCause).toBe("FINISHED");
        const check = checkExactlyOnce(new Map([...result.outputs].map(([k, v]) => [k, [...v]])), expected, { compare: "multiset" });
        expect(check.ok, check.summary).toBe(true);
        seen.wins += result.speculation!.numEffectiveSpeculativeExecutions;
        if (result.speculation!.numSpeculativeAttempts > 0) seen.speculated++;
        seen.failedSpeculative += result.marks["speculation.attemptFailed"] ?? 0;
      }),
      { numRuns: propRuns(25), seed: propSeed(), interruptAfterTimeLimit: 150_000 },
    );
    throwIfFailed(details, (c) => `reproducer: speculation property case ${JSON.stringify(c)} (simulation seed ${c.seed})`);
    console.log(`speculation property: ${JSON.stringify(seen)}`);
    if (propRuns(25) >= 25) expect(seen.speculated).toBeGreaterThan(0);
  });
});
