/**
 * broadcast-rules: the broadcast state pattern. A small stream of threshold rules per
 * category is broadcast to a keyed KeyedBroadcastProcessFunction; each event is judged by
 * the rule of its category in force at the event's time (the latest rule version with
 * ts ≤ the event's ts): "alert" when its amount reaches the threshold, "ok" below it, "none"
 * when its category has no rule yet.
 *
 * Why the verdicts are deterministic with disorder within the watermark bounds: an event
 * waits for an event-time timer at its ts, which fires once the combined watermark — the
 * minimum over the event input and the rule input — passes it; no rule is late, so every
 * rule version with ts ≤ the event's ts is in the broadcast state by then. BATCH reads the
 * broadcast input first, as Flink does, so every rule is there before any event.
 */
import { z } from "zod";
import type { KeyedBroadcastProcessFunction } from "../../engine/api/co-functions";
import { GeneratorSource } from "../../engine/api/sources";
import { applyParallelism, defineJob, insertSortedBy, keyedEventParams, keyedEventSource, positiveInt, records, sinkInto, sinkKind } from "./job";

export interface RuleEvent {
  key: string;
  seq: number;
  ts: number;
  category: number;
  amount: number;
}

export interface Rule {
  category: number;
  ts: number;
  threshold: number;
}

export interface Verdict {
  key: string;
  seq: number;
  category: number;
  verdict: "alert" | "ok" | "none";
}

/** The broadcast state: per category, its rule versions sorted by ts. */
export const RULES = "rules";
const PENDING = "pending";

/**
 * `lookup`: "event-time" (the rule version in force at the event's ts), or "latest" (the
 * newest version present when the timer fires — what a job without versioning does; its
 * verdicts depend on how the inputs interleave, the knock-out of the scenario).
 */
export function ruleJudge(lookup: "event-time" | "latest" = "event-time"): KeyedBroadcastProcessFunction<string, RuleEvent, Rule, Verdict> {
  return {
    processBroadcastElement(rule, ctx) {
      const rules = ctx.getBroadcastState<number, [number, number][]>(RULES);
      // A new array, then put: state is changed only through put (as keyed state through set).
      const versions = [...(rules.get(rule.category) ?? [])];
      insertSortedBy(versions, [rule.ts, rule.threshold], (v) => v[0]);
      rules.put(rule.category, versions);
    },
    processElement(event, ctx) {
      const pending = ctx.state.get<RuleEvent[]>(PENDING) ?? [];
      insertSortedBy(pending, event, (e) => e.ts);
      ctx.state.set(PENDING, pending);
      ctx.timerService.registerEventTimeTimer(event.ts);
    },
    onTimer(timestampMs, ctx, out) {
      const pending = ctx.state.get<RuleEvent[]>(PENDING) ?? [];
      const rules = ctx.getBroadcastState<number, [number, number][]>(RULES);
      let n = 0;
      for (; n < pending.length && pending[n]!.ts <= timestampMs; n++) {
        const e = pending[n]!;
        let threshold: number | undefined;
        for (const [ts, t] of rules.get(e.category) ?? []) if (lookup === "latest" || ts <= e.ts) threshold = t;
        const verdict = threshold === undefined ? "none" : e.amount >= threshold ? "alert" : "ok";
        out.collect({ key: e.key, seq: e.seq, category: e.category, verdict });
      }
      pending.splice(0, n);
      if (pending.length === 0) ctx.state.clear(PENDING);
      else ctx.state.set(PENDING, pending);
    },
  };
}

export const broadcastRules = defineJob({
  name: "broadcast-rules",
  description: "broadcast state: threshold rules per category broadcast to a keyed judge that applies the rule version in force at each event's time",
  deterministic: true,
  compare: "multiset",
  params: z.object({
    ...keyedEventParams({ records: 1000, keys: 8, intervalMs: 10, maxDisorderMs: 50 }),
    categories: positiveInt(4, 1000),
    /** Rule versions over all categories, spread over the events' event-time span. */
    rules: records(12),
    ruleSplits: positiveInt(1, 100),
    ruleLookup: z.enum(["event-time", "latest"]).default("event-time"),
    sink: sinkKind(),
  }),
  build(env, p) {
    applyParallelism(env, p.parallelism);
    const events = keyedEventSource(env, "events", p, (seq, key, rng, ts): RuleEvent => ({ key: `k${key}`, seq, ts, category: rng.int(0, p.categories), amount: rng.int(1, 101) }));
    const spanMs = Math.max(1, (p.intervalMs * p.records) / p.splits);
    const ruleInterval = p.rules === 0 ? 1 : Math.max(1, Math.round((spanMs * p.ruleSplits) / p.rules));
    const rules = env
      .fromSource<Rule>(
        GeneratorSource({
          records: p.rules,
          splits: p.ruleSplits,
          // Paced, rules span the same processing time as the events (as their event times do).
          ...(p.ratePerSecond !== undefined && p.rules > 0
            ? { ratePerSecond: Math.max(0.01, ((p.rules / p.ruleSplits) * p.ratePerSecond) / Math.max(1, p.records / p.splits)) }
            : {}),
          keys: { count: p.categories, distribution: "uniform" },
          eventTime: { startMs: 0, intervalMs: ruleInterval, maxDisorderMs: 0 },
          value: (_seq, category, rng, ts): Rule => ({ category, ts, threshold: rng.int(1, 101) }),
        }),
        { outOfOrdernessMs: 0 },
        "rules",
      )
      .setParallelism(1);
    const verdicts = events
      .keyBy((e) => e.key)
      .connect(rules.broadcast(RULES))
      .process(ruleJudge(p.ruleLookup));
    sinkInto(verdicts, p.sink, "verdicts");
  },
});
