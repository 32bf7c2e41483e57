/**
 * Fault-injection cases for the exactly-once / at-least-once properties
 * (test/exactly-once.property.test.ts): a deterministic library job with small params, a
 * runtime mode, a config with unlimited exponential-delay restarts and short heartbeats, a
 * cluster with enough slots, and a fault schedule whose faults start within the first
 * FAULT_HORIZON_S virtual seconds and never hit the JobManager host itself (links to it
 * may be partitioned). Every case is plain JSON, so a failure prints a one-line reproducer;
 * this file replays one:
 *   npx tsx test/exactly-once-cases.ts '<case JSON>'
 *
 * Fault shapes that trigger known engine bugs (KNOWN_BUGS, each an `it.fails` in the
 * property file) are kept out of the main properties by `materializeFaults` — only
 * those shapes — and one bug that depends on timing rather than on a fault's shape
 * (B4, a finished sink subtask re-committing) is detected after the run instead.
 */
import fc from "fast-check";
import { writerIdOf } from "../engine/api/operators";
import type { RuntimeMode } from "../engine/api/types";
import { JOB_MANAGER_HOST, runJob, taskManagerName, type JobRunResult } from "../engine/job-run";
import { checkAtLeastOnce, checkExactlyOnce, type CheckOptions, type CheckResult } from "../engine/oracle/checker";
import { buildJob, getJob } from "../scenarios/jobs/index";
import type { FaultSpec } from "../sim/faults";
import { NS_PER_MIN } from "../sim/time";
import type { TraceOptions } from "../sim/trace/recorder";
import { batchNetworkMemory, paramsArb, type PropertyJob } from "./library-cases";
import { oracleOutputs, runConfig } from "./library-run";
import { BATCH_SHUFFLE_MODES } from "../engine/graph/job-graph";

/**
 * The deterministic library jobs: their committed output must equal the oracle's exactly.
 * Not window-join: its three window operators over two sources make ~50 tasks at
 * parallelism 4 without chaining, and tens of seconds of paced input with 100 ms
 * checkpoints and restarts go over a case's kernel-event budget (its fault tolerance is
 * checked by its scenario's crash, test/window-join.test.ts and the savepoint property).
 */
export const DETERMINISTIC_JOBS = ["wordcount", "tumbling-window", "keyed-timers", "rebalance-rescale", "batch-dag", "co-process-join", "broadcast-rules", "item-tracker"] as const satisfies readonly PropertyJob[];

/** Faults start within this many virtual seconds (windows may end up to 15 s later). */
export const FAULT_HORIZON_S = 30;
/** Suite budget per case (DESIGN, "Test-suite budget"): faults, then time to finish. */
export const TIME_LIMIT_NS = 10 * NS_PER_MIN;
export const MAX_KERNEL_EVENTS = 200_000;

/** Checkpoint intervals of STREAMING cases: several per second to one every few seconds. */
export const CHECKPOINT_INTERVALS = ["100ms", "500ms", "2s"] as const;

export const HEARTBEAT_INTERVAL_MS = 1_000;
export const HEARTBEAT_TIMEOUT_MS = 5_000;

/**
 * Engine bugs this suite found (reported, not fixed here). The main properties avoid their
 * fault shapes; `it.fails` cases in the property file reproduce each.
 */
export const KNOWN_BUGS = {
  B1: "a TaskManager restarting after a silent crash, while the JobManager has nothing in flight to it, is bound to its dead connection and lost",
  B2: "a TaskManager the JobManager declared lost (JM link down > heartbeat.timeout) never registers again, and its tasks are never cancelled",
  B3: "a disk I/O error while a blocking (sort-merge) partition is written never fails the producer: the job hangs",
  B5: "BATCH: a consumer reading a finished producer's blocking partition from a TaskManager whose host lost power (silent crash) waits for the TCP timeout (924 s); the JobManager notices the TaskManager lost but nothing fails the consumer over",
  B4: "without checkpoints (BATCH, or STREAMING with checkpointing off) a transactional sink commits at its own end of input; a later failover that restarts the finished subtask commits its output again",
} as const;

export type Guarantee = "exactly-once" | "at-least-once";

export interface FaultCase {
  job: string;
  /** Partial params (defaults fill the rest). */
  params: Record<string, unknown>;
  mode: RuntimeMode;
  /** Engine options besides execution.runtime-mode (which `mode` sets). */
  config: Record<string, unknown>;
  cluster: { taskManagers: number; coresPerTaskManager: number };
  faults: FaultSpec[];
  seed: number;
}

