/**
 * fast-check arbitraries of library job cases (test/library-run.ts LibraryCase): a job,
 * small params valid for it, a runtime mode, a config and a cluster with enough slots.
 * Sizes stay inside the suite budget (DESIGN, "Test-suite budget"): ≤ 5k records into any
 * operator, at most a few virtual seconds of input.
 */
import fc from "fast-check";
import type { RuntimeMode } from "../engine/api/types";
import { buildJob } from "../scenarios/jobs/index";
import type { LibraryCase } from "./library-run";
import { BATCH_SHUFFLE_MODES } from "../engine/graph/job-graph";

/** The jobs the property covers: every deterministic one, and late-data-window, session-window and idle-source-windows (conservation). */
export const PROPERTY_JOBS = [
  "wordcount",
  "tumbling-window",
  "late-data-window",
  "sliding-window",
  "session-window",
  "keyed-timers",
  "rebalance-rescale",
  "batch-dag",
  "co-process-join",
  "broadcast-rules",
  "window-join",
  "item-tracker",
  "idle-source-windows",
] as const;
export type PropertyJob = (typeof PROPERTY_JOBS)[number];

export const MAX_PARALLELISM = 8;

const parallelismArb = fc.integer({ min: 1, max: MAX_PARALLELISM });
const skewArb = fc.oneof(fc.constant(0), fc.constantFrom(0.5, 1, 1.3, 2));
const recordsArb = (max: number) => fc.oneof({ weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 6, arbitrary: fc.integer({ min: 1, max }) });
/** Per split; unset = as fast as possible. At ≥ 400/s, 2000 records take ≤ 5 virtual s. */
const rateArb = fc.option(fc.constantFrom(400, 2_000, 20_000), { nil: undefined, freq: 2 });
const sinkArb = fc.constantFrom("transactional", "collect");

/** Drops undefined fields, so params print as the JSON a reproducer passes. */
function defined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

const common = {
  splits: fc.integer({ min: 1, max: 8 }),
  ratePerSecond: rateArb,
  sink: sinkArb,
};

