/**
 * Event-time windows over keyed records with bounded disorder: count and sum of `amount`
 * per (key, window), late records to a side output sunk as "late".
 * - `tumbling-window`: the watermark bound equals the source's disorder bound, so nothing
 *   is late and the output cannot depend on timing (multiset comparison).
 * - `late-data-window`: the watermark bound is below the disorder, so some records are late
 *   depending on interleaving; checked by conservation: for every (key, window), the
 *   window's count plus the late records of that window equals the oracle's count. With
 *   `allowedLatenessMs` > 0 windows re-fire on late records within the lateness; only each
 *   window's largest (= last) fire counts (compare's supersedeKeyOf).
 * - `sliding-window`: SlidingEventTimeWindows(windowMs, slideMs) with the watermark bound
 *   equal to the disorder (nothing late; multiset) and an optional allowedLateness (no
 *   re-fires without late data, but the cleanup timers run). Sliding windows with late data
 *   are left out of the library: Flink drops an element silently from its already-late
 *   windows while its later ones take it, so per-window conservation does not hold.
 */
import { z } from "zod";
import type { StreamExecutionEnvironment } from "../../engine/api/environment";
import type { AggregateFunction, TimeWindow } from "../../engine/api/functions";
import { SlidingEventTimeWindows, windowStartWithOffset, TumblingEventTimeWindows } from "../../engine/api/windows";
import { applyParallelism, defineJob, keyedEventSource, type KeyedEventSourceParams, optionalRate, parallelism, positiveInt, records, sinkInto, sinkKind, skew } from "./job";

export interface Reading {
  key: string;
  seq: number;
  ts: number;
  amount: number;
}

export interface WindowCount {
  key: string;
  windowStartMs: number;
  windowEndMs: number;
  count: number;
  sum: number;
}

const common = {
  records: records(1000),
  keys: positiveInt(8),
  skew: skew(0),
  splits: positiveInt(4, 10_000),
  parallelism: parallelism(2),
  ratePerSecond: optionalRate(),
  windowMs: positiveInt(1000, 86_400_000),
  intervalMs: z.number().int().min(0).max(3_600_000).default(10),
  sink: sinkKind(),
};

interface WindowJobParams {
  records: number;
  keys: number;
  skew: number;
  splits: number;
  parallelism: number | "auto";
  ratePerSecond?: number | undefined;
  windowMs: number;
  intervalMs: number;
  maxDisorderMs: number;
  watermarkOutOfOrdernessMs: number;
  /** Sliding windows when set (else tumbling). */
  slideMs?: number | undefined;
  allowedLatenessMs?: number | undefined;
  sink: "transactional" | "collect" | "discard";
}

/** The window jobs' input: event-time readings of a keyed generator, keyed by reading key. */
export function keyedReadings(env: StreamExecutionEnvironment, p: KeyedEventSourceParams & { parallelism: number | "auto"; watermarkOutOfOrdernessMs: number }) {
  applyParallelism(env, p.parallelism);
  return keyedEventSource(env, "readings", p, (seq, key, rng, ts): Reading => ({ key: `k${key}`, seq, ts, amount: rng.int(1, 101) }), {
    outOfOrdernessMs: p.watermarkOutOfOrdernessMs,
  }).keyBy((r) => r.key);
}

/** Count and sum of the readings' amounts (with merge, for session windows). */
export const countAndSum: AggregateFunction<Reading, { count: number; sum: number }, { count: number; sum: number }> = {
  createAccumulator: () => ({ count: 0, sum: 0 }),
  add: (r, acc) => ({ count: acc.count + 1, sum: acc.sum + r.amount }),
  getResult: (acc) => acc,
  merge: (a, b) => ({ count: a.count + b.count, sum: a.sum + b.sum }),
};

/** A window's count and sum with its key and bounds. */
export const windowCountOf = (key: string, w: TimeWindow, acc: { count: number; sum: number }): WindowCount => ({
  key,
  windowStartMs: w.startMs,
  windowEndMs: w.endMs,
  count: acc.count,
  sum: acc.sum,
});

function buildWindowJob(env: StreamExecutionEnvironment, p: WindowJobParams): void {
  const windows = keyedReadings(env, p)
    .window(p.slideMs === undefined ? TumblingEventTimeWindows.of(p.windowMs) : SlidingEventTimeWindows.of(p.windowMs, p.slideMs))
    .allowedLateness(p.allowedLatenessMs ?? 0)
    .aggregate(countAndSum, windowCountOf);
  sinkInto(windows, p.sink, "windows");
  sinkInto(windows.getSideOutput("late"), p.sink, "late");
}

/** Conservation accounts: a window result counts `count` towards (key, window); a late reading 1 towards its window. */
export function windowAccounts(windowMs: number) {
  return {
    keyOf: (r: unknown) => {
      const x = r as Partial<WindowCount & Reading>;
      const start = x.windowStartMs ?? windowStartWithOffset(x.ts!, 0, windowMs);
      return `${x.key}|${start}`;
    },
    countOf: (r: unknown, sink: string) => (sink === "late" ? 1 : (r as WindowCount).count),
  };
}

export const tumblingWindow = defineJob({
  name: "tumbling-window",
  description: "event-time tumbling window count+sum per key; disorder within the watermark bound (no late data)",
  deterministic: true,
  compare: "multiset",
  params: z.object({ ...common, maxDisorderMs: z.number().int().min(0).max(3_600_000).default(50) }),
  compareOptions: (p) => windowAccounts(p.windowMs),
  build: (env, p) => buildWindowJob(env, { ...p, watermarkOutOfOrdernessMs: p.maxDisorderMs }),
});

export const lateDataWindow = defineJob({
  name: "late-data-window",
  description: "event-time tumbling windows with disorder beyond the watermark bound: late data to a side output (conservation)",
  deterministic: false,
  compare: "conservation",
  params: z.object({
    ...common,
    maxDisorderMs: z.number().int().min(0).max(3_600_000).default(200),
    watermarkOutOfOrdernessMs: z.number().int().min(0).max(3_600_000).default(0),
    allowedLatenessMs: z.number().int().min(0).max(3_600_000).default(0),
  }),
  compareOptions: (p) => ({
    ...windowAccounts(p.windowMs),
    // A re-fired window repeats its (key, window) with a larger count: count the last only.
    supersedeKeyOf: (r: unknown, sink: string) => (sink === "late" ? undefined : [(r as WindowCount).key, (r as WindowCount).windowStartMs]),
  }),
  build: (env, p) => buildWindowJob(env, p),
});

export const slidingWindow = defineJob({
  name: "sliding-window",
  description: "event-time sliding window count+sum per key, optional allowedLateness; disorder within the watermark bound (no late data)",
  deterministic: true,
  compare: "multiset",
  params: z.object({
    ...common,
    windowMs: positiveInt(1000, 86_400_000),
    slideMs: positiveInt(250, 86_400_000),
    allowedLatenessMs: z.number().int().min(0).max(3_600_000).default(0),
    maxDisorderMs: z.number().int().min(0).max(3_600_000).default(50),
  }),
  build: (env, p) => buildWindowJob(env, { ...p, watermarkOutOfOrdernessMs: p.maxDisorderMs }),
});
