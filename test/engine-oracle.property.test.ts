/**
 * The engine against the oracle (DESIGN, "Oracle"): a random library job with random small
 * params, parallelism 1–8, a random cluster with enough slots, random engine tuning, a
 * random seed, in STREAMING or BATCH (with the batch shuffle modes) must end FINISHED and
 * commit what the oracle computes — exactly for the deterministic jobs, by conservation
 * for late-data-window and session-window. Every case stays in the suite budget (≤ 5k records, ≤ 10 virtual
 * minutes, ≤ 200k kernel events; checked). A failure ends with a one-line reproducer.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NS_PER_MIN } from "../sim/time";
import { libraryCaseArb } from "./library-cases";
import { compareCase, reproduceLine, runLibraryCase, type LibraryCase } from "./library-run";
import { PROP_SCALE, propRuns, propSeed, throwIfFailed } from "./prop";

/** Cases in the default budget (about 10 ms each). */
const CASES = 200;
const TIME_LIMIT_NS = 10 * NS_PER_MIN;
const MAX_KERNEL_EVENTS = 200_000;
/** Wall-clock budget of the whole property, shrinking included (DESIGN: ≤ 3 min each). */
const WALL_BUDGET_MS = 150_000 * PROP_SCALE;

/** What is wrong with the case's run, or undefined when it matches the oracle. */
function problemOf(c: LibraryCase): string | undefined {
  let result;
  try {
    // One event over the budget, so exceeding it is visible (rather than a silent stop).
    result = runLibraryCase(c, { timeLimitNs: TIME_LIMIT_NS, maxEvents: MAX_KERNEL_EVENTS + 1 });
  } catch (e) {
    return `the run threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
  }
  if (result.kernelEvents > MAX_KERNEL_EVENTS) return `the case is over the suite budget: ${result.kernelEvents} kernel events (> ${MAX_KERNEL_EVENTS})`;
  if (result.status !== "FINISHED") {
    return `job ended ${result.status} at ${result.endNs} ns: ${result.failureCause ?? "no cause"}`;
  }
  if (result.endNs > TIME_LIMIT_NS) return `the case is over the suite budget: ended at ${result.endNs} ns (> 10 min)`;
  let cmp;
  try {
    cmp = compareCase(c, result);
  } catch (e) {
    return `the oracle threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
  }
  return cmp.equal ? undefined : `committed output ≠ oracle: ${cmp.summary}`;
}

describe("engine vs oracle", () => {
  it(
    "a random library job, params, parallelism, cluster, config, seed and mode finishes with the oracle's output",
    () => {
      const envSeed = propSeed();
      const details = fc.check(
        fc.property(libraryCaseArb(), (c) => {
          const problem = problemOf(c);
          if (problem !== undefined) throw new Error(problem);
        }),
        {
          numRuns: propRuns(CASES),
          interruptAfterTimeLimit: WALL_BUDGET_MS,
          ...(envSeed !== undefined ? { seed: envSeed } : {}),
        },
      );
      throwIfFailed(details, reproduceLine);
      // An interrupted run passes only if it still did a fair share of its cases.
      expect(details.numRuns, `only ${details.numRuns} cases ran within ${WALL_BUDGET_MS} ms`).toBeGreaterThanOrEqual(Math.min(100, propRuns(CASES)));
    },
    WALL_BUDGET_MS + 30_000,
  );

  it("the reproducer names job, params, mode, config, cluster and seed on one line", () => {
    const c: LibraryCase = {
      job: "wordcount",
      params: { records: 5 },
      mode: "BATCH",
      config: { "taskmanager.numberOfTaskSlots": 2 },
      cluster: { taskManagers: 1, coresPerTaskManager: 2 },
      seed: 9,
    };
    const line = reproduceLine(c);
    expect(line).not.toContain("\n");
    expect(line).toMatch(/^reproduce: job=wordcount params=\{"records":5\} mode=BATCH config=\{"taskmanager.numberOfTaskSlots":2\} cluster=\{.*\} seed=9 /);
    expect(problemOf(c)).toBeUndefined();
  });

  it("the comparison is not vacuous: a lost or a duplicated committed record is caught", () => {
    const c: LibraryCase = {
      job: "batch-dag",
      params: { records: 200, parallelism: 3 },
      mode: "STREAMING",
      config: { "taskmanager.numberOfTaskSlots": 3 },
      cluster: { taskManagers: 1, coresPerTaskManager: 2 },
      seed: 5,
    };
    const result = runLibraryCase(c);
    expect(compareCase(c, result).equal).toBe(true);
    const records = [...result.outputs.get("maxima")!];
    expect(records.length).toBeGreaterThan(1);
    const lost = { ...result, outputs: new Map([["maxima", records.slice(1)]]) };
    const duplicated = { ...result, outputs: new Map([["maxima", [...records, records[0]]]]) };
    expect(compareCase(c, lost).equal).toBe(false);
    expect(compareCase(c, duplicated).equal).toBe(false);
  });
});