/** Fault shapes, abstractly (hosts by index, times in ms); materialized once the cluster is known. */
export type FaultKind =
  /** Host crash, restarted at the window's end; process kill or silent (power loss). */
  | "crashWindow"
  /** The same through `{ at, restartAfter }`. */
  | "crashRestartAfter"
  | "slow"
  /** Two-way JM|TM partition, healed; shorter than heartbeat.timeout (B2). */
  | "partitionJmTm"
  | "partitionTmTm"
  /** A TaskManager cut off from every host, healed; shorter than heartbeat.timeout (B2). */
  | "isolate"
  | "clog"
  | "blobOutage"
  | "diskIoError"
  /** One-way TM → JM for longer than heartbeat.timeout: the JobManager cannot hear a TaskManager whose tasks keep running. */
  | "oneWayTmToJm"
  /** Two-way JM|TM for longer than heartbeat.timeout: the same zombie, also deaf to the JobManager. */
  | "longPartitionJmTm";

export const MAIN_FAULT_KINDS: readonly FaultKind[] = [
  "crashWindow",
  "crashRestartAfter",
  "slow",
  "partitionJmTm",
  "partitionTmTm",
  "isolate",
  "clog",
  "blobOutage",
  "diskIoError",
];

/** Crashes are what makes failovers happen: drawn more often. */
const KIND_WEIGHT: Partial<Record<FaultKind, number>> = { crashWindow: 3, crashRestartAfter: 2, partitionJmTm: 2 };

interface AbstractFault {
  kind: FaultKind;
  /** TaskManager index (mod the cluster size). */
  a: number;
  /** Second TaskManager index for TM|TM link faults (a different one is picked). */
  b: number;
  fromMs: number;
  lengthMs: number;
  silent: boolean;
  /** slow: speed factor; clog: extra delay; blobOutage: mode. */
  knob: number;
}

function abstractFaultArb(kinds: readonly FaultKind[]): fc.Arbitrary<AbstractFault> {
  return fc.record({
    kind: fc.oneof(...kinds.map((k) => ({ weight: KIND_WEIGHT[k] ?? 1, arbitrary: fc.constant(k) }))),
    a: fc.nat(7),
    b: fc.nat(7),
    fromMs: fc.integer({ min: 0, max: FAULT_HORIZON_S * 1000 - 1 }),
    // Often longer than the 5 s heartbeat timeout.
    lengthMs: fc.oneof(fc.integer({ min: 100, max: 4_000 }), fc.integer({ min: 4_000, max: 15_000 })),
    silent: fc.boolean(),
    knob: fc.integer({ min: 0, max: 3 }),
  });
}

const SLOW_FACTORS = [0.02, 0.1, 0.25, 0.5];
const CLOG_DELAYS = ["5ms", "50ms", "300ms", "1s"];
/** JM|TM outages in the main properties stay this far below heartbeat.timeout (B2)... */
const SHORT_JM_OUTAGE_MAX_MS = 3_500;
/** ...and one TaskManager's outages are this far apart, so heartbeats get through in between. */
const JM_OUTAGE_GAP_MS = 1_500;
/** Silent crashes in the main properties last longer than a heartbeat interval (B1). */
const MIN_SILENT_DOWNTIME_MS = HEARTBEAT_INTERVAL_MS + 500;

const ms = (x: number) => `${x}ms`;

export interface MaterializeOptions {
  taskManagers: number;
  mode: RuntimeMode;
  /** Keep the fault shapes of known bugs out (see KNOWN_BUGS). */
  avoidKnownBugs: boolean;
  /** B5 (still open): in BATCH, crashes kill the process (the peers see resets) instead of cutting power. */
  silentBatchCrashes?: boolean;
}

/**
 * Turns abstract faults into a valid plan: hosts by index, TM|TM faults dropped on a
 * 1-TaskManager cluster, and a fault dropped when it overlaps an earlier one of the same
 * class on the same target (the plan validator rejects overlapping windows; a second
 * crash of a crashed host would be a no-op). With `avoidKnownBugs`, and only there:
 * - B1: a silent crash starts after the TaskManager registered — not at 0 ms, not within
 *   1.5 s of the host's previous restart — and lasts longer than a heartbeat interval, so
 *   the JobManager has a heartbeat in flight to it when it comes back;
 * - B2: a two-way JM|TM partition or an isolation lasts < heartbeat.timeout, and the next
 *   outage or clog of that TaskManager's JM link comes after a gap (never on top of it);
 * - B3: no disk I/O errors in BATCH (STREAMING has no disk shuffle).
 */
