/**
 * window-join: Flink's tumbling-window join and coGroup, and a ProcessWindowFunction.
 * - `pairs`: orders.join(payments).where(key).equalTo(key).window(Tumbling(windowMs)) — one
 *   output per (order, payment) of a key in the same window;
 * - `groups`: the same two streams co-grouped: per key and window where either side has
 *   data, how many orders and payments and their amounts (a left/right outer view);
 * - `medians`: orders keyed and windowed (sliding when slideMs < windowMs) with a
 *   ProcessWindowFunction that needs every element: the median amount of the window.
 *
 * Deterministic (multiset) because no element is late: the watermark bound covers the
 * disorder, so each window fires once, with all of its elements, whatever the interleaving
 * (join pairs and the elements' order inside a window may vary; the outputs do not). A
 * `watermarkOutOfOrdernessMs` below the disorder breaks that (the scenario's knock-out).
 */
import { z } from "zod";
import type { Collector, ProcessWindowContext } from "../../engine/api/functions";
import { SlidingEventTimeWindows, TumblingEventTimeWindows } from "../../engine/api/windows";
import { applyParallelism, defineJob, keyedEventParams, keyedEventSource, positiveInt, records, sinkInto, sinkKind, spreadIntervalMs } from "./job";

export interface Payment {
  key: string;
  seq: number;
  ts: number;
  amount: number;
}

export interface JoinedPair {
  key: string;
  order: number;
  payment: number;
  /** Which tumbling window the pair met in (join outputs carry its maxTimestamp). */
  windowStartMs: number;
}

export interface CoGroupResult {
  key: string;
  windowStartMs: number;
  orders: number;
  payments: number;
  orderAmount: number;
  paymentAmount: number;
}

export interface WindowMedian {
  key: string;
  windowStartMs: number;
  n: number;
  median: number;
}

/** The median of a window's amounts (the lower one of an even count): needs all elements. */
export const medianOfWindow = {
  process(key: string, ctx: ProcessWindowContext, elements: readonly Payment[], out: Collector<WindowMedian>) {
    const amounts = elements.map((e) => e.amount).sort((a, b) => a - b);
    out.collect({ key, windowStartMs: ctx.window.startMs, n: amounts.length, median: amounts[(amounts.length - 1) >> 1]! });
  },
};

const windowStartOf = (ts: number, size: number) => ts - (((ts % size) + size) % size);

export const windowJoin = defineJob({
  name: "window-join",
  description: "tumbling-window join and coGroup of two sources (tagged union + keyBy + window), and a median ProcessWindowFunction",
  deterministic: true,
  compare: "multiset",
  params: z.object({
    /** Orders; payments has paymentRecords. */
    ...keyedEventParams({ records: 600, keys: 10, splits: 3, intervalMs: 5, maxDisorderMs: 30 }),
    paymentRecords: records(400),
    /** The watermark bound; unset = maxDisorderMs (nothing late). Below it, late elements miss their window's join. */
    watermarkOutOfOrdernessMs: z.number().int().min(0).max(3_600_000).optional(),
    windowMs: positiveInt(100, 86_400_000),
    /** The median windows slide by this (= windowMs: tumbling). */
    slideMs: positiveInt(100, 86_400_000),
    sink: sinkKind(),
  }),
  build(env, p) {
    applyParallelism(env, p.parallelism);
    const side = (name: string, records: number, intervalMs: number) =>
      keyedEventSource(env, name, p, (seq, key, rng, ts): Payment => ({ key: `k${key}`, seq, ts, amount: rng.int(1, 1001) }), {
        records,
        intervalMs,
        outOfOrdernessMs: p.watermarkOutOfOrdernessMs ?? p.maxDisorderMs,
      });
    const orders = side("orders", p.records, p.intervalMs);
    // Payments spread over the orders' event-time span.
    const payments = side("payments", p.paymentRecords, spreadIntervalMs(p.intervalMs, p.records, p.paymentRecords));
    const size = p.windowMs;

    const pairs = orders
      .join(payments)
      .where((o) => o.key)
      .equalTo((q) => q.key)
      .window(TumblingEventTimeWindows.of(size))
      .apply((o, q): JoinedPair => ({ key: o.key, order: o.seq, payment: q.seq, windowStartMs: windowStartOf(o.ts, size) }));
    sinkInto(pairs, p.sink, "pairs");

    const groups = orders
      .coGroup(payments)
      .where((o) => o.key)
      .equalTo((q) => q.key)
      .window(TumblingEventTimeWindows.of(size))
      .apply<CoGroupResult>((os, qs, out) => {
        const any = os[0] ?? qs[0]!;
        out.collect({
          key: any.key,
          windowStartMs: windowStartOf(any.ts, size),
          orders: os.length,
          payments: qs.length,
          orderAmount: os.reduce((n, o) => n + o.amount, 0),
          paymentAmount: qs.reduce((n, q) => n + q.amount, 0),
        });
      });
    sinkInto(groups, p.sink, "groups");

    const assigner = p.slideMs < size ? SlidingEventTimeWindows.of(size, p.slideMs) : TumblingEventTimeWindows.of(size);
    const medians = orders
      .keyBy((o) => o.key)
      .window(assigner)
      .process(medianOfWindow);
    sinkInto(medians, p.sink, "medians");
  },
});
