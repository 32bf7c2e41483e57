/**
 * Exactly-once under faults (DESIGN, "Oracle" and "Faults"): a random deterministic
 * library job (STREAMING with EXACTLY_ONCE aligned checkpoints every 100 ms–2 s, or BATCH;
 * small params, parallelism 1–4, enough slots) with a transactional sink (two-phase commit
 * driven by checkpoints in STREAMING), region or full failover, unlimited exponential-delay restarts and
 * 1 s / 5 s heartbeats, under a random fault schedule in its first 30 virtual seconds —
 * TaskManager crashes with restart (killed or silent), slow hosts, two-way JM|TM and TM|TM
 * partitions that heal, isolation, clogged links, blob-store outages, disk I/O errors;
 * never a fault of the JobManager's own host — must end FINISHED once the faults stop, and
 * its committed output must equal the oracle's (checkExactlyOnce with the job's own
 * comparison). The collect-sink variant must be at-least-once: nothing lost or made up;
 * so must AT_LEAST_ONCE checkpoints with the transactional sink (stateless jobs: every
 * oracle record present; counts: every final count ≥ the oracle's).
 * Task exceptions are covered by test/failover.test.ts and test/restart-budget.test.ts.
 *
 * Engine bugs this suite found are `it.fails` cases at the end (KNOWN_BUGS in
 * test/exactly-once-cases.ts). The main properties stay green by avoiding exactly their
 * fault shapes (materializeFaults' avoidKnownBugs) and, for B4 (BATCH only since sinks
 * commit on checkpoints in STREAMING), which depends on timing rather than on a fault's
 * shape, by checking a BATCH case at-least-once where the store shows a sink subtask
 * committed by two attempts — such cases are counted and reported. While B5 is open,
 * crashes in BATCH cases are process kills rather than power losses.
 *
 * Budget: each case ≤ 5k records, ≤ 10 virtual minutes, ≤ 200k kernel events (checked);
 * a case takes about 10 ms, the file a few seconds; shrinking is capped in wall time.
 * A failure ends with a one-line reproducer (job, params, config, cluster, faults, seed).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseFaults } from "../sim/faults";
import {
  KNOWN_BUGS,
  MAIN_FAULT_KINDS,
  faultCaseArb,
  outcomeOf,
  recommittedSubtasks,
  reproduceFaultLine,
  runFaultCase,
  type FaultCase,
  type FaultCaseArbOptions,
  type Guarantee,
  type OutcomeOptions,
} from "./exactly-once-cases";
import { PROP_SCALE, propRuns, propSeed, throwIfFailed } from "./prop";

/** Wall-clock limit of shrinking once a property fails (the rest of its budget is for the runs). */
const SHRINK_BUDGET_MS = 30_000;

interface PropertyStats {
  runs: number;
  withRestarts: number;
  restarts: number;
  /** Cases checked at-least-once because a sink subtask was committed by two attempts (B4). */
  recommitted: number;
  /** Cases where the store fenced an older attempt's transaction (a zombie's, or a crashed attempt's). */
  fenced: number;
  /** Cases where a fenced zombie kept writing, pre-committing or committing, and the store refused. */
  zombieRefused: number;
}

interface PropertySpec {
  arb: FaultCaseArbOptions;
  guarantee: Guarantee;
  outcome?: OutcomeOptions;
  runs: number;
  wallBudgetMs: number;
}

