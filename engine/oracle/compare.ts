/**
 * Comparing a run's committed output with the oracle's, per DESIGN "Oracle":
 * - "multiset": per sink, the same records with the same multiplicities (records compared
 *   by canonicalJson, so property order does not matter). Exactly-once where the output
 *   cannot depend on timing.
 * - "finalPerKey": per sink and key, the same last value and the same number of emissions
 *   (rolling aggregates in STREAMING: the order of updates per key may vary with
 *   interleaving, so intermediate values may differ, their count and the final value not).
 * - "conservation": timing-dependent jobs (late data). Every record accounts for
 *   countOf(record) input records towards the account keyOf(record) — e.g. a window result
 *   for (key, window) counts its `count`, a late record counts 1 towards the window it
 *   missed. Summed over all sinks, every account must hold the same total in both runs:
 *   each input record accounted for exactly once, whether it made its window or was late.
 * Discrepancies are listed in a total order (sink, then canonical key/record).
 */
import { InputError } from "../../sim/errors";
import { byCodeUnits, canonicalJson } from "./canonical";

export type CompareMode = "multiset" | "finalPerKey" | "conservation";

export interface CompareOptions {
  /** finalPerKey: the key of a record; conservation: its account. Default: the record's `key` field. */
  keyOf?: (record: unknown, sink: string) => unknown;
  /** conservation: input records a record accounts for. Default: its numeric `count` field, else 1. */
  countOf?: (record: unknown, sink: string) => number;
  /** Only these sinks (default: every sink in either output). */
  sinks?: readonly string[];
  /**
   * conservation: records that supersede one another (a window re-fired under
   * allowedLateness carries its whole updated count again). Records of one sink with the
   * same defined id count once, with their largest countOf — re-fires only add elements, so
   * the largest is the last, whatever order the sink committed them in. Each re-fire adds at
   * least one element, so a count repeated for one id is a duplicate emission: it counts
   * again (and shows as unexpected). Undefined: the record counts alone.
   */
  supersedeKeyOf?: (record: unknown, sink: string) => unknown;
  /** finalPerKey of a monotone aggregate (a count): its measure, for at-least-once checks (engine/oracle/checker.ts). */
  monotone?: (record: unknown) => number;
}

export interface Discrepancy {
  /** The sink ("*" for conservation, which sums over sinks). */
  readonly sink: string;
  /** Canonical key (finalPerKey) or account (conservation). */
  readonly key?: string;
  /** The record: expected (in missing) or actual (in unexpected); the last value for finalPerKey. */
  readonly record?: unknown;
  /** Multiplicity (multiset), emissions (finalPerKey) or unaccounted input records (conservation). */
  readonly count: number;
}

export interface CompareResult {
  readonly equal: boolean;
  /** Expected but not (or not so) in the actual output. */
  readonly missing: Discrepancy[];
  /** In the actual output but not (or not so) expected. */
  readonly unexpected: Discrepancy[];
  /** One line for people. */
  readonly summary: string;
}

type Outputs = ReadonlyMap<string, readonly unknown[]>;

export function compareWithOracle(actual: Outputs, expected: Outputs, mode: CompareMode, options: CompareOptions = {}): CompareResult {
  const sinks = options.sinks ?? [...new Set([...expected.keys(), ...actual.keys()])].sort(byCodeUnits);
  const missing: Discrepancy[] = [];
  const unexpected: Discrepancy[] = [];
  let expectedRecords = 0;
  for (const sink of sinks) expectedRecords += expected.get(sink)?.length ?? 0;

  if (mode === "multiset") {
    for (const sink of sinks) compareMultiset(sink, actual.get(sink) ?? [], expected.get(sink) ?? [], missing, unexpected);
  } else if (mode === "finalPerKey") {
    const keyOf = options.keyOf ?? keyField;
    for (const sink of sinks) compareFinal(sink, actual.get(sink) ?? [], expected.get(sink) ?? [], keyOf, missing, unexpected);
  } else if (mode === "conservation") {
    compareConservation(sinks, actual, expected, options.keyOf ?? keyField, options.countOf ?? countField, options.supersedeKeyOf, missing, unexpected);
  } else {
    throw new InputError("compare", `unknown mode ${JSON.stringify(mode)} (multiset, finalPerKey, conservation)`);
  }

  const equal = missing.length === 0 && unexpected.length === 0;
  const scope = `${mode} over ${sinks.length} sink${sinks.length === 1 ? "" : "s"}, ${expectedRecords} expected records`;
  const summary = equal
    ? `equal (${scope})`
    : `differs (${scope}): ${missing.length} missing, ${unexpected.length} unexpected` +
      examples("missing", missing) +
      examples("unexpected", unexpected);
  return { equal, missing, unexpected, summary };
}

