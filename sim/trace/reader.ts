/**
 * Trace v1 reader: parses JSONL trace text one line at a time and checks the envelope,
 * so every tool that reads a trace (diff, exporters, the visualizer's loader, reports)
 * can trust it without re-checking.
 *
 * Invariants a valid trace satisfies, each checked here with an InputError whose field
 * names the 1-based line number ("trace line 17: seq"):
 * - every line is a JSON object with `v === 1`, a `seq`, a `t` and a PascalCase `kind`;
 * - `seq` is 0 on the first line and the previous seq + 1 after that;
 * - `t` is a non-negative safe integer (virtual ns), never less than the previous line's;
 * - the first line is RunStarted (with a string `seed`), and RunStarted appears only there;
 * - nothing follows RunEnded.
 * A trace without RunEnded is not an error: a crashed or interrupted run leaves a valid
 * prefix, which `summarizeTrace` reports as truncated.
 *
 * Reading is streaming: `TraceReader` and `readTraceLines` hold one line at a time, so
 * multi-gigabyte traces can be checked without loading them.
 */
import { InputError } from "../errors";
import type { Ns } from "../time";
import { TRACE_VERSION, type TraceEvent } from "./events";

/** Longest line accepted (a limit on everything, DESIGN style rule 3); real lines are far shorter. */
export const MAX_TRACE_LINE_CHARS = 16 * 1024 * 1024;

const KIND_RE = /^[A-Z][A-Za-z0-9]*$/;
const SHOW_MAX_CHARS = 60;

function lineField(lineNo: number, field?: string): string {
  return field === undefined ? `trace line ${lineNo}` : `trace line ${lineNo}: ${field}`;
}