/** Runs a property; throws with the shrunk case's problem and its one-line reproducer. */
function checkProperty(spec: PropertySpec): PropertyStats {
  const stats: PropertyStats = { runs: 0, withRestarts: 0, restarts: 0, recommitted: 0, fenced: 0, zombieRefused: 0 };
  let firstFailureMs: number | undefined;
  const envSeed = propSeed();
  const details = fc.check(
    fc.property(faultCaseArb(spec.arb), (c) => {
      // Shrinking is time-limited: past the budget every candidate passes, so fast-check
      // stops at the smallest failing case found so far.
      if (firstFailureMs !== undefined && Date.now() - firstFailureMs > SHRINK_BUDGET_MS) return;
      const o = outcomeOf(c, spec.guarantee, spec.outcome);
      if (firstFailureMs === undefined) {
        stats.runs++;
        if (o.restarts > 0) stats.withRestarts++;
        stats.restarts += o.restarts;
        if (o.recommitted.length > 0) stats.recommitted++;
        const store = o.result?.store.stats;
        if (store !== undefined && store.fencedTransactions > 0) stats.fenced++;
        if (store !== undefined && store.rejectedWrites + store.rejectedPreCommits + store.rejectedCommits > 0) stats.zombieRefused++;
      }
      if (o.problem !== undefined) {
        firstFailureMs ??= Date.now();
        throw new Error(o.problem);
      }
    }),
    {
      numRuns: spec.runs,
      interruptAfterTimeLimit: spec.wallBudgetMs,
      ...(envSeed !== undefined ? { seed: envSeed } : {}),
    },
  );
  throwIfFailed(details, reproduceFaultLine);
  // An interrupted run passes only if it still did a fair share of its cases.
  expect(details.numRuns, `only ${details.numRuns} cases ran within ${spec.wallBudgetMs} ms`).toBeGreaterThanOrEqual(Math.min(100, spec.runs));
  return stats;
}

function summary(stats: PropertyStats): string {
  return (
    `${stats.runs} cases, ${stats.withRestarts} with failovers (${stats.restarts} restarts), ${stats.fenced} with fenced transactions, ${stats.zombieRefused} with refused zombie operations, ` +
    `${stats.recommitted} with a re-committed finished sink subtask (B4)`
  );
}

/** Asserts what a known-bug case should do once fixed; `it.fails` expects this to throw. */
function expectExactlyOnce(c: FaultCase): void {
  const o = outcomeOf(c, "exactly-once");
  expect(o.problem, o.problem === undefined ? "" : `${o.problem}\n${reproduceFaultLine(c)}`).toBeUndefined();
}

/** The properties' config, for hand-written cases. */
function config(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    "taskmanager.numberOfTaskSlots": 1,
    "jobmanager.execution.failover-strategy": "region",
    "restart-strategy.type": "exponential-delay",
    "restart-strategy.exponential-delay.attempts-before-reset-backoff": 1_000_000,
    "restart-strategy.exponential-delay.initial-backoff": "100ms",
    "restart-strategy.exponential-delay.max-backoff": "2s",
    "heartbeat.interval": "1s",
    "heartbeat.timeout": "5s",
    ...extra,
  };
}

describe("exactly-once under faults (transactional sink)", () => {
  it(
    "a random deterministic library job under random faults finishes, and commits exactly the oracle's output",
    () => {
      const stats = checkProperty({
        arb: { sink: "transactional", kinds: MAIN_FAULT_KINDS },
        guarantee: "exactly-once",
        // B4 is checked at-least-once (counted); see the it.fails cases below.
        outcome: { tolerateRecommits: true },
        runs: propRuns(300),
        wallBudgetMs: 60_000 * PROP_SCALE,
      });
      console.log(`exactly-once property: ${summary(stats)}`);
      // Not vacuous: the faults make a fair share of the jobs fail over.
      expect(stats.withRestarts, summary(stats)).toBeGreaterThanOrEqual(Math.ceil(stats.runs * 0.1));
    },
    60_000 * PROP_SCALE + SHRINK_BUDGET_MS + 30_000,
  );

  it("the generated plans are valid and never fault the JobManager host", () => {
    // B1–B3 are fixed, so plans are no longer kept out of their fault shapes
    // (materializeFaults' avoidKnownBugs now defaults to false).
    fc.assert(
      fc.property(faultCaseArb({ sink: "transactional", kinds: MAIN_FAULT_KINDS }), (c) => {
        const hosts = ["jm", ...Array.from({ length: c.cluster.taskManagers }, (_, i) => `tm-${i + 1}`)];
        parseFaults(c.faults, hosts);
        for (const f of c.faults) {
          const type = typeof f.fault === "string" ? f.fault : f.fault.type;
          const target = [f.target].flat() as string[];
          expect(["crash", "slow", "isolate", "diskIoError"].includes(type) ? target : []).not.toContain("jm");
        }
      }),
      { numRuns: 2_000 },
    );
  });
});

