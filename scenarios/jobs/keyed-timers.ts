/**
 * keyed-timers: a KeyedProcessFunction with event-time timers. Per key, greedy event-time
 * rounds: a round opens at the earliest pending element's timestamp and closes `roundMs`
 * later (an event-time timer, moved with deleteEventTimeTimer when an earlier element
 * arrives); at the close it emits how many of the key's elements fell in the round, and
 * opens the next round at the earliest element left.
 *
 * Why it is deterministic with disorder within the watermark bound: an element is never
 * late, so every element with ts ≤ a round's close arrives before its timer fires; elements
 * beyond the close that arrive early stay pending. So the rounds partition each key's
 * sorted timestamps the same way in every run, STREAMING or BATCH (where all timers fire at
 * the end of the key and the follow-up timers fire in the same advance).
 */
import { z } from "zod";
import type { KeyedProcessContext, KeyedProcessFunction } from "../../engine/api/functions";
import { applyParallelism, defineJob, keyedEventParams, keyedEventSource, positiveInt, sinkInto, sinkKind } from "./job";

export interface KeyedEvent {
  key: string;
  seq: number;
  ts: number;
}

export interface Round {
  key: string;
  roundStartMs: number;
  roundEndMs: number;
  count: number;
}

const PENDING = "pending";
const TIMER = "timer";

export function roundCounter(roundMs: number): KeyedProcessFunction<string, KeyedEvent, Round> {
  const schedule = (ctx: KeyedProcessContext<string>, anchorMs: number) => {
    const wanted = anchorMs + roundMs;
    const current = ctx.state.get<number>(TIMER);
    if (current === wanted) return;
    if (current !== undefined) ctx.timerService.deleteEventTimeTimer(current);
    ctx.timerService.registerEventTimeTimer(wanted);
    ctx.state.set(TIMER, wanted);
  };
  return {
    processElement(_event, ctx) {
      const pending = ctx.state.get<number[]>(PENDING) ?? [];
      // Sorted insert: elements arrive nearly in order, so scan from the end.
      let i = pending.length;
      while (i > 0 && pending[i - 1]! > ctx.timestampMs) i--;
      pending.splice(i, 0, ctx.timestampMs);
      ctx.state.set(PENDING, pending);
      schedule(ctx, pending[0]!);
    },
    onTimer(timestampMs, ctx, out) {
      const pending = ctx.state.get<number[]>(PENDING);
      if (pending === undefined || pending.length === 0) return;
      const start = pending[0]!;
      const end = start + roundMs;
      if (timestampMs !== end) return; // a stale timer (cannot happen: moved timers are deleted)
      let n = 0;
      while (n < pending.length && pending[n]! <= end) n++;
      out.collect({ key: ctx.key, roundStartMs: start, roundEndMs: end, count: n });
      pending.splice(0, n);
      ctx.state.clear(TIMER);
      if (pending.length === 0) {
        ctx.state.clear(PENDING);
        return;
      }
      ctx.state.set(PENDING, pending);
      schedule(ctx, pending[0]!);
    },
  };
}

export const keyedTimers = defineJob({
  name: "keyed-timers",
  description: "keyed process function with event-time timers: per-key counts of greedy 10 s event-time rounds",
  deterministic: true,
  compare: "multiset",
  params: z.object({
    ...keyedEventParams({ records: 1000, keys: 8, intervalMs: 100, maxDisorderMs: 50 }),
    roundMs: positiveInt(10_000, 86_400_000),
    sink: sinkKind(),
  }),
  build(env, p) {
    applyParallelism(env, p.parallelism);
    const rounds = keyedEventSource(env, "events", p, (seq, key, _rng, ts): KeyedEvent => ({ key: `k${key}`, seq, ts }))
      .keyBy((e) => e.key)
      .process(roundCounter(p.roundMs), "KeyedProcess");
    sinkInto(rounds, p.sink, "rounds");
  },
});
