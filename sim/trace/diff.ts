/**
 * First-divergence finder: where do two traces of "the same" run stop agreeing? Two runs
 * with the same scenario and seed must produce byte-identical traces (DESIGN,
 * "Determinism rules"), so the first differing line is where nondeterminism (or a
 * behaviour change between versions) first became visible.
 *
 * Lines are compared as text, which is what the fingerprint hashes; only the first
 * differing pair is parsed, to name the seq, time, kinds and first differing field.
 * Both inputs are walked in lockstep, one line each at a time, and nothing after the
 * divergence is read, so traces of any size can be compared without holding them.
 */
import type { Ns } from "../time";
import { NS_PER_MS } from "../time";

/** Field names used when no real top-level field can be named. */
export const MISSING_LINE = "<missing>";
export const UNPARSEABLE_LINE = "<unparseable>";
export const SAME_FIELDS_DIFFERENT_TEXT = "<encoding>";

export interface Divergence {
  /** 0-based index of the first differing line (equal to its seq in a valid trace). */
  lineIndex: number;
  /** When one trace is a strict prefix of the other: the one that ended first. */
  shorter: "a" | "b" | undefined;
  /** The differing line's seq (A's when A has a parseable line there, else B's). */
  seq: number | undefined;
  /** The earlier of the two lines' times: the first moment the runs disagree. */
  t: Ns | undefined;
  kindA: string | undefined;
  kindB: string | undefined;
  /**
   * The first differing top-level field, in A's key order then B's; or MISSING_LINE when
   * one trace has no line here, UNPARSEABLE_LINE when a line is not a JSON object, and
   * SAME_FIELDS_DIFFERENT_TEXT when the fields are equal but the text is not (key order,
   * spacing): still a divergence, since fingerprints hash the text.
   */
  field: string;
  /** The field's value in each line (undefined when absent). */
  valueA: unknown;
  valueB: unknown;
  /** The lines themselves; undefined for the trace that ended. */
  a: string | undefined;
  b: string | undefined;
}

/** Finds the first line where the traces differ; undefined when they are identical. */
export function firstDivergence(a: Iterable<string>, b: Iterable<string>): Divergence | undefined {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  try {
    for (let index = 0; ; index++) {
      const ra = ia.next();
      const rb = ib.next();
      if (ra.done === true && rb.done === true) return undefined;
      const lineA = ra.done === true ? undefined : ra.value;
      const lineB = rb.done === true ? undefined : rb.value;
      if (lineA !== lineB) return describeDivergence(index, lineA, lineB);
    }
  } finally {
    // Let generators over files release what they hold when we stop early.
    ia.return?.();
    ib.return?.();
  }
}

/** `firstDivergence` over async line sources (e.g. node:readline over two files). */
export async function firstDivergenceAsync(
  a: AsyncIterable<string> | Iterable<string>,
  b: AsyncIterable<string> | Iterable<string>,
): Promise<Divergence | undefined> {
  const ia = asyncIteratorOf(a);
  const ib = asyncIteratorOf(b);
  try {
    for (let index = 0; ; index++) {
      const [ra, rb] = await Promise.all([ia.next(), ib.next()]);
      if (ra.done === true && rb.done === true) return undefined;
      const lineA = ra.done === true ? undefined : ra.value;
      const lineB = rb.done === true ? undefined : rb.value;
      if (lineA !== lineB) return describeDivergence(index, lineA, lineB);
    }
  } finally {
    await Promise.all([ia.return?.(), ib.return?.()]);
  }
}

function asyncIteratorOf(source: AsyncIterable<string> | Iterable<string>): AsyncIterator<string> | Iterator<string> {
  return Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
}

type JsonObject = Record<string, unknown>;

