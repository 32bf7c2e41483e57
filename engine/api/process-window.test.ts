/**
 * Process-window functions (issue 9, item 1): Flink's WindowedStream.process keeps a
 * window's elements in list state and hands them all to the ProcessWindowFunction at each
 * fire; with reduce/aggregate it gets the one pre-aggregated result. Checked against
 * hand-computed sequences of Flink's WindowOperator with an EventTimeTrigger.
 */
import { describe, expect, it } from "vitest";
import { OperatorHarness } from "../oracle/harness";
import { SessionWindowOperator, WindowOperator, windowAggregate, windowElements } from "./operators";
import type { Collector, ProcessWindowContext, ProcessWindowFunction } from "./functions";
import { EventTimeSessionWindows, SlidingEventTimeWindows, TumblingEventTimeWindows } from "./windows";
import { StreamExecutionEnvironment } from "./environment";
import { GeneratorSource } from "./sources";

type KV = { k: string; v: number };
const kv = (k: string, v: number): KV => ({ k, v });
const byK = (r: unknown) => (r as KV).k;

/** Emits the window, its elements' values in order, and how often this window fired (window state). */
const describeWindow: ProcessWindowFunction<KV, unknown, string> & { cleared: string[] } = {
  cleared: [],
  process(key: string, ctx: ProcessWindowContext, elements: readonly KV[], out: Collector<unknown>) {
    const fires = (ctx.windowState.state.get<number>("fires") ?? 0) + 1;
    ctx.windowState.state.set("fires", fires);
    out.collect({ key, start: ctx.window.startMs, end: ctx.window.endMs, values: elements.map((e) => e.v), fires, wm: ctx.currentWatermark() });
  },
  clear(ctx: ProcessWindowContext) {
    this.cleared.push(`${ctx.window.startMs}`);
    ctx.windowState.state.clear("fires");
  },
};

function tumbling(allowedLatenessMs = 0, fn: ProcessWindowFunction<KV, unknown, string> = describeWindow) {
  return new OperatorHarness(new WindowOperator(TumblingEventTimeWindows.of(10), windowElements, fn, "late", allowedLatenessMs), { keySelector: byK }).open();
}

describe("ProcessWindowFunction over tumbling windows", () => {
  it("each fire gets all of the window's elements in arrival order, with the window's maxTimestamp", () => {
    describeWindow.cleared = [];
    const h = tumbling();
    h.processElement(kv("a", 3), 3);
    h.processElement(kv("b", 2), 2);
    h.processElement(kv("a", 1), 1);
    h.processElement(kv("a", 12), 12);
    h.processWatermark(9);
    expect(h.output).toEqual([
      { value: { key: "a", start: 0, end: 10, values: [3, 1], fires: 1, wm: 9 }, timestampMs: 9 },
      { value: { key: "b", start: 0, end: 10, values: [2], fires: 1, wm: 9 }, timestampMs: 9 },
    ]);
    // Lateness 0: fire and cleanup at once; clear ran for both keys' windows.
    expect(describeWindow.cleared).toEqual(["0", "0"]);
    expect(h.stateOf("b")).toBeUndefined();
    h.processWatermark(19);
    expect(h.output.slice(2)).toEqual([{ value: { key: "a", start: 10, end: 20, values: [12], fires: 1, wm: 19 }, timestampMs: 19 }]);
    // Nothing is left: the elements' list and the function's window state are gone.
    expect(h.keysWithState()).toEqual([]);
  });

  it("allowedLateness re-fires with every element so far; window state lives until cleanup, when clear runs", () => {
    describeWindow.cleared = [];
    const h = tumbling(5);
    h.processElement(kv("a", 3), 3);
    h.processElement(kv("a", 5), 5);
    h.processWatermark(10);
    h.processElement(kv("a", 4), 4); // late but within lateness: fires again at once
    h.processWatermark(13);
    h.processElement(kv("a", 9), 9); // still within: maxTimestamp 9 + 5 = 14 > 13
    expect(h.output.map((o) => o.value)).toEqual([
      { key: "a", start: 0, end: 10, values: [3, 5], fires: 1, wm: 10 },
      { key: "a", start: 0, end: 10, values: [3, 5, 4], fires: 2, wm: 10 },
      { key: "a", start: 0, end: 10, values: [3, 5, 4, 9], fires: 3, wm: 13 },
    ]);
    expect(describeWindow.cleared).toEqual([]);
    h.processWatermark(14);
    expect(describeWindow.cleared).toEqual(["0"]);
    expect(h.keysWithState()).toEqual([]);
    h.processElement(kv("a", 2), 2); // beyond the lateness: side output, no fire
    expect(h.output).toHaveLength(3);
    expect(h.side("late")).toEqual([kv("a", 2)]);
  });

  it("sliding windows: each window gets the elements of its own span", () => {
    const h = new OperatorHarness(new WindowOperator(SlidingEventTimeWindows.of(10, 5), windowElements, describeWindow), { keySelector: byK }).open();
    for (const t of [1, 6, 11]) h.processElement(kv("a", t), t);
    h.processWatermark(20);
    expect(h.output.map((o) => [(o.value as { start: number }).start, (o.value as { values: number[] }).values])).toEqual([
      [-5, [1]],
      [0, [1, 6]],
      [5, [6, 11]],
      [10, [11]],
    ]);
  });

  it("global state is the key's across windows; window state is per window", () => {
    const running: ProcessWindowFunction<KV, unknown, string> = {
      process(key, ctx, elements, out) {
        const total = (ctx.globalState.state.get<number>("total") ?? 0) + elements.length;
        ctx.globalState.state.set("total", total);
        ctx.windowState.listState<number>("seen").add(elements.length);
        out.collect({ key, start: ctx.window.startMs, total, seen: [...ctx.windowState.listState<number>("seen").get()] });
      },
    };
    const h = tumbling(100, running);
    h.processElement(kv("a", 1), 1);
    h.processElement(kv("a", 11), 11);
    h.processWatermark(19);
    h.processElement(kv("a", 2), 2); // re-fires window 0
    expect(h.output.map((o) => o.value)).toEqual([
      { key: "a", start: 0, total: 1, seen: [1] },
      { key: "a", start: 10, total: 2, seen: [1] },
      { key: "a", start: 0, total: 4, seen: [1, 2] },
    ]);
  });

  it("with aggregate, the function gets the one pre-aggregated result", () => {
    const sum = { createAccumulator: () => 0, add: (r: KV, acc: number) => acc + r.v, getResult: (acc: number) => acc };
    const wrap: ProcessWindowFunction<number, unknown, string> = {
      process: (key, ctx, elements, out) => out.collect({ key, start: ctx.window.startMs, elements: [...elements] }),
    };
    const h = new OperatorHarness(new WindowOperator(TumblingEventTimeWindows.of(10), windowAggregate(sum), wrap), { keySelector: byK }).open();
    h.processElement(kv("a", 3), 3);
    h.processElement(kv("a", 4), 4);
    h.processWatermark(9);
    expect(h.output.map((o) => o.value)).toEqual([{ key: "a", start: 0, elements: [7] }]);
  });
});