export function materializeFaults(abstract: readonly AbstractFault[], o: MaterializeOptions): FaultSpec[] {
  const out: FaultSpec[] = [];
  const taken: { cls: string; target: string; from: number; to: number }[] = [];
  const sorted = [...abstract].sort((x, y) => x.fromMs - y.fromMs || x.kind.localeCompare(y.kind) || x.a - y.a || x.b - y.b);
  for (let f of sorted) {
    const tm = taskManagerName(f.a % o.taskManagers);
    let other = taskManagerName(f.b % o.taskManagers);
    if (other === tm) other = taskManagerName((f.b + 1) % o.taskManagers);
    let fromMs = f.fromMs;
    let lengthMs = f.lengthMs;
    /** Extra room after the window that the next fault of its class must leave. */
    let padMs = 0;
    /** Extra room this fault needs after the previous one of its class. */
    let gapBeforeMs = 0;
    let spec: FaultSpec;
    let cls: string = f.kind;
    let target: string = tm;
    const window = () => ({ from: ms(fromMs), to: ms(fromMs + lengthMs) });
    switch (f.kind) {
      case "crashWindow":
      case "crashRestartAfter":
        if (o.mode === "BATCH" && o.silentBatchCrashes !== true) f = { ...f, silent: false };
        if (o.avoidKnownBugs && f.silent) {
          fromMs = Math.max(1, fromMs);
          lengthMs = Math.max(MIN_SILENT_DOWNTIME_MS, lengthMs);
          // Not right after the host's previous restart, before it re-registered (B1 too).
          gapBeforeMs = MIN_SILENT_DOWNTIME_MS;
        }
        cls = "crash";
        spec =
          f.kind === "crashWindow"
            ? { trigger: window(), fault: f.silent ? { type: "crash", silent: true } : "crash", target: tm }
            : { trigger: { at: ms(fromMs) }, fault: { type: "crash", restartAfter: ms(lengthMs), ...(f.silent ? { silent: true } : {}) }, target: tm };
        break;
      case "slow":
        spec = { trigger: window(), fault: { type: "slow", factor: SLOW_FACTORS[f.knob]! }, target: tm };
        break;
      case "partitionJmTm":
      case "isolate":
        if (o.avoidKnownBugs) {
          lengthMs = 100 + (lengthMs % (SHORT_JM_OUTAGE_MAX_MS - 100));
          padMs = JM_OUTAGE_GAP_MS;
        }
        cls = "jmLink";
        spec = f.kind === "isolate" ? { trigger: window(), fault: "isolate", target: tm } : { trigger: window(), fault: "partition", target: [JOB_MANAGER_HOST, tm] };
        break;
      case "oneWayTmToJm":
      case "longPartitionJmTm":
        lengthMs = HEARTBEAT_TIMEOUT_MS + 1_000 + (lengthMs % 9_000);
        cls = "jmLink";
        // partition(a, b, oneWay) blocks a → b only: the TaskManager's messages never reach the JobManager.
        spec =
          f.kind === "oneWayTmToJm"
            ? { trigger: window(), fault: { type: "partition", oneWay: true }, target: [tm, JOB_MANAGER_HOST] }
            : { trigger: window(), fault: "partition", target: [JOB_MANAGER_HOST, tm] };
        break;
      case "partitionTmTm":
        if (o.taskManagers < 2) continue;
        spec = { trigger: window(), fault: "partition", target: [tm, other] };
        target = [tm, other].sort().join("|");
        break;
      case "clog": {
        // JM|TM or TM|TM (a TM|TM clog needs two TaskManagers); ≤ 1 s, well under the heartbeat timeout.
        const jmLink = o.taskManagers < 2 || f.silent;
        const pair: [string, string] = jmLink ? [JOB_MANAGER_HOST, tm] : [tm, other];
        spec = { trigger: window(), fault: { type: "clog", extraDelay: CLOG_DELAYS[f.knob]! }, target: pair };
        target = [...pair].sort().join("|");
        if (jmLink && o.avoidKnownBugs) {
          // A clog on top of a JM|TM partition can stretch it past heartbeat.timeout (B2).
          cls = "jmLink";
          target = tm;
          padMs = JM_OUTAGE_GAP_MS;
        }
        break;
      }
      case "blobOutage":
        spec = { trigger: window(), fault: { type: "blobOutage", mode: f.knob % 2 === 0 ? "fail" : "delay" } };
        target = "blob";
        break;
      case "diskIoError":
        if (o.avoidKnownBugs && o.mode === "BATCH") continue;
        spec = { trigger: window(), fault: "diskIoError", target: tm };
        break;
    }
    const to = fromMs + lengthMs + padMs;
    if (taken.some((t) => t.cls === cls && t.target === target && t.from < to && fromMs - gapBeforeMs < t.to)) continue;
    taken.push({ cls, target, from: fromMs, to });
    out.push(spec);
  }
  return out;
}

