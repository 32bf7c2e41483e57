import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { propRuns, propSeed } from "../../../test/prop";
import { InputError, InvariantError } from "../../../sim/errors";
import {
  DEFAULT_DECIDER_OPTIONS,
  type DeciderInput,
  type DeciderOptions,
  defaultParallelismDecider,
  describeRanges,
  forwardGroupParallelism,
  type VertexToDecide,
} from "./parallelism-decider";

const MiB = 1024 * 1024;

/** An input whose partition p, subpartition s holds `cell(p, s)` bytes. */
function input(
  name: string,
  numPartitions: number,
  numSubpartitions: number,
  cell: (p: number, s: number) => number,
  extra: Partial<Pick<DeciderInput, "pattern" | "broadcast">> = {},
): DeciderInput {
  return {
    name,
    pattern: extra.pattern ?? "ALL_TO_ALL",
    broadcast: extra.broadcast ?? false,
    numPartitions,
    numSubpartitions,
    subpartitionBytes: Array.from({ length: numPartitions }, (_, p) =>
      Array.from({ length: numSubpartitions }, (_, s) => cell(p, s)),
    ),
  };
}

/** One partition with these per-subpartition bytes. */
function oneRow(name: string, bytes: number[]): DeciderInput {
  return input(name, 1, bytes.length, (_, s) => bytes[s]!);
}

function decide(vertex: VertexToDecide, options: Partial<DeciderOptions> = {}) {
  return defaultParallelismDecider({ ...DEFAULT_DECIDER_OPTIONS, ...options }).decide(vertex);
}

