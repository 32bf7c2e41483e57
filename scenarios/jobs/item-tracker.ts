/**
 * item-tracker: list and map state in a KeyedProcessFunction. Per user, events wait in a
 * ListState buffer for an event-time timer at the end of their bucket; when it fires, the
 * due events (ts ≤ timer, applied in (ts, seq) order) update two MapStates — quantity per
 * item and when each item was last seen — items not seen for `retentionMs` are removed
 * from both maps, and the user's bucket summary is emitted (events, distinct items, the top
 * item). The buffer keeps the events of later buckets (ListState.update).
 *
 * Deterministic because nothing is late (the watermark bound covers the disorder): when a
 * bucket's timer fires, every event at or before it has arrived, and the maps only change
 * in timers, which fire in timestamp order. BATCH (a user's events, then its timers in
 * order) computes the same.
 */
import { z } from "zod";
import type { Collector, KeyedProcessContext, KeyedProcessFunction, OnTimerContext } from "../../engine/api/functions";
import { applyParallelism, defineJob, keyedEventParams, keyedEventSource, positiveInt, sinkInto, sinkKind } from "./job";

export interface ItemEvent {
  key: string;
  seq: number;
  ts: number;
  item: string;
  qty: number;
}

export interface BucketSummary {
  key: string;
  bucketEndMs: number;
  events: number;
  distinct: number;
  top: string;
  topQty: number;
}

const BUFFER = "buffer";
const QUANTITIES = "quantities";
const LAST_SEEN = "lastSeen";

export function itemTracker(bucketMs: number, retentionMs: number): KeyedProcessFunction<string, ItemEvent, BucketSummary> {
  return {
    processElement(e: ItemEvent, ctx: KeyedProcessContext<string>) {
      ctx.listState<ItemEvent>(BUFFER).add(e);
      ctx.timerService.registerEventTimeTimer(e.ts - (((e.ts % bucketMs) + bucketMs) % bucketMs) + bucketMs - 1);
    },
    onTimer(timestampMs: number, ctx: OnTimerContext<string>, out: Collector<BucketSummary>) {
      const buffer = ctx.listState<ItemEvent>(BUFFER);
      const due: ItemEvent[] = [];
      const rest: ItemEvent[] = [];
      for (const e of buffer.get()) (e.ts <= timestampMs ? due : rest).push(e);
      if (due.length === 0) return;
      buffer.update(rest);
      due.sort((a, b) => a.ts - b.ts || a.seq - b.seq);
      const quantities = ctx.mapState<string, number>(QUANTITIES);
      const lastSeen = ctx.mapState<string, number>(LAST_SEEN);
      for (const e of due) {
        quantities.put(e.item, (quantities.get(e.item) ?? 0) + e.qty);
        lastSeen.put(e.item, Math.max(lastSeen.get(e.item) ?? -Infinity, e.ts));
      }
      const stale: string[] = [];
      for (const [item, seen] of lastSeen.entries()) if (seen <= timestampMs - retentionMs) stale.push(item);
      for (const item of stale) {
        lastSeen.remove(item);
        quantities.remove(item);
      }
      let top = "";
      let topQty = 0;
      let distinct = 0;
      for (const [item, qty] of quantities.entries()) {
        distinct++;
        if (qty > topQty || (qty === topQty && item < top)) [top, topQty] = [item, qty];
      }
      out.collect({ key: ctx.key, bucketEndMs: timestampMs, events: due.length, distinct, top, topQty });
    },
  };
}

export const itemTrackerJob = defineJob({
  name: "item-tracker",
  description: "KeyedProcessFunction with ListState (a buffer per user) and MapState (quantity and last-seen per item, with removal)",
  deterministic: true,
  compare: "multiset",
  params: z.object({
    ...keyedEventParams({ records: 1000, keys: 8, intervalMs: 5, maxDisorderMs: 40 }),
    items: positiveInt(12, 10_000),
    bucketMs: positiveInt(100, 86_400_000),
    retentionMs: positiveInt(300, 86_400_000),
    sink: sinkKind(),
  }),
  build(env, p) {
    applyParallelism(env, p.parallelism);
    const events = keyedEventSource(env, "items", p, (seq, key, rng, ts): ItemEvent => ({ key: `u${key}`, seq, ts, item: `i${rng.int(0, p.items)}`, qty: rng.int(1, 6) }));
    const summaries = events.keyBy((e) => e.key).process(itemTracker(p.bucketMs, p.retentionMs), "ItemTracker");
    sinkInto(summaries, p.sink, "summaries");
  },
});
