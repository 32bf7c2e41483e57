/**
 * `idle-source-windows`: event-time tumbling window counts per key over a rate-limited
 * generator whose first `quietSplits` splits go quiet — after `quietAfterRecords` records
 * they pause for `pauseMs` of processing time, then go on where they left off in event time.
 * The watermark strategy is bounded out-of-orderness (= the disorder) with an optional
 * `idlenessMs` (WatermarkStrategy.withIdleness).
 *
 * Without idleness a quiet split holds every window back until it resumes (nothing is late).
 * With idleness its subtask turns idle, the others' watermarks fire the windows while it is
 * quiet, and what it reads after the pause is mostly behind the watermark: late, to the
 * side output — Flink's idleness trade-off. Which records are late depends on timing, so
 * the job is checked by conservation: per (key, window), the window's count plus its late
 * records equals the oracle's count.
 *
 * Idleness is per source subtask here (the runtime tracks one max timestamp per subtask),
 * so a quiet split turns its subtask idle only when every split of that subtask is quiet:
 * by default splits = parallelism = 3, split i on subtask i.
 */
import { z } from "zod";
import { GeneratorSource } from "../../engine/api/sources";
import { TumblingEventTimeWindows } from "../../engine/api/windows";
import { applyParallelism, defineJob, keyedGeneratorOptions, parallelism, positiveInt, records, sinkInto, sinkKind, skew } from "./job";
import { countAndSum, windowAccounts, windowCountOf, type Reading } from "./tumbling-window";

const ms = (d: number) => z.number().int().min(0).max(3_600_000).default(d);

export const idleSourceWindows = defineJob({
  name: "idle-source-windows",
  description: "event-time tumbling windows over splits of which some pause; optional withIdleness; late data to a side output (conservation)",
  deterministic: false,
  compare: "conservation",
  params: z.object({
    records: records(600),
    keys: positiveInt(4),
    skew: skew(0),
    splits: positiveInt(3, 10_000),
    parallelism: parallelism(3),
    /** Records per second per split: a rate, so that processing time passes while the job reads. */
    ratePerSecond: z.number().positive().max(1e9).default(100),
    intervalMs: ms(10),
    maxDisorderMs: ms(20),
    windowMs: positiveInt(500, 86_400_000),
    /** How many splits (the first ones) pause. */
    quietSplits: z.number().int().min(0).max(10_000).default(1),
    quietAfterRecords: z.number().int().min(0).max(10_000_000).default(20),
    pauseMs: ms(3000),
    /** withIdleness(idlenessMs); unset: no idleness. */
    idlenessMs: z.number().int().min(1).max(3_600_000).optional(),
    sink: sinkKind(),
  }),
  compareOptions: (p) => windowAccounts(p.windowMs),
  build: (env, p) => {
    applyParallelism(env, p.parallelism);
    const source = GeneratorSource({
      ...keyedGeneratorOptions(p),
      ratePerSecond: p.ratePerSecond,
      // Starting at the disorder bound, no timestamp is negative: the first window is [0, windowMs).
      eventTime: { startMs: p.maxDisorderMs, intervalMs: p.intervalMs, maxDisorderMs: p.maxDisorderMs },
      pause: { splits: p.quietSplits, afterRecords: p.quietAfterRecords, forMs: p.pauseMs },
      value: (seq, key, rng, ts): Reading => ({ key: `k${key}`, seq, ts, amount: rng.int(1, 101) }),
    });
    const watermarks = { outOfOrdernessMs: p.maxDisorderMs, ...(p.idlenessMs !== undefined ? { idlenessMs: p.idlenessMs } : {}) };
    const windows = env
      .fromSource<Reading>(source, watermarks, "readings")
      .keyBy((r) => r.key)
      .window(TumblingEventTimeWindows.of(p.windowMs))
      .aggregate(countAndSum, windowCountOf);
    sinkInto(windows, p.sink, "windows");
    sinkInto(windows.getSideOutput("late"), p.sink, "late");
  },
});
