import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { propRuns } from "../test/prop";
import { InputError } from "../sim/errors";
import {
  COST_FIELDS,
  DEFAULT_COSTS,
  RECORD_KINDS,
  checkOperatorCost,
  compressionNs,
  decompressionNs,
  deserializationNs,
  recordCpuNs,
  serializationNs,
  sortNs,
  stateAccessNs,
  withCosts,
  type CostModel,
} from "./costs";

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error("expected an InputError, nothing was thrown");
}

/** A model where every field is 1 except those given, to check which fields a formula uses. */
function unitCosts(fields: Partial<Record<keyof CostModel, number>> = {}): CostModel {
  const all = Object.fromEntries(COST_FIELDS.map((f) => [f, 1]));
  return withCosts({ ...all, ...fields });
}

describe("DEFAULT_COSTS", () => {
  it("has only finite, non-negative fields named with their unit last", () => {
    for (const field of COST_FIELDS) {
      const value = DEFAULT_COSTS[field];
      expect(Number.isFinite(value), field).toBe(true);
      expect(value, field).toBeGreaterThanOrEqual(0);
      expect(field, field).toMatch(/NsPer(Record|Byte|Buffer|Access|Timer|Watermark|Comparison|Checkpoint|Entry|Task)$/);
    }
    expect(withCosts({})).toEqual(DEFAULT_COSTS);
    expect(Object.isFrozen(DEFAULT_COSTS)).toBe(true);
  });

  it("keeps the orders of magnitude the sources give", () => {
    // RocksDB access ≈ 10× heap (flink-benchmarks listAppend 315 vs 3,024 ops/ms).
    const ratio = DEFAULT_COSTS.rocksdbStateNsPerAccess / DEFAULT_COSTS.heapStateNsPerAccess;
    expect(ratio).toBeGreaterThan(5);
    expect(ratio).toBeLessThan(20);
    // BATCH's single-key backend is far cheaper than the heap backend.
    expect(DEFAULT_COSTS.batchStateNsPerAccess).toBeLessThan(DEFAULT_COSTS.heapStateNsPerAccess / 10);
    // LZ4 decompresses several times faster than it compresses.
    expect(DEFAULT_COSTS.compressNsPerByte / DEFAULT_COSTS.decompressNsPerByte).toBeGreaterThan(5);
    // A full 32 KiB buffer of small records amortizes the per-buffer cost below 1 ns/record.
    const recordsPerBuffer = Math.floor((32 * 1024) / 13);
    expect(DEFAULT_COSTS.bufferSendNsPerBuffer / recordsPerBuffer).toBeLessThan(1);
  });
});

describe("recordCpuNs", () => {
  it("charges the framework share of each kind at the defaults", () => {
    const c = DEFAULT_COSTS;
    expect(recordCpuNs(undefined, "source")).toBe(30);
    expect(recordCpuNs(undefined, "map")).toBe(15);
    expect(recordCpuNs(undefined, "filter")).toBe(15);
    expect(recordCpuNs(undefined, "flatMap")).toBe(15);
    expect(recordCpuNs(undefined, "process")).toBe(15);
    expect(recordCpuNs(undefined, "sink")).toBe(100);
    // keyed: call + key context + 2 heap accesses (read-modify-write).
    expect(recordCpuNs(undefined, "keyed")).toBe(15 + 40 + 2 * 250);
    // window: call + key context + assignment + timer registration + 1 heap access.
    expect(recordCpuNs(undefined, "window")).toBe(15 + 40 + 50 + 100 + 250);
    expect(recordCpuNs({}, "keyed", c)).toBe(recordCpuNs(undefined, "keyed", c));
  });

  it("adds the operator's own cost and its declared state accesses", () => {
    expect(recordCpuNs({ cpuNsPerRecord: 1_000 }, "map")).toBe(1_015);
    expect(recordCpuNs({ cpuNsPerRecord: 500, stateAccessesPerRecord: 3 }, "keyed")).toBe(15 + 40 + 500 + 3 * 250);
    expect(recordCpuNs({ stateAccessesPerRecord: 0 }, "keyed")).toBe(55);
    // A map that declares state accesses pays for them too.
    expect(recordCpuNs({ stateAccessesPerRecord: 1 }, "map")).toBe(15 + 250);
  });

  it("prices state accesses by backend", () => {
    expect(stateAccessNs("hashmap")).toBe(250);
    expect(stateAccessNs("rocksdb")).toBe(3_000);
    expect(stateAccessNs("batch")).toBe(10);
    expect(recordCpuNs(undefined, "keyed", DEFAULT_COSTS, "rocksdb")).toBe(55 + 2 * 3_000);
    expect(recordCpuNs(undefined, "keyed", DEFAULT_COSTS, "batch")).toBe(55 + 2 * 10);
    expect(recordCpuNs(undefined, "map", DEFAULT_COSTS, "rocksdb")).toBe(15);
  });

  it("uses the fields of the model it is given", () => {
    const c = withCosts({ chainedCallNsPerRecord: 7, keyContextNsPerRecord: 0, heapStateNsPerAccess: 2 });
    expect(recordCpuNs(undefined, "map", c)).toBe(7);
    expect(recordCpuNs({ cpuNsPerRecord: 3 }, "keyed", c)).toBe(7 + 3 + 4);
  });

  it("is linear in the declared cost and never negative", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...RECORD_KINDS),
        fc.constantFrom("hashmap" as const, "rocksdb" as const, "batch" as const),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 10 }),
        (kind, backend, cpu, accesses) => {
          const base = recordCpuNs({ stateAccessesPerRecord: accesses }, kind, DEFAULT_COSTS, backend);
          const withCpu = recordCpuNs({ cpuNsPerRecord: cpu, stateAccessesPerRecord: accesses }, kind, DEFAULT_COSTS, backend);
          expect(base).toBeGreaterThanOrEqual(0);
          expect(withCpu - base).toBe(cpu);
        },
      ),
      { numRuns: propRuns(200) },
    );
  });
});