/** Drops undefined fields, so params print as the JSON a reproducer passes. */
function defined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

const PARALLELISM_KEYS = ["parallelism", "sourceParallelism", "mapParallelism", "map2Parallelism", "sinkParallelism"] as const;

export interface FaultCaseArbOptions {
  sink: "transactional" | "collect";
  kinds: readonly FaultKind[];
  jobs?: readonly PropertyJob[];
  maxFaults?: number;
  /** See MaterializeOptions.avoidKnownBugs (default false: B1–B3 are fixed). */
  avoidKnownBugs?: boolean;
  /** See MaterializeOptions.silentBatchCrashes (default false while B5 is open). */
  silentBatchCrashes?: boolean;
  /** Runtime modes drawn (default both). */
  modes?: readonly RuntimeMode[];
  /**
   * STREAMING cases checkpoint (interval drawn from CHECKPOINT_INTERVALS) in this mode;
   * false turns checkpointing off. Default EXACTLY_ONCE.
   */
  checkpointing?: "EXACTLY_ONCE" | "AT_LEAST_ONCE" | false;
  /**
   * One spare TaskManager per TaskManager whose JM link is down longer than the heartbeat
   * timeout: such a TaskManager never comes back (B2), so without spares the job could
   * run out of slots and the property would test B2 instead of fencing.
   */
  sparesForLostTaskManagers?: boolean;
}

function maxParallelismOf(params: Record<string, unknown>): number {
  return Math.max(...PARALLELISM_KEYS.map((k) => (params[k] as number | undefined) ?? 0), 1);
}