describe("AT_LEAST_ONCE checkpoints under faults (transactional sink)", () => {
  it(
    "a stateless or counting STREAMING job with at-least-once checkpoints finishes with every input's effect at least once",
    () => {
      const stats = checkProperty({
        arb: { sink: "transactional", kinds: MAIN_FAULT_KINDS, modes: ["STREAMING"], checkpointing: "AT_LEAST_ONCE", jobs: ["wordcount", "rebalance-rescale"] },
        guarantee: "at-least-once",
        runs: propRuns(100),
        wallBudgetMs: 30_000 * PROP_SCALE,
      });
      console.log(`AT_LEAST_ONCE checkpoint property: ${summary(stats)}`);
      expect(stats.withRestarts, summary(stats)).toBeGreaterThanOrEqual(Math.ceil(stats.runs * 0.05));
    },
    30_000 * PROP_SCALE + SHRINK_BUDGET_MS + 30_000,
  );
});

describe("at-least-once under faults (collect sink)", () => {
  it(
    "a random deterministic library job under random faults finishes, losing nothing and making nothing up",
    () => {
      const stats = checkProperty({
        arb: { sink: "collect", kinds: MAIN_FAULT_KINDS },
        guarantee: "at-least-once",
        runs: propRuns(100),
        wallBudgetMs: 30_000 * PROP_SCALE,
      });
      console.log(`at-least-once property: ${summary(stats)}`);
      expect(stats.withRestarts, summary(stats)).toBeGreaterThanOrEqual(Math.ceil(stats.runs * 0.05));
    },
    30_000 * PROP_SCALE + SHRINK_BUDGET_MS + 30_000,
  );
});

/**
 * Zombies: the JobManager stops hearing a TaskManager (one-way TM → JM partition, or a
 * two-way JM|TM partition, longer than heartbeat.timeout) whose tasks keep running, and
 * restarts them elsewhere. Observed with transaction fencing (commit 856b648), over
 * 1000 cases with one-way partitions only:
 * - fencing holds: no zombie transaction committed after a newer attempt of its subtask
 *   opened, in these or in 9000 more mixed cases (the passing property below; zombies'
 *   writes and commits are refused in about 4% of the cases);
 * - exactly-once still breaks when the zombie reached its end of input and committed
 *   *before* the JobManager declared its TaskManager lost: the restarted attempt commits
 *   the same output again (B4; 80 of 1000 cases, given spare TaskManagers) — nothing
 *   fencing can undo;
 * - the lost TaskManager never comes back, so without a spare the job runs out of slots
 *   and fails after slot.request.timeout (B2; 230 of 1000 cases without spares).
 */