describe("bytes and sorting", () => {
  it("serialization and deserialization: per record plus per byte", () => {
    expect(serializationNs(0)).toBe(20);
    expect(serializationNs(100)).toBe(20 + 100);
    expect(serializationNs(32_768, 1_000)).toBe(1_000 * 20 + 32_768);
    expect(deserializationNs(100)).toBeCloseTo(20 + 110, 9);
    expect(deserializationNs(1_000, 10)).toBeCloseTo(200 + 1_100, 9);
    const c = unitCosts({ serializeNsPerRecord: 3, serializeNsPerByte: 0.5 });
    expect(serializationNs(10, 2, c)).toBe(6 + 5);
  });

  it("compression per byte", () => {
    expect(compressionNs(1_000_000)).toBeCloseTo(1_280_000, 6);
    expect(decompressionNs(1_000_000)).toBeCloseTo(200_000, 6);
  });

  it("sortNs is n·log2(n) comparisons", () => {
    expect(sortNs(0)).toBe(0);
    expect(sortNs(1)).toBe(0);
    expect(sortNs(2)).toBe(2 * 1 * 10);
    expect(sortNs(1024)).toBe(1024 * 10 * 10);
    expect(sortNs(1 << 20)).toBe((1 << 20) * 20 * 10);
    expect(sortNs(1000, withCosts({ sortNsPerComparison: 1 }))).toBeCloseTo(1000 * Math.log2(1000), 9);
  });

  it("sortNs grows faster than linearly", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 1_000_000 }), (n) => {
        expect(sortNs(2 * n)).toBeGreaterThan(2 * sortNs(n));
      }),
      { numRuns: propRuns(200) },
    );
  });

  it("sortNs rejects a count that is not a non-negative integer", () => {
    expect(errorOf(() => sortNs(-1))).toBe("records: must be a non-negative integer, got -1");
    expect(errorOf(() => sortNs(1.5))).toBe("records: must be a non-negative integer, got 1.5");
  });
});

describe("withCosts", () => {
  it("overrides fields and leaves the base alone", () => {
    const c = withCosts({ heapStateNsPerAccess: 100, sortNsPerComparison: 0 });
    expect(c.heapStateNsPerAccess).toBe(100);
    expect(c.sortNsPerComparison).toBe(0);
    expect(c.rocksdbStateNsPerAccess).toBe(DEFAULT_COSTS.rocksdbStateNsPerAccess);
    expect(DEFAULT_COSTS.heapStateNsPerAccess).toBe(250);
    // Layering on a non-default base.
    expect(withCosts({ sortNsPerComparison: 5 }, c).heapStateNsPerAccess).toBe(100);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it.each([
    ["negative", { heapStateNsPerAccess: -1 }, "costs.heapStateNsPerAccess: must be ≥ 0, got -1"],
    ["a string", { sortNsPerComparison: "10" }, 'costs.sortNsPerComparison: expected a number of ns, got "10"'],
    ["not finite", { serializeNsPerByte: Infinity }, "costs.serializeNsPerByte: expected a number of ns, got number Infinity"],
    ["NaN", { serializeNsPerByte: NaN }, "costs.serializeNsPerByte: expected a number of ns, got number NaN"],
    [
      "an unknown field with a suggestion",
      { heapStateNsPerAcess: 1 },
      'costs.heapStateNsPerAcess: unknown cost field (did you mean "heapStateNsPerAccess"?)',
    ],
    ["an unknown field", { warpDrive: 1 }, "costs.warpDrive: unknown cost field"],
  ])("rejects %s with one line naming the field", (_name, input, message) => {
    expect(errorOf(() => withCosts(input))).toBe(message);
  });

  it("rejects a non-object and uses the caller's field name", () => {
    expect(errorOf(() => withCosts(5))).toBe("costs: expected an object of cost fields to ns, got number 5");
    expect(errorOf(() => withCosts({ sinkWriteNsPerRecord: -3 }, DEFAULT_COSTS, "scenario.costs"))).toBe(
      "scenario.costs.sinkWriteNsPerRecord: must be ≥ 0, got -3",
    );
  });
});

describe("checkOperatorCost", () => {
  it("accepts empty and valid costs, rejects negative or non-numbers", () => {
    checkOperatorCost({}, "job.map");
    checkOperatorCost({ cpuNsPerRecord: 10, recordBytes: 100, stateAccessesPerRecord: 0 }, "job.map");
    expect(errorOf(() => checkOperatorCost({ cpuNsPerRecord: -5 }, "job.map"))).toBe(
      "job.map.cpuNsPerRecord: must be ≥ 0, got -5",
    );
    expect(errorOf(() => checkOperatorCost({ recordBytes: NaN }, "job.map"))).toBe(
      "job.map.recordBytes: expected a number, got number NaN",
    );
  });
});