export function faultCaseArb(options: FaultCaseArbOptions): fc.Arbitrary<FaultCase> {
  const jobs = options.jobs ?? DETERMINISTIC_JOBS;
  return fc
    .constantFrom(...jobs)
    .chain((job) =>
      fc.record({
        job: fc.constant(job),
        base: paramsArb[job],
        // Small: parallelism 1–4 per operator (paramsArb goes to 8).
        parallelism: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 4, maxLength: 4 }),
        /** Virtual seconds the input takes (sets ratePerSecond), so the job runs while faults hit; 0 = as fast as possible. */
        inputSeconds: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 8, arbitrary: fc.integer({ min: 1, max: 40 }) }),
        mode: fc.constantFrom<RuntimeMode>(...(options.modes ?? ["STREAMING", "BATCH"])),
        checkpointInterval: fc.constantFrom(...CHECKPOINT_INTERVALS),
        // Flink's 10 min default, or short enough that outages and slow hosts time checkpoints out.
        checkpointTimeout: fc.option(fc.constantFrom("1s", "3s"), { nil: undefined, freq: 2 }),
        debloat: fc.boolean(),
        // Aligned, unaligned from the start, or aligned switching to unaligned after a timeout.
        alignment: fc.constantFrom("aligned", "unaligned", "timeout-50ms", "timeout-500ms"),
        shuffle: fc.option(fc.constantFrom(...BATCH_SHUFFLE_MODES), { nil: undefined, freq: 2 }),
        failover: fc.constantFrom("region", "full"),
        initialBackoff: fc.constantFrom("100ms", "1s"),
        maxBackoff: fc.constantFrom("2s", "10s"),
        chaining: fc.option(fc.boolean(), { nil: undefined }),
        stateBackend: fc.option(fc.constantFrom("hashmap", "rocksdb"), { nil: undefined }),
        // rocksdb: incremental snapshots (shared SST files, ref counts, restore downloads them);
        // a tiny write buffer makes flushes and compactions happen with small test states.
        incremental: fc.option(fc.boolean(), { nil: undefined }),
        writeBuffer: fc.option(fc.constant("64kb"), { nil: undefined, freq: 2 }),
        // STREAMING: the changelog backend (log segments, materializations, restore by replay);
        // a short materialization interval and a small pre-emptive threshold so both happen in small runs.
        changelog: fc.boolean(),
        materialization: fc.constantFrom("300ms", "1s", "10min"),
        preemptive: fc.option(fc.constant("2kb"), { nil: undefined }),
        slotsPerTaskManager: fc.integer({ min: 1, max: 4 }),
        extraTaskManagers: fc.integer({ min: 0, max: 2 }),
        coresPerTaskManager: fc.integer({ min: 1, max: 4 }),
        faults: fc.array(abstractFaultArb(options.kinds), { maxLength: options.maxFaults ?? 6 }),
        seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      }),
    )
    .map((x): FaultCase => {
      const params: Record<string, unknown> = { ...x.base, sink: options.sink };
      PARALLELISM_KEYS.forEach((k, i) => {
        if (k in params) params[k] = x.parallelism[k === "parallelism" ? 0 : i - 1]!;
      });
      // The largest source sets the pace: two-input jobs read a second source of their own size at the same rate per split.
      const records = Math.max(...(["records", "rightRecords", "paymentRecords"] as const).map((k) => (params[k] as number | undefined) ?? 0));
      const splits = (params.splits as number | undefined) ?? 4;
      delete params.ratePerSecond;
      if (x.inputSeconds > 0 && records > 0) params.ratePerSecond = Math.max(1, Math.ceil(Math.ceil(records / splits) / x.inputSeconds));
      const maxP = maxParallelismOf(params);
      const config: Record<string, unknown> = defined({
        "taskmanager.numberOfTaskSlots": x.slotsPerTaskManager,
        "jobmanager.execution.failover-strategy": x.failover,
        "restart-strategy.type": "exponential-delay",
        // Unlimited restarts (Flink's default is Integer.MAX_VALUE; said explicitly).
        "restart-strategy.exponential-delay.attempts-before-reset-backoff": 1_000_000,
        "restart-strategy.exponential-delay.initial-backoff": x.initialBackoff,
        "restart-strategy.exponential-delay.max-backoff": x.maxBackoff,
        // A lost TaskManager is noticed within seconds, not Flink's 50 s.
        "heartbeat.interval": ms(HEARTBEAT_INTERVAL_MS),
        "heartbeat.timeout": ms(HEARTBEAT_TIMEOUT_MS),
        "pipeline.operator-chaining.enabled": x.chaining,
        "state.backend.type": x.stateBackend,
        "state.backend.incremental": x.incremental,
        "state.backend.rocksdb.writebuffer.size": x.writeBuffer,
      });
      if (x.mode === "BATCH" && x.shuffle !== undefined) config["execution.batch-shuffle-mode"] = x.shuffle;
      const checkpointing = options.checkpointing ?? "EXACTLY_ONCE";
      if (x.mode === "STREAMING" && checkpointing !== false) {
        config["execution.checkpointing.interval"] = x.checkpointInterval;
        config["execution.checkpointing.mode"] = checkpointing;
        if (x.checkpointTimeout !== undefined) config["execution.checkpointing.timeout"] = x.checkpointTimeout;
        if (x.debloat) config["taskmanager.network.memory.buffer-debloat.enabled"] = true;
        if (x.changelog) {
          config["state.changelog.enabled"] = true;
          config["state.changelog.periodic-materialize.interval"] = x.materialization;
          if (x.preemptive !== undefined) config["state.changelog.dstl.dfs.preemptive-persist-threshold"] = x.preemptive;
        }
        if (checkpointing === "EXACTLY_ONCE" && x.alignment !== "aligned") {
          config["execution.checkpointing.unaligned.enabled"] = true;
          if (x.alignment !== "unaligned") config["execution.checkpointing.aligned-checkpoint-timeout"] = x.alignment.slice("timeout-".length);
        }
      }
      // See test/library-cases.ts: several slots of sort-merge partitions need more network memory.
      const network = batchNetworkMemory(x.mode, x.slotsPerTaskManager);
      if (network !== undefined) config["taskmanager.memory.network.min"] = network;
      // Enough slots, as test/library-cases.ts reasons.
      const allBlocking = x.shuffle === undefined || x.shuffle === "ALL_EXCHANGES_BLOCKING";
      const slotsNeeded =
        x.mode !== "BATCH"
          ? maxP
          : x.shuffle?.includes("HYBRID") === true
            ? maxP * buildJob(x.job, params).graph.nodes.length
            : allBlocking
              ? 1 + (x.seed % maxP)
              : maxP;
      let taskManagers = Math.ceil(slotsNeeded / x.slotsPerTaskManager) + x.extraTaskManagers;
      const faults = materializeFaults(x.faults, { taskManagers, mode: x.mode, avoidKnownBugs: options.avoidKnownBugs ?? false, silentBatchCrashes: options.silentBatchCrashes ?? false });
      if (options.sparesForLostTaskManagers === true) {
        const lost = new Set(faults.filter(isLongJmOutage).map((f) => [f.target].flat().find((h) => h !== JOB_MANAGER_HOST)));
        taskManagers += lost.size;
      }
      return {
        job: x.job,
        params: defined(params),
        mode: x.mode,
        config,
        cluster: { taskManagers, coresPerTaskManager: x.coresPerTaskManager },
        faults,
        seed: x.seed,
      };
    });
}

