/**
 * The exactly-once / at-least-once checker of DESIGN "Oracle": compares what a run
 * committed with the oracle's output and classifies every difference, so a failing fuzz
 * case says *how* the guarantee broke, not just that the outputs differ:
 * - lost: an expected record committed fewer times than expected (possibly never);
 * - duplicate: an expected record committed more times than expected;
 * - phantom: a committed record the oracle never produced.
 * Records are identified by canonicalJson (property order does not matter).
 *
 * Comparisons:
 * - "multiset": per sink, each distinct record's multiplicity. Counts are multiplicities.
 * - "finalPerKey": rolling aggregates, whose intermediate values depend on interleaving.
 *   Per sink and key, the final (last committed) value and the number of emissions:
 *   a key the oracle has but the run not is lost; a key only the run has is phantom; a
 *   differing final value is lost (the expected final) plus phantom (the committed one);
 *   more emissions than expected are a duplicate, fewer (with the right final value) are
 *   lost. Counts are the key's emissions (expected, committed).
 *
 * Guarantees: exactly-once is ok when there is no difference at all; at-least-once is ok
 * when nothing is lost and nothing is phantom — duplicates are what at-least-once allows,
 * a phantom is output the program can never produce under any guarantee.
 *
 * Invariants: pure; differences are in a total order (sink, then canonical key or record,
 * then kind), so two runs with the same outputs give the same report byte for byte.
 */
import { InputError } from "../../sim/errors";
import { byCodeUnits, canonicalJson } from "./canonical";

export type DifferenceKind = "lost" | "duplicate" | "phantom";

export interface Difference {
  readonly kind: DifferenceKind;
  readonly sink: string;
  /** finalPerKey: the record's key; multiset: the key if keyOf was given or the record has a `key` field. */
  readonly key?: string | number;
  /** lost: the expected record (final value); duplicate / phantom: the committed one. */
  readonly record: unknown;
  /** multiset: expected multiplicity; finalPerKey: the key's expected emissions. */
  readonly expectedCount: number;
  /** multiset: committed multiplicity; finalPerKey: the key's committed emissions. */
  readonly actualCount: number;
}

export interface CheckOptions {
  /** The key of a record; finalPerKey requires it unless records have a `key` field. */
  keyOf?: (record: unknown) => string | number;
  compare: "multiset" | "finalPerKey";
  /** Only these sinks (default: every sink in either output). */
  sinks?: readonly string[];
  /**
   * finalPerKey with a monotone aggregate (a count, a sum of positives): the measure of a
   * final value. A final above the oracle's is then classified duplicate (some input
   * counted more than once — what at-least-once allows), not lost + phantom.
   */
  monotone?: (record: unknown) => number;
}

export interface CheckResult {
  readonly ok: boolean;
  readonly differences: Difference[];
  /** A header line, then one line per kind: count and up to 3 examples with keys. */
  readonly summary: string;
}

type Outputs = ReadonlyMap<string, readonly unknown[]>;

const KINDS: readonly DifferenceKind[] = ["lost", "duplicate", "phantom"];
const EXAMPLES_PER_KIND = 3;
const MAX_EXAMPLE_CHARS = 160;

/** Committed output equals the oracle's: nothing lost, duplicated or made up. */
export function checkExactlyOnce(actual: Outputs, expected: Outputs, opts: CheckOptions): CheckResult {
  const differences = classify(actual, expected, opts);
  return report("exactly-once", differences, actual, expected, opts, differences.length === 0);
}

/** Nothing lost and nothing made up; duplicates are allowed (and still listed). */
export function checkAtLeastOnce(actual: Outputs, expected: Outputs, opts: CheckOptions): CheckResult {
  const differences = classify(actual, expected, opts);
  const ok = differences.every((d) => d.kind === "duplicate");
  return report("at-least-once", differences, actual, expected, opts, ok);
}

function classify(actual: Outputs, expected: Outputs, opts: CheckOptions): Difference[] {
  const sinks = sinksOf(actual, expected, opts);
  const out: { order: string; d: Difference }[] = [];
  for (const sink of sinks) {
    const a = actual.get(sink) ?? [];
    const e = expected.get(sink) ?? [];
    if (opts.compare === "multiset") multiset(sink, a, e, opts.keyOf, out);
    else if (opts.compare === "finalPerKey") finalPerKey(sink, a, e, opts.keyOf ?? keyField, opts.monotone, out);
    else throw new InputError("check.compare", `unknown comparison ${JSON.stringify(opts.compare)} (multiset, finalPerKey)`);
  }
  // Stable sort: within a sink and form, kinds stay in the order they were pushed.
  return out.sort((x, y) => byCodeUnits(x.order, y.order)).map((x) => x.d);
}

function sinksOf(actual: Outputs, expected: Outputs, opts: CheckOptions): string[] {
  return [...(opts.sinks ?? new Set([...expected.keys(), ...actual.keys()]))].sort(byCodeUnits);
}

function multiset(
  sink: string,
  actual: readonly unknown[],
  expected: readonly unknown[],
  keyOf: CheckOptions["keyOf"],
  out: { order: string; d: Difference }[],
): void {
  const counts = new Map<string, { record: unknown; expected: number; actual: number }>();
  const bump = (r: unknown, field: "expected" | "actual") => {
    const form = canonicalJson(r);
    let c = counts.get(form);
    if (c === undefined) counts.set(form, (c = { record: r, expected: 0, actual: 0 }));
    c[field]++;
  };
  for (const r of expected) bump(r, "expected");
  for (const r of actual) bump(r, "actual");
  for (const [form, c] of counts) {
    if (c.expected === c.actual) continue;
    const kind: DifferenceKind = c.expected === 0 ? "phantom" : c.actual < c.expected ? "lost" : "duplicate";
    const key = keyOf !== undefined ? checkedKey(keyOf, c.record) : optionalKeyField(c.record);
    out.push({
      order: `${sink}\u0000${form}`,
      d: { kind, sink, ...(key !== undefined ? { key } : {}), record: c.record, expectedCount: c.expected, actualCount: c.actual },
    });
  }
}