export const paramsArb: Record<PropertyJob, fc.Arbitrary<Record<string, unknown>>> = {
  wordcount: fc
    .record({
      // ≤ 800 sentences × ≤ 6 words: ≤ 4800 records into the keyed sum.
      records: recordsArb(800),
      wordsPerSentence: fc.integer({ min: 1, max: 6 }),
      vocabulary: fc.integer({ min: 1, max: 60 }),
      skew: skewArb,
      parallelism: parallelismArb,
      ...common,
    })
    .map(defined),
  "tumbling-window": fc
    .record({
      records: recordsArb(2000),
      keys: fc.integer({ min: 1, max: 20 }),
      skew: skewArb,
      parallelism: parallelismArb,
      windowMs: fc.constantFrom(20, 100, 250, 1000, 5000),
      intervalMs: fc.integer({ min: 0, max: 20 }),
      maxDisorderMs: fc.integer({ min: 0, max: 120 }),
      ...common,
    })
    .map(defined),
  "late-data-window": fc
    .record({
      records: recordsArb(2000),
      keys: fc.integer({ min: 1, max: 20 }),
      skew: skewArb,
      parallelism: parallelismArb,
      windowMs: fc.constantFrom(20, 50, 100, 250, 1000),
      // Lateness needs disorder well above the event-time step between records of a split.
      intervalMs: fc.integer({ min: 0, max: 5 }),
      disorder: fc.integer({ min: 0, max: 300 }),
      boundShare: fc.constantFrom(0, 0.25, 0.5),
      // Within the disorder range, so some late records re-fire their window and some are
      // beyond the lateness (side output); 0 half the time (no re-fires).
      allowedLatenessMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 200 })),
      ...common,
      // Mostly paced: as fast as possible, no periodic watermark lands before the end of
      // input and nothing is late, which would make conservation trivial.
      ratePerSecond: fc.option(fc.constantFrom(400, 2_000), { nil: undefined, freq: 8 }),
    })
    .map(({ disorder, boundShare, ...rest }) =>
      defined({ ...rest, maxDisorderMs: disorder, watermarkOutOfOrdernessMs: Math.floor(disorder * boundShare) }),
    ),
  "sliding-window": fc
    .record({
      // ≤ 1000 records × ≤ 5 windows each into the window operator's state.
      records: recordsArb(1000),
      keys: fc.integer({ min: 1, max: 20 }),
      skew: skewArb,
      parallelism: parallelismArb,
      // (size, slide): slide dividing size, not dividing it, equal (tumbling) and above it (gaps).
      shape: fc.constantFrom([100, 50], [100, 30], [250, 250], [1000, 200], [40, 60]),
      allowedLatenessMs: fc.constantFrom(0, 0, 30, 500),
      intervalMs: fc.integer({ min: 0, max: 20 }),
      maxDisorderMs: fc.integer({ min: 0, max: 120 }),
      ...common,
    })
    .map(({ shape, ...rest }) => defined({ ...rest, windowMs: shape[0], slideMs: shape[1] })),
  "session-window": fc
    .record({
      records: recordsArb(2000),
      keys: fc.integer({ min: 1, max: 20 }),
      skew: skewArb,
      parallelism: parallelismArb,
      gapMs: fc.constantFrom(1, 20, 100, 1000),
      intervalMs: fc.integer({ min: 0, max: 10 }),
      disorder: fc.integer({ min: 0, max: 300 }),
      // 1: nothing late (sessions may still split at a fired session's end); below: late data.
      boundShare: fc.constantFrom(0, 0.5, 1),
      windowFunction: fc.constantFrom("aggregate", "process"),
      ...common,
      ratePerSecond: fc.option(fc.constantFrom(400, 2_000), { nil: undefined, freq: 8 }),
    })
    .map(({ disorder, boundShare, ...rest }) =>
      defined({ ...rest, maxDisorderMs: disorder, watermarkOutOfOrdernessMs: Math.floor(disorder * boundShare) }),
    ),
  "keyed-timers": fc
    .record({
      records: recordsArb(2000),
      keys: fc.integer({ min: 1, max: 20 }),
      skew: skewArb,
      parallelism: parallelismArb,
      intervalMs: fc.integer({ min: 0, max: 200 }),
      maxDisorderMs: fc.integer({ min: 0, max: 150 }),
      roundMs: fc.constantFrom(1, 50, 500, 10_000),
      ...common,
    })
    .map(defined),
  "rebalance-rescale": fc
    .record({
      records: recordsArb(2000),
      sourceParallelism: parallelismArb,
      mapParallelism: parallelismArb,
      map2Parallelism: parallelismArb,
      sinkParallelism: parallelismArb,
      ...common,
    })
    .map(defined),
  "batch-dag": fc
    .record({
      records: recordsArb(2000),
      keys: fc.integer({ min: 1, max: 64 }),
      skew: skewArb,
      buckets: fc.integer({ min: 1, max: 10 }),
      parallelism: parallelismArb,
      ...common,
    })
    .map(defined),
  "co-process-join": fc
    .record({
      // ≤ 1500 left and ≤ 500 right records into the co-process operator.
      records: recordsArb(1500),
      rightRecords: recordsArb(500),
      keys: fc.integer({ min: 1, max: 20 }),
      skew: skewArb,
      parallelism: parallelismArb,
      intervalMs: fc.integer({ min: 0, max: 20 }),
      maxDisorderMs: fc.integer({ min: 0, max: 120 }),
      windowMs: fc.constantFrom(1, 50, 200, 5000),
      ...common,
    })
    .map(defined),
  "broadcast-rules": fc
    .record({
      records: recordsArb(2000),
      keys: fc.integer({ min: 1, max: 20 }),
      skew: skewArb,
      parallelism: parallelismArb,
      intervalMs: fc.integer({ min: 0, max: 20 }),
      maxDisorderMs: fc.integer({ min: 0, max: 120 }),
      categories: fc.integer({ min: 1, max: 6 }),
      rules: fc.integer({ min: 0, max: 40 }),
      ruleSplits: fc.integer({ min: 1, max: 3 }),
      ...common,
    })
    .map(defined),
  "window-join": fc
    .record({
      // The join emits orders × payments per key and window: ≤ 600 × 300 over ≥ 4 keys
      // stays within a few tens of thousands of pairs even with every record in one window.
      records: recordsArb(600),
      paymentRecords: recordsArb(300),
      keys: fc.integer({ min: 4, max: 30 }),
      skew: skewArb,
      parallelism: parallelismArb,
      intervalMs: fc.integer({ min: 0, max: 20 }),
      maxDisorderMs: fc.integer({ min: 0, max: 120 }),
      windowMs: fc.constantFrom(10, 100, 250, 1000),
      slideMs: fc.constantFrom(5, 50, 100, 1000),
      ...common,
    })
    // At most 10 sliding windows per order (each keeps its elements).
    .map((p) => defined({ ...p, slideMs: Math.max(p.slideMs, Math.ceil(p.windowMs / 10)) })),
  "item-tracker": fc
    .record({
      records: recordsArb(2000),
      keys: fc.integer({ min: 1, max: 20 }),
      items: fc.integer({ min: 1, max: 30 }),
      skew: skewArb,
      parallelism: parallelismArb,
      intervalMs: fc.integer({ min: 0, max: 20 }),
      maxDisorderMs: fc.integer({ min: 0, max: 120 }),
      bucketMs: fc.constantFrom(1, 20, 100, 1000),
      retentionMs: fc.constantFrom(1, 50, 300, 5000),
      ...common,
    })
    .map(defined),
  "idle-source-windows": fc
    .record({
      // ≤ 1500 records, paced at ≥ 400/s per split plus a pause ≤ 1.5 s: a few virtual seconds.
      records: recordsArb(1500),
      keys: fc.integer({ min: 1, max: 20 }),
      skew: skewArb,
      parallelism: parallelismArb,
      windowMs: fc.constantFrom(50, 250, 1000),
      intervalMs: fc.integer({ min: 0, max: 10 }),
      maxDisorderMs: fc.integer({ min: 0, max: 50 }),
      quietSplits: fc.integer({ min: 0, max: 3 }),
      quietAfterRecords: fc.integer({ min: 0, max: 50 }),
      // Mostly a pause well above the idle timeout, so quiet subtasks do turn idle and late data shows.
      pauseMs: fc.constantFrom(0, 300, 1500, 1500),
      idlenessMs: fc.option(fc.constantFrom(1, 50, 200, 200, 1000), { nil: undefined, freq: 4 }),
      ...common,
      ratePerSecond: fc.constantFrom(400, 2_000),
    })
    .map(defined),
};

