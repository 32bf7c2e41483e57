/**
 * Distributions as data, for configs: a latency is `"2ms"` (constant) or an object such
 * as `{ dist: "lognormal", median: "1ms", sigma: 0.5 }`. Parsed once (validated, with
 * the field named in errors) into a sampler that draws whole ns from a given stream.
 */
import { InputError, unknownNameProblem } from "./errors";
import type { Rng } from "./rng";
import { describe, parseDuration, type Ns } from "./time";

export type DurationDistSpec =
  | string
  | number
  | { dist: "constant"; value: string | number }
  | { dist: "uniform"; min: string | number; max: string | number }
  | { dist: "exponential"; mean: string | number; min?: string | number }
  | { dist: "normal"; mean: string | number; stdDev: string | number; min?: string | number }
  | { dist: "lognormal"; median: string | number; sigma: number; min?: string | number };

/** Draws a non-negative whole number of ns. */
export type DurationSampler = (rng: Rng) => Ns;

const KINDS = ["constant", "uniform", "exponential", "normal", "lognormal"];

export function parseDurationDist(spec: unknown, field: string): { sampler: DurationSampler; meanNs: number } {
  if (typeof spec === "string" || typeof spec === "number") {
    const value = parseDuration(spec, field);
    return { sampler: () => value, meanNs: value };
  }
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) {
    throw new InputError(field, `expected a duration or a distribution object, got ${describe(spec)}`);
  }
  const s = spec as Record<string, unknown>;
  const kind = s.dist;
  const known = (keys: string[]) => {
    for (const key of Object.keys(s)) {
      if (key !== "dist" && !keys.includes(key)) throw new InputError(`${field}.${key}`, unknownNameProblem("field", key, keys));
    }
  };
  const min = s.min === undefined ? 0 : parseDuration(s.min, `${field}.min`);
  switch (kind) {
    case "constant": {
      known(["value"]);
      const value = parseDuration(s.value, `${field}.value`);
      return { sampler: () => value, meanNs: value };
    }
    case "uniform": {
      known(["min", "max"]);
      const lo = parseDuration(s.min, `${field}.min`);
      const hi = parseDuration(s.max, `${field}.max`);
      if (hi < lo) throw new InputError(`${field}.max`, `must be ≥ min (${s.min as string})`);
      return { sampler: (rng) => Math.round(rng.uniform(lo, hi)), meanNs: (lo + hi) / 2 };
    }
    case "exponential": {
      known(["mean", "min"]);
      const mean = parseDuration(s.mean, `${field}.mean`);
      return { sampler: (rng) => min + Math.round(rng.exponential(mean)), meanNs: min + mean };
    }
    case "normal": {
      known(["mean", "stdDev", "min"]);
      const mean = parseDuration(s.mean, `${field}.mean`);
      const sd = parseDuration(s.stdDev, `${field}.stdDev`);
      return { sampler: (rng) => Math.max(min, Math.round(rng.normal(mean, sd))), meanNs: mean };
    }
    case "lognormal": {
      known(["median", "sigma", "min"]);
      const median = parseDuration(s.median, `${field}.median`);
      const sigma = s.sigma;
      if (typeof sigma !== "number" || !(sigma >= 0) || !Number.isFinite(sigma)) {
        throw new InputError(`${field}.sigma`, `must be a number ≥ 0, got ${describe(sigma)}`);
      }
      const mu = Math.log(Math.max(median, 1));
      return {
        sampler: (rng) => min + Math.round(rng.lognormal(mu, sigma)),
        meanNs: min + Math.exp(mu + (sigma * sigma) / 2),
      };
    }
    default:
      throw new InputError(`${field}.dist`, unknownNameProblem("distribution", String(kind), KINDS));
  }
}

/** Validates a bandwidth in bytes/s: a positive finite number. */
export function parseBandwidth(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new InputError(field, `bandwidth must be a positive number of bytes/s, got ${describe(value)}`);
  }
  return value;
}
