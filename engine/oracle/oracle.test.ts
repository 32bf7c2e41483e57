import { describe, expect, it } from "vitest";
import { Rng } from "../../sim/rng";
import { buildJob } from "../../scenarios/jobs/index";
import type { KeyValue } from "../../scenarios/jobs/batch-dag";
import type { KeyedEvent, Round } from "../../scenarios/jobs/keyed-timers";
import type { Reading, WindowCount } from "../../scenarios/jobs/tumbling-window";
import { windowAccounts } from "../../scenarios/jobs/tumbling-window";
import { StreamExecutionEnvironment } from "../api/environment";
import { jobRng, readerRng, sourceRng } from "../api/job-rng";
import { CollectSink } from "../api/sinks";
import { GeneratorSource, assignSplits } from "../api/sources";
import type { StreamGraph } from "../graph/stream-graph";
import { canonicalJson } from "./canonical";
import { compareWithOracle, runOracle, runOracleDetailed } from "./oracle";

const SEED = 11;

/** The records a graph's (single) source produces, read directly — the independent input for hand checks. */
function sourceRecords<T>(graph: StreamGraph, seed = SEED): { value: T; ts: number }[] {
  const node = graph.nodes.find((n) => n.kind === "source")!;
  const root = jobRng(Rng.root(seed));
  const splits = node.source!.createSplits(3, sourceRng(root, node.name));
  const out: { value: T; ts: number }[] = [];
  assignSplits(splits, 3).forEach((assigned, i) => {
    const reader = node.source!.createReader(i, readerRng(root, node.name, i));
    for (const s of assigned) reader.addSplit(s);
    reader.noMoreSplits();
    while (!reader.isFinished()) reader.poll(Number.MAX_SAFE_INTEGER, 1000, (value, ts) => out.push({ value: value as T, ts }));
  });
  return out;
}

const sortedJson = (xs: readonly unknown[]) => xs.map(canonicalJson).sort();