describe("zombies: the JobManager loses a TaskManager whose tasks keep running", () => {
  it(
    "fencing: no zombie commits after its subtask restarted (one-way and long two-way JM partitions, a spare TaskManager per lost one)",
    () => {
      const stats = checkProperty({
        arb: { sink: "transactional", kinds: ["oneWayTmToJm", "longPartitionJmTm", "crashWindow"], sparesForLostTaskManagers: true },
        guarantee: "exactly-once",
        // B4 (a zombie that committed before it was declared lost) is checked at-least-once.
        outcome: { tolerateRecommits: true },
        runs: propRuns(150),
        wallBudgetMs: 30_000 * PROP_SCALE,
      });
      console.log(`zombie property: ${summary(stats)}`);
      expect(stats.withRestarts, summary(stats)).toBeGreaterThanOrEqual(Math.ceil(stats.runs * 0.1));
    },
    30_000 * PROP_SCALE + SHRINK_BUDGET_MS + 30_000,
  );

  // The zombie is still running when fenced: tm-1 → jm is cut from 2 s to 12 s, the
  // JobManager restarts the job on tm-2 at ~7 s, and the zombie on tm-1 reads on to its end
  // of input at ~20 s. Its writes, pre-commit and commit are all refused.
  it("a zombie still writing after its subtask restarted is fenced: its writes and commit are refused, the output is exactly once", () => {
    const c: FaultCase = {
      job: "wordcount",
      params: { records: 200, parallelism: 1, splits: 1, sink: "transactional", ratePerSecond: 10 },
      mode: "STREAMING",
      config: config(),
      cluster: { taskManagers: 2, coresPerTaskManager: 1 },
      faults: [{ trigger: { from: "2s", to: "12s" }, fault: { type: "partition", oneWay: true }, target: ["tm-1", "jm"] }],
      seed: 0,
    };
    const o = outcomeOf(c, "exactly-once");
    expect(o.problem, `${o.problem}\n${reproduceFaultLine(c)}`).toBeUndefined();
    const store = o.result!.store.stats;
    expect(o.restarts).toBe(1);
    expect(store.fencedTransactions).toBe(1);
    expect(store.rejectedWrites).toBeGreaterThan(0);
    // Once the JobManager stops heartbeating tm-1, tm-1 itself cancels the zombie after
    // heartbeat.timeout (as Flink's TaskExecutor does), so it may never reach its commit.
    expect(store.rejectedCommits).toBeLessThanOrEqual(1);
  });

  // B4 through a zombie: tm-1's job (p = 1) ends its input at 0.5 s, but nothing it sends
  // reaches the JobManager (one-way tm-1 → jm). Without checkpoints it committed at its end
  // of input, and the restart on tm-2 at 6 s committed the same output again. With
  // checkpoints its acknowledgements never arrive, so nothing is committed until the
  // restarted attempt's final checkpoint completes: exactly once.
  it(`B4 via a one-way partition (fixed by checkpoint-driven commits): ${KNOWN_BUGS.B4}`, () => {
    expectExactlyOnce({
      job: "keyed-timers",
      params: { records: 2, keys: 1, parallelism: 1, intervalMs: 0, maxDisorderMs: 0, roundMs: 1, splits: 1, sink: "transactional", ratePerSecond: 2 },
      mode: "STREAMING",
      config: config({ "execution.checkpointing.interval": "200ms" }),
      cluster: { taskManagers: 2, coresPerTaskManager: 1 },
      faults: [{ trigger: { from: "1ms", to: "10s" }, fault: { type: "partition", oneWay: true }, target: ["tm-1", "jm"] }],
      seed: 0,
    });
  });

  // B2: with no spare TaskManager, the zombie's TaskManager is lost for good — its heartbeat
  // responses reach the JobManager again after the partition heals at 7 s, but it is never
  // re-registered — so the restarted job waits for a slot and fails after
  // slot.request.timeout (~306 s): "NoResourceAvailableException ... the cluster has 0 slots".
  it.fails(`B2 via a one-way partition: ${KNOWN_BUGS.B2}`, () => {
    expectExactlyOnce({
      job: "wordcount",
      params: { records: 20, parallelism: 1, splits: 1, sink: "transactional", ratePerSecond: 2 },
      mode: "STREAMING",
      config: config(),
      cluster: { taskManagers: 1, coresPerTaskManager: 1 },
      faults: [{ trigger: { from: "1s", to: "7s" }, fault: { type: "partition", oneWay: true }, target: ["tm-1", "jm"] }],
      seed: 0,
    });
  });
});

