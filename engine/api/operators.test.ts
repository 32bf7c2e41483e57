import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { propRuns } from "../../test/prop";
import { ExternalStore } from "../external-store";
import { OperatorHarness, type HarnessOptions } from "../oracle/harness";
import type { KeyedProcessFunction } from "./functions";
import {
  END_OF_INPUT_CHECKPOINT_ID,
  END_OF_KEY_MS,
  FilterOperator,
  FlatMapOperator,
  KeyedProcessOperator,
  MapOperator,
  RollingAggregateOperator,
  SinkCommitterOperator,
  SourceOperator,
  TransactionalSinkWriter,
  CollectSinkWriter,
  WindowOperator,
  reduceAggregation,
  sumFieldAggregation,
  sumSelectorAggregation,
  windowAggregate,
  windowReduce,
  writerIdOf,
  writerPrefixOf,
  type SinkCommittable,
} from "./operators";
import { MAX_WATERMARK, type StreamOperator } from "./types";
import { TumblingEventTimeWindows, windowStartWithOffset } from "./windows";

type KV = { k: string; v: number };
const byK = (r: unknown) => (r as KV).k;

function harness(op: StreamOperator, options: HarnessOptions = {}): OperatorHarness {
  return new OperatorHarness(op, options).open();
}

describe("tumbling window assignment", () => {
  it("start = ts − ts mod size, also for negative timestamps (Flink's getWindowStartWithOffset)", () => {
    const w = TumblingEventTimeWindows.of(1000);
    expect(w.windowStart(0)).toBe(0);
    expect(w.windowStart(999)).toBe(0);
    expect(w.windowStart(1000)).toBe(1000);
    expect(w.windowStart(-1)).toBe(-1000);
    expect(w.windowStart(-1000)).toBe(-1000);
    expect(w.windowStart(-1001)).toBe(-2000);
    // With an offset: windows [.., 250), [250, 1250), ...
    expect(windowStartWithOffset(249, 250, 1000)).toBe(-750);
    expect(windowStartWithOffset(250, 250, 1000)).toBe(250);
    expect(windowStartWithOffset(-751, 250, 1000)).toBe(-1750);
  });

  it("every integral timestamp lies in its window", () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e12, max: 1e12 }), fc.integer({ min: 1, max: 1e7 }), (ts, size) => {
        const start = windowStartWithOffset(ts, 0, size);
        expect(start).toBeLessThanOrEqual(ts);
        expect(ts).toBeLessThan(start + size);
        expect(((start % size) + size) % size).toBe(0);
      }),
      { numRuns: propRuns(1000) },
    );
  });

  it("rejects a non-positive size or |offset| ≥ size, naming the field", () => {
    expect(() => TumblingEventTimeWindows.of(0)).toThrow(/TumblingEventTimeWindows.size/);
    expect(() => TumblingEventTimeWindows.of(100, 100)).toThrow(/TumblingEventTimeWindows.offset/);
  });
});

