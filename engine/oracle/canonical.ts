/**
 * A canonical text form of a record, for comparing outputs as multisets: JSON with object
 * keys sorted by UTF-16 code units, so two records that are equal as data have the same
 * form whatever their property order. Also gives every value a total order (compare the
 * strings). Numbers print as JS does (−0 as 0, like JSON); NaN and ±Infinity print as
 * themselves (JSON would turn them into null and hide a difference); undefined object
 * properties are left out, as in JSON.
 */
import { assert } from "../../sim/errors";

/** Nesting deeper than this is a cycle or a runaway record. */
const MAX_DEPTH = 64;

export function canonicalJson(value: unknown): string {
  return write(value, 0);
}

function write(value: unknown, depth: number): string {
  assert(depth <= MAX_DEPTH, `canonicalJson: nesting deeper than ${MAX_DEPTH} (a cycle?)`);
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Object.is(value, -0) ? "0" : String(value);
    case "boolean":
      return value ? "true" : "false";
    case "undefined":
      return "undefined";
    case "bigint":
      return `${value}n`;
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) return `[${value.map((v) => write(v, depth + 1)).join(",")}]`;
      if (value instanceof Map) {
        const entries = [...value.entries()].map(([k, v]) => `[${write(k, depth + 1)},${write(v, depth + 1)}]`).sort(byCodeUnits);
        return `Map[${entries.join(",")}]`;
      }
      if (value instanceof Set) {
        return `Set[${[...value].map((v) => write(v, depth + 1)).sort(byCodeUnits).join(",")}]`;
      }
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).sort(byCodeUnits);
      const parts: string[] = [];
      for (const k of keys) {
        const v = obj[k];
        if (v === undefined) continue;
        parts.push(`${JSON.stringify(k)}:${write(v, depth + 1)}`);
      }
      return `{${parts.join(",")}}`;
    }
    default:
      return `<${typeof value}>`;
  }
}

/** Total order on strings by UTF-16 code units (not locale). */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