function isLongJmOutage(f: FaultSpec): boolean {
  const t = f.trigger as { from?: string; to?: string };
  const type = typeof f.fault === "string" ? f.fault : f.fault.type;
  if (t.from === undefined || !(type === "partition" || type === "isolate")) return false;
  const hosts = [f.target].flat();
  if (type === "partition" && !hosts.includes(JOB_MANAGER_HOST)) return false;
  return parseInt(t.to!, 10) - parseInt(t.from, 10) > HEARTBEAT_TIMEOUT_MS - 1_000;
}

export function runFaultCase(c: FaultCase, trace?: TraceOptions): JobRunResult {
  const job = getJob(c.job);
  const params = job.parseParams(c.params);
  return runJob({
    seed: c.seed,
    scenario: `exactly-once/${c.job}`,
    config: runConfig({ ...c }),
    cluster: c.cluster,
    job: (env) => job.build(env, params),
    faults: c.faults,
    timeLimitNs: TIME_LIMIT_NS,
    // One event over the budget, so exceeding it is visible (rather than a silent stop).
    maxEvents: MAX_KERNEL_EVENTS + 1,
    ...(trace !== undefined ? { trace } : {}),
  });
}

/** The checker's options from the job's own comparison (finalPerKey with its keyOf for rolling aggregates). */
export function checkOptionsOf(c: FaultCase): CheckOptions {
  const job = getJob(c.job);
  const compare = job.compare;
  if (compare !== "multiset" && compare !== "finalPerKey") throw new Error(`${c.job}: compare mode ${compare} is not exact; not a deterministic job`);
  const options = job.compareOptions?.(job.parseParams(c.params));
  const keyOf = options?.keyOf;
  return {
    compare,
    ...(keyOf !== undefined ? { keyOf: (r: unknown) => keyOf(r, "") as string | number } : {}),
    ...(options?.monotone !== undefined ? { monotone: options.monotone } : {}),
  };
}

export function checkFaultCase(c: FaultCase, result: JobRunResult, guarantee: Guarantee): CheckResult {
  const actual = new Map([...result.outputs].map(([sink, records]) => [sink, [...records]]));
  const expected = oracleOutputs({ ...c });
  const check = guarantee === "exactly-once" ? checkExactlyOnce : checkAtLeastOnce;
  const options = checkOptionsOf(c);
  // A counting job's rolling counts under at-least-once: an input counted twice yields a
  // count the oracle never emits, so compare final counts (≥ the oracle's) instead.
  if (guarantee === "at-least-once" && options.monotone !== undefined) options.compare = "finalPerKey";
  return check(actual, expected, options);
}

/** Largest subtask count and transactions per attempt looked at (parallelism ≤ 4 here; one end-of-input transaction per attempt). */
const MAX_SUBTASKS = 16;
const MAX_TXNS_PER_ATTEMPT = 4;

/**
 * Sink subtasks whose output more than one attempt committed (B4), as "sink[subtask]:
 * attempts a,b". Reads the store's deterministic transaction ids
 * (`${sink}/${writerIdOf(sink, subtask, attempt)}/txn-${n}`). With fencing, an older
 * attempt's commit after a newer attempt opened is rejected, so two committed attempts mean
 * the older one committed before the failover that restarted it.
 */