describe("WindowOperator (event time, allowedLateness 0)", () => {
  const count = {
    createAccumulator: () => ({ n: 0, sum: 0 }),
    add: (r: KV, acc: { n: number; sum: number }) => ({ n: acc.n + 1, sum: acc.sum + r.v }),
    getResult: (acc: { n: number; sum: number }) => acc,
  };
  const shape = (key: unknown, w: { startMs: number; endMs: number }, r: { n: number; sum: number }) => ({ key, start: w.startMs, end: w.endMs, ...r });

  it("fires each window at maxTimestamp = end − 1 with that timestamp, including negative windows", () => {
    const h = harness(new WindowOperator(TumblingEventTimeWindows.of(1000), windowAggregate(count), shape), { keySelector: byK });
    for (const ts of [100, 999, 1000, -1, -1000, -1001]) h.processElement({ k: "a", v: 1 }, ts);
    h.processElement({ k: "b", v: 5 }, 10);
    expect(h.pendingEventTimers()).toEqual([
      { key: "a", timestampMs: -1001 },
      { key: "a", timestampMs: -1 },
      { key: "a", timestampMs: 999 },
      { key: "b", timestampMs: 999 },
      { key: "a", timestampMs: 1999 },
    ]);
    h.processWatermark(998);
    expect(h.output).toEqual([
      { value: { key: "a", start: -2000, end: -1000, n: 1, sum: 1 }, timestampMs: -1001 },
      { value: { key: "a", start: -1000, end: 0, n: 2, sum: 2 }, timestampMs: -1 },
    ]);
    expect(h.watermarks).toEqual([998]);
    h.processWatermark(MAX_WATERMARK);
    expect(h.output.slice(2)).toEqual([
      { value: { key: "a", start: 0, end: 1000, n: 2, sum: 2 }, timestampMs: 999 },
      { value: { key: "b", start: 0, end: 1000, n: 1, sum: 5 }, timestampMs: 999 },
      { value: { key: "a", start: 1000, end: 2000, n: 1, sum: 1 }, timestampMs: 1999 },
    ]);
    expect(h.keysWithState()).toEqual([]); // every window's state is cleared when it fires
  });

  it("sends records of an already-fired (late) window to the side output; a late record of a live window still counts", () => {
    const h = harness(new WindowOperator(TumblingEventTimeWindows.of(1000), windowReduce((a: KV, b: KV) => ({ k: a.k, v: a.v + b.v })), undefined, "too-late"), {
      keySelector: byK,
    });
    h.processElement({ k: "a", v: 1 }, 100);
    h.processWatermark(998);
    // ts 500 ≤ watermark 998, but its window [0, 1000) has not fired: Flink adds it (isWindowLate is false).
    h.processElement({ k: "a", v: 10 }, 500);
    // ts −5: window [−1000, 0) ended at −1 ≤ 998: late, to the side output with its timestamp.
    h.processElement({ k: "a", v: 100 }, -5);
    h.processWatermark(999);
    h.processElement({ k: "a", v: 1000 }, 999); // its window just fired: late
    expect(h.output).toEqual([{ value: { k: "a", v: 11 }, timestampMs: 999 }]);
    expect(h.sideOutputs.get("too-late")).toEqual([
      { value: { k: "a", v: 100 }, timestampMs: -5 },
      { value: { k: "a", v: 1000 }, timestampMs: 999 },
    ]);
  });

  it("in BATCH nothing is late and every window fires at the end of its key", () => {
    const h = harness(new WindowOperator(TumblingEventTimeWindows.of(10), windowAggregate(count), shape), { keySelector: byK, runtimeMode: "BATCH" });
    h.processBatchKeyed([{ k: "b", v: 1 }, { k: "a", v: 2 }, { k: "b", v: 3 }, { k: "a", v: 4 }], [5, 25, 15, 3]);
    expect(h.values()).toEqual([
      { key: "a", start: 0, end: 10, n: 1, sum: 4 },
      { key: "a", start: 20, end: 30, n: 1, sum: 2 },
      { key: "b", start: 0, end: 10, n: 1, sum: 1 },
      { key: "b", start: 10, end: 20, n: 1, sum: 3 },
    ]);
    expect(h.side("late")).toEqual([]);
  });

  it("rejects records without an integral timestamp, naming the operator", () => {
    const h = harness(new WindowOperator(TumblingEventTimeWindows.of(10), windowAggregate(count), undefined), { keySelector: byK, operatorName: "Window(x)" });
    expect(() => h.processElement({ k: "a", v: 1 }, NaN)).toThrow(/Window\(x\): record has no valid event timestamp/);
  });

  it("window results are the same for any arrival order when nothing is late (multiset)", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ k: fc.constantFrom("a", "b", "c"), ts: fc.integer({ min: -50, max: 50 }) }), { maxLength: 30 }), fc.integer({ min: 0, max: 1000 }), (recs, seed) => {
        const run = (order: typeof recs) => {
          const h = harness(new WindowOperator(TumblingEventTimeWindows.of(7), windowAggregate(count), shape), { keySelector: byK });
          for (const r of order) h.processElement({ k: r.k, v: r.ts }, r.ts);
          h.processWatermark(MAX_WATERMARK);
          return h.values().map((v) => JSON.stringify(v)).sort();
        };
        const shuffled = [...recs].sort((a, b) => ((a.ts * 31 + seed) % 17) - ((b.ts * 31 + seed) % 17) || a.ts - b.ts || a.k.localeCompare(b.k));
        expect(run(shuffled)).toEqual(run(recs));
        expect(run(recs).length).toBe(new Set(recs.map((r) => `${r.k}|${windowStartWithOffset(r.ts, 0, 7)}`)).size);
      }),
      { numRuns: propRuns(100) },
    );
  });
});