describe("checkpointing bugs the exactly-once property found (fixed; regressions)", () => {
  // The source finished (its final checkpoint 1 completed) a moment after checkpoint 2 was
  // triggered on it; one Double subtask had processed barrier 1 before its end of input, so
  // it still waited for a final checkpoint that could never reach it. Fixed twice over: the
  // task ends its input as soon as the last EndOfData is processed (before a barrier behind
  // it), and a trigger that finds its task gone declines, so the next checkpoint is planned
  // anew from the subtasks whose producers all finished.
  it("a trigger racing the source's finish does not leave the job waiting for a final checkpoint", () => {
    expectExactlyOnce({
      job: "rebalance-rescale",
      params: { records: 29, sourceParallelism: 1, mapParallelism: 3, map2Parallelism: 1, sinkParallelism: 1, splits: 1, sink: "transactional", ratePerSecond: 29 },
      mode: "STREAMING",
      config: config({ "execution.checkpointing.interval": "100ms" }),
      cluster: { taskManagers: 3, coresPerTaskManager: 1 },
      faults: [{ trigger: { from: "1ms", to: "4001ms" }, fault: "isolate", target: "tm-1" }],
      seed: 0,
    });
  });

  // tm-4 crashed right after acknowledging the final checkpoint, before its committer heard
  // that it completed. The restart restored that checkpoint, but the writer subtask (not
  // chained to its committer) started first and its initTransactions aborted the
  // pre-committed transaction the restored committer was about to commit: one record lost.
  // Fixed as KafkaSink does it: transactions belong to a checkpoint, and a restore from
  // checkpoint n aborts only the older attempt's transactions after n.
  it("a writer restarting before its committer does not abort the restored checkpoint's transactions", () => {
    expectExactlyOnce({
      job: "rebalance-rescale",
      params: { records: 47, sourceParallelism: 1, mapParallelism: 1, map2Parallelism: 1, sinkParallelism: 4, splits: 1, sink: "transactional", ratePerSecond: 7 },
      mode: "STREAMING",
      config: config({ "pipeline.operator-chaining.enabled": false, "execution.checkpointing.interval": "100ms" }),
      cluster: { taskManagers: 4, coresPerTaskManager: 1 },
      faults: [
        { trigger: { from: "0ms", to: "2371ms" }, fault: "partition", target: ["jm", "tm-1"] },
        { trigger: { at: "9073ms" }, fault: { type: "crash", restartAfter: "100ms" }, target: "tm-4" },
      ],
      seed: 319829366,
    });
  });
});

describe("failover bookkeeping bugs the property found (fixed; regressions)", () => {
  // BATCH, tm-4's disk failed reads: KeyedCoProcess failed reading a finished source's
  // partition (region failover: that source and both KeyedCoProcess subtasks), and 400 ms
  // later, within the back-off, the Co-Flat Map failed reading another partition of tm-4,
  // whose failover (merged) took the same finished source again. The JobManager counted
  // the finished source out twice, so after every subtask finished again the job never
  // reached FINISHED and was cancelled at the 10 min limit. A subtask already pending a
  // restart is now counted out once.
  it("a finished subtask in two overlapping failovers is counted out once; the job finishes", () => {
    const c: FaultCase = {
      job: "co-process-join",
      params: { records: 57, rightRecords: 42, keys: 1, skew: 0.5, parallelism: 2, intervalMs: 0, maxDisorderMs: 0, windowMs: 1, splits: 1, sink: "transactional", ratePerSecond: 8 },
      mode: "BATCH",
      config: config({ "heartbeat.interval": "1000ms", "heartbeat.timeout": "5000ms" }),
      cluster: { taskManagers: 4, coresPerTaskManager: 1 },
      faults: [{ trigger: { from: "5127ms", to: "9127ms" }, fault: "diskIoError", target: "tm-4" }],
      seed: 10764927,
    };
    const r = runFaultCase(c);
    expect(r.status).toBe("FINISHED");
    expect(r.endNs).toBeLessThan(20e9);
    expectExactlyOnce(c);
  });
});

