/**
 * Flink's key-group assignment (KeyGroupRangeAssignment): a key goes to key group
 * murmurHash(key.hashCode()) mod maxParallelism, and key group g to operator index
 * g × parallelism / maxParallelism. The hash partitioner and the keyed state backends use
 * these, so a key lands on the same subtask as in Flink given the same key and settings.
 *
 * Keys are JS strings, numbers and booleans; `javaHashCode` gives them the hashCode of the
 * Java value they stand for:
 * - string → java.lang.String.hashCode over UTF-16 code units (JS strings are UTF-16 too);
 * - boolean → Boolean.hashCode (1231 / 1237);
 * - number: an integral value in the int32 range → Integer.hashCode (the value); another
 *   integral value in [−2^63, 2^63) → Long.hashCode ((int)(v ^ v >>> 32)); anything else
 *   (fractions, ±Infinity, NaN, huge values) → Double.hashCode of its IEEE bits, with NaN
 *   canonicalised as doubleToLongBits does. −0 hashes as 0, because a JS Map (and so every
 *   keyed state map) treats −0 and 0 as one key.
 * Invariants: every function here is pure, allocation-free and total over `Key`.
 */
import { InputError } from "../../sim/errors";
import type { Key } from "./types";

/** Flink's KeyGroupRangeAssignment.UPPER_BOUND_MAX_PARALLELISM (1 << 15). */
export const UPPER_BOUND_MAX_PARALLELISM = 32768;

/** Flink's default when a job sets no max parallelism and the config gives none (pipeline.max-parallelism). */
export const DEFAULT_LOWER_BOUND_MAX_PARALLELISM = 128;

const TWO_POW_32 = 4294967296;
const TWO_POW_63 = 9223372036854775808;

// One scratch buffer for Double bits: no allocation per hash.
const f64 = new DataView(new ArrayBuffer(8));

/** Java's hashCode of the value a key stands for (see the module comment). */
export function javaHashCode(key: Key): number {
  if (typeof key === "string") {
    let h = 0;
    for (let i = 0; i < key.length; i++) h = (Math.imul(31, h) + key.charCodeAt(i)) | 0;
    return h;
  }
  if (typeof key === "boolean") return key ? 1231 : 1237;
  if (Number.isInteger(key)) {
    if (key >= -2147483648 && key <= 2147483647) return key | 0; // Integer; also −0 → 0
    if (key >= -TWO_POW_63 && key < TWO_POW_63) {
      // Long: (int)(v ^ (v >>> 32)) = low word XOR high word. Exact: v is integral and
      // dividing by 2^32 only shifts the exponent.
      const hi = Math.floor(key / TWO_POW_32);
      const lo = key - hi * TWO_POW_32;
      return (lo ^ hi) | 0;
    }
  }
  // Double: (int)(bits ^ (bits >>> 32)); doubleToLongBits maps every NaN to 0x7ff8000000000000.
  if (Number.isNaN(key)) return 0x7ff80000 | 0;
  f64.setFloat64(0, key);
  return (f64.getInt32(0) ^ f64.getInt32(4)) | 0;
}

/** Flink's MathUtils.murmurHash: the MurmurHash3 mixing of one int, made non-negative. */
export function murmurHash(code: number): number {
  code = Math.imul(code, 0xcc9e2d51);
  code = (code << 15) | (code >>> 17);
  code = Math.imul(code, 0x1b873593);
  code = (code << 13) | (code >>> 19);
  code = (Math.imul(code, 5) + 0xe6546b64) | 0;
  code ^= 4;
  code = bitMix(code);
  if (code >= 0) return code;
  if (code !== -2147483648) return -code;
  return 0;
}

/** Flink's MathUtils.bitMix: the MurmurHash3 32-bit finalizer. */
export function bitMix(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x | 0;
}

/** KeyGroupRangeAssignment.assignToKeyGroup: the key group in [0, maxParallelism). */
export function keyGroupFor(key: Key, maxParallelism: number): number {
  return murmurHash(javaHashCode(key)) % maxParallelism;
}