describe("RollingAggregateOperator (reduce / sum)", () => {
  const input: [KV, number][] = [
    [{ k: "a", v: 1 }, 10],
    [{ k: "b", v: 2 }, 11],
    [{ k: "a", v: 3 }, 12],
    [{ k: "a", v: 4 }, 13],
  ];
  const sumReduce = () => new RollingAggregateOperator(reduceAggregation((x: KV, y: KV) => ({ k: x.k, v: x.v + y.v })));

  it("STREAMING emits every update with the record's timestamp", () => {
    const h = harness(sumReduce(), { keySelector: byK });
    for (const [v, ts] of input) h.processElement(v, ts);
    h.processWatermark(MAX_WATERMARK);
    h.endInput();
    expect(h.output).toEqual([
      { value: { k: "a", v: 1 }, timestampMs: 10 },
      { value: { k: "b", v: 2 }, timestampMs: 11 },
      { value: { k: "a", v: 4 }, timestampMs: 12 },
      { value: { k: "a", v: 8 }, timestampMs: 13 },
    ]);
    expect(h.pendingEventTimers()).toEqual([]);
  });

  it("BATCH emits only each key's final value, from the END_OF_KEY_MS timer (sorted input)", () => {
    const h = harness(sumReduce(), { keySelector: byK, runtimeMode: "BATCH" });
    h.processBatchKeyed(
      input.map(([v]) => v),
      input.map(([, ts]) => ts),
    );
    expect(h.output).toEqual([
      { value: { k: "a", v: 8 }, timestampMs: END_OF_KEY_MS },
      { value: { k: "b", v: 2 }, timestampMs: END_OF_KEY_MS },
    ]);
    expect(h.keysWithState()).toEqual([]);
  });

  it("BATCH on unsorted input still emits finals once, when the final watermark fires the timers", () => {
    const h = harness(sumReduce(), { keySelector: byK, runtimeMode: "BATCH" });
    for (const [v, ts] of input) h.processElement(v, ts);
    expect(h.output).toEqual([]);
    expect(h.pendingEventTimers()).toEqual([
      { key: "a", timestampMs: END_OF_KEY_MS },
      { key: "b", timestampMs: END_OF_KEY_MS },
    ]);
    h.processWatermark(MAX_WATERMARK);
    expect(h.values()).toEqual([
      { k: "a", v: 8 },
      { k: "b", v: 2 },
    ]);
  });

  it("sum(field) keeps the first record's other fields; sum(selector) emits { key, sum }", () => {
    const h = harness(new RollingAggregateOperator(sumFieldAggregation("v", "sum")), { keySelector: byK });
    h.processElement({ k: "a", v: 1, first: true }, 1);
    h.processElement({ k: "a", v: 2, first: false }, 2);
    expect(h.values()).toEqual([
      { k: "a", v: 1, first: true },
      { k: "a", v: 3, first: true },
    ]);
    expect(() => h.processElement({ k: "a", v: "x" }, 3)).toThrow(/field "v" is not a number/);

    const s = harness(new RollingAggregateOperator(sumSelectorAggregation((r: KV) => r.v * 10, "sum")), { keySelector: byK, runtimeMode: "BATCH" });
    s.processBatchKeyed([{ k: "x", v: 1 }, { k: "x", v: 2 }], [0, 0]);
    expect(s.values()).toEqual([{ key: "x", sum: 30 }]);
  });
});