function compareMultiset(sink: string, actual: readonly unknown[], expected: readonly unknown[], missing: Discrepancy[], unexpected: Discrepancy[]): void {
  const counts = new Map<string, { record: unknown; n: number }>();
  for (const r of expected) bump(counts, canonicalJson(r), r, 1);
  for (const r of actual) bump(counts, canonicalJson(r), r, -1);
  for (const form of [...counts.keys()].sort(byCodeUnits)) {
    const { record, n } = counts.get(form)!;
    if (n > 0) missing.push({ sink, record, count: n });
    else if (n < 0) unexpected.push({ sink, record, count: -n });
  }
}

function compareFinal(
  sink: string,
  actual: readonly unknown[],
  expected: readonly unknown[],
  keyOf: (record: unknown, sink: string) => unknown,
  missing: Discrepancy[],
  unexpected: Discrepancy[],
): void {
  const a = finals(sink, actual, keyOf);
  const e = finals(sink, expected, keyOf);
  for (const key of [...new Set([...e.keys(), ...a.keys()])].sort(byCodeUnits)) {
    const x = e.get(key);
    const y = a.get(key);
    if (x !== undefined && y !== undefined && x.form === y.form && x.n === y.n) continue;
    if (x !== undefined) missing.push({ sink, key, record: x.last, count: x.n });
    if (y !== undefined) unexpected.push({ sink, key, record: y.last, count: y.n });
  }
}

function finals(sink: string, records: readonly unknown[], keyOf: (record: unknown, sink: string) => unknown) {
  const out = new Map<string, { last: unknown; form: string; n: number }>();
  for (const r of records) {
    const key = canonicalJson(keyOf(r, sink));
    const prev = out.get(key);
    out.set(key, { last: r, form: canonicalJson(r), n: (prev?.n ?? 0) + 1 });
  }
  return out;
}

function compareConservation(
  sinks: readonly string[],
  actual: Outputs,
  expected: Outputs,
  keyOf: (record: unknown, sink: string) => unknown,
  countOf: (record: unknown, sink: string) => number,
  supersedeKeyOf: ((record: unknown, sink: string) => unknown) | undefined,
  missing: Discrepancy[],
  unexpected: Discrepancy[],
): void {
  const accounts = new Map<string, number>();
  const add = (outputs: Outputs, sign: number) => {
    for (const sink of sinks) {
      // Superseding records: per id, the account and the largest count seen.
      const latest = new Map<string, { key: string; n: number; seen: Set<number> }>();
      for (const r of outputs.get(sink) ?? []) {
        const n = countOf(r, sink);
        if (!Number.isFinite(n) || n < 0) throw new InputError("compare.countOf", `must give a non-negative count, got ${n} for ${canonicalJson(r)}`);
        const key = canonicalJson(keyOf(r, sink));
        const id = supersedeKeyOf?.(r, sink);
        if (id !== undefined) {
          const form = canonicalJson(id);
          const prev = latest.get(form);
          if (prev === undefined) latest.set(form, { key, n, seen: new Set([n]) });
          else if (prev.seen.has(n)) accounts.set(key, (accounts.get(key) ?? 0) + sign * n);
          else {
            prev.seen.add(n);
            if (n > prev.n) prev.n = n;
          }
          continue;
        }
        accounts.set(key, (accounts.get(key) ?? 0) + sign * n);
      }
      for (const { key, n } of latest.values()) accounts.set(key, (accounts.get(key) ?? 0) + sign * n);
    }
  };
  add(expected, 1);
  add(actual, -1);
  for (const key of [...accounts.keys()].sort(byCodeUnits)) {
    const n = accounts.get(key)!;
    if (n > 0) missing.push({ sink: "*", key, count: n });
    else if (n < 0) unexpected.push({ sink: "*", key, count: -n });
  }
}

function bump(counts: Map<string, { record: unknown; n: number }>, form: string, record: unknown, by: number): void {
  const c = counts.get(form);
  if (c === undefined) counts.set(form, { record, n: by });
  else c.n += by;
}

function keyField(record: unknown): unknown {
  if (record !== null && typeof record === "object" && "key" in record) return (record as { key: unknown }).key;
  throw new InputError("compare.keyOf", `record ${canonicalJson(record)} has no "key" field; pass keyOf`);
}

function countField(record: unknown): number {
  if (record !== null && typeof record === "object" && typeof (record as { count?: unknown }).count === "number") {
    return (record as { count: number }).count;
  }
  return 1;
}

function examples(label: string, list: readonly Discrepancy[]): string {
  if (list.length === 0) return "";
  const shown = list.slice(0, 3).map((d) => {
    const what = d.record !== undefined ? canonicalJson(d.record) : "";
    const key = d.key !== undefined ? `key ${d.key} ` : "";
    const text = `${d.sink}: ${key}${what} ×${d.count}`;
    return text.length > 160 ? `${text.slice(0, 160)}…` : text;
  });
  return `; ${label}: ${shown.join(" | ")}${list.length > 3 ? ` | … ${list.length - 3} more` : ""}`;
}
