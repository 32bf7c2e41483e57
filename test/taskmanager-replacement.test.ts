/**
 * Spares and replacement TaskManagers (engine/cluster/resource-manager.ts). A TaskManager
 * host crashes for good while a job that needs every slot runs:
 * - standalone (no spare, no replacement): the restarted job waits for slots and fails
 *   after slot.request.timeout with NoResourceAvailableException;
 * - with `slotmanager.redundant-taskmanager-num: 1` it restarts on the spare right after
 *   detection + back-off;
 * - with `cluster.replacement` it restarts once a new TaskManager has started and
 *   registered: detection + max(back-off, start delay) + registration.
 * Recovered runs commit exactly the oracle's output.
 */
import { describe, expect, it } from "vitest";
import { StreamExecutionEnvironment, resolvePartitioners } from "../engine/api/environment";
import { GeneratorSource } from "../engine/api/sources";
import { TransactionalSink } from "../engine/api/sinks";
import { compareWithOracle } from "../engine/oracle/compare";
import { runOracle } from "../engine/oracle/oracle";
import { runJob, type ClusterShape, type JobRunResult } from "../engine/job-run";
import { MemorySink } from "../sim/trace/recorder";
import { Rng } from "../sim/rng";

type Rec = { key: number; seq: number };
type Event = Record<string, unknown> & { kind: string; t: number };

const S = 1e9;
const PARALLELISM = 4;
const CRASH_AT_NS = 10 * S;
const START_DELAY_NS = 30 * S;

/** 1200 records over 4 splits at 5 records/s per split: about a minute of input. */
function job(env: StreamExecutionEnvironment): void {
  env
    .fromSource<Rec>(GeneratorSource({ records: 1200, splits: 4, ratePerSecond: 5, keys: { count: 10, distribution: "uniform" } }), "none", "gen")
    .keyBy((r) => r.key)
    .reduce((a, b) => ({ key: a.key, seq: a.seq + b.seq }))
    .sinkTo(TransactionalSink("out"));
}

const CONFIG = {
  "parallelism.default": PARALLELISM,
  // 2 TaskManagers × 2 slots: the job (one slot per subtask index) needs all of them.
  "taskmanager.numberOfTaskSlots": 2,
  "restart-strategy.type": "fixed-delay",
  // Until the heartbeat timeout the JobManager still deploys to the dead TaskManager, and
  // each attempt fails at once (connection refused): enough attempts to outlast that.
  "restart-strategy.fixed-delay.attempts": 20,
  "restart-strategy.fixed-delay.delay": "1s",
  "heartbeat.interval": "1s",
  "heartbeat.timeout": "5s",
  "slot.request.timeout": "60s",
};

interface Run {
  result: JobRunResult;
  events: Event[];
}

function run(options: { config?: Record<string, unknown>; cluster?: Partial<ClusterShape>; faults?: unknown[]; seed?: number } = {}): Run {
  const sink = new MemorySink();
  const result = runJob({
    seed: options.seed ?? 7,
    scenario: "taskmanager-replacement",
    config: { ...CONFIG, ...options.config },
    cluster: { taskManagers: 2, coresPerTaskManager: 2, ...options.cluster },
    job,
    faults: options.faults ?? [{ trigger: { at: "10s" }, fault: "crash", target: "tm-2" }],
    trace: { sink },
    timeLimitNs: 600 * S,
  });
  return { result, events: sink.lines.map((l) => JSON.parse(l) as Event) };
}

function oracleEqual(result: JobRunResult, seed = 7): boolean {
  const env = new StreamExecutionEnvironment();
  job(env);
  const graph = env.getStreamGraph();
  resolvePartitioners(graph, PARALLELISM);
  const expected = runOracle(graph, { runtimeMode: result.runtimeMode, seed: Rng.root(seed) });
  const actual = new Map([...result.outputs].map(([k, v]) => [k, [...v]]));
  return compareWithOracle(actual, expected, "finalPerKey", { keyOf: (r) => (r as Rec).key }).equal;
}

/**
 * Time from the crash until every subtask's last attempt is RUNNING (the job runs again
 * for good), and the hosts those attempts run on.
 */