describe("KeyedProcessOperator", () => {
  // Counts elements per key; an event-time timer 10 ms after the latest element emits the count.
  const fn: KeyedProcessFunction<string, KV, string> = {
    processElement(value, ctx, out) {
      const n = (ctx.state.get<number>("n") ?? 0) + 1;
      ctx.state.set("n", n);
      const prev = ctx.state.get<number>("timer");
      if (prev !== undefined) ctx.timerService.deleteEventTimeTimer(prev);
      ctx.timerService.registerEventTimeTimer(ctx.timestampMs + 10);
      ctx.state.set("timer", ctx.timestampMs + 10);
      if (value.v < 0) ctx.output("negative", value);
      if (value.v === 99) ctx.timerService.registerProcessingTimeTimer(500);
      out.collect(`saw ${ctx.key}@${ctx.timestampMs}`);
    },
    onTimer(ts, ctx, out) {
      out.collect(`${ctx.timeDomain} ${ctx.key}@${ts}: ${ctx.state.get<number>("n")} wm=${ctx.timerService.currentWatermark()}`);
      if (ctx.timeDomain === "EVENT_TIME") ctx.state.clear("n");
    },
  };

  it("fires event-time timers on the watermark with the timer's timestamp; deleted timers do not fire", () => {
    const h = harness(new KeyedProcessOperator(fn), { keySelector: byK });
    h.processElement({ k: "a", v: 1 }, 100);
    h.processElement({ k: "a", v: -1 }, 105); // moves a's timer from 110 to 115
    h.processElement({ k: "b", v: 1 }, 101);
    expect(h.pendingEventTimers()).toEqual([
      { key: "b", timestampMs: 111 },
      { key: "a", timestampMs: 115 },
    ]);
    h.processWatermark(112);
    h.processWatermark(120);
    expect(h.output).toEqual([
      { value: "saw a@100", timestampMs: 100 },
      { value: "saw a@105", timestampMs: 105 },
      { value: "saw b@101", timestampMs: 101 },
      { value: "EVENT_TIME b@111: 1 wm=112", timestampMs: 111 },
      { value: "EVENT_TIME a@115: 2 wm=120", timestampMs: 115 },
    ]);
    expect(h.sideOutputs.get("negative")).toEqual([{ value: { k: "a", v: -1 }, timestampMs: 105 }]);
    expect(h.watermarks).toEqual([112, 120]);
  });

  it("processing-time timers fire on the clock, with no timestamp on their output", () => {
    const h = harness(new KeyedProcessOperator(fn), { keySelector: byK });
    h.processElement({ k: "a", v: 99 }, 1);
    h.setProcessingTime(499);
    expect(h.output.length).toBe(1);
    h.setProcessingTime(500);
    expect(h.output[1]!.value).toBe("PROCESSING_TIME a@500: 1 wm=-Infinity");
    expect(h.output[1]!.timestampMs).toBeNaN();
  });

  it("BATCH: timers fire at the end of each key with watermark +∞", () => {
    const h = harness(new KeyedProcessOperator(fn), { keySelector: byK, runtimeMode: "BATCH" });
    h.processBatchKeyed([{ k: "b", v: 1 }, { k: "a", v: 1 }, { k: "a", v: 1 }], [7, 3, 1]);
    expect(h.values()).toEqual(["saw a@1", "saw a@3", "EVENT_TIME a@13: 2 wm=Infinity", "saw b@7", "EVENT_TIME b@17: 1 wm=Infinity"]);
  });
});

describe("stateless operators", () => {
  it("map, filter and flatMap keep the input's timestamp; the source operator passes through", () => {
    const m = harness(new MapOperator((x: number) => x * 2));
    m.processElement(3, 42);
    const f = harness(new FilterOperator((x: number) => x > 1));
    f.processElement(1, 1);
    f.processElement(2, 2);
    const fm = harness(new FlatMapOperator((s: string, out) => s.split(" ").forEach((w) => out.collect(w))));
    fm.processElement("a b", 9);
    const s = harness(new SourceOperator());
    s.processElement("x", 5);
    s.processWatermark(4);
    expect(m.output).toEqual([{ value: 6, timestampMs: 42 }]);
    expect(f.output).toEqual([{ value: 2, timestampMs: 2 }]);
    expect(fm.output).toEqual([
      { value: "a", timestampMs: 9 },
      { value: "b", timestampMs: 9 },
    ]);
    expect(s.output).toEqual([{ value: "x", timestampMs: 5 }]);
    expect(s.watermarks).toEqual([4]);
  });

  it("keyed state access on a non-keyed operator is an engine bug", () => {
    const bad = harness(new RollingAggregateOperator(reduceAggregation((a: number) => a)));
    expect(() => bad.processElement(1, 0)).toThrow(/without a current key|non-keyed/);
  });
});