/** A value as it appears in an error message: JSON, shortened, never multi-line. */
function show(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > SHOW_MAX_CHARS ? text.slice(0, SHOW_MAX_CHARS) + "…" : text;
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Parses one line and checks the envelope of that line alone (not its place in the
 * sequence: that is `TraceReader`'s job). `lineNo` is 1-based, as people count lines.
 */
export function parseTraceLine(line: string, lineNo: number): TraceEvent {
  if (line.length === 0) throw new InputError(lineField(lineNo), "empty line");
  if (line.length > MAX_TRACE_LINE_CHARS) {
    throw new InputError(lineField(lineNo), `line is ${line.length} characters, over the limit of ${MAX_TRACE_LINE_CHARS}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (err) {
    // V8's message may quote the input; keep the report to one line.
    const reason = err instanceof Error ? err.message.replace(/\s+/g, " ") : String(err);
    throw new InputError(lineField(lineNo), `not valid JSON (${reason})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new InputError(lineField(lineNo), `expected a JSON object, got ${Array.isArray(parsed) ? "an array" : show(parsed)}`);
  }
  const e = parsed as Record<string, unknown>;
  if (e.v !== TRACE_VERSION) {
    const problem =
      e.v === undefined
        ? `missing (not a flowsim trace?)`
        : `unsupported trace version ${show(e.v)} (this reader reads version ${TRACE_VERSION})`;
    throw new InputError(lineField(lineNo, "v"), problem);
  }
  if (!isNonNegativeInteger(e.seq)) {
    throw new InputError(lineField(lineNo, "seq"), `must be a non-negative integer, got ${show(e.seq)}`);
  }
  if (!isNonNegativeInteger(e.t)) {
    throw new InputError(lineField(lineNo, "t"), `must be a non-negative integer number of ns, got ${show(e.t)}`);
  }
  if (typeof e.kind !== "string" || !KIND_RE.test(e.kind)) {
    throw new InputError(lineField(lineNo, "kind"), `must be a PascalCase event kind, got ${show(e.kind)}`);
  }
  return e as TraceEvent;
}

/**
 * Checks a trace line by line as it streams in: each `push` parses one line, checks it
 * against the lines before it, and returns the event (or throws an InputError).
 */
export class TraceReader {
  private lineNo = 0;
  private nextSeq = 0;
  private lastT: Ns = 0;
  private ended = false;

  /** Lines accepted so far. */
  get linesRead(): number {
    return this.lineNo;
  }

  /** True once RunEnded has been read: the trace is complete. */
  get sawRunEnded(): boolean {
    return this.ended;
  }

  push(line: string): TraceEvent {
    const lineNo = this.lineNo + 1;
    const e = parseTraceLine(line, lineNo);
    if (lineNo === 1) {
      if (e.kind !== "RunStarted") {
        throw new InputError(lineField(lineNo, "kind"), `the first line must be RunStarted, got ${show(e.kind)}`);
      }
      if (typeof e.seed !== "string") {
        throw new InputError(lineField(lineNo, "seed"), `RunStarted must carry a string seed, got ${show(e.seed)}`);
      }
    } else if (e.kind === "RunStarted") {
      throw new InputError(lineField(lineNo, "kind"), "RunStarted may only be the first line");
    }
    if (this.ended) {
      throw new InputError(lineField(lineNo, "kind"), `${e.kind} after RunEnded (RunEnded must be the last line)`);
    }
    if (e.seq !== this.nextSeq) {
      const expected = lineNo === 1 ? "expected 0 on the first line" : `expected ${this.nextSeq} (previous seq + 1)`;
      throw new InputError(lineField(lineNo, "seq"), `${expected}, got ${e.seq}`);
    }
    if (e.t < this.lastT) {
      throw new InputError(lineField(lineNo, "t"), `${e.t} is before the previous line's ${this.lastT} (time must not go backwards)`);
    }
    this.lineNo = lineNo;
    this.nextSeq++;
    this.lastT = e.t;
    if (e.kind === "RunEnded") this.ended = true;
    return e;
  }
}

/**
 * The lines of a trace text, lazily. A final "\n" ends the last line rather than starting
 * an empty one, so "a\nb\n" and "a\nb" give the same lines.
 */
export function* traceLines(text: string): Generator<string> {
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf("\n", start);
    if (nl < 0) {
      yield text.slice(start);
      return;
    }
    yield text.slice(start, nl);
    start = nl + 1;
  }
}

/**
 * Checks and yields the events of a stream of lines. One trailing empty line is allowed
 * (what `text.split("\n")` gives for a file ending in a newline); any other empty line
 * is an error. An input with no lines at all is an error too: even a run that crashed at
 * once has written RunStarted.
 */
export function* readTraceLines(lines: Iterable<string>): Generator<TraceEvent> {
  const reader = new TraceReader();
  let pendingEmpty = false;
  for (const line of lines) {
    // An empty line followed by more lines is an error; push it so the message has its number.
    if (pendingEmpty) reader.push("");
    if (line === "") {
      pendingEmpty = true;
      continue;
    }
    yield reader.push(line);
  }
  if (reader.linesRead === 0) throw new InputError("trace", "empty (a trace starts with a RunStarted line)");
}

/**
 * Parses a whole trace text. The text may end with one newline (as the recorder writes
 * it) or none; an empty line anywhere, including a second newline at the end, is an error.
 */
export function readTraceText(text: string): TraceEvent[] {
  const reader = new TraceReader();
  const events: TraceEvent[] = [];
  for (const line of traceLines(text)) events.push(reader.push(line));
  if (events.length === 0) throw new InputError("trace", "empty (a trace starts with a RunStarted line)");
  return events;
}

export interface TraceSummary {
  /** Events read. */
  events: number;
  /** How many events of each kind, keys in code-unit order (so printing is deterministic). */
  countsByKind: Record<string, number>;
  seed: string | undefined;
  scenario: string | undefined;
  firstT: Ns | undefined;
  lastT: Ns | undefined;
  lastSeq: number | undefined;
  /** True when the trace ends with RunEnded. */
  complete: boolean;
  /** True when it does not: the run crashed or was interrupted and left a prefix. */
  truncated: boolean;
  /** RunEnded's reason, when present. */
  endReason: string | undefined;
  /** True when the event cap was hit (TraceCapped present): later events were counted, not written. */
  capped: boolean;
  /** RunEnded's count of events the cap kept out, when present. */
  droppedEvents: number | undefined;
}

/**
 * Summarizes events (already checked, e.g. by `readTraceLines`), streaming. A trace
 * without RunEnded is reported as truncated, not rejected: a crash leaves a valid prefix.
 */
export function summarizeTrace(events: Iterable<TraceEvent>): TraceSummary {
  const counts = new Map<string, number>();
  let n = 0;
  let seed: string | undefined;
  let scenario: string | undefined;
  let firstT: Ns | undefined;
  let lastT: Ns | undefined;
  let lastSeq: number | undefined;
  let complete = false;
  let endReason: string | undefined;
  let capped = false;
  let droppedEvents: number | undefined;
  for (const e of events) {
    n++;
    counts.set(e.kind, (counts.get(e.kind) ?? 0) + 1);
    if (firstT === undefined) firstT = e.t;
    lastT = e.t;
    lastSeq = e.seq;
    switch (e.kind) {
      case "RunStarted":
        if (typeof e.seed === "string") seed = e.seed;
        if (typeof e.scenario === "string") scenario = e.scenario;
        break;
      case "RunEnded":
        complete = true;
        if (typeof e.reason === "string") endReason = e.reason;
        if (typeof e.droppedEvents === "number") droppedEvents = e.droppedEvents;
        break;
      case "TraceCapped":
        capped = true;
        break;
    }
  }
  const countsByKind: Record<string, number> = {};
  // Kinds are PascalCase, so plain object keys cannot collide with Object.prototype's.
  for (const kind of [...counts.keys()].sort(compareStrings)) countsByKind[kind] = counts.get(kind)!;
  return {
    events: n,
    countsByKind,
    seed,
    scenario,
    firstT,
    lastT,
    lastSeq,
    complete,
    truncated: !complete,
    endReason,
    capped,
    droppedEvents,
  };
}

/** Code-unit order: total and locale-independent (localeCompare depends on the ICU build). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
