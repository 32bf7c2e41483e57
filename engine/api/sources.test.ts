import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { propRuns } from "../../test/prop";
import { Rng } from "../../sim/rng";
import { readerRng, sourceRng } from "./job-rng";
import {
  GeneratorSource,
  PartitionedLogSource,
  assignSplits,
  type CheckpointableReader,
  type GeneratorSourceOptions,
  type SplitAwareEmit,
} from "./sources";
import type { SourceSpec } from "./types";
import { BoundedOutOfOrdernessWatermarks } from "./watermarks";

interface Read {
  value: unknown;
  ts: number;
  split: string;
  reader: number;
}

const END = Number.MAX_SAFE_INTEGER;

/** Reads a bounded source completely at parallelism p, as the runtime would (everything available). */
function readAll(spec: SourceSpec, seed: number, p: number): Read[] {
  const root = Rng.root(seed);
  const splits = spec.createSplits(p, sourceRng(root, "Source: s"));
  const out: Read[] = [];
  assignSplits(splits, p).forEach((assigned, i) => {
    const reader = spec.createReader(i, readerRng(root, "Source: s", i));
    for (const s of assigned) reader.addSplit(s);
    reader.noMoreSplits();
    const emit: SplitAwareEmit = (value, ts, split) => out.push({ value, ts, split: split!, reader: i });
    for (let guard = 0; !reader.isFinished(); guard++) {
      expect(guard).toBeLessThan(1e6);
      reader.poll(END, 1000, emit);
    }
  });
  return out;
}