function recovery(events: Event[]): { ns: number; hosts: string[] } {
  const last = new Map<string, Event>();
  for (const e of events) if (e.kind === "TaskStateChanged" && e.state === "RUNNING") last.set(`${e.vertex as string}/${e.subtask as number}`, e);
  const final = [...last.values()];
  expect(final.length).toBe(2 * PARALLELISM);
  expect(final.every((e) => (e.attempt as number) >= 1), "every subtask restarted after the crash").toBe(true);
  return { ns: Math.max(...final.map((e) => e.t)) - CRASH_AT_NS, hosts: [...new Set(final.map((e) => e.host as string))].sort() };
}

function lostAt(events: Event[], host: string): number {
  const lost = events.find((e) => e.kind === "TaskManagerLost" && e.host === host);
  expect(lost, `${host} is lost`).toBeDefined();
  return lost!.t;
}

describe("a TaskManager host that crashes and never restarts", () => {
  const none = run();
  const spare = run({ config: { "slotmanager.redundant-taskmanager-num": 1 } });
  const replaced = run({ cluster: { replacement: { startDelay: "30s" } } });

  it("without spares or replacement, the restarted job fails after slot.request.timeout (NoResourceAvailableException)", () => {
    const { result, events } = none;
    expect(result.status).toBe("FAILED");
    expect(result.failureCause).toMatch(/^NoResourceAvailableException: could not acquire the slots for 4 slot-sharing groups within slot.request.timeout \(60 s\); the cluster has 2 slots$/);
    // The restart after the loss waits for slots that never come.
    const lost = lostAt(events, "tm-2");
    const restarted = events.filter((e) => e.kind === "TasksRestarted" && e.t >= lost);
    expect(restarted.length).toBe(1);
    const timedOut = events.find((e) => e.kind === "SlotRequestTimedOut")!;
    expect(timedOut.t - restarted[0]!.t).toBe(60 * S);
    expect(events.some((e) => e.kind === "TaskManagerRequested")).toBe(false);
    expect(events.some((e) => e.kind === "TaskStateChanged" && e.t > restarted[0]!.t && e.state === "RUNNING")).toBe(false);
  });

  it("with one spare the job recovers on it right after detection and back-off, and commits the oracle's output", () => {
    const { result, events } = spare;
    expect(result.status, result.failureCause).toBe("FINISHED");
    // The spare is tm-3, started with the cluster and idle until the TaskManager loss.
    const requested = events.filter((e) => e.kind === "TaskManagerRequested");
    expect(requested.map((e) => [e.host, e.startDelayNs])).toEqual([["tm-3", 0]]);
    expect(requested[0]!.t).toBeLessThan(1 * S);
    const lost = lostAt(events, "tm-2");
    expect(events.some((e) => e.kind === "SlotAllocated" && e.host === "tm-3" && e.t < lost)).toBe(false);
    const r = recovery(events);
    expect(r.hosts).toEqual(["tm-1", "tm-3"]);
    // Restarted on the spare within the back-off (1 s) plus deployment after detection.
    const detectedNs = lost - CRASH_AT_NS;
    expect(r.ns).toBeGreaterThan(detectedNs);
    expect(r.ns).toBeLessThan(detectedNs + 1 * S + 100e6);
    expect(oracleEqual(result)).toBe(true);
  });

  it("with replacement the job recovers once the new TaskManager started (30 s later), and commits the oracle's output", () => {
    const { result, events } = replaced;
    expect(result.status, result.failureCause).toBe("FINISHED");
    const lost = lostAt(events, "tm-2");
    const requested = events.filter((e) => e.kind === "TaskManagerRequested");
    expect(requested.map((e) => [e.host, e.t, e.startDelayNs])).toEqual([["tm-3", lost, START_DELAY_NS]]);
    expect(requested[0]!.reason).toMatch(/^replaces tm-2: heartbeat of tm-2 timed out/);
    const added = events.find((e) => e.kind === "HostAdded" && e.host === "tm-3")!;
    expect(added.t).toBe(lost + START_DELAY_NS);
    const registered = events.find((e) => e.kind === "TaskManagerRegistered" && e.host === "tm-3")!;
    expect(registered.t).toBeGreaterThan(added.t);
    const r = recovery(events);
    expect(r.hosts).toEqual(["tm-1", "tm-3"]);
    const detectedNs = lost - CRASH_AT_NS;
    expect(r.ns).toBeGreaterThanOrEqual(detectedNs + START_DELAY_NS);
    expect(r.ns).toBeLessThan(detectedNs + START_DELAY_NS + 1 * S);
    expect(oracleEqual(result)).toBe(true);
  });

  it("a spare recovers sooner than a replacement, by about the start delay less the back-off", () => {
    const s = recovery(spare.events).ns;
    const r = recovery(replaced.events).ns;
    expect(s).toBeLessThan(r);
    expect(r - s).toBeGreaterThan(START_DELAY_NS - 2 * S);
    // Measured recovery times (crash → restarted subtasks RUNNING), for the record.
    console.log(`recovery after a permanent TaskManager crash: spare ${(s / S).toFixed(3)} s, replacement (30 s start) ${(r / S).toFixed(3)} s, none: FAILED after ${((none.result.endNs - CRASH_AT_NS) / S).toFixed(3)} s`);
  });
});