describe("unaligned / finished-on-restore bugs the property found (fixed; regressions)", () => {
  // A source with no data left was deployed "finished on restore" after a failover; its
  // next checkpoint acknowledged an empty snapshot (no split offsets) as a normal handle,
  // so the restore after the next failover read its split from the start: a round was
  // counted twice. Fixed: a subtask deployed as finished stays finished in later checkpoints.
  it("a subtask restored as finished stays finished across the next restore", () => {
    expectExactlyOnce({
      job: "keyed-timers",
      params: { records: 41, keys: 1, skew: 0.5, parallelism: 4, intervalMs: 0, maxDisorderMs: 0, roundMs: 1, splits: 3, sink: "transactional", ratePerSecond: 3 },
      mode: "STREAMING",
      config: config({ "restart-strategy.exponential-delay.max-backoff": "10s", "execution.checkpointing.interval": "100ms" }),
      cluster: { taskManagers: 4, coresPerTaskManager: 1 },
      faults: [
        { trigger: { from: "3273ms", to: "8371ms" }, fault: { type: "crash", silent: true }, target: "tm-4" },
        { trigger: { from: "6408ms", to: "11519ms" }, fault: "crash", target: "tm-1" },
        { trigger: { from: "15008ms", to: "20638ms" }, fault: { type: "clog", extraDelay: "300ms" }, target: ["tm-1", "tm-2"] },
        { trigger: { from: "15527ms", to: "16700ms" }, fault: { type: "crash", silent: true }, target: "tm-1" },
        { trigger: { at: "20938ms" }, fault: { type: "crash", restartAfter: "100ms", silent: true }, target: "tm-1" },
      ],
      seed: 2147483642,
    });
  });

  // A source's timeoutable barrier was stuck behind two records for a partitioned
  // TaskManager; at the aligned-checkpoint timeout it jumped them, but the snapshot was
  // uploaded before the overtaken records were added to its output channel state: after the
  // restore one record was never processed. Fixed: the task records what the barrier
  // overtook, then uploads.
  it("a barrier switched at the aligned-checkpoint timeout persists what it overtook before the upload", () => {
    const c: FaultCase = {
      job: "rebalance-rescale",
      params: { records: 12, sourceParallelism: 1, mapParallelism: 3, map2Parallelism: 1, sinkParallelism: 4, splits: 1, sink: "collect", ratePerSecond: 12 },
      mode: "STREAMING",
      config: config({ "execution.checkpointing.interval": "2s", "execution.checkpointing.unaligned.enabled": true, "execution.checkpointing.aligned-checkpoint-timeout": "500ms" }),
      cluster: { taskManagers: 4, coresPerTaskManager: 1 },
      faults: [
        { trigger: { from: "0ms", to: "972ms" }, fault: "partition", target: ["tm-1", "tm-2"] },
        { trigger: { from: "972ms", to: "4972ms" }, fault: "crash", target: "tm-4" },
      ],
      seed: 2145386472,
    };
    const o = outcomeOf(c, "at-least-once");
    expect(o.problem, `${o.problem}\n${reproduceFaultLine(c)}`).toBeUndefined();
    expect(o.result!.marks["uc.timeoutSwitch"] ?? 0).toBeGreaterThan(0);
  });
});

describe("a trigger declined by a source that just finished", () => {
  // Checkpoint 1 (the sources' final one) completed while checkpoint 2 was triggered on
  // them; they finished first and declined it, but the coordinator ignored declines from
  // subtasks that no longer had to acknowledge, so checkpoint 2 — whose barriers could
  // never come — waited for its 10 min timeout and the job with it. Fixed: a triggered
  // subtask's decline aborts the checkpoint even after it finished.
  it("aborts the checkpoint so the next one is planned without the finished sources", () => {
    expectExactlyOnce({
      job: "rebalance-rescale",
      params: { records: 1, sourceParallelism: 4, mapParallelism: 1, map2Parallelism: 1, sinkParallelism: 1, splits: 1, sink: "transactional", ratePerSecond: 1 },
      mode: "STREAMING",
      config: config({ "execution.checkpointing.interval": "100ms", "execution.checkpointing.unaligned.enabled": true, "execution.checkpointing.aligned-checkpoint-timeout": "50ms" }),
      cluster: { taskManagers: 4, coresPerTaskManager: 1 },
      faults: [{ trigger: { from: "0ms", to: "4000ms" }, fault: { type: "clog", extraDelay: "300ms" }, target: ["tm-1", "tm-2"] }],
      seed: 0,
    });
  });
});