const bySplit = (reads: Read[]) => {
  const m = new Map<string, unknown[]>();
  for (const r of reads) m.set(r.split, [...(m.get(r.split) ?? []), [r.value, r.ts]]);
  return new Map([...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
};

describe("assignSplits", () => {
  it("is round-robin: split i goes to reader i mod p", () => {
    const splits = [0, 1, 2, 3, 4].map((i) => ({ splitId: `s${i}` }));
    expect(assignSplits(splits, 2).map((a) => a.map((s) => s.splitId))).toEqual([
      ["s0", "s2", "s4"],
      ["s1", "s3"],
    ]);
    expect(assignSplits(splits, 7).map((a) => a.length)).toEqual([1, 1, 1, 1, 1, 0, 0]);
  });
});

describe("GeneratorSource", () => {
  it("splitSizeSigma: uneven split sizes from the seed, summing to records exactly", () => {
    const counts = (seed: number, sigma: number) =>
      GeneratorSource({ records: 1600, splits: 32, splitSizeSigma: sigma }).createSplits(4, Rng.root(seed)).map((s) => s.count);
    const a = counts(1, 0.3);
    expect(a.reduce((x, y) => x + y, 0)).toBe(1600);
    expect(counts(1, 0.3)).toEqual(a);
    expect(counts(2, 0.3)).not.toEqual(a);
    expect(Math.max(...a) / Math.min(...a)).toBeGreaterThan(1.5);
    expect(counts(1, 0)).toEqual(Array.from({ length: 32 }, () => 50));
    expect(() => GeneratorSource({ splits: 2, splitSizeSigma: 0.3 })).toThrow(/splitSizeSigma/);
  });

  it("produces the same data whatever the parallelism (per split and as a whole)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.boolean(),
        (records, splits, p, seed, zipf) => {
          const opts: GeneratorSourceOptions = {
            records,
            splits,
            keys: { count: 5, distribution: zipf ? "zipf" : "uniform", exponent: 1.2 },
            eventTime: { startMs: 1000, intervalMs: 10, maxDisorderMs: 30 },
            value: (seq, key, rng, ts) => ({ seq, key, ts, x: rng.int(0, 1000) }),
          };
          const one = readAll(GeneratorSource(opts), seed, 1);
          const many = readAll(GeneratorSource(opts), seed, p);
          expect(bySplit(many)).toEqual(bySplit(one));
          expect(one.length).toBe(records);
          // seq is dense and unique over splits
          expect(one.map((r) => (r.value as { seq: number }).seq).sort((a, b) => a - b)).toEqual([...Array(records).keys()]);
        },
      ),
      { numRuns: propRuns(60) },
    );
  });

  it("a different seed gives different data; the default record is { key, seq }", () => {
    const opts = { records: 20, splits: 2, keys: { count: 1000, distribution: "uniform" as const } };
    const a = readAll(GeneratorSource(opts), 1, 1);
    expect(readAll(GeneratorSource(opts), 2, 1)).not.toEqual(a);
    expect(a[0]!.value).toEqual({ key: expect.any(Number), seq: 0 });
    expect(Number.isNaN(a[0]!.ts)).toBe(true);
  });

  it("event timestamps have bounded disorder, and per split nothing is late for a watermark bound ≥ the disorder", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 100 }), (seed, interval, disorder) => {
        const reads = readAll(
          GeneratorSource({ records: 200, splits: 3, eventTime: { startMs: -500, intervalMs: interval, maxDisorderMs: disorder } }),
          seed,
          1, // one reader with three splits, round-robin
        );
        const perSplit = new Map<string, number>();
        const readerWm = new BoundedOutOfOrdernessWatermarks(disorder);
        for (const r of reads) {
          const i = perSplit.get(r.split) ?? 0;
          perSplit.set(r.split, i + 1);
          const ideal = -500 + i * interval;
          expect(r.ts).toBeLessThanOrEqual(ideal);
          expect(r.ts).toBeGreaterThanOrEqual(ideal - disorder);
          expect(Number.isInteger(r.ts)).toBe(true);
          expect(r.ts).toBeGreaterThan(readerWm.currentWatermark()); // not late
          readerWm.onEvent(r.ts);
        }
      }),
      { numRuns: propRuns(100) },
    );
  });

  it("rate limiting: record i of a split is available i × 1e9 / rate ns after the reader got the split", () => {
    const spec = GeneratorSource({ records: 5, splits: 1, ratePerSecond: 1000 });
    const [split] = spec.createSplits(4, sourceRng(Rng.root(1), "Source: s"));
    const reader = spec.createReader(0, readerRng(Rng.root(1), "Source: s", 0));
    expect(reader.nextAvailableNs(0)).toBe(Infinity); // no split yet
    reader.addSplit(split!);
    const got: unknown[] = [];
    const emit = (v: unknown) => got.push(v);
    expect(reader.nextAvailableNs(5_000)).toBe(5_000); // anchored now: record 0 is due
    expect(reader.poll(5_000, 10, emit)).toBe(1);
    expect(reader.nextAvailableNs(5_000)).toBe(5_000 + 1_000_000);
    expect(reader.poll(5_000 + 999_999, 10, emit)).toBe(0);
    expect(reader.poll(5_000 + 2_000_000, 10, emit)).toBe(2);
    expect(reader.poll(5_000 + 9_000_000, 1, emit)).toBe(1); // maxRecords respected
    expect(reader.poll(5_000 + 9_000_000, 10, emit)).toBe(1);
    expect(reader.isFinished()).toBe(false); // noMoreSplits not yet called
    reader.noMoreSplits();
    expect(reader.isFinished()).toBe(true);
    expect(reader.nextAvailableNs(1e10)).toBe(Infinity);
    expect(got.length).toBe(5);
  });

  it("an unbounded generator never finishes and is always available without a rate", () => {
    const spec = GeneratorSource({ splits: 2 });
    expect(spec.bounded).toBe(false);
    const reader = spec.createReader(0, Rng.root(1));
    for (const s of spec.createSplits(1, Rng.root(1))) reader.addSplit(s);
    reader.noMoreSplits();
    expect(reader.poll(0, 100, () => {})).toBe(100);
    expect(reader.nextAvailableNs(7)).toBe(7);
    expect(reader.isFinished()).toBe(false);
  });

  it("seek restores a reader to its offsets: the records that follow are the same", () => {
    const opts: GeneratorSourceOptions = {
      records: 40,
      splits: 2,
      keys: { count: 7, distribution: "zipf" },
      value: (seq, key, rng) => ({ seq, key, r: rng.double() }),
    };
    const spec = GeneratorSource(opts);
    const root = Rng.root(3);
    const first = spec.createReader(0, root) as CheckpointableReader;
    const splits = spec.createSplits(1, sourceRng(root, "Source: s"));
    for (const s of splits) first.addSplit(s);
    first.noMoreSplits();
    first.poll(END, 13, () => {});
    const offsets = first.currentOffsets();
    expect(offsets).toEqual([
      { splitId: "split-0", offset: 7 },
      { splitId: "split-1", offset: 6 },
    ]);
    // Interleaving across splits may differ after a restore; each split's records may not.
    const rest: [string, unknown][] = [];
    const collect = (into: [string, unknown][]): SplitAwareEmit => (v, _ts, split) => into.push([split!, v]);
    const sorted = (xs: [string, unknown][]) => [...xs].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    while (!first.isFinished()) first.poll(END, 100, collect(rest));

    const restored = spec.createReader(0, root) as CheckpointableReader;
    for (const s of spec.createSplits(1, sourceRng(root, "Source: s"))) restored.addSplit(s);
    restored.noMoreSplits();
    restored.seek(offsets);
    const again: [string, unknown][] = [];
    while (!restored.isFinished()) restored.poll(END, 100, collect(again));
    expect(sorted(again)).toEqual(sorted(rest));
  });

  it("validates options, naming the field", () => {
    expect(() => GeneratorSource({ splits: 0 })).toThrow(/GeneratorSource.splits/);
    expect(() => GeneratorSource({ splits: 1, records: -1 })).toThrow(/GeneratorSource.records/);
    expect(() => GeneratorSource({ splits: 1, ratePerSecond: 0 })).toThrow(/GeneratorSource.ratePerSecond/);
    expect(() => GeneratorSource({ splits: 1, keys: { count: 0, distribution: "uniform" } })).toThrow(/GeneratorSource.keys.count/);
    expect(() => GeneratorSource({ splits: 1, eventTime: { startMs: 0, intervalMs: 1, maxDisorderMs: -1 } })).toThrow(/maxDisorderMs/);
  });
});