describe("oracle on the library jobs (hand-checkable)", () => {
  it("wordcount on given sentences: STREAMING emits every update, BATCH the final counts", () => {
    const { graph } = buildJob("wordcount", { sentences: ["a b a", "b c", ""], splits: 2 });
    const streaming = runOracle(graph, { runtimeMode: "STREAMING", seed: SEED }).get("counts")!;
    expect(sortedJson(streaming)).toEqual(
      sortedJson([
        { word: "a", count: 1 },
        { word: "a", count: 2 },
        { word: "b", count: 1 },
        { word: "b", count: 2 },
        { word: "c", count: 1 },
      ]),
    );
    expect(runOracle(graph, { runtimeMode: "BATCH", seed: SEED }).get("counts")).toEqual([
      { word: "a", count: 2 },
      { word: "b", count: 2 },
      { word: "c", count: 1 },
    ]);
  });

  it("wordcount on generated zipf sentences counts every word of the input", () => {
    const { graph, job } = buildJob("wordcount", { records: 60, vocabulary: 12, skew: 1.1, wordsPerSentence: 4 });
    const counts = new Map<string, number>();
    for (const { value } of sourceRecords<string>(graph)) for (const w of value.split(" ")) counts.set(w, (counts.get(w) ?? 0) + 1);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(240);
    const finals = [...counts].map(([word, count]) => ({ word, count }));
    const updates = [...counts].flatMap(([word, n]) => Array.from({ length: n }, (_, i) => ({ word, count: i + 1 })));
    const batch = runOracle(graph, { runtimeMode: "BATCH", seed: SEED });
    const streaming = runOracle(graph, { runtimeMode: "STREAMING", seed: SEED });
    expect(compareWithOracle(batch, new Map([["counts", finals]]), job.compare).summary).toMatch(/^equal/);
    expect(compareWithOracle(streaming, new Map([["counts", updates]]), job.compare).equal).toBe(true);
    // STREAMING's last update per word is BATCH's final count.
    expect(compareWithOracle(streaming, batch, "finalPerKey", job.compareOptions!(job.defaultParams)).missing.length).toBe(finals.length);
  });

  it("tumbling-window: count and sum per (key, window), nothing late, equal in both modes", () => {
    const { graph } = buildJob("tumbling-window", { records: 300, keys: 3, windowMs: 200, intervalMs: 7, maxDisorderMs: 40 });
    const expected = new Map<string, WindowCount>();
    for (const { value: r, ts } of sourceRecords<Reading>(graph)) {
      expect(r.ts).toBe(ts);
      const start = Math.floor(ts / 200) * 200;
      const id = `${r.key}|${start}`;
      const w = expected.get(id) ?? { key: r.key, windowStartMs: start, windowEndMs: start + 200, count: 0, sum: 0 };
      w.count++;
      w.sum += r.amount;
      expected.set(id, w);
    }
    expect([...expected.values()].some((w) => w.windowStartMs < 0)).toBe(true); // disorder reaches below 0
    for (const mode of ["STREAMING", "BATCH"] as const) {
      const out = runOracle(graph, { runtimeMode: mode, seed: SEED });
      expect(out.get("late")).toEqual([]);
      expect(compareWithOracle(out, new Map([["windows", [...expected.values()]], ["late", []]]), "multiset").summary).toMatch(/^equal/);
    }
  });

  it("late-data-window: conservation accepts late records in place of window counts, and catches loss and duplicates", () => {
    const { graph, job, params } = buildJob("late-data-window", { records: 120, keys: 2, windowMs: 100, intervalMs: 5, maxDisorderMs: 300 });
    const options = job.compareOptions!(params);
    const oracle = runOracle(graph, { runtimeMode: "STREAMING", seed: SEED });
    const total = (oracle.get("windows") as WindowCount[]).reduce((a, w) => a + w.count, 0);
    expect(total).toBe(120);
    expect(compareWithOracle(oracle, oracle, "conservation", options).equal).toBe(true);

    // A plausible simulated run: two records missed their window and went to "late".
    const readings = sourceRecords<Reading>(graph);
    const windows = (oracle.get("windows") as WindowCount[]).map((w) => ({ ...w }));
    const late: Reading[] = [];
    for (const r of readings.slice(10, 12).map((x) => x.value)) {
      const w = windows.find((x) => x.key === r.key && x.windowStartMs === Math.floor(r.ts / 100) * 100)!;
      w.count--;
      w.sum -= r.amount;
      late.push(r);
    }
    const actual = new Map<string, unknown[]>([["windows", windows.filter((w) => w.count > 0)], ["late", late]]);
    expect(compareWithOracle(actual, oracle, "conservation", options).equal).toBe(true);
    expect(compareWithOracle(actual, oracle, "multiset").equal).toBe(false);

    const lost = new Map([["windows", actual.get("windows")!], ["late", late.slice(1)]]);
    const r = compareWithOracle(lost, oracle, "conservation", options);
    expect(r.equal).toBe(false);
    expect(r.missing).toEqual([{ sink: "*", key: canonicalJson(windowAccounts(100).keyOf(late[0])), count: 1 }]);
    expect(r.unexpected).toEqual([]);

    const dup = new Map([["windows", [...actual.get("windows")!, windows[0]]], ["late", late]]);
    expect(compareWithOracle(dup, oracle, "conservation", options).unexpected).toEqual([
      { sink: "*", key: canonicalJson(`${windows[0]!.key}|${windows[0]!.windowStartMs}`), count: windows[0]!.count },
    ]);
  });

  it("late-data-window with allowedLateness: only each window's largest fire counts; a repeated fire is a duplicate", () => {
    const { graph, job, params } = buildJob("late-data-window", { records: 60, keys: 2, windowMs: 100, intervalMs: 5, maxDisorderMs: 300, allowedLatenessMs: 50 });
    const options = job.compareOptions!(params);
    const oracle = runOracle(graph, { runtimeMode: "STREAMING", seed: SEED });
    const windows = oracle.get("windows") as WindowCount[];
    const w = windows.find((x) => x.count >= 3)!;
    // A plausible run: w fired with count − 2, re-fired with count − 1 and count (two late
    // records within the lateness), committed in any order.
    const refires = [{ ...w, count: w.count - 1 }, { ...w, count: w.count - 2 }];
    const actual = new Map<string, unknown[]>([["windows", [...refires, ...windows]], ["late", []]]);
    expect(compareWithOracle(actual, oracle, "conservation", options).summary).toMatch(/^equal/);
    // Without supersession the re-fires would count twice.
    expect(compareWithOracle(actual, oracle, "conservation", { ...options, supersedeKeyOf: undefined }).equal).toBe(false);
    // The same fire committed twice is a duplicate.
    const dup = new Map<string, unknown[]>([["windows", [...windows, { ...w }]], ["late", []]]);
    expect(compareWithOracle(dup, oracle, "conservation", options).unexpected).toEqual([{ sink: "*", key: canonicalJson(`${w.key}|${w.windowStartMs}`), count: w.count }]);
    // A lost final re-fire (only count − 1 committed) is missing one record.
    const lost = new Map<string, unknown[]>([["windows", [...windows.filter((x) => x !== w), { ...w, count: w.count - 1 }]], ["late", []]]);
    expect(compareWithOracle(lost, oracle, "conservation", options).missing).toEqual([{ sink: "*", key: canonicalJson(`${w.key}|${w.windowStartMs}`), count: 1 }]);
  });

  it("sliding-window: each reading counts in size/slide windows; slide = size is the tumbling job", () => {
    const p = { records: 150, keys: 3, windowMs: 100, intervalMs: 3, maxDisorderMs: 20 };
    const sliding = runOracle(buildJob("sliding-window", { ...p, slideMs: 25, allowedLatenessMs: 40 }).graph, { runtimeMode: "STREAMING", seed: SEED });
    const ws = sliding.get("windows") as WindowCount[];
    expect(ws.reduce((a, w) => a + w.count, 0)).toBe(150 * 4);
    for (const w of ws) {
      expect(w.windowEndMs - w.windowStartMs).toBe(100);
      expect(((w.windowStartMs % 25) + 25) % 25).toBe(0);
    }
    // The (key, window) pairs are exactly those some reading of the key falls into.
    const expected = new Set<string>();
    for (const { value: r } of sourceRecords<Reading>(buildJob("sliding-window", p).graph)) {
      for (let s = Math.floor(r.ts / 25) * 25; s > r.ts - 100; s -= 25) expected.add(`${r.key}|${s}`);
    }
    expect(new Set(ws.map((w) => `${w.key}|${w.windowStartMs}`))).toEqual(expected);
    const asTumbling = runOracle(buildJob("sliding-window", { ...p, slideMs: 100 }).graph, { runtimeMode: "STREAMING", seed: SEED });
    const tumbling = runOracle(buildJob("tumbling-window", p).graph, { runtimeMode: "STREAMING", seed: SEED });
    expect(compareWithOracle(asTumbling, tumbling, "multiset").summary).toMatch(/^equal/);
  });

  it("keyed-timers: greedy event-time rounds per key, same in STREAMING and BATCH", () => {
    const { graph } = buildJob("keyed-timers", { records: 200, keys: 3, intervalMs: 150, maxDisorderMs: 80, roundMs: 2000 });
    const byKey = new Map<string, number[]>();
    for (const { value: e } of sourceRecords<KeyedEvent>(graph)) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e.ts]);
    const expected: Round[] = [];
    for (const [key, tss] of byKey) {
      const sorted = [...tss].sort((a, b) => a - b);
      let i = 0;
      while (i < sorted.length) {
        const start = sorted[i]!;
        let n = 0;
        while (i < sorted.length && sorted[i]! <= start + 2000) {
          i++;
          n++;
        }
        expected.push({ key, roundStartMs: start, roundEndMs: start + 2000, count: n });
      }
    }
    expect(expected.length).toBeGreaterThan(6);
    for (const mode of ["STREAMING", "BATCH"] as const) {
      const out = runOracle(graph, { runtimeMode: mode, seed: SEED });
      expect(sortedJson(out.get("rounds")!)).toEqual(sortedJson(expected));
    }
  });

  it("rebalance-rescale: the input, transformed, exactly once", () => {
    const { graph } = buildJob("rebalance-rescale", { records: 50 });
    const expected = sourceRecords<{ seq: number }>(graph).map(({ value: r }) => ({ seq: r.seq, doubled: r.seq * 2, label: r.seq % 3 === 0 ? "fizz" : "plain" }));
    const out = runOracle(graph, { runtimeMode: "STREAMING", seed: SEED });
    expect(compareWithOracle(out, new Map([["tagged", expected]]), "multiset").equal).toBe(true);
    expect(out.get("tagged")!.length).toBe(50);
  });

  it("batch-dag: per bucket, the number of updates and the final max of per-key sums", () => {
    const buckets = 3;
    const { graph, job, params } = buildJob("batch-dag", { records: 150, keys: 10, buckets, skew: 0.8 });
    const sums = new Map<number, number>();
    const updates = new Map<number, number>();
    for (const { value: r } of sourceRecords<{ key: number; seq: number }>(graph)) {
      const value = 1 + (r.seq % 7);
      if (value === 3) continue;
      sums.set(r.key, (sums.get(r.key) ?? 0) + value);
      updates.set(r.key % buckets, (updates.get(r.key % buckets) ?? 0) + 1);
    }
    const best = new Map<number, KeyValue>();
    for (const [key, value] of [...sums].sort((a, b) => a[0] - b[0])) {
      const b = best.get(key % buckets);
      if (b === undefined || value > b.value) best.set(key % buckets, { key, value });
    }
    // An expected STREAMING output with the right count and final per bucket (intermediates are arbitrary).
    const streamingExpected = [...best].flatMap(([bucket, final]) => [...Array(updates.get(bucket)! - 1).fill({ key: bucket, value: -1 }), final]);
    const options = job.compareOptions!(params);
    const streaming = runOracle(graph, { runtimeMode: "STREAMING", seed: SEED });
    expect(compareWithOracle(streaming, new Map([["maxima", streamingExpected]]), "finalPerKey", options).summary).toMatch(/^equal/);
    const batch = runOracle(graph, { runtimeMode: "BATCH", seed: SEED });
    expect(sortedJson(batch.get("maxima")!)).toEqual(sortedJson([...best.values()]));
  });

  it("the oracle is a pure function of graph and seed, independent of the parallelism in the graph", () => {
    const a = buildJob("tumbling-window", { records: 100, parallelism: 1 });
    const b = buildJob("tumbling-window", { records: 100, parallelism: 7, splits: 4 });
    const ra = runOracleDetailed(a.graph, { runtimeMode: "STREAMING", seed: Rng.root(5) });
    expect(ra.recordsRead).toBe(100);
    expect(runOracle(b.graph, { runtimeMode: "STREAMING", seed: 5 })).toEqual(ra.outputs);
    expect(runOracle(a.graph, { runtimeMode: "STREAMING", seed: 6 })).not.toEqual(ra.outputs);
  });

  it("counts side output nobody consumes, and refuses unbounded sources", () => {
    const env = new StreamExecutionEnvironment();
    env
      .fromSource<{ key: number }>(GeneratorSource({ records: 3, splits: 1, eventTime: { startMs: 0, intervalMs: 1, maxDisorderMs: 0 } }), { outOfOrdernessMs: 0 }, "s")
      .keyBy((r) => r.key)
      .process({ processElement: (v, ctx) => ctx.output("odd", v) })
      .sinkTo(CollectSink("none"));
    const run = runOracleDetailed(env.graph, { runtimeMode: "STREAMING", seed: 1 });
    expect(run.unconsumedSideOutputs).toEqual(new Map([["odd", 3]]));
    expect(run.outputs).toEqual(new Map([["none", []]]));

    const unbounded = new StreamExecutionEnvironment();
    unbounded.fromSource(GeneratorSource({ splits: 1 }), "none", "forever").sinkTo(CollectSink("x"));
    expect(() => runOracle(unbounded.graph, { runtimeMode: "STREAMING", seed: 1 })).toThrow(/Source: forever: is unbounded/);
    const big = new StreamExecutionEnvironment();
    big.fromSource(GeneratorSource({ records: 100, splits: 1 }), "none", "big").sinkTo(CollectSink("x"));
    expect(() => runOracle(big.graph, { runtimeMode: "STREAMING", seed: 1, maxRecords: 10 })).toThrow(/more than 10 records/);
  });
});