function finalPerKey(
  sink: string,
  actual: readonly unknown[],
  expected: readonly unknown[],
  keyOf: (record: unknown) => string | number,
  monotone: ((record: unknown) => number) | undefined,
  out: { order: string; d: Difference }[],
): void {
  const e = finals(expected, keyOf);
  const a = finals(actual, keyOf);
  const forms = [...new Set([...e.keys(), ...a.keys()])];
  for (const keyForm of forms) {
    const x = e.get(keyForm);
    const y = a.get(keyForm);
    const key = (x ?? y)!.key;
    const expectedCount = x?.n ?? 0;
    const actualCount = y?.n ?? 0;
    const push = (kind: DifferenceKind, record: unknown) =>
      out.push({ order: `${sink}\u0000${keyForm}`, d: { kind, sink, key, record, expectedCount, actualCount } });
    if (y === undefined) {
      push("lost", x!.last);
      continue;
    }
    if (x === undefined) {
      push("phantom", y.last);
      continue;
    }
    const sameFinal = x.form === y.form;
    if (!sameFinal && monotone !== undefined && monotone(y.last) > monotone(x.last)) {
      push("duplicate", y.last); // over-counted: every input's effect is there, some twice
      continue;
    }
    if (!sameFinal) push("lost", x.last);
    else if (actualCount < expectedCount) push("lost", x.last);
    if (actualCount > expectedCount) push("duplicate", y.last);
    if (!sameFinal) push("phantom", y.last);
  }
}

function finals(records: readonly unknown[], keyOf: (record: unknown) => string | number) {
  const out = new Map<string, { key: string | number; last: unknown; form: string; n: number }>();
  for (const r of records) {
    const key = checkedKey(keyOf, r);
    const keyForm = canonicalJson(key);
    const prev = out.get(keyForm);
    out.set(keyForm, { key, last: r, form: canonicalJson(r), n: (prev?.n ?? 0) + 1 });
  }
  return out;
}

function checkedKey(keyOf: (record: unknown) => string | number, record: unknown): string | number {
  const key = keyOf(record);
  if (typeof key !== "string" && typeof key !== "number") {
    throw new InputError("check.keyOf", `must return a string or number, got ${canonicalJson(key)} for ${canonicalJson(record)}`);
  }
  return key;
}

function keyField(record: unknown): string | number {
  const key = optionalKeyField(record);
  if (key === undefined) throw new InputError("check.keyOf", `record ${canonicalJson(record)} has no string or number "key" field; pass keyOf`);
  return key;
}

function optionalKeyField(record: unknown): string | number | undefined {
  if (record === null || typeof record !== "object" || !("key" in record)) return undefined;
  const key = (record as { key: unknown }).key;
  return typeof key === "string" || typeof key === "number" ? key : undefined;
}

function report(
  guarantee: string,
  differences: readonly Difference[],
  actual: Outputs,
  expected: Outputs,
  opts: CheckOptions,
  ok: boolean,
): CheckResult {
  const sinks = sinksOf(actual, expected, opts);
  const expectedRecords = sinks.reduce((n, s) => n + (expected.get(s)?.length ?? 0), 0);
  const actualRecords = sinks.reduce((n, s) => n + (actual.get(s)?.length ?? 0), 0);
  const header =
    `${guarantee} ${ok ? "ok" : "VIOLATED"} (${opts.compare} over ${sinks.length} sink${sinks.length === 1 ? "" : "s"}, ` +
    `${expectedRecords} expected, ${actualRecords} committed records)`;
  const lines = [header];
  for (const kind of KINDS) {
    const list = differences.filter((d) => d.kind === kind);
    const records = list.reduce((n, d) => n + recordsAffected(d, opts.compare), 0);
    const unit = opts.compare === "multiset" ? "record" : "key";
    let line = `${kind}: ${list.length} (${records} ${unit}${records === 1 ? "" : "s"})`;
    if (list.length > 0) {
      const shown = list.slice(0, EXAMPLES_PER_KIND).map(example);
      line += ` — ${shown.join(" | ")}${list.length > EXAMPLES_PER_KIND ? ` | … ${list.length - EXAMPLES_PER_KIND} more` : ""}`;
    }
    lines.push(line);
  }
  return { ok, differences: [...differences], summary: lines.join("\n") };
}

/** multiset: how many records are missing, extra or made up; finalPerKey: one per key. */
function recordsAffected(d: Difference, compare: CheckOptions["compare"]): number {
  if (compare === "finalPerKey") return 1;
  return Math.abs(d.actualCount - d.expectedCount);
}

function example(d: Difference): string {
  const key = d.key !== undefined ? `key ${canonicalJson(d.key)} ` : "";
  const text = `${d.sink}: ${key}${canonicalJson(d.record)} expected ×${d.expectedCount}, committed ×${d.actualCount}`;
  return text.length > MAX_EXAMPLE_CHARS ? `${text.slice(0, MAX_EXAMPLE_CHARS)}…` : text;
}