describe("ProcessWindowFunction over session windows", () => {
  it("merged sessions carry the elements of both; per-window state is refused, as in Flink", () => {
    const h = new OperatorHarness(new SessionWindowOperator(10, windowElements, describeWindow), { keySelector: byK }).open();
    h.processElement(kv("a", 1), 1);
    h.processElement(kv("a", 20), 20);
    h.processElement(kv("a", 11), 11); // [11, 21) touches [1, 11) and [20, 30): one session [1, 30)
    expect(() => h.processWatermark(40)).toThrow(/windowState: per-window state is not allowed with merging \(session\) windows/);
    const plain: ProcessWindowFunction<KV, unknown, string> = { process: (key, ctx, els, out) => out.collect({ key, start: ctx.window.startMs, end: ctx.window.endMs, values: els.map((e) => e.v).sort((x, y) => x - y) }) };
    const h2 = new OperatorHarness(new SessionWindowOperator(10, windowElements, plain), { keySelector: byK }).open();
    for (const t of [1, 20, 11, 50]) h2.processElement(kv("a", t), t);
    h2.processWatermark(100);
    expect(h2.output).toEqual([
      { value: { key: "a", start: 1, end: 30, values: [1, 11, 20] }, timestampMs: 29 },
      { value: { key: "a", start: 50, end: 60, values: [50] }, timestampMs: 59 },
    ]);
  });
});

describe("WindowedStream.process in the API", () => {
  function keyed() {
    const env = new StreamExecutionEnvironment("t");
    return { env, keyed: env.fromSource<KV>(GeneratorSource({ records: 1, splits: 1 }), "none", "s").keyBy(byK) };
  }

  it("names the operator as Flink does and rejects a non-function", () => {
    const { env, keyed: k } = keyed();
    k.window(TumblingEventTimeWindows.of(10)).process(describeWindow);
    k.window(EventTimeSessionWindows.withGap(5)).aggregate({ createAccumulator: () => 0, add: (_r, a: number) => a + 1, getResult: (a: number) => a, merge: (a: number, b: number) => a + b }, { process: () => {} });
    const names = env.graph.nodes.map((n) => n.name);
    expect(names).toContain("Window(TumblingEventTimeWindows(10), EventTimeTrigger, ProcessWindowFunction)");
    expect(names).toContain("Window(EventTimeSessionWindows(5), EventTimeTrigger, AggregateFunction, ProcessWindowFunction)");
    expect(() => k.window(TumblingEventTimeWindows.of(10)).process({} as never)).toThrow(/WindowedStream.process: needs a ProcessWindowFunction/);
    expect(() => k.window(TumblingEventTimeWindows.of(10)).reduce((x) => x, 42 as never)).toThrow(/WindowedStream.reduce windowFn: must be a function/);
  });
});