describe("replacement details", () => {
  it("a TaskManager whose host restarts before the heartbeat timeout is not replaced (its process re-registers)", () => {
    const { result, events } = run({
      cluster: { replacement: { startDelay: "30s" } },
      faults: [{ trigger: { at: "10s" }, fault: { type: "crash", restartAfter: "1s" }, target: "tm-2" }],
    });
    expect(result.status, result.failureCause).toBe("FINISHED");
    expect(events.find((e) => e.kind === "TaskManagerLost")?.cause).toMatch(/registered again after a restart/);
    expect(events.some((e) => e.kind === "TaskManagerRequested")).toBe(false);
    expect(oracleEqual(result)).toBe(true);
  });

  it("a lost spare is replaced by a spare, a lost TaskManager by one that keeps the cluster's count", () => {
    const { result, events } = run({
      config: { "slotmanager.redundant-taskmanager-num": 1 },
      cluster: { replacement: { startDelay: "30s" } },
      faults: [{ trigger: { at: "10s" }, fault: "crash", target: "tm-3" }],
    });
    expect(result.status, result.failureCause).toBe("FINISHED");
    // The idle spare's loss restarts nothing, and a new spare takes its place.
    expect(events.some((e) => e.kind === "FailoverTriggered")).toBe(false);
    expect(events.filter((e) => e.kind === "TaskManagerRequested").map((e) => e.host)).toEqual(["tm-3", "tm-4"]);
    expect(events.some((e) => e.kind === "TaskManagerRegistered" && e.host === "tm-4")).toBe(true);
    expect(events.some((e) => e.kind === "TaskStateChanged" && e.host === "tm-4")).toBe(false);
  });

  it("a replaced TaskManager that comes back (partition healed) counts again: the next loss needs no replacement", () => {
    const { result, events } = run({
      cluster: { replacement: { startDelay: "5s" } },
      faults: [
        { trigger: { from: "10s", to: "25s" }, fault: "partition", target: ["tm-2", "jm"] },
        { trigger: { at: "40s" }, fault: "crash", target: "tm-1" },
      ],
    });
    expect(result.status, result.failureCause).toBe("FINISHED");
    // tm-2 is lost behind the partition and replaced by tm-3; after the heal it registers
    // again, so when tm-1 dies the cluster still has its 2 TaskManagers.
    expect(events.filter((e) => e.kind === "TaskManagerRequested").map((e) => e.host)).toEqual(["tm-3"]);
    const reRegistered = events.filter((e) => e.kind === "TaskManagerRegistered" && e.host === "tm-2");
    // (Its registrations sent during the partition were held and arrive at the heal.)
    expect(reRegistered.length).toBeGreaterThanOrEqual(2);
    expect(reRegistered[1]!.t).toBeGreaterThanOrEqual(25 * S);
    expect(reRegistered[reRegistered.length - 1]!.t).toBeLessThan(40 * S);
    expect(lostAt(events, "tm-1")).toBeGreaterThan(40 * S);
    expect(recovery(events).hosts).toEqual(["tm-2", "tm-3"]);
    expect(oracleEqual(result)).toBe(true);
  });

  it("start delays drawn from a distribution are seeded: the same seed gives the same replacement", () => {
    const replacement = { startDelay: { dist: "uniform" as const, min: "10s", max: "40s" } };
    const delays = [1, 2, 3].map((seed) => {
      const a = run({ seed, cluster: { replacement } });
      const b = run({ seed, cluster: { replacement } });
      expect(b.result.fingerprint, `seed ${seed}`).toBe(a.result.fingerprint);
      const requested = a.events.find((e) => e.kind === "TaskManagerRequested")!;
      const delay = requested.startDelayNs as number;
      expect(delay).toBeGreaterThanOrEqual(10 * S);
      expect(delay).toBeLessThanOrEqual(40 * S);
      expect(a.result.status, a.result.failureCause).toBe("FINISHED");
      return delay;
    });
    expect(new Set(delays).size).toBeGreaterThan(1);
  });
});