/**
 * The network memory a BATCH TaskManager with `slots` slots needs for the library jobs
 * (taskmanager.memory.network.min), or undefined when the default 4096 buffers do: a task
 * writes up to three sort-merge partitions of 512 buffers (see libraryCaseArb).
 */
export function batchNetworkMemory(mode: RuntimeMode, slots: number): string | undefined {
  return mode === "BATCH" && slots >= 3 ? `${Math.max(256, 48 * slots)}mb` : undefined;
}

/** Largest operator parallelism the params give (every library job sets its own). */
export function maxParallelismOf(job: string, params: Record<string, unknown>): number {
  if (job === "rebalance-rescale") {
    return Math.max(...(["sourceParallelism", "mapParallelism", "map2Parallelism", "sinkParallelism"] as const).map((k) => (params[k] as number | undefined) ?? 1));
  }
  return (params.parallelism as number | undefined) ?? 2;
}

/** Engine options that must not change a correct run's committed output. */
const tuningArb = fc.record(
  {
    "parallelism.default": parallelismArb,
    "pipeline.operator-chaining.enabled": fc.boolean(),
    "execution.buffer-timeout.interval": fc.constantFrom("0ms", "1ms", "10ms", "100ms"),
    "execution.buffer-timeout.enabled": fc.boolean(),
    // "0ms" turns periodic watermarks off: windows then fire on the final watermark.
    "pipeline.auto-watermark-interval": fc.constantFrom("0ms", "10ms", "50ms", "200ms", "1s"),
    "metrics.latency.interval": fc.constantFrom("0ms", "100ms"),
    "state.backend.type": fc.constantFrom("hashmap", "rocksdb"),
    "taskmanager.memory.segment-size": fc.constantFrom("4kb", "32kb"),
    "taskmanager.network.memory.buffers-per-channel": fc.integer({ min: 0, max: 2 }),
    "taskmanager.network.memory.floating-buffers-per-gate": fc.integer({ min: 0, max: 8 }),
    // Not 1: config.ts accepts it but the runtime throws (see engine-bad-input.test.ts).
    "taskmanager.network.memory.max-buffers-per-channel": fc.integer({ min: 2, max: 10 }),
    "taskmanager.network.memory.max-overdraft-buffers-per-gate": fc.integer({ min: 0, max: 5 }),
    "pipeline.max-parallelism": fc.constantFrom(8, 16, 128),
  },
  { requiredKeys: [] },
);

