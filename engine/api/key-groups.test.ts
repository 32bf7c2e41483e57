import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { propRuns } from "../../test/prop";
import {
  assignKeyToParallelOperator,
  checkKey,
  compareKeys,
  computeDefaultMaxParallelism,
  javaHashCode,
  keyGroupFor,
  keyGroupRangeForOperatorIndex,
  murmurHash,
  operatorIndexForKeyGroup,
} from "./key-groups";
import type { Key } from "./types";

/**
 * Reference values computed on a JDK (java 17+) with the Java key objects' own hashCode()
 * and Flink's MathUtils.murmurHash / KeyGroupRangeAssignment formulas:
 * [key, hashCode, murmurHash, keyGroup@128, operator@(128, p=4), keyGroup@32768, operator@(32768, p=7)].
 * Numbers map to the Java type named in key-groups.ts (Integer / Long / Double).
 */
const JAVA: [Key, number, number, number, number, number, number][] = [
  ["hello", 99162322, 1715862179, 35, 1, 31395, 6],
  ["", 0, 593689054, 94, 2, 31198, 6],
  ["a", 97, 1455541201, 81, 2, 19409, 4],
  ["flink", 97520992, 1330823394, 98, 3, 16610, 3],
  ["key-17", -1134722988, 1460463584, 96, 3, 26592, 5],
  ["\u00fcn\u00ef\u20ac\ud83d\ude00", -1256870478, 1000370404, 100, 3, 28900, 6],
  [0, 0, 593689054, 94, 2, 31198, 6],
  [1, 1, 68075478, 86, 2, 16342, 3],
  [-1, -1, 1982413648, 80, 2, 15184, 3],
  [42, 42, 1134849565, 29, 0, 28189, 6],
  [2147483647, 2147483647, 1653689534, 62, 1, 19646, 4],
  [-2147483648, -2147483648, 1718298732, 108, 3, 10348, 2],
  [3000000000, -1294967296, 77754262, 22, 0, 28566, 6], // Long
  [-3000000000, -1294967297, 1263286739, 83, 2, 14803, 3], // Long
  [9007199254740991, -2097152, 226258121, 73, 2, 27849, 5], // Long 2^53 - 1
  [2 ** 60, 268435456, 682967379, 83, 2, 16723, 3], // Long
  [1.5, 1073217536, 1684538177, 65, 2, 833, 0], // Double
  [-0.25, -1076887552, 820708682, 74, 2, 1354, 0],
  [NaN, 2146959360, 1585394089, 41, 1, 12713, 2],
  [Infinity, 2146435072, 663429370, 122, 3, 8442, 1],
  [1e300, -164130400, 1683163247, 111, 3, 2159, 0],
  [9.3e18, -723564985, 1373097921, 65, 2, 20417, 4], // ≥ 2^63: Double
  [true, 1231, 1090530765, 77, 2, 11725, 2],
  [false, 1237, 1530821891, 3, 0, 32003, 6],
];

// An independent murmurHash in BigInt arithmetic mod 2^32, written from the MurmurHash3
// reference (no Math.imul, no int32 tricks), to cross-check the fast one.
const M32 = 0xffffffffn;
const mul = (a: bigint, b: bigint) => (a * b) & M32;
const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (32n - r))) & M32;
function murmurReference(code: number): number {
  let h = BigInt(code >>> 0);
  h = mul(h, 0xcc9e2d51n);
  h = rotl(h, 15n);
  h = mul(h, 0x1b873593n);
  h = rotl(h, 13n);
  h = (mul(h, 5n) + 0xe6546b64n) & M32;
  h ^= 4n;
  h ^= h >> 16n;
  h = mul(h, 0x85ebca6bn);
  h ^= h >> 13n;
  h = mul(h, 0xc2b2ae35n);
  h ^= h >> 16n;
  const signed = h >= 0x80000000n ? Number(h) - 2 ** 32 : Number(h);
  return signed >= 0 ? signed : signed === -(2 ** 31) ? 0 : -signed;
}

/** Java String.hashCode by its definition: Σ s[i]·31^(n−1−i) mod 2^32. */
function stringHashReference(s: string): number {
  let h = 0n;
  for (let i = 0; i < s.length; i++) h = (h * 31n + BigInt(s.charCodeAt(i))) & M32;
  return Number(BigInt.asIntN(32, h));
}