describe("spares stay idle until needed", () => {
  it("with jittered network latency the regular TaskManagers register in any order, the spare after them, and it gets no slot", () => {
    let tm2First = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const { result, events } = run({
        seed,
        config: { "slotmanager.redundant-taskmanager-num": 1 },
        cluster: { network: { latency: { dist: "uniform", min: "10us", max: "20ms" } } },
        faults: [],
      });
      expect(result.status, `seed ${seed}: ${result.failureCause}`).toBe("FINISHED");
      const order = events.filter((e) => e.kind === "TaskManagerRegistered").map((e) => e.host);
      if (order[0] === "tm-2") tm2First++;
      expect(order[2], `seed ${seed}: registration order ${order.join(", ")}`).toBe("tm-3");
      expect(events.some((e) => e.kind === "SlotAllocated" && e.host === "tm-3"), `seed ${seed}: a slot on the spare`).toBe(false);
    }
    // The jitter is real: registration order alone would not have kept a spare last.
    expect(tm2First).toBeGreaterThan(0);
  });

  it("once a replacement has registered, the next restart leaves the spare idle again", () => {
    const { result, events } = run({
      config: { "slotmanager.redundant-taskmanager-num": 1 },
      cluster: { replacement: { startDelay: "5s" } },
      faults: [
        { trigger: { at: "10s" }, fault: "crash", target: "tm-2" },
        // After tm-4 replaced tm-2, a connection reset fails the job's tasks once more.
        { trigger: { at: "30s" }, fault: "reset", target: ["tm-1", "tm-3"] },
      ],
    });
    expect(result.status, result.failureCause).toBe("FINISHED");
    expect(events.filter((e) => e.kind === "TaskManagerRequested").map((e) => e.host)).toEqual(["tm-3", "tm-4"]);
    const registered = events.find((e) => e.kind === "TaskManagerRegistered" && e.host === "tm-4")!;
    expect(registered.t).toBeLessThan(30 * S);
    // Between the loss and the reset the job ran on the spare; after it, on tm-1 and tm-4.
    const allocated = (from: number, to: number) => [...new Set(events.filter((e) => e.kind === "SlotAllocated" && e.t >= from && e.t < to).map((e) => e.host))].sort();
    expect(allocated(lostAt(events, "tm-2"), 30 * S)).toEqual(["tm-1", "tm-3"]);
    expect(allocated(30 * S, Infinity)).toEqual(["tm-1", "tm-4"]);
    expect(recovery(events).hosts).toEqual(["tm-1", "tm-4"]);
    expect(oracleEqual(result)).toBe(true);
  });

  it("a spare starts even if a regular TaskManager never registers, after heartbeat.timeout", () => {
    const { result, events } = run({
      config: { "slotmanager.redundant-taskmanager-num": 1 },
      // tm-2 is cut off from the JobManager from the start and never registers.
      faults: [{ trigger: { at: "0s" }, fault: "partition", target: ["tm-2", "jm"] }],
    });
    expect(result.status, result.failureCause).toBe("FINISHED");
    const requested = events.find((e) => e.kind === "TaskManagerRequested")!;
    expect([requested.host, requested.t]).toEqual(["tm-3", 5 * S]);
    expect(events.some((e) => e.kind === "TaskManagerRegistered" && e.host === "tm-2")).toBe(false);
    expect(oracleEqual(result)).toBe(true);
  });
});