/** Jobs whose parallelism param may be "auto" (the others set parallelism per operator). */
const AUTO_PARALLELISM_JOBS: ReadonlySet<string> = new Set([
  "wordcount",
  "tumbling-window",
  "late-data-window",
  "sliding-window",
  "session-window",
  "keyed-timers",
  "batch-dag",
  "co-process-join",
  "broadcast-rules",
  "window-join",
  "item-tracker",
  "idle-source-windows",
]);

/**
 * Adaptive batch scheduler bounds: a small volume per task, so the few KB of a property
 * case still spread over several subtasks, and a max parallelism the cluster can hold.
 */
const adaptiveArb = fc
  .record({
    "execution.batch.adaptive.auto-parallelism.avg-data-volume-per-task": fc.constantFrom("1kb", "4kb", "16kb", "64kb", "16mb"),
    "execution.batch.adaptive.auto-parallelism.max-parallelism": fc.integer({ min: 1, max: MAX_PARALLELISM }),
    "execution.batch.adaptive.auto-parallelism.min-parallelism": fc.integer({ min: 1, max: 3 }),
    "execution.batch.adaptive.auto-parallelism.default-source-parallelism": fc.integer({ min: 1, max: 4 }),
  })
  .map((a) => ({
    ...a,
    "execution.batch.adaptive.auto-parallelism.min-parallelism": Math.min(a["execution.batch.adaptive.auto-parallelism.min-parallelism"], a["execution.batch.adaptive.auto-parallelism.max-parallelism"]),
  }));

export interface CaseArbOptions {
  jobs?: readonly PropertyJob[];
}

