/**
 * Event-time session windows (EventTimeSessionWindows.withGap) over keyed readings: count
 * and sum of `amount` per (key, session), late records to a side output sunk as "late".
 * Checked by conservation per key: the counts of a key's sessions plus its late readings
 * equal its readings. Not by multiset even without late data: a session that has fired and
 * been cleaned up (allowedLateness 0) is gone, so a reading exactly at its end opens a new
 * session in the run where the oracle (one final watermark) merges the two — as in Flink.
 */
import { z } from "zod";
import { EventTimeSessionWindows } from "../../engine/api/windows";
import { defineJob, optionalRate, parallelism, positiveInt, records, sinkInto, sinkKind, skew } from "./job";
import { countAndSum, keyedReadings, windowCountOf, type WindowCount } from "./tumbling-window";

export const sessionWindow = defineJob({
  name: "session-window",
  description: "event-time session windows (merging) count+sum per key; late data to a side output (conservation per key)",
  deterministic: false,
  compare: "conservation",
  params: z.object({
    records: records(1000),
    keys: positiveInt(8),
    skew: skew(0),
    splits: positiveInt(4, 10_000),
    parallelism: parallelism(2),
    ratePerSecond: optionalRate(),
    gapMs: positiveInt(100, 86_400_000),
    intervalMs: z.number().int().min(0).max(3_600_000).default(10),
    maxDisorderMs: z.number().int().min(0).max(3_600_000).default(50),
    watermarkOutOfOrdernessMs: z.number().int().min(0).max(3_600_000).default(50),
    /** "process": a ProcessWindowFunction over the session's elements (merged sessions concatenate them). */
    windowFunction: z.enum(["aggregate", "process"]).default("aggregate"),
    sink: sinkKind(),
  }),
  compareOptions: () => ({
    keyOf: (r: unknown) => (r as { key: string }).key,
    countOf: (r: unknown, sink: string) => (sink === "late" ? 1 : (r as WindowCount).count),
  }),
  build: (env, p) => {
    const windowed = keyedReadings(env, p).window(EventTimeSessionWindows.withGap(p.gapMs));
    const sessions =
      p.windowFunction === "process"
        ? windowed.process<WindowCount>({
            process: (key, ctx, elements, out) =>
              out.collect({ key, windowStartMs: ctx.window.startMs, windowEndMs: ctx.window.endMs, count: elements.length, sum: elements.reduce((n, r) => n + r.amount, 0) }),
          })
        : windowed.aggregate(countAndSum, windowCountOf);
    sinkInto(sessions, p.sink, "windows");
    sinkInto(sessions.getSideOutput("late"), p.sink, "late");
  },
});