describe("engine bugs found by the property (fixed; kept as regressions)", () => {
  // REGRESSION (an engine bug found by this suite, now fixed): the JobManager requests every initially schedulable region in
  // one bulk (requestRegions(scheduling.start())), so a BATCH job with blocking exchanges
  // needs as many slots as its parallelism; Flink schedules each pipelined region's bulk on
  // its own and "thanks to slot sharing a batch job can run on one slot"
  // (shared/reference/flink-mechanics.md §1). Here it ends FAILED with
  // NoResourceAvailableException after slot.request.timeout.
  it("BATCH with blocking exchanges runs on fewer slots than its parallelism (wordcount p=4 on 1 slot)", () => {
    const c: LibraryCase = {
      job: "wordcount",
      params: { parallelism: 4, records: 100 },
      mode: "BATCH",
      config: { "taskmanager.numberOfTaskSlots": 1, "slot.request.timeout": "10s" },
      cluster: { taskManagers: 1, coresPerTaskManager: 2 },
      seed: 3,
    };
    const problem = problemOf(c);
    expect(problem, problem === undefined ? "" : `${problem}\n${reproduceLine(c)}`).toBeUndefined();
  });

  // The same bug with parallelism 1: once the unchained window finishes, its two sink
  // writers (windows, late) become schedulable together and are requested as one bulk of 2
  // slots, so the job cannot run on one slot.
  it("BATCH p=1 with two unchained sinks runs on one slot (tumbling-window)", () => {
    const c: LibraryCase = {
      job: "tumbling-window",
      params: { records: 10, parallelism: 1 },
      mode: "BATCH",
      config: { "taskmanager.numberOfTaskSlots": 1, "pipeline.operator-chaining.enabled": false, "slot.request.timeout": "10s" },
      cluster: { taskManagers: 1, coresPerTaskManager: 1 },
      seed: 0,
    };
    const problem = problemOf(c);
    expect(problem, problem === undefined ? "" : `${problem}\n${reproduceLine(c)}`).toBeUndefined();
  });

  // REGRESSION (an engine bug found by this suite, now fixed): pipeline.auto-watermark-interval "0ms" should turn periodic
  // watermarks off (Flink; config.ts says so too), but Task.scheduleWatermarkTimer re-arms
  // a 0 ns timer forever, so the run livelocks at one virtual instant (200k kernel events
  // at t ≈ 0.2 ms for a 1-record job).
  it("pipeline.auto-watermark-interval 0ms turns periodic watermarks off (tumbling-window STREAMING finishes)", () => {
    const c: LibraryCase = {
      job: "tumbling-window",
      params: { records: 1, keys: 1, parallelism: 1, splits: 1 },
      mode: "STREAMING",
      config: { "pipeline.auto-watermark-interval": "0ms", "taskmanager.numberOfTaskSlots": 1 },
      cluster: { taskManagers: 1, coresPerTaskManager: 1 },
      seed: 0,
    };
    const problem = problemOf(c);
    expect(problem, problem === undefined ? "" : `${problem}\n${reproduceLine(c)}`).toBeUndefined();
  });
});