/** A whole case: job, params, mode, config, cluster with enough slots, seed. */
export function libraryCaseArb(options: CaseArbOptions = {}): fc.Arbitrary<LibraryCase> {
  const jobs = options.jobs ?? PROPERTY_JOBS;
  return fc
    .constantFrom(...jobs)
    .chain((job) =>
      fc.record({
        job: fc.constant(job),
        params: paramsArb[job],
        mode: fc.constantFrom<RuntimeMode>("STREAMING", "BATCH"),
        shuffle: fc.option(fc.constantFrom(...BATCH_SHUFFLE_MODES), { nil: undefined, freq: 2 }),
        sortedInputs: fc.option(fc.boolean(), { nil: undefined, freq: 3 }),
        batchStateBackend: fc.option(fc.boolean(), { nil: undefined, freq: 3 }),
        tuning: tuningArb,
        slotsPerTaskManager: fc.integer({ min: 1, max: 4 }),
        extraTaskManagers: fc.integer({ min: 0, max: 1 }),
        coresPerTaskManager: fc.integer({ min: 1, max: 4 }),
        seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        adaptive: fc.option(adaptiveArb, { nil: undefined, freq: 3 }),
      }),
    )
    .map((x): LibraryCase => {
      const config: Record<string, unknown> = { ...x.tuning, "taskmanager.numberOfTaskSlots": x.slotsPerTaskManager };
      // The adaptive batch scheduler decides parallelism only where neither the job nor
      // parallelism.default set it.
      const adaptive = x.mode === "BATCH" && x.adaptive !== undefined && AUTO_PARALLELISM_JOBS.has(x.job);
      const params = adaptive ? { ...x.params, parallelism: "auto" } : x.params;
      if (adaptive) {
        delete config["parallelism.default"];
        Object.assign(config, x.adaptive);
      }
      const maxP = adaptive ? x.adaptive!["execution.batch.adaptive.auto-parallelism.max-parallelism"] : maxParallelismOf(x.job, x.params);
      // No credit at all (0 exclusive, 0 floating) can never receive; the runtime rejects it.
      if (config["taskmanager.network.memory.buffers-per-channel"] === 0 && config["taskmanager.network.memory.floating-buffers-per-gate"] === 0) {
        config["taskmanager.network.memory.floating-buffers-per-gate"] = 1;
      }
      // pipeline.max-parallelism must be ≥ every parallelism (and ≥ parallelism.default).
      const maxParallelism = config["pipeline.max-parallelism"] as number | undefined;
      if (maxParallelism !== undefined && maxParallelism < Math.max(maxP, (config["parallelism.default"] as number | undefined) ?? 1)) {
        delete config["pipeline.max-parallelism"];
      }
      if (x.mode === "BATCH") {
        if (x.shuffle !== undefined) config["execution.batch-shuffle-mode"] = x.shuffle;
        // Flink rejects the batch state backend without sorted inputs ("Batch state backend
        // requires the sorted inputs to be enabled!"), so unsorted goes with the heap backend.
        if (x.sortedInputs !== undefined) config["execution.sorted-inputs.enabled"] = x.sortedInputs;
        if (x.sortedInputs === false || x.batchStateBackend === false) config["execution.batch-state-backend.enabled"] = false;
      }
      // A sort-merge (blocking) partition reserves 512 buffers while its producer runs (Flink's
      // taskmanager.network.sort-shuffle.min-buffers); a task writes up to three (a window's
      // main and late outputs; window-join's order source feeds a join, a coGroup and a
      // window), so 3 slots of them need more than the 4096 default buffers of a TaskManager
      // and Flink (and the engine) fail with "Insufficient number of network buffers". Give
      // such clusters the network memory a Flink user would: 3 × 512 × 32 KiB = 48 MiB a slot.
      const network = batchNetworkMemory(x.mode, x.slotsPerTaskManager);
      if (network !== undefined) config["taskmanager.memory.network.min"] = network;
      // Enough slots: STREAMING deploys one slot-sharing group whose size is the largest
      // parallelism. BATCH regions request slots one at a time, so 1 slot would do; we give
      // up to the largest parallelism, so runs also overlap. Hybrid exchanges make every
      // region schedulable at once, each logical region in its own slot-sharing group: up
      // to one slot per operator and subtask.
      // Pipelined batch exchanges join subtasks into regions of up to the largest parallelism.
      const allBlocking = x.shuffle === undefined || x.shuffle === "ALL_EXCHANGES_BLOCKING";
      const slotsNeeded =
        x.mode !== "BATCH"
          ? maxP
          : x.shuffle?.includes("HYBRID") === true
            ? maxP * buildJob(x.job, x.params).graph.nodes.length
            : allBlocking
              ? 1 + (x.seed % maxP)
              : maxP;
      const taskManagers = Math.ceil(slotsNeeded / x.slotsPerTaskManager) + x.extraTaskManagers;
      return {
        job: x.job,
        params,
        mode: x.mode,
        config,
        cluster: { taskManagers, coresPerTaskManager: x.coresPerTaskManager },
        seed: x.seed,
      };
    });
}