describe("sink operators (Sink V2)", () => {
  it("the transactional writer pre-commits at end of input and the committer commits at its end of input", () => {
    const store = new ExternalStore();
    const writer = harness(new TransactionalSinkWriter("out"), { external: store, subtaskIndex: 2, attemptNumber: 1 });
    writer.processElement("r1", 1);
    writer.processElement("r2", 2);
    expect(store.openTransactions().map((t) => [t.id, t.state, t.recordCount])).toEqual([["out/out-2/attempt-1/txn-0", "open", 2]]);
    writer.endInput();
    expect(store.committed("out")).toEqual([]);
    const committable = writer.output[0]!.value as SinkCommittable;
    expect(committable).toEqual({
      kind: "committable",
      sink: "out",
      txnId: "out/out-2/attempt-1/txn-0",
      subtaskIndex: 2,
      attemptNumber: 1,
      checkpointId: END_OF_INPUT_CHECKPOINT_ID,
      recordCount: 2,
    });
    expect(store.transaction(committable.txnId)!.state).toBe("preCommitted");

    const committer = harness(new SinkCommitterOperator("out"), { external: store });
    committer.processElement(committable, NaN);
    expect(store.committed("out")).toEqual([]);
    committer.endInput();
    expect(store.committed("out")).toEqual(["r1", "r2"]);
    expect(store.openTransactions()).toEqual([]);
  });

  it("prepareCommit and commitUpTo are separate steps a checkpoint hook can call", () => {
    const store = new ExternalStore();
    const writerOp = new TransactionalSinkWriter("s");
    const writer = harness(writerOp, { external: store });
    const committerOp = new SinkCommitterOperator("s");
    harness(committerOp, { external: store });
    writer.processElement(1, 0);
    writerOp.emitCommittables(1); // checkpoint 1
    writer.processElement(2, 0);
    writerOp.emitCommittables(2); // checkpoint 2
    expect(writerOp.prepareCommit(3)).toBeUndefined(); // nothing written since
    for (const c of writer.values()) committerOp.processElement(c, NaN);
    committerOp.commitUpTo(1);
    expect(store.committed("s")).toEqual([1]);
    expect(committerOp.pendingCommittables().map((c) => c.checkpointId)).toEqual([2]);
    // Recovery re-commits what the checkpoint held: idempotent.
    committerOp.commit(writer.values() as SinkCommittable[]);
    expect(store.committed("s")).toEqual([1, 2]);
    expect(store.stats.duplicateCommits).toBe(1);
  });

  it("a fenced (zombie) writer's writes and commits are rejected and counted", () => {
    const store = new ExternalStore();
    const writerOp = new TransactionalSinkWriter("s");
    const writer = harness(writerOp, { external: store });
    writer.processElement("a", 0);
    // The subtask restarted elsewhere: restore aborts its lingering transactions.
    expect(store.abortLingering("s", writerPrefixOf("s", 0))).toBe(1);
    writer.processElement("b", 0);
    writer.endInput();
    const committer = harness(new SinkCommitterOperator("s"), { external: store });
    committer.processElement(writer.values()[0], NaN);
    committer.endInput();
    expect(store.committed("s")).toEqual([]);
    expect(store.stats).toMatchObject({ rejectedWrites: 1, rejectedPreCommits: 1, rejectedCommits: 1 });
    expect(writerIdOf("s", 0, 3)).toBe("s-0/attempt-3");
  });

  it("the collect sink appends at once", () => {
    const store = new ExternalStore();
    const h = harness(new CollectSinkWriter("c"), { external: store });
    h.processElement({ x: 1 }, 0);
    expect(store.committed("c")).toEqual([{ x: 1 }]);
  });
});