/** KeyGroupRangeAssignment.computeOperatorIndexForKeyGroup (integer division, as in Java). */
export function operatorIndexForKeyGroup(maxParallelism: number, parallelism: number, keyGroup: number): number {
  return Math.floor((keyGroup * parallelism) / maxParallelism);
}

/** KeyGroupRangeAssignment.assignKeyToParallelOperator: the subtask a key is sent to. */
export function assignKeyToParallelOperator(key: Key, maxParallelism: number, parallelism: number): number {
  return operatorIndexForKeyGroup(maxParallelism, parallelism, keyGroupFor(key, maxParallelism));
}

/** Inclusive key-group range of one operator index (computeKeyGroupRangeForOperatorIndex). */
export function keyGroupRangeForOperatorIndex(
  maxParallelism: number,
  parallelism: number,
  operatorIndex: number,
): { startKeyGroup: number; endKeyGroup: number } {
  return {
    startKeyGroup: Math.floor((operatorIndex * maxParallelism + parallelism - 1) / parallelism),
    endKeyGroup: Math.floor(((operatorIndex + 1) * maxParallelism - 1) / parallelism),
  };
}

/**
 * KeyGroupRangeAssignment.computeDefaultMaxParallelism: roundUpToPowerOfTwo(p + p/2)
 * clamped to [128, 32768] — what Flink uses when neither the job nor the config sets one.
 */
export function computeDefaultMaxParallelism(parallelism: number): number {
  const wanted = parallelism + Math.floor(parallelism / 2);
  let pow = 1;
  while (pow < wanted) pow *= 2;
  return Math.min(Math.max(pow, DEFAULT_LOWER_BOUND_MAX_PARALLELISM), UPPER_BOUND_MAX_PARALLELISM);
}

/** Validates (parallelism, maxParallelism) as Flink does at job submission. */
export function checkParallelism(field: string, parallelism: number, maxParallelism: number): void {
  if (!Number.isSafeInteger(maxParallelism) || maxParallelism < 1 || maxParallelism > UPPER_BOUND_MAX_PARALLELISM) {
    throw new InputError(`${field}.maxParallelism`, `must be an integer in [1, ${UPPER_BOUND_MAX_PARALLELISM}], got ${maxParallelism}`);
  }
  if (!Number.isSafeInteger(parallelism) || parallelism < 1 || parallelism > maxParallelism) {
    throw new InputError(`${field}.parallelism`, `must be an integer in [1, maxParallelism = ${maxParallelism}], got ${parallelism}`);
  }
}

const TYPE_RANK = { boolean: 0, number: 1, string: 2 } as const;

/**
 * A total order on keys: booleans < numbers < strings; numbers ascending with NaN last
 * (−0 equals 0, as in a Map); strings by UTF-16 code units. Used wherever keys are sorted
 * (the BATCH sort, timer ties, oracle output), so every sort is total.
 */
export function compareKeys(a: Key, b: Key): number {
  const ta = typeof a as "boolean" | "number" | "string";
  const tb = typeof b as "boolean" | "number" | "string";
  if (ta !== tb) return TYPE_RANK[ta] - TYPE_RANK[tb];
  if (ta === "number") {
    const x = a as number;
    const y = b as number;
    if (x < y) return -1;
    if (x > y) return 1;
    if (x === y) return 0;
    return Number.isNaN(x) ? (Number.isNaN(y) ? 0 : 1) : -1;
  }
  if (ta === "boolean") return (a ? 1 : 0) - (b ? 1 : 0);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Returns `key` if it is a valid Key (string, number, boolean), else throws an InputError naming `where`. */
export function checkKey(key: unknown, where: string): Key {
  const t = typeof key;
  if (t === "string" || t === "number" || t === "boolean") return key as Key;
  throw new InputError(where, `key selector returned ${key === null ? "null" : t}; keys must be strings, numbers or booleans`);
}
