/**
 * co-process-join: union, connect and a KeyedCoProcessFunction — an event-time interval
 * match written by hand, as Flink users do before reaching for intervalJoin. Two "left"
 * sources are unioned; each "right" element of a key is answered with how many left
 * elements of that key have ts in (ts − windowMs, ts]. A non-keyed CoFlatMap over one left
 * source and the right source tags records into a second sink.
 *
 * Why it is deterministic with disorder within the watermark bound: the right element
 * waits for an event-time timer at its ts; the timer fires once the combined watermark (the
 * minimum over both inputs) passes ts, and since no element is late, every left element with
 * ts' ≤ ts has arrived by then. Left elements at or before ts − windowMs are pruned only when
 * a timer fires: later right elements have ts' ≥ the firing timer's ts (none is late), so
 * they cannot match them. BATCH (each key's left, then right elements, timers at the end of
 * the key) gives the same answers.
 */
import { z } from "zod";
import type { Collector, KeyedProcessContext } from "../../engine/api/functions";
import type { KeyedCoProcessFunction } from "../../engine/api/co-functions";
import { applyParallelism, defineJob, insertSortedBy, keyedEventParams, keyedEventSource, positiveInt, records, sinkInto, sinkKind, spreadIntervalMs } from "./job";

export interface SideEvent {
  key: string;
  seq: number;
  ts: number;
  amount: number;
}

export interface Match {
  key: string;
  seq: number;
  ts: number;
  matches: number;
}

const LEFT = "left";
const WAITING = "waiting";

export function intervalMatcher(windowMs: number): KeyedCoProcessFunction<string, SideEvent, SideEvent, Match> {
  return {
    processElement1(left, ctx) {
      const list = ctx.state.get<number[]>(LEFT) ?? [];
      insertSortedBy(list, left.ts, (ts) => ts);
      ctx.state.set(LEFT, list);
    },
    processElement2(right, ctx) {
      const waiting = ctx.state.get<SideEvent[]>(WAITING) ?? [];
      insertSortedBy(waiting, right, (e) => e.ts);
      ctx.state.set(WAITING, waiting);
      ctx.timerService.registerEventTimeTimer(right.ts);
    },
    onTimer(timestampMs, ctx: KeyedProcessContext<string>, out: Collector<Match>) {
      const waiting = ctx.state.get<SideEvent[]>(WAITING) ?? [];
      const left = ctx.state.get<number[]>(LEFT) ?? [];
      let n = 0;
      for (; n < waiting.length && waiting[n]!.ts <= timestampMs; n++) {
        const r = waiting[n]!;
        let matches = 0;
        for (const ts of left) if (ts > r.ts - windowMs && ts <= r.ts) matches++;
        out.collect({ key: r.key, seq: r.seq, ts: r.ts, matches });
      }
      if (n > 0) waiting.splice(0, n);
      if (waiting.length === 0) ctx.state.clear(WAITING);
      else ctx.state.set(WAITING, waiting);
      // No later right element can match these (see the header).
      let drop = 0;
      while (drop < left.length && left[drop]! <= timestampMs - windowMs) drop++;
      if (drop === 0) return;
      left.splice(0, drop);
      if (left.length === 0) ctx.state.clear(LEFT);
      else ctx.state.set(LEFT, left);
    },
  };
}

export const coProcessJoin = defineJob({
  name: "co-process-join",
  description: "union of two sources, connect + KeyedCoProcessFunction (event-time interval counts per right element), and a CoFlatMap",
  deterministic: true,
  compare: "multiset",
  params: z.object({
    /** Left records (over both left sources); the right source has rightRecords. */
    ...keyedEventParams({ records: 1000, keys: 8, intervalMs: 10, maxDisorderMs: 50 }),
    rightRecords: records(300),
    windowMs: positiveInt(200, 86_400_000),
    sink: sinkKind(),
  }),
  build(env, p) {
    applyParallelism(env, p.parallelism);
    const side = (name: string, records: number, intervalMs: number) =>
      keyedEventSource(env, name, p, (seq, key, rng, ts): SideEvent => ({ key: `k${key}`, seq, ts, amount: rng.int(1, 101) }), { records, intervalMs });
    const leftA = side("left-a", Math.ceil(p.records / 2), p.intervalMs);
    const leftB = side("left-b", Math.floor(p.records / 2), p.intervalMs);
    // Right elements spread over the same event-time span as the left ones (each left source has half the records).
    const right = side("right", p.rightRecords, spreadIntervalMs(p.intervalMs, p.records / 2, p.rightRecords));
    const matches = leftA
      .union(leftB)
      .keyBy((e) => e.key)
      .connect(right.keyBy((e) => e.key))
      .process(intervalMatcher(p.windowMs));
    sinkInto(matches, p.sink, "matches");
    const tagged = leftA.connect(right).flatMap<{ side: "L" | "R"; key: string; seq: number }>({
      flatMap1: (e, out) => out.collect({ side: "L", key: e.key, seq: e.seq }),
      // Only the large right amounts: a CoFlatMap may emit zero records.
      flatMap2: (e, out) => {
        if (e.amount > 50) out.collect({ side: "R", key: e.key, seq: e.seq });
      },
    });
    sinkInto(tagged, p.sink, "tagged");
  },
});