describe("default parallelism decider: hand-computed cases", () => {
  it("uniform volumes: 8 subpartitions of 8 MiB pack two per 16 MiB task", () => {
    const d = decide({ name: "agg", maxParallelism: 8, inputs: [input("r", 2, 8, () => 4 * MiB)] });
    expect(d.parallelism).toBe(4);
    expect(d.record.path).toBe("even-data");
    expect(describeRanges(d.inputRanges[0]!)).toBe("[0,1] [2,3] [4,5] [6,7]");
    expect(d.inputRanges[0]!.every((r) => r.partitionRange.start === 0 && r.partitionRange.end === 1)).toBe(true);
    expect(d.record.nonBroadcastBytes).toBe(64 * MiB);
  });

  it("skewed subpartitions: an oversized one stands alone, the rest pack up to 16 MiB", () => {
    const d = decide({ name: "agg", maxParallelism: 6, inputs: [oneRow("r", [20, 1, 1, 1, 14, 3].map((m) => m * MiB))] });
    // 20 alone (overshoot); 1+1+1 = 3, +14 = 17 > 16 → close; 14+3 = 17 > 16 → close; 3.
    expect(describeRanges(d.inputRanges[0]!)).toBe("[0,0] [1,3] [4,4] [5,5]");
    expect(d.parallelism).toBe(4);
  });

  it("sums bytes over inputs and partitions per subpartition index", () => {
    const a = oneRow("a", [10 * MiB, 0, 10 * MiB]);
    const b = input("b", 2, 3, (_, s) => (s === 1 ? 8 * MiB : 0));
    // per subpartition: 10, 16, 10 → each alone (10+16 > 16, 16+10 > 16).
    const d = decide({ name: "join", maxParallelism: 3, inputs: [a, b] });
    expect(d.parallelism).toBe(3);
    expect(describeRanges(d.inputRanges[1]!)).toBe("[0,0] [1,1] [2,2]");
  });

  it("a broadcast input is excluded from the volume and read as [0,0] by every task", () => {
    const big = input("dim", 3, 1, () => 1024 * MiB, { broadcast: true });
    const d = decide({ name: "join", maxParallelism: 8, inputs: [input("fact", 2, 8, () => 4 * MiB), big] });
    expect(d.parallelism).toBe(4);
    expect(d.record.nonBroadcastBytes).toBe(64 * MiB);
    expect(d.inputRanges[1]!).toHaveLength(4);
    for (const r of d.inputRanges[1]!) {
      expect(r.subpartitionRange).toEqual({ start: 0, end: 0 });
      expect(r.partitionRange).toEqual({ start: 0, end: 2 });
    }
  });

  it("only broadcast inputs: the min parallelism, evenly", () => {
    const d = decide(
      { name: "v", maxParallelism: 8, inputs: [input("dim", 2, 1, () => 100 * MiB, { broadcast: true })] },
      { minParallelism: 3 },
    );
    expect(d.parallelism).toBe(3);
    expect(d.record.path).toBe("even-subpartitions");
  });

  it("min clamp: bisection finds the largest limit giving ≥ min tasks, then the smallest limit for that count", () => {
    const d = decide({ name: "v", maxParallelism: 4, inputs: [oneRow("r", [MiB, MiB, MiB, MiB])] }, { minParallelism: 2 });
    expect(d.record.greedyParallelism).toBe(1);
    expect(d.record.path).toBe("even-data-bisected");
    expect(d.record.adjustedVolumeLimitBytes).toBe(2 * MiB);
    expect(describeRanges(d.inputRanges[0]!)).toBe("[0,1] [2,3]");
  });

  it("max clamp: bisection finds the smallest limit giving ≤ max tasks", () => {
    const d = decide({ name: "v", maxParallelism: 8, inputs: [oneRow("r", new Array(8).fill(10 * MiB))] }, { maxParallelism: 3 });
    expect(d.record.greedyParallelism).toBe(8);
    expect(d.record.adjustedVolumeLimitBytes).toBe(30 * MiB);
    expect(describeRanges(d.inputRanges[0]!)).toBe("[0,2] [3,5] [6,7]");
  });

  it("the vertex max parallelism narrows the global max", () => {
    const d = decide({ name: "v", maxParallelism: 2, inputs: [oneRow("r", [10 * MiB, 10 * MiB, 10 * MiB, 10 * MiB])] });
    expect(d.record.maxParallelism).toBe(2);
    expect(d.parallelism).toBe(2);
    expect(describeRanges(d.inputRanges[0]!)).toBe("[0,1] [2,3]");
  });

  it("no legal value: falls back to ceil(bytes / avg) clamped, with subpartitions split evenly", () => {
    // Zero-byte subpartitions always merge, so no limit yields more than 2 ranges; min is 4.
    const d = decide({ name: "v", maxParallelism: 4, inputs: [oneRow("r", [0, 0, 0, 5 * MiB])] }, { minParallelism: 4 });
    expect(d.record.greedyParallelism).toBe(1);
    expect(d.record.path).toBe("even-subpartitions-fallback");
    expect(d.parallelism).toBe(4);
    expect(describeRanges(d.inputRanges[0]!)).toBe("[0,0] [1,1] [2,2] [3,3]");
  });

  it("the 32768 / numPartitions cap on a range's subpartition count", () => {
    // 16384 partitions → a task may read at most 2 subpartitions, even of empty data.
    const d = decide({ name: "v", maxParallelism: 6, inputs: [input("r", 16384, 6, () => 0)] });
    expect(describeRanges(d.inputRanges[0]!)).toBe("[0,1] [2,3] [4,5]");
    // 8192 partitions → at most 4; 5461 → at most 6, so everything fits one task.
    const looser = decide({ name: "v", maxParallelism: 6, inputs: [input("r", 8192, 6, () => 0)] });
    expect(describeRanges(looser.inputRanges[0]!)).toBe("[0,3] [4,5]");
    expect(decide({ name: "v", maxParallelism: 6, inputs: [input("r", 5461, 6, () => 0)] }).parallelism).toBe(1);
  });

  it("a source takes its user parallelism, else the default source parallelism capped by its max", () => {
    expect(decide({ name: "s", maxParallelism: 128, inputs: [], userParallelism: 5 }).record.path).toBe("source-user");
    expect(decide({ name: "s", maxParallelism: 128, inputs: [], userParallelism: 5 }).parallelism).toBe(5);
    const dflt = decide({ name: "s", maxParallelism: 128, inputs: [] }, { defaultSourceParallelism: 3 });
    expect([dflt.parallelism, dflt.record.path]).toEqual([3, "source-default"]);
    expect(decide({ name: "s", maxParallelism: 2, inputs: [] }, { defaultSourceParallelism: 3 }).parallelism).toBe(2);
  });

  it("a source's own inference (FLIP-379) replaces the default, capped by its max; a user parallelism still wins", () => {
    const inferred = decide({ name: "s", maxParallelism: 128, inputs: [], inferredSourceParallelism: 7 }, { defaultSourceParallelism: 3 });
    expect([inferred.parallelism, inferred.record.path]).toEqual([7, "source-inferred"]);
    expect(decide({ name: "s", maxParallelism: 4, inputs: [], inferredSourceParallelism: 7 }).parallelism).toBe(4);
    expect(decide({ name: "s", maxParallelism: 128, inputs: [], userParallelism: 2, inferredSourceParallelism: 7 }).record.path).toBe("source-user");
  });

  it("a user-set parallelism is kept and subpartitions are split evenly by count", () => {
    const d = decide({ name: "v", maxParallelism: 8, userParallelism: 3, inputs: [input("r", 1, 8, () => 100 * MiB)] });
    expect(d.record.path).toBe("user-parallelism");
    expect(describeRanges(d.inputRanges[0]!)).toBe("[0,1] [2,4] [5,7]");
  });

  it("a pointwise input: p = ceil(bytes / avg), each partition split among its consumers", () => {
    const pw = input("r", 2, 4, () => 6 * MiB, { pattern: "POINTWISE" }); // 48 MiB → 3 tasks
    const d = decide({ name: "v", maxParallelism: 4, inputs: [pw] });
    expect(d.record.path).toBe("even-subpartitions");
    expect(d.inputRanges[0]!.map((r) => [r.subtask, r.partitionRange.start, r.subpartitionRange.start, r.subpartitionRange.end])).toEqual([
      [0, 0, 0, 1],
      [1, 0, 2, 3],
      [2, 1, 0, 3],
    ]);
  });

  it("the even-subpartition rule needs at least ceil(maxSubpartitions / 32768) tasks", () => {
    const pw = input("r", 40000, 2, () => 0, { pattern: "POINTWISE" }); // 80000 subpartitions → ≥ 3
    expect(decide({ name: "v", maxParallelism: 2048, inputs: [pw] }).parallelism).toBe(3);
  });

  it("the record carries the decision's inputs and a one-line summary", () => {
    const d = decide({ name: "agg", maxParallelism: 8, inputs: [input("r", 2, 8, () => 4 * MiB)] });
    expect(d.record.inputs).toEqual([
      { name: "r", pattern: "ALL_TO_ALL", broadcast: false, numPartitions: 2, numSubpartitions: 8, totalBytes: 64 * MiB },
    ]);
    expect(d.record.summary).toContain("agg: parallelism 4 by even-data");
    expect(d.record.summary).not.toContain("\n");
  });

  it("rejects invalid options and inputs with one clear line", () => {
    expect(() => defaultParallelismDecider({ ...DEFAULT_DECIDER_OPTIONS, minParallelism: 5, maxParallelism: 2 })).toThrow(
      /max-parallelism: must be ≥ min-parallelism \(5\), got 2/,
    );
    expect(() => defaultParallelismDecider({ ...DEFAULT_DECIDER_OPTIONS, avgDataVolumePerTaskBytes: 0 })).toThrow(InputError);
    const bad = { ...oneRow("r", [1, 2]), numSubpartitions: 3 };
    expect(() => decide({ name: "v", maxParallelism: 3, inputs: [bad] })).toThrow(/has 2 subpartitions, expected 3/);
    expect(() => decide({ name: "v", maxParallelism: 3, inputs: [oneRow("r", [1, -1])] })).toThrow(InputError);
    expect(() => decide({ name: "v", maxParallelism: 2, userParallelism: 3, inputs: [] })).toThrow(/exceeds the vertex max/);
    expect(() => decide({ name: "v", maxParallelism: 3, inputs: [oneRow("a", [1, 2]), oneRow("b", [1, 2, 3])] })).toThrow(
      /equal subpartition counts/,
    );
  });
});