describe("PartitionedLogSource", () => {
  it("reads explicit partitions by offset; appends are paced from the producer's start, not the reader's", () => {
    const spec = PartitionedLogSource({ partitions: 2, data: [["a", "b", "c"], ["x"]], ratePerSecond: 1, startNs: 100, timestamp: (_r, p, o) => p * 1000 + o });
    expect(spec.bounded).toBe(true);
    const splits = spec.createSplits(1, Rng.root(1));
    expect(splits.map((s) => s.splitId)).toEqual(["partition-0", "partition-1"]);
    const reader = spec.createReader(0, Rng.root(1));
    for (const s of splits) reader.addSplit(s);
    reader.noMoreSplits();
    const got: [unknown, number, string][] = [];
    const emit: SplitAwareEmit = (v, ts, split) => got.push([v, ts, split!]);
    // A reader that starts late finds a backlog.
    expect(reader.nextAvailableNs(0)).toBe(100);
    expect(reader.poll(1e9 + 100, 10, emit)).toBe(3);
    expect(got).toEqual([
      ["a", 0, "partition-0"],
      ["x", 1000, "partition-1"],
      ["b", 1, "partition-0"],
    ]);
    expect(reader.nextAvailableNs(1e9 + 100)).toBe(2e9 + 100);
    expect(reader.currentOffsets()).toEqual([
      { splitId: "partition-0", offset: 2 },
      { splitId: "partition-1", offset: 1 },
    ]);
    reader.seek([{ splitId: "partition-0", offset: 0 }]);
    expect(reader.poll(END, 10, emit)).toBe(3);
    expect(got.slice(3).map((g) => g[0])).toEqual(["a", "b", "c"]);
    expect(reader.isFinished()).toBe(true);
  });

  it("a generated log is deterministic, re-readable and may be unbounded", () => {
    const gen = (p: number, o: number, rng: Rng) => `${p}:${o}:${rng.int(0, 100)}`;
    const read = (recordsPerPartition: number | undefined, n: number) => {
      const spec = PartitionedLogSource({ partitions: 3, generator: gen, ...(recordsPerPartition !== undefined ? { recordsPerPartition } : {}) });
      const reader = spec.createReader(0, Rng.root(9));
      for (const s of spec.createSplits(1, Rng.root(9).child("src"))) reader.addSplit(s);
      reader.noMoreSplits();
      const got: unknown[] = [];
      reader.poll(END, n, (v) => got.push(v));
      return { got, finished: reader.isFinished(), bounded: spec.bounded };
    };
    const bounded = read(4, 100);
    expect(bounded.got.length).toBe(12);
    expect(bounded.finished).toBe(true);
    const unbounded = read(undefined, 12);
    expect(unbounded.bounded).toBe(false);
    expect(unbounded.finished).toBe(false);
    expect(unbounded.got).toEqual(bounded.got);
  });

  it("validates options", () => {
    expect(() => PartitionedLogSource({ partitions: 2, data: [["a"]] })).toThrow(/PartitionedLogSource.data/);
    expect(() => PartitionedLogSource({ partitions: 1 })).toThrow(/exactly one of/);
    expect(() => PartitionedLogSource({ partitions: 1, data: [[]], recordsPerPartition: 3 })).toThrow(/recordsPerPartition/);
  });
});