export function recommittedSubtasks(result: JobRunResult): string[] {
  const out: string[] = [];
  for (const sink of result.store.sinks()) {
    for (let subtask = 0; subtask < MAX_SUBTASKS; subtask++) {
      const attempts: number[] = [];
      for (let attempt = 0; attempt <= result.restarts; attempt++) {
        for (let n = 0; n < MAX_TXNS_PER_ATTEMPT; n++) {
          const txn = result.store.transaction(`${sink}/${writerIdOf(sink, subtask, attempt)}/txn-${n}`);
          if (txn === undefined) break;
          if (txn.state === "committed") {
            attempts.push(attempt);
            break;
          }
        }
      }
      if (attempts.length > 1) out.push(`${sink}[${subtask}]: attempts ${attempts.join(",")}`);
    }
  }
  return out;
}

export interface CaseOutcome {
  /** What is wrong, or undefined when the guarantee held. */
  problem: string | undefined;
  restarts: number;
  /** Exactly-once was checked as at-least-once because of B4 (see `recommittedSubtasks`). */
  recommitted: string[];
  result?: JobRunResult;
}

export interface OutcomeOptions {
  /** B4: check at-least-once where finished sink subtasks re-committed (default false: strict). */
  tolerateRecommits?: boolean;
}

/** Runs the case and checks it: FINISHED, within the budget, guarantee held. */
export function outcomeOf(c: FaultCase, guarantee: Guarantee, options: OutcomeOptions = {}): CaseOutcome {
  let result: JobRunResult;
  try {
    result = runFaultCase(c);
  } catch (e) {
    return { problem: `the run threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, restarts: 0, recommitted: [] };
  }
  const restarts = result.restarts;
  const base = { restarts, recommitted: [] as string[], result };
  if (result.kernelEvents > MAX_KERNEL_EVENTS) return { ...base, problem: `the case is over the suite budget: ${result.kernelEvents} kernel events (> ${MAX_KERNEL_EVENTS})` };
  if (result.status !== "FINISHED") {
    return { ...base, problem: `job ended ${result.status} at ${(result.endNs / 1e9).toFixed(3)} s: ${result.failureCause ?? "no cause"}` };
  }
  // With checkpoints, sinks commit per checkpoint: several attempts committing is normal
  // (each its own checkpoints' transactions), and a restart restores rather than re-runs.
  const checkpointed = c.mode === "STREAMING" && c.config["execution.checkpointing.interval"] !== undefined;
  const recommitted = guarantee === "exactly-once" && !checkpointed ? recommittedSubtasks(result) : [];
  const tolerated = options.tolerateRecommits === true && recommitted.length > 0;
  let check: CheckResult;
  try {
    check = checkFaultCase(c, result, tolerated ? "at-least-once" : guarantee);
  } catch (e) {
    return { ...base, recommitted, problem: `the oracle or checker threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}` };
  }
  const why = recommitted.length > 0 ? `; re-committed: ${recommitted.join("; ")}` : "";
  return { ...base, recommitted, problem: check.ok ? undefined : `${check.summary.replace(/\n/g, "; ")} (after ${restarts} restarts${why})` };
}

/** One line naming everything needed to rerun the case. */
export function reproduceFaultLine(c: FaultCase): string {
  return (
    `reproduce: job=${c.job} params=${JSON.stringify(c.params)} mode=${c.mode} config=${JSON.stringify(c.config)} ` +
    `cluster=${JSON.stringify(c.cluster)} faults=${JSON.stringify(c.faults)} seed=${c.seed} ` +
    `(npx tsx test/exactly-once-cases.ts '${JSON.stringify(c)}')`
  );
}

// Replays a case from the command line: status, restarts, store statistics, both checks.
if (process.argv[1] !== undefined && /exactly-once-cases\.ts$/.test(process.argv[1]) && process.argv[2] !== undefined) {
  const c = JSON.parse(process.argv[2]) as FaultCase;
  const result = runFaultCase(c);
  process.stdout.write(
    JSON.stringify({
      status: result.status,
      failureCause: result.failureCause,
      endS: result.endNs / 1e9,
      restarts: result.restarts,
      kernelEvents: result.kernelEvents,
      recommitted: recommittedSubtasks(result),
      store: result.store.stats,
    }) + "\n",
  );
  if (result.status === "FINISHED") {
    process.stdout.write(checkFaultCase(c, result, "exactly-once").summary + "\n");
    process.stdout.write(checkFaultCase(c, result, "at-least-once").summary + "\n");
  }
}