describe("key groups (Flink's KeyGroupRangeAssignment)", () => {
  it("matches hashCode, murmurHash, key groups and operator indexes computed on a JDK", () => {
    for (const [key, hash, murmur, kg128, op4, kg32768, op7] of JAVA) {
      const label = String(key);
      expect(javaHashCode(key), label).toBe(hash);
      expect(murmurHash(hash), label).toBe(murmur);
      expect(keyGroupFor(key, 128), label).toBe(kg128);
      expect(operatorIndexForKeyGroup(128, 4, kg128), label).toBe(op4);
      expect(assignKeyToParallelOperator(key, 128, 4), label).toBe(op4);
      expect(keyGroupFor(key, 32768), label).toBe(kg32768);
      expect(assignKeyToParallelOperator(key, 32768, 7), label).toBe(op7);
    }
  });

  it("Java's \"hello\".hashCode() is 99162322 and murmur(Integer.MIN_VALUE) is Flink's", () => {
    expect(javaHashCode("hello")).toBe(99162322);
    expect(murmurHash(-2147483648)).toBe(1718298732);
  });

  it("−0 hashes as 0 (a Map treats them as one key)", () => {
    expect(javaHashCode(-0)).toBe(0);
    expect(keyGroupFor(-0, 128)).toBe(keyGroupFor(0, 128));
  });

  it("murmurHash agrees with a BigInt reference and is non-negative", () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (code) => {
        const m = murmurHash(code);
        expect(m).toBe(murmurReference(code));
        expect(m).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: propRuns(2000) },
    );
  });

  it("String hashCode agrees with its definition", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (s) => {
        expect(javaHashCode(s)).toBe(stringHashReference(s));
      }),
      { numRuns: propRuns(200) },
    );
  });

  it("safe integers outside int32 hash as Long: (int)(v ^ v >>> 32), checked in BigInt", () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (v) => {
        fc.pre(v < -(2 ** 31) || v > 2 ** 31 - 1); // int32-range values hash as Integer
        const b = BigInt.asUintN(64, BigInt(v));
        const expected = Number(BigInt.asIntN(32, b ^ (b >> 32n)));
        expect(javaHashCode(v)).toBe(expected);
      }),
      { numRuns: propRuns(1000) },
    );
  });

  it("key group ranges partition [0, maxParallelism) consistently with operatorIndexForKeyGroup", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2048 }), fc.integer({ min: 1, max: 2048 }), (a, b) => {
        const maxParallelism = Math.max(a, b);
        const parallelism = Math.min(a, b);
        let next = 0;
        for (let op = 0; op < parallelism; op++) {
          const { startKeyGroup, endKeyGroup } = keyGroupRangeForOperatorIndex(maxParallelism, parallelism, op);
          expect(startKeyGroup).toBe(next);
          expect(operatorIndexForKeyGroup(maxParallelism, parallelism, startKeyGroup)).toBe(op);
          expect(operatorIndexForKeyGroup(maxParallelism, parallelism, endKeyGroup)).toBe(op);
          next = endKeyGroup + 1;
        }
        expect(next).toBe(maxParallelism);
      }),
      { numRuns: propRuns(100) },
    );
  });

  it("computeDefaultMaxParallelism as Flink: roundUpToPowerOfTwo(1.5 p) within [128, 32768]", () => {
    expect(computeDefaultMaxParallelism(1)).toBe(128);
    expect(computeDefaultMaxParallelism(100)).toBe(256);
    expect(computeDefaultMaxParallelism(1000)).toBe(2048);
    expect(computeDefaultMaxParallelism(30000)).toBe(32768);
  });

  it("compareKeys is a total order: booleans < numbers < strings, NaN last among numbers", () => {
    const keys: Key[] = ["b", 2, true, "a", NaN, -1, false, "", 2];
    expect([...keys].sort(compareKeys)).toEqual([false, true, -1, 2, 2, NaN, "", "a", "b"]);
    const key = fc.oneof(fc.string(), fc.double(), fc.boolean()) as fc.Arbitrary<Key>;
    fc.assert(
      fc.property(key, key, key, (a, b, c) => {
        expect(Math.sign(compareKeys(a, b))).toBe(-Math.sign(compareKeys(b, a)) || 0);
        if (compareKeys(a, b) <= 0 && compareKeys(b, c) <= 0) expect(compareKeys(a, c)).toBeLessThanOrEqual(0);
      }),
      { numRuns: propRuns(1000) },
    );
  });

  it("checkKey accepts strings, numbers and booleans only", () => {
    expect(checkKey("x", "k")).toBe("x");
    expect(() => checkKey({}, "keyBy")).toThrow(/keyBy: key selector returned object/);
    expect(() => checkKey(null, "keyBy")).toThrow(/returned null/);
  });
});
