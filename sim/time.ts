/**
 * Virtual time: an integer number of nanoseconds held in a JS number (exact to 2^53 ns,
 * about 104 days). Durations parse from strings such as "250ms", "1.5s", "2m", "1h".
 * Invariant: every value produced here is a non-negative safe integer.
 */
import { InputError } from "./errors";

export type Ns = number;

export const NS_PER_US = 1_000;
export const NS_PER_MS = 1_000_000;
export const NS_PER_S = 1_000_000_000;
export const NS_PER_MIN = 60 * NS_PER_S;
export const NS_PER_H = 60 * NS_PER_MIN;

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: NS_PER_US,
  µs: NS_PER_US,
  ms: NS_PER_MS,
  s: NS_PER_S,
  sec: NS_PER_S,
  m: NS_PER_MIN,
  min: NS_PER_MIN,
  h: NS_PER_H,
  d: 24 * NS_PER_H,
};

const DURATION_RE = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-zµ]+)\s*$/i;

/**
 * Parses a duration into whole nanoseconds. A bare number is taken as nanoseconds only
 * when it is a non-negative integer; strings must carry a unit so "100" is never
 * mistaken for 100 ms. `field` names the input in the error message.
 */
export function parseDuration(input: unknown, field: string): Ns {
  if (typeof input === "number") {
    if (!Number.isSafeInteger(input) || input < 0) {
      throw new InputError(field, `a duration in ns must be a non-negative integer, got ${input}`);
    }
    return input;
  }
  if (typeof input !== "string") {
    throw new InputError(field, `expected a duration such as "250ms" or "1.5s", got ${describe(input)}`);
  }
  const match = DURATION_RE.exec(input);
  if (match === null) {
    throw new InputError(field, `bad duration "${input}" (expected a number and a unit: ns, us, ms, s, m, h, d)`);
  }
  const unit = UNIT_NS[match[2]!.toLowerCase()];
  if (unit === undefined) {
    throw new InputError(field, `bad duration "${input}": unknown unit "${match[2]}" (use ns, us, ms, s, m, h, d)`);
  }
  const exact = Number(match[1]) * unit;
  const ns = Math.round(exact);
  if (Math.abs(exact - ns) > 1e-6 * Math.max(1, ns)) {
    throw new InputError(field, `bad duration "${input}": not a whole number of nanoseconds`);
  }
  if (!Number.isSafeInteger(ns)) {
    throw new InputError(field, `bad duration "${input}": too long (limit about 104 days)`);
  }
  return ns;
}

/**
 * Formats nanoseconds for people: the largest unit in which the value is exact with at
 * most three decimals (so parseDuration(formatDuration(x)) === x for such values); a
 * value of a second or more that is only exact in µs or ns is shown to 3 decimals of a
 * second instead, because nobody reads "60059994.502us".
 */
export function formatDuration(ns: Ns): string {
  const abs = Math.abs(ns);
  for (const [unit, size] of FORMAT_UNITS) {
    if (abs < size || abs % (size / 1000) !== 0) continue;
    if (size < NS_PER_MS && abs >= NS_PER_S) break;
    return `${Number((ns / size).toFixed(3))}${unit}`;
  }
  if (abs >= NS_PER_S) return `${(ns / NS_PER_S).toFixed(3)}s`;
  return `${ns}ns`;
}

const FORMAT_UNITS: [string, number][] = [
  ["h", NS_PER_H],
  ["m", NS_PER_MIN],
  ["s", NS_PER_S],
  ["ms", NS_PER_MS],
  ["us", NS_PER_US],
];

export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "object") return Array.isArray(value) ? "an array" : "an object";
  return `${typeof value} ${String(value)}`;
}