describe("forward groups", () => {
  it("a user-set parallelism is the group's; the decider is not asked", () => {
    let asked = false;
    const g = forwardGroupParallelism(
      [{ name: "a", maxParallelism: 128 }, { name: "b", maxParallelism: 64, userParallelism: 7 }],
      () => ((asked = true), 1),
    );
    expect(g).toEqual({ parallelism: 7, maxParallelism: 64, decidedBy: "user" });
    expect(asked).toBe(false);
  });

  it("otherwise the decider decides once for the group, bounded by the smallest member max", () => {
    const seen: number[] = [];
    const g = forwardGroupParallelism([{ name: "a", maxParallelism: 128 }, { name: "b", maxParallelism: 16 }], (max) => {
      seen.push(max);
      return decide({ name: "a", maxParallelism: max, inputs: [oneRow("r", new Array(max).fill(16 * MiB))] }).parallelism;
    });
    expect(seen).toEqual([16]);
    expect(g).toEqual({ parallelism: 16, maxParallelism: 16, decidedBy: "decider" });
  });

  it("conflicting user parallelisms are an input error; a decision beyond the group max an invariant error", () => {
    expect(() =>
      forwardGroupParallelism(
        [{ name: "a", maxParallelism: 8, userParallelism: 2 }, { name: "b", maxParallelism: 8, userParallelism: 3 }],
        () => 1,
      ),
    ).toThrow(/differs from "a"'s 2/);
    expect(() => forwardGroupParallelism([{ name: "a", maxParallelism: 4 }], () => 5)).toThrow(InvariantError);
  });
});

describe("default parallelism decider: properties", () => {
  const caseArb = fc
    .record({
      numSubpartitions: fc.integer({ min: 1, max: 20 }),
      inputs: fc.array(
        fc.record({
          numPartitions: fc.integer({ min: 1, max: 4 }),
          pointwise: fc.boolean(),
          broadcast: fc.boolean(),
          seed: fc.array(fc.nat({ max: 60 }), { minLength: 80, maxLength: 80 }),
        }),
        { minLength: 1, maxLength: 3 },
      ),
      avg: fc.integer({ min: 1, max: 100 }),
      min: fc.integer({ min: 1, max: 6 }),
      span: fc.integer({ min: 0, max: 25 }),
    })
    .map((c) => ({
      options: { ...DEFAULT_DECIDER_OPTIONS, avgDataVolumePerTaskBytes: c.avg, minParallelism: c.min, maxParallelism: c.min + c.span },
      vertex: {
        name: "v",
        maxParallelism: c.numSubpartitions,
        inputs: c.inputs.map((i, k) => {
          const subs = i.broadcast ? 1 : c.numSubpartitions;
          return input(`in${k}`, i.numPartitions, subs, (p, s) => i.seed[(p * subs + s) % 80]!, {
            pattern: i.pointwise ? "POINTWISE" : "ALL_TO_ALL",
            broadcast: i.broadcast,
          });
        }),
      } satisfies VertexToDecide,
    }));

  it("ranges cover every (partition, subpartition) once, parallelism stays in bounds, packed ranges respect the volume", () => {
    fc.assert(
      fc.property(caseArb, ({ options, vertex }) => {
        const d = defaultParallelismDecider(options).decide(vertex);
        const minP = Math.min(options.minParallelism, vertex.maxParallelism);
        const maxP = Math.min(options.maxParallelism, vertex.maxParallelism);
        expect(d.parallelism).toBeGreaterThanOrEqual(minP);
        expect(d.parallelism).toBeLessThanOrEqual(maxP);
        vertex.inputs.forEach((inp, k) => {
          const ranges = d.inputRanges[k]!;
          expect(ranges.map((r) => r.subtask).sort((a, b) => a - b)).toEqual(
            Array.from({ length: d.parallelism }, (_, i) => i),
          );
          if (inp.broadcast) {
            for (const r of ranges) expect(r.subpartitionRange).toEqual({ start: 0, end: 0 });
            return;
          }
          const reads = inp.subpartitionBytes.map((row) => row.map(() => 0));
          for (const r of ranges) {
            expect(r.partitionRange.start).toBeLessThanOrEqual(r.partitionRange.end);
            expect(r.subpartitionRange.start).toBeLessThanOrEqual(r.subpartitionRange.end);
            for (let p = r.partitionRange.start; p <= r.partitionRange.end; p++) {
              for (let s = r.subpartitionRange.start; s <= r.subpartitionRange.end; s++) reads[p]![s]! += 1;
            }
          }
          expect(reads.flat().every((n) => n === 1)).toBe(true);
        });
        if (d.record.path === "even-data" || d.record.path === "even-data-bisected") {
          const limit = d.record.adjustedVolumeLimitBytes ?? options.avgDataVolumePerTaskBytes;
          const k = vertex.inputs.findIndex((i) => !i.broadcast);
          const ranges = d.inputRanges[k]!;
          // Contiguous in subtask order, from 0 to the last subpartition.
          ranges.forEach((r, i) => expect(r.subpartitionRange.start).toBe(i === 0 ? 0 : ranges[i - 1]!.subpartitionRange.end + 1));
          expect(ranges.at(-1)!.subpartitionRange.end).toBe(vertex.maxParallelism - 1);
          for (const r of ranges) {
            let bytes = 0;
            for (const inp of vertex.inputs.filter((i) => !i.broadcast)) {
              for (const row of inp.subpartitionBytes) {
                for (let s = r.subpartitionRange.start; s <= r.subpartitionRange.end; s++) bytes += row[s]!;
              }
            }
            if (r.subpartitionRange.start !== r.subpartitionRange.end) expect(bytes).toBeLessThanOrEqual(limit);
          }
          if (d.record.path === "even-data") expect(limit).toBe(options.avgDataVolumePerTaskBytes);
        }
      }),
      { numRuns: propRuns(300), seed: propSeed() },
    );
  });

  it("the greedy count is kept whenever it is already legal", () => {
    fc.assert(
      fc.property(caseArb, ({ options, vertex }) => {
        const d = defaultParallelismDecider(options).decide(vertex);
        const g = d.record.greedyParallelism;
        if (g !== undefined && g >= d.record.minParallelism && g <= d.record.maxParallelism) {
          expect(d.record.path).toBe("even-data");
          expect(d.parallelism).toBe(g);
        }
      }),
      { numRuns: propRuns(200), seed: propSeed() },
    );
  });
});