function parseObject(line: string | undefined): JsonObject | undefined {
  if (line === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(line);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}

function numberOf(obj: JsonObject | undefined, key: string): number | undefined {
  const value = obj?.[key];
  return typeof value === "number" ? value : undefined;
}

function stringOf(obj: JsonObject | undefined, key: string): string | undefined {
  const value = obj?.[key];
  return typeof value === "string" ? value : undefined;
}

/** Values compare by their JSON text, the same notion of equality as the lines. */
function sameValue(x: unknown, y: unknown): boolean {
  return x === y || JSON.stringify(x) === JSON.stringify(y);
}

/** The first top-level key whose value differs or which only one side has. */
function firstDifferingField(objA: JsonObject, objB: JsonObject): string | undefined {
  for (const key of Object.keys(objA)) {
    if (!Object.hasOwn(objB, key) || !sameValue(objA[key], objB[key])) return key;
  }
  for (const key of Object.keys(objB)) {
    if (!Object.hasOwn(objA, key)) return key;
  }
  return undefined;
}

function describeDivergence(lineIndex: number, a: string | undefined, b: string | undefined): Divergence {
  const objA = parseObject(a);
  const objB = parseObject(b);
  const tA = numberOf(objA, "t");
  const tB = numberOf(objB, "t");
  let field: string;
  if (a === undefined || b === undefined) field = MISSING_LINE;
  else if (objA === undefined || objB === undefined) field = UNPARSEABLE_LINE;
  else field = firstDifferingField(objA, objB) ?? SAME_FIELDS_DIFFERENT_TEXT;
  const realField = field !== MISSING_LINE && field !== UNPARSEABLE_LINE && field !== SAME_FIELDS_DIFFERENT_TEXT;
  return {
    lineIndex,
    shorter: a === undefined ? "a" : b === undefined ? "b" : undefined,
    seq: numberOf(objA, "seq") ?? numberOf(objB, "seq"),
    t: tA === undefined ? tB : tB === undefined ? tA : Math.min(tA, tB),
    kindA: stringOf(objA, "kind"),
    kindB: stringOf(objB, "kind"),
    field,
    valueA: realField ? objA![field] : undefined,
    valueB: realField ? objB![field] : undefined,
    a,
    b,
  };
}

const SHOW_VALUE_MAX_CHARS = 80;
const SHOW_LINE_MAX_CHARS = 200;
const PLAIN_STRING_RE = /^[\w.:/#@→-]+$/;

function clip(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) + "…" : text;
}

/** Simple strings print bare ("tm-1"), anything else as JSON so it stays unambiguous. */
function showValue(value: unknown): string {
  if (typeof value === "string" && PLAIN_STRING_RE.test(value)) return clip(value, SHOW_VALUE_MAX_CHARS);
  return clip(JSON.stringify(value) ?? String(value), SHOW_VALUE_MAX_CHARS);
}

/** Virtual time as milliseconds with at least three decimals, exact to the ns: "5.000ms". */
export function formatTraceTime(ns: Ns): string {
  const whole = Math.floor(ns / NS_PER_MS);
  let frac = String(ns - whole * NS_PER_MS).padStart(6, "0");
  while (frac.length > 3 && frac.endsWith("0")) frac = frac.slice(0, -1);
  return `${whole}.${frac}ms`;
}

function where(d: Divergence): string {
  const at = d.seq !== undefined ? `seq ${d.seq}` : `line ${d.lineIndex + 1}`;
  return d.t !== undefined ? `${at} (t=${formatTraceTime(d.t)})` : at;
}

/** One or two lines for a person, e.g. `first divergence at seq 184 (t=5.000ms): field "host" differs: tm-1 vs tm-2`. */
export function formatDivergence(d: Divergence): string {
  if (d.shorter !== undefined) {
    const longer = d.shorter === "a" ? "B" : "A";
    const extra = (d.shorter === "a" ? d.b : d.a)!;
    return (
      `trace ${d.shorter.toUpperCase()} ends after ${d.lineIndex} lines; trace ${longer} continues at ${where(d)}` +
      `\n  ${longer}: ${clip(extra, SHOW_LINE_MAX_CHARS)}`
    );
  }
  const head = `first divergence at ${where(d)}`;
  switch (d.field) {
    case UNPARSEABLE_LINE: {
      // Show the broken line; if both are broken, A's.
      const side = d.kindA === undefined && parseObject(d.a) === undefined ? "A" : "B";
      const line = side === "A" ? d.a! : d.b!;
      return `${head}: line ${d.lineIndex + 1} of trace ${side} is not a JSON object\n  ${side}: ${clip(line, SHOW_LINE_MAX_CHARS)}`;
    }
    case SAME_FIELDS_DIFFERENT_TEXT:
      return `${head}: same fields, different text (key order or spacing)`;
  }
  let first: string;
  if (d.valueA === undefined) first = `${head}: field "${d.field}" only in B: ${showValue(d.valueB)}`;
  else if (d.valueB === undefined) first = `${head}: field "${d.field}" only in A: ${showValue(d.valueA)}`;
  else first = `${head}: field "${d.field}" differs: ${showValue(d.valueA)} vs ${showValue(d.valueB)}`;
  return d.field !== "kind" && d.kindA !== d.kindB ? `${first}\n  kinds: ${d.kindA} vs ${d.kindB}` : first;
}