describe("engine bugs found by the fault properties (it.fails until fixed)", () => {
  // B1: tm-1 crashes silently at 2.05 s (after the 2 s heartbeat was answered) and restarts
  // at 2.3 s. Nothing was in flight to it, so its old RPC connection is still "open" on the
  // JobManager's side; JobManager.onRegister takes the first open connection from tm-1 —
  // the dead one — and answers the new registration on it. That send resets the old
  // connection ("peer restarted"), whose onClose clears the *new* registration's endpoint.
  // The JobManager can no longer reach tm-1: heartbeat timeout at 8 s, tm-1 lost for good
  // (B2), FAILED with NoResourceAvailableException at ~308 s. Also hit by a silent crash
  // before the first registration arrives (crash at 0 ms).
  it(`B1 (fixed; regression): ${KNOWN_BUGS.B1}`, () => {
    expectExactlyOnce({
      job: "wordcount",
      params: { records: 20, parallelism: 1, splits: 1, sink: "transactional", ratePerSecond: 2 },
      mode: "STREAMING",
      config: config(),
      cluster: { taskManagers: 1, coresPerTaskManager: 1 },
      faults: [{ trigger: { from: "2050ms", to: "2300ms" }, fault: { type: "crash", silent: true }, target: "tm-1" }],
      seed: 0,
    });
  });

  // B2: a two-way JM|tm-1 partition from 1 s to 7 s. The JobManager declares tm-1 lost at
  // 6 s (it stops sending it anything, CancelTask included, so tm-1's tasks run on as
  // zombies). tm-1 has no heartbeat timeout of its own and never registers again (Flink's
  // TaskExecutor would notice the JobManager's silence, fail its tasks and reconnect), so
  // the job never gets a slot back: FAILED after slot.request.timeout at ~306 s.
  it(`B2 (fixed; regression): ${KNOWN_BUGS.B2}`, () => {
    expectExactlyOnce({
      job: "wordcount",
      params: { records: 20, parallelism: 1, splits: 1, sink: "transactional", ratePerSecond: 2 },
      mode: "STREAMING",
      config: config(),
      cluster: { taskManagers: 1, coresPerTaskManager: 1 },
      faults: [{ trigger: { from: "1s", to: "7s" }, fault: "partition", target: ["jm", "tm-1"] }],
      seed: 0,
    });
  });

  // B3: BATCH, the source writes a blocking (sort-merge) partition while tm-1's disk returns
  // EIO (0–100 ms). SortMergeResultPartition.failInternal tears the partition down and
  // calls its onFailed callbacks, but Task never registers one (task-io.ts's writer type
  // has no onFailed) and waits for onFinished forever: the source stays RUNNING, nothing
  // fails over, and the run is cancelled at the 10 min limit.
  it(`B3 (fixed; regression): ${KNOWN_BUGS.B3}`, () => {
    expectExactlyOnce({
      job: "tumbling-window",
      params: { records: 1, keys: 1, parallelism: 1, windowMs: 20, intervalMs: 0, maxDisorderMs: 0, splits: 1, sink: "transactional", ratePerSecond: 1 },
      mode: "BATCH",
      config: config(),
      cluster: { taskManagers: 1, coresPerTaskManager: 1 },
      faults: [{ trigger: { from: "0ms", to: "100ms" }, fault: "diskIoError", target: "tm-1" }],
      seed: 0,
    });
  });

  // B4, STREAMING: one pipelined region (keyBy). tm-2 is killed at 1 ms, taking window
  // subtask 1 with it; without checkpoints, window subtasks 0 and 2 got their whole input,
  // finished at 0.5 s and committed, and the region failover at tm-2's return committed the
  // window of key k0 a second time. With checkpoints nothing finishes before the final
  // checkpoint, and the restart restores the last completed one: exactly once.
  it(`B4 after a crash (STREAMING, fixed by checkpoint-driven commits): ${KNOWN_BUGS.B4}`, () => {
    expectExactlyOnce({
      job: "tumbling-window",
      params: { records: 2, keys: 1, parallelism: 3, windowMs: 20, intervalMs: 0, maxDisorderMs: 0, splits: 1, sink: "transactional", ratePerSecond: 2 },
      mode: "STREAMING",
      config: config({ "execution.checkpointing.interval": "200ms" }),
      cluster: { taskManagers: 3, coresPerTaskManager: 1 },
      faults: [{ trigger: { from: "1ms", to: "501ms" }, fault: "crash", target: "tm-2" }],
      seed: 0,
    });
  });

  // B4, BATCH with full failover: sink subtask 0 finishes and commits while tm-2 (sink
  // subtask 1) is down; tm-2's return restarts everything, and sink subtask 0 commits again.
  it.fails(`B4 after a crash (BATCH, full failover): ${KNOWN_BUGS.B4}`, () => {
    expectExactlyOnce({
      job: "rebalance-rescale",
      params: { records: 1, sourceParallelism: 1, mapParallelism: 1, map2Parallelism: 1, sinkParallelism: 2, splits: 1, sink: "transactional", ratePerSecond: 1 },
      mode: "BATCH",
      config: config({ "jobmanager.execution.failover-strategy": "full" }),
      cluster: { taskManagers: 2, coresPerTaskManager: 1 },
      faults: [{ trigger: { at: "1ms" }, fault: { type: "crash", restartAfter: "4s" }, target: "tm-2" }],
      seed: 592900383,
    });
  });

  // B5: BATCH, p = 1. The source finished on tm-2 at 25.1 s and its blocking partition is
  // being read by the aggregation on tm-1 when tm-2 loses power at 26.1 s (silent crash).
  // The reader has nothing to send, so nothing tells it the peer is gone; tm-2 re-registers
  // at 30.1 s and the JobManager declares the old TaskManager lost, but a FINISHED producer
  // is left alone and the consumer is never failed: the run hits the 10 min limit. (The
  // main properties turn crashes in BATCH into process kills while this is open.)
  it.fails(`B5 after a silent crash (BATCH): ${KNOWN_BUGS.B5}`, () => {
    expectExactlyOnce({
      job: "wordcount",
      params: { records: 16, wordsPerSentence: 1, vocabulary: 1, skew: 0, parallelism: 1, splits: 1, sink: "transactional", ratePerSecond: 1 },
      mode: "BATCH",
      config: config(),
      cluster: { taskManagers: 2, coresPerTaskManager: 1 },
      faults: [
        { trigger: { from: "4001ms", to: "10100ms" }, fault: "crash", target: "tm-1" },
        { trigger: { from: "17253ms", to: "26102ms" }, fault: { type: "clog", extraDelay: "1s" }, target: ["tm-1", "tm-2"] },
        { trigger: { from: "26102ms", to: "30102ms" }, fault: { type: "crash", silent: true }, target: "tm-2" },
      ],
      seed: 8,
    });
  });

  // The B4 detector is what lets the main property check such cases at-least-once: it
  // must name the re-committed subtask exactly when there is one.
  it("recommittedSubtasks names the sink subtask two attempts committed, and nothing in a clean run", () => {
    const b4: FaultCase = {
      job: "tumbling-window",
      params: { records: 2, keys: 1, parallelism: 3, windowMs: 20, intervalMs: 0, maxDisorderMs: 0, splits: 1, sink: "transactional", ratePerSecond: 2 },
      mode: "STREAMING",
      config: config(),
      cluster: { taskManagers: 3, coresPerTaskManager: 1 },
      faults: [{ trigger: { from: "1ms", to: "501ms" }, fault: "crash", target: "tm-2" }],
      seed: 0,
    };
    expect(recommittedSubtasks(runFaultCase(b4))).toEqual([expect.stringMatching(/^windows\[\d\]: attempts 0,1$/)]);
    expect(outcomeOf(b4, "exactly-once", { tolerateRecommits: true }).problem).toBeUndefined();
    const clean = { ...b4, faults: [] };
    expect(recommittedSubtasks(runFaultCase(clean))).toEqual([]);
    expect(outcomeOf(clean, "exactly-once").problem).toBeUndefined();
  });
});
