/**
 * Sliding event-time windows and allowedLateness (issue 9, item 1), against hand-computed
 * sequences (Flink's SlidingEventTimeWindows, WindowOperator and EventTimeTrigger), plus a
 * conservation property over random element/watermark interleavings.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { propRuns } from "../../test/prop";
import { OperatorHarness, type HarnessOptions } from "../oracle/harness";
import { SessionWindowOperator, WindowOperator, mergingWindowAggregate, windowAggregate } from "./operators";
import { MAX_WATERMARK, type StreamOperator } from "./types";
import { EventTimeSessionWindows, SlidingEventTimeWindows, TumblingEventTimeWindows, windowStartWithOffset } from "./windows";
import { StreamExecutionEnvironment } from "./environment";
import { GeneratorSource } from "./sources";

type KV = { k: string; v: number };
const byK = (r: unknown) => (r as KV).k;
const a = (v: number): KV => ({ k: "a", v });

function harness(op: StreamOperator, options: HarnessOptions = {}): OperatorHarness {
  return new OperatorHarness(op, { keySelector: byK, ...options }).open();
}

const count = {
  createAccumulator: () => ({ n: 0, sum: 0 }),
  add: (r: KV, acc: { n: number; sum: number }) => ({ n: acc.n + 1, sum: acc.sum + r.v }),
  getResult: (acc: { n: number; sum: number }) => acc,
};
const sessionCountFn = { ...count, merge: (x: { n: number; sum: number }, y: { n: number; sum: number }) => ({ n: x.n + y.n, sum: x.sum + y.sum }) };
const shape = (key: unknown, w: { startMs: number; endMs: number }, r: { n: number; sum: number }) => ({ key, start: w.startMs, n: r.n, sum: r.sum });

describe("SlidingEventTimeWindows assignment", () => {
  it("assigns the windows Flink's loop gives, latest start first", () => {
    const w = SlidingEventTimeWindows.of(10, 5);
    expect(w.assignWindows(7)).toEqual([5, 0]);
    expect(w.assignWindows(5)).toEqual([5, 0]);
    expect(w.assignWindows(4)).toEqual([0, -5]);
    expect(w.assignWindows(-1)).toEqual([-5, -10]);
    // slide does not divide size: 3 or 4 windows depending on the timestamp.
    expect(SlidingEventTimeWindows.of(10, 3).assignWindows(7)).toEqual([6, 3, 0]);
    expect(SlidingEventTimeWindows.of(10, 3).assignWindows(6)).toEqual([6, 3, 0, -3]);
    // With an offset the grid is offset + k·slide.
    expect(SlidingEventTimeWindows.of(10, 5, 2).assignWindows(7)).toEqual([7, 2]);
    expect(SlidingEventTimeWindows.of(10, 5, 2).assignWindows(6)).toEqual([2, -3]);
    // slide = size is tumbling.
    expect(SlidingEventTimeWindows.of(10, 10).assignWindows(-3)).toEqual([TumblingEventTimeWindows.of(10).windowStart(-3)]);
    expect(SlidingEventTimeWindows.of(10, 5).toString()).toBe("SlidingEventTimeWindows(10, 5)");
  });

  it("every window on the slide grid that contains ts, and only those", () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e9, max: 1e9 }), fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 200 }), (ts, size, slide) => {
        const starts = SlidingEventTimeWindows.of(size, slide).assignWindows(ts);
        for (const s of starts) {
          expect(s <= ts && ts < s + size).toBe(true);
          expect(((s % slide) + slide) % slide).toBe(0);
        }
        for (let i = 1; i < starts.length; i++) expect(starts[i - 1]! - starts[i]!).toBe(slide);
        // No grid start is missing at either end (with slide > size some timestamps fall
        // between windows and get none, as in Flink).
        const lastGridStart = windowStartWithOffset(ts, 0, slide);
        if (lastGridStart > ts - size) {
          expect(starts[0]).toBe(lastGridStart);
          expect(starts[starts.length - 1]! - slide).toBeLessThanOrEqual(ts - size);
        } else expect(starts).toEqual([]);
        if (size % slide === 0) expect(starts.length).toBe(size / slide);
      }),
      { numRuns: propRuns(1000) },
    );
  });

  it("rejects a non-positive size or slide and |offset| ≥ slide, naming the field", () => {
    expect(() => SlidingEventTimeWindows.of(0, 5)).toThrow(/SlidingEventTimeWindows.size/);
    expect(() => SlidingEventTimeWindows.of(10, 0)).toThrow(/SlidingEventTimeWindows.slide/);
    expect(() => SlidingEventTimeWindows.of(10, 5, 5)).toThrow(/SlidingEventTimeWindows.offset/);
  });
});

describe("WindowOperator over sliding windows", () => {
  it("each element counts in each of its windows; windows fire in maxTimestamp order", () => {
    const h = harness(new WindowOperator(SlidingEventTimeWindows.of(10, 5), windowAggregate(count), shape));
    h.processElement(a(1), 1); // windows [0,10), [-5,5)
    h.processElement(a(6), 6); // [5,15), [0,10)
    h.processElement(a(12), 12); // [10,20), [5,15)
    h.processWatermark(9);
    expect(h.output).toEqual([
      { value: { key: "a", start: -5, n: 1, sum: 1 }, timestampMs: 4 },
      { value: { key: "a", start: 0, n: 2, sum: 7 }, timestampMs: 9 },
    ]);
    h.processWatermark(MAX_WATERMARK);
    expect(h.output.slice(2)).toEqual([
      { value: { key: "a", start: 5, n: 2, sum: 18 }, timestampMs: 14 },
      { value: { key: "a", start: 10, n: 1, sum: 12 }, timestampMs: 19 },
    ]);
    expect(h.keysWithState()).toEqual([]);
  });

  it("an element whose earlier windows fired joins its later ones and is not side-output (Flink's isSkippedElement)", () => {
    const h = harness(new WindowOperator(SlidingEventTimeWindows.of(10, 5), windowAggregate(count), shape));
    h.processElement(a(1), 1);
    h.processWatermark(9); // fires [-5,5) and [0,10)
    h.processElement(a(7), 7); // [0,10) is late: skipped; [5,15) takes it
    h.processElement(a(3), 3); // [0,10) and [-5,5) both late: side output
    h.processWatermark(MAX_WATERMARK);
    expect(h.values()).toEqual([
      { key: "a", start: -5, n: 1, sum: 1 },
      { key: "a", start: 0, n: 1, sum: 1 },
      { key: "a", start: 5, n: 1, sum: 7 },
    ]);
    expect(h.side("late")).toEqual([a(3)]);
  });
});

describe("WindowOperator allowedLateness", () => {
  it("fires at the end, re-fires per late element until end + lateness, then side-outputs (hand-computed)", () => {
    // Tumbling 10 ms, lateness 5: window [0,10) fires at 9, cleans at 14; [10,20) at 19 and 24.
    const h = harness(new WindowOperator(TumblingEventTimeWindows.of(10), windowAggregate(count), shape, "late", 5));
    h.processElement(a(3), 3);
    expect(h.pendingEventTimers()).toEqual([
      { key: "a", timestampMs: 9 },
      { key: "a", timestampMs: 14 },
    ]);
    h.processWatermark(9); // on-time fire
    h.processElement(a(5), 5); // late but within lateness: re-fire at once, n = 2
    h.processElement(a(12), 12); // on time for [10,20)
    h.processWatermark(13);
    h.processElement(a(4), 4); // cleanupTime 14 > 13: still re-fires, n = 3
    h.processWatermark(14); // cleanup of [0,10)
    h.processElement(a(8), 8); // cleanupTime 14 ≤ 14: window late, and 8 + 5 ≤ 14: side output
    h.processElement(a(9), 9); // 9 + 5 = 14 ≤ 14: side output
    h.processWatermark(19); // [10,20) fires
    h.processElement(a(15), 15); // re-fire [10,20), n = 2
    h.processWatermark(MAX_WATERMARK); // cleanup at 24, nothing more is emitted
    expect(h.output).toEqual([
      { value: { key: "a", start: 0, n: 1, sum: 3 }, timestampMs: 9 },
      { value: { key: "a", start: 0, n: 2, sum: 8 }, timestampMs: 9 },
      { value: { key: "a", start: 0, n: 3, sum: 12 }, timestampMs: 9 },
      { value: { key: "a", start: 10, n: 1, sum: 12 }, timestampMs: 19 },
      { value: { key: "a", start: 10, n: 2, sum: 27 }, timestampMs: 19 },
    ]);
    expect(h.sideOutputs.get("late")).toEqual([
      { value: a(8), timestampMs: 8 },
      { value: a(9), timestampMs: 9 },
    ]);
    expect(h.keysWithState()).toEqual([]);
  });

  it("keeps the state between fire and cleanup (a late element adds to it, not to a fresh window)", () => {
    const h = harness(new WindowOperator(TumblingEventTimeWindows.of(10), windowAggregate(count), shape, "late", 100));
    h.processElement(a(1), 1);
    h.processWatermark(50);
    expect(h.keysWithState()).toEqual(["a"]);
    h.processElement(a(2), 2);
    h.processWatermark(109);
    expect(h.keysWithState()).toEqual([]);
    expect(h.values()).toEqual([
      { key: "a", start: 0, n: 1, sum: 1 },
      { key: "a", start: 0, n: 2, sum: 3 },
    ]);
  });

  it("sliding + lateness: the late element re-fires every window it still belongs to", () => {
    const h = harness(new WindowOperator(SlidingEventTimeWindows.of(10, 5), windowAggregate(count), shape, "late", 5));
    h.processElement(a(6), 6); // [5,15) and [0,10)
    h.processWatermark(14); // [0,10) fires at 9 (cleaned at 14), [5,15) at 14
    h.processElement(a(7), 7); // [0,10) late (14 ≤ 14); [5,15) re-fires (cleanup 19 > 14)
    h.processWatermark(MAX_WATERMARK);
    expect(h.values()).toEqual([
      { key: "a", start: 0, n: 1, sum: 6 },
      { key: "a", start: 5, n: 1, sum: 6 },
      { key: "a", start: 5, n: 2, sum: 13 },
    ]);
    expect(h.side("late")).toEqual([]);
  });

  it("rejects a negative or fractional lateness", () => {
    expect(() => new WindowOperator(TumblingEventTimeWindows.of(10), windowAggregate(count), undefined, "late", -1)).toThrow(/allowedLateness/);
    const env = new StreamExecutionEnvironment("t");
    const w = env.fromSource<KV>(GeneratorSource({ records: 1, splits: 1 }), "none", "s").keyBy((r) => r.k).window(TumblingEventTimeWindows.of(10));
    expect(() => w.allowedLateness(1.5)).toThrow(/allowedLateness/);
  });

  it("conservation: every element is in its window's last fire or in the side output, for any interleaving", () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant("el" as const), k: fc.constantFrom("a", "b"), ts: fc.integer({ min: 0, max: 60 }) }),
      fc.record({ kind: fc.constant("wm" as const), by: fc.integer({ min: 0, max: 15 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), fc.constantFrom(1, 7, 10), fc.integer({ min: 0, max: 25 }), (steps, size, lateness) => {
        const h = harness(new WindowOperator(TumblingEventTimeWindows.of(size), windowAggregate(count), shape, "late", lateness));
        const expected = new Map<string, number>();
        let wm = -1;
        for (const s of steps) {
          if (s.kind === "wm") h.processWatermark((wm += s.by));
          else {
            h.processElement({ k: s.k, v: s.ts }, s.ts);
            const acc = `${s.k}|${windowStartWithOffset(s.ts, 0, size)}`;
            expected.set(acc, (expected.get(acc) ?? 0) + 1);
          }
        }
        h.processWatermark(MAX_WATERMARK);
        // Fires of one window only grow (re-fires add elements); the last is the largest.
        const last = new Map<string, number>();
        for (const r of h.values() as { key: string; start: number; n: number }[]) {
          const acc = `${r.key}|${r.start}`;
          expect(r.n).toBeGreaterThan(last.get(acc) ?? 0);
          last.set(acc, r.n);
        }
        for (const r of h.side("late") as KV[]) {
          const acc = `${r.k}|${windowStartWithOffset(r.v, 0, size)}`;
          last.set(acc, (last.get(acc) ?? 0) + 1);
        }
        expect(new Map([...last].sort())).toEqual(new Map([...expected].sort()));
        expect(h.keysWithState()).toEqual([]);
      }),
      { numRuns: propRuns(300) },
    );
  });
});

describe("SessionWindowOperator (EventTimeSessionWindows, merging)", () => {
  const sessionCount = { ...count, merge: (x: { n: number; sum: number }, y: { n: number; sum: number }) => ({ n: x.n + y.n, sum: x.sum + y.sum }) };
  const session = (gap: number, lateness = 0) => new SessionWindowOperator(gap, mergingWindowAggregate(sessionCount, "test"), shape, "late", lateness);
  const end = (key: unknown, w: { startMs: number; endMs: number }, r: { n: number; sum: number }) => ({ key, start: w.startMs, end: w.endMs, n: r.n });

  it("merges intersecting (and touching) sessions, also bridging two, in any arrival order", () => {
    const h = harness(new SessionWindowOperator(10, mergingWindowAggregate(sessionCount, "test"), end));
    for (const ts of [0, 5, 30, 15]) h.processElement(a(ts), ts);
    // [0,10) + [5,15) → [0,15); [15,25) touches it → [0,25); [30,40) apart.
    h.processElement({ k: "b", v: 1 }, 12);
    h.processWatermark(30);
    expect(h.values()).toEqual([
      { key: "b", start: 12, end: 22, n: 1 },
      { key: "a", start: 0, end: 25, n: 3 },
    ]);
    const g = harness(new SessionWindowOperator(10, mergingWindowAggregate(sessionCount, "test"), end));
    for (const ts of [0, 5, 30, 15, 22]) g.processElement(a(ts), ts); // [22,32) bridges [0,25) and [30,40)
    g.processWatermark(MAX_WATERMARK);
    expect(g.values()).toEqual([{ key: "a", start: 0, end: 40, n: 5 }]);
    expect(g.keysWithState()).toEqual([]);
  });

  it("lateness 0: a fired session is gone (a touching element opens a new one); a late element joins a live session it reaches, else goes to the side output", () => {
    const h = harness(session(10));
    h.processElement(a(0), 0);
    h.processWatermark(9); // fires [0,10)
    h.processElement(a(10), 10); // not late; [0,10) is cleaned up, so a new session [10,20)
    h.processElement(a(3), 3); // ts ≤ watermark, but [3,13) merges into the live [10,20): [3,20)
    h.processElement(a(1), 1); // [1,20)
    h.processElement(a(-20), -20); // [-20,-10) merges with nothing and is late
    h.processWatermark(MAX_WATERMARK);
    expect(h.output).toEqual([
      { value: { key: "a", start: 0, n: 1, sum: 0 }, timestampMs: 9 },
      { value: { key: "a", start: 1, n: 3, sum: 14 }, timestampMs: 19 },
    ]);
    expect(h.side("late")).toEqual([a(-20)]);
  });

  it("allowedLateness: a session re-fires when it grows after firing, merged or not, until its cleanup (hand-computed)", () => {
    const h = harness(session(10, 5));
    h.processElement(a(0), 0); // [0,10): timers 9, 14
    h.processWatermark(9); // fire n1 @9
    h.processElement(a(2), 2); // [0,12): maxTimestamp 11 > 9, timer; no fire yet
    h.processWatermark(11); // fire n2 @11
    h.processWatermark(14); // stale timer 14: [0,12) cleans at 16
    h.processElement(a(5), 5); // [0,15): maxTimestamp 14 ≤ 14: re-fire at once, n3 @14; cleanup 19
    h.processWatermark(16); // stale cleanup of [0,12): nothing
    expect(h.keysWithState()).toEqual(["a"]);
    h.processWatermark(19); // cleanup of [0,15)
    h.processElement(a(4), 4); // [4,14): 13 + 5 ≤ 19, nothing to merge with: side output
    h.processWatermark(MAX_WATERMARK);
    expect(h.output).toEqual([
      { value: { key: "a", start: 0, n: 1, sum: 0 }, timestampMs: 9 },
      { value: { key: "a", start: 0, n: 2, sum: 2 }, timestampMs: 11 },
      { value: { key: "a", start: 0, n: 3, sum: 7 }, timestampMs: 14 },
    ]);
    expect(h.side("late")).toEqual([a(4)]);
    expect(h.keysWithState()).toEqual([]);
  });

  it("BATCH: every key's sessions fire at its end, fully merged", () => {
    const h = harness(session(10), { runtimeMode: "BATCH" });
    h.processBatchKeyed([a(30), { k: "b", v: 1 }, a(0), a(8)], [30, 1, 0, 8]);
    expect(h.values()).toEqual([
      { key: "a", start: 0, n: 2, sum: 8 },
      { key: "a", start: 30, n: 1, sum: 30 },
      { key: "b", start: 1, n: 1, sum: 1 },
    ]);
  });

  it("conservation: every element is in exactly one last session fire or the side output (lateness 0), any interleaving", () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant("el" as const), ts: fc.integer({ min: 0, max: 80 }) }),
      fc.record({ kind: fc.constant("wm" as const), by: fc.integer({ min: 0, max: 15 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 50 }), fc.integer({ min: 1, max: 12 }), (steps, gap) => {
        const h = harness(new SessionWindowOperator(gap, mergingWindowAggregate(sessionCount, "test"), end));
        let wm = -1;
        let elements = 0;
        for (const s of steps) {
          if (s.kind === "wm") h.processWatermark((wm += s.by));
          else {
            h.processElement(a(s.ts), s.ts);
            elements++;
          }
        }
        h.processWatermark(MAX_WATERMARK);
        const fired = h.values() as { start: number; end: number; n: number }[];
        expect(fired.reduce((x, w) => x + w.n, 0) + h.side("late").length).toBe(elements);
        // (Fired sessions may overlap: a late element can extend a live session back over one
        // already fired and gone, as in the hand-computed case above.)
        expect(h.keysWithState()).toEqual([]);
      }),
      { numRuns: propRuns(300) },
    );
  });

  it("aggregate() over sessions needs merge; names show the assigner", () => {
    expect(() => mergingWindowAggregate(count, "WindowedStream.aggregate")).toThrow(/WindowedStream.aggregate: session \(merging\) windows need/);
    expect(EventTimeSessionWindows.withGap(30).toString()).toBe("EventTimeSessionWindows(30)");
    expect(() => EventTimeSessionWindows.withGap(0)).toThrow(/EventTimeSessionWindows.gap/);
  });
});

describe("WindowedStream over the new assigners", () => {
  it("names the node as Flink does and picks the merging operator for sessions", () => {
    const env = new StreamExecutionEnvironment("t");
    const keyed = () => env.fromSource<KV>(GeneratorSource({ records: 1, splits: 1 }), "none", `s${env.graph.nodes.length}`).keyBy((r) => r.k);
    const sliding = keyed().window(SlidingEventTimeWindows.of(10, 5)).allowedLateness(3).reduce((x, y) => ({ k: x.k, v: x.v + y.v }));
    expect(sliding.node.name).toBe("Window(SlidingEventTimeWindows(10, 5), EventTimeTrigger, ReduceFunction)");
    expect(sliding.node.operator(0)).toBeInstanceOf(WindowOperator);
    const sessions = keyed().window(EventTimeSessionWindows.withGap(30)).aggregate(sessionCountFn);
    expect(sessions.node.name).toBe("Window(EventTimeSessionWindows(30), EventTimeTrigger, AggregateFunction)");
    expect(sessions.node.operator(0)).toBeInstanceOf(SessionWindowOperator);
    expect(() => keyed().window(EventTimeSessionWindows.withGap(30)).aggregate(count)).toThrow(/needs|need the AggregateFunction's merge/);
  });
});