describe("compareWithOracle", () => {
  const m = (entries: [string, unknown[]][]) => new Map(entries);

  it("multiset: equal regardless of order and property order; counts multiplicities", () => {
    const expected = m([["s", [{ a: 1, b: 2 }, { a: 1, b: 2 }, "x"]]]);
    expect(compareWithOracle(m([["s", ["x", { b: 2, a: 1 }, { a: 1, b: 2 }]]]), expected, "multiset").equal).toBe(true);
    const r = compareWithOracle(m([["s", ["x", "x", { a: 1, b: 2 }]], ["extra", [1]]]), expected, "multiset");
    expect(r.equal).toBe(false);
    expect(r.missing).toEqual([{ sink: "s", record: { a: 1, b: 2 }, count: 1 }]);
    expect(r.unexpected).toEqual([
      { sink: "extra", record: 1, count: 1 },
      { sink: "s", record: "x", count: 1 },
    ]);
    expect(r.summary).toMatch(/^differs \(multiset over 2 sinks, 3 expected records\): 1 missing, 2 unexpected; missing: s: \{"a":1,"b":2\} ×1/);
  });

  it("finalPerKey: the last value and the number of emissions per key", () => {
    const expected = m([["s", [{ key: "a", n: 1 }, { key: "a", n: 3 }, { key: "b", n: 1 }]]]);
    expect(compareWithOracle(m([["s", [{ key: "b", n: 1 }, { key: "a", n: 2 }, { key: "a", n: 3 }]]]), expected, "finalPerKey").equal).toBe(true);
    const wrongFinal = compareWithOracle(m([["s", [{ key: "a", n: 3 }, { key: "a", n: 2 }, { key: "b", n: 1 }]]]), expected, "finalPerKey");
    expect(wrongFinal.missing).toEqual([{ sink: "s", key: '"a"', record: { key: "a", n: 3 }, count: 2 }]);
    expect(wrongFinal.unexpected).toEqual([{ sink: "s", key: '"a"', record: { key: "a", n: 2 }, count: 2 }]);
    const tooMany = compareWithOracle(m([["s", [{ key: "a", n: 3 }, { key: "a", n: 3 }, { key: "a", n: 3 }, { key: "b", n: 1 }]]]), expected, "finalPerKey");
    expect(tooMany.unexpected).toEqual([{ sink: "s", key: '"a"', record: { key: "a", n: 3 }, count: 3 }]);
    const missingKey = compareWithOracle(m([["s", [{ key: "a", n: 3 }, { key: "a", n: 3 }]]]), expected, "finalPerKey");
    expect(missingKey.missing).toEqual([{ sink: "s", key: '"b"', record: { key: "b", n: 1 }, count: 1 }]);
    expect(() => compareWithOracle(m([["s", [1]]]), m([]), "finalPerKey")).toThrow(/compare.keyOf/);
  });

  it("conservation: per account totals over all sinks", () => {
    const expected = m([["w", [{ key: "a", count: 3 }]]]);
    const actual = m([["w", [{ key: "a", count: 2 }]], ["late", [{ key: "a" }]]]);
    expect(compareWithOracle(actual, expected, "conservation").equal).toBe(true);
    const r = compareWithOracle(m([["w", [{ key: "a", count: 1 }]]]), expected, "conservation");
    expect(r.missing).toEqual([{ sink: "*", key: '"a"', count: 2 }]);
  });

  it("canonicalJson sorts object keys and keeps NaN, Infinity and undefined apart from null", () => {
    expect(canonicalJson({ b: [1, { d: 2, c: -0 }], a: "x", u: undefined })).toBe('{"a":"x","b":[1,{"c":0,"d":2}]}');
    expect(new Set([canonicalJson(NaN), canonicalJson(null), canonicalJson(Infinity), canonicalJson(undefined)]).size).toBe(4);
    expect(canonicalJson(new Map([[2, "b"], [1, "a"]]))).toBe('Map[[1,"a"],[2,"b"]]');
  });
});
