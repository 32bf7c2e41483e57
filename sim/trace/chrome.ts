/**
 * Chrome Trace Event Format exporter: turns a trace v1 event stream into the JSON object
 * that Perfetto, chrome://tracing and Spall open. A pure function of the events and the
 * mapping; the CLI writes the result to a file.
 *
 * Layout: each host is a process (pids in order of first appearance; pid 0 is the
 * "cluster" process for events that name no host), each lane of a host a thread (tids
 * unique across the file, in order of first appearance). Spans become B/E pairs — never
 * X, whose order at equal timestamps viewers get wrong (google/perfetto #226, #878) —
 * faults and lifecycle events become instants (`i`), sampled metrics counters (`C`).
 *
 * Invariants of the output:
 * - on every (pid, tid) the B/E events nest: each E closes the most recently opened B;
 * - events are sorted by ts; at equal ts, each tid's events keep their nesting order
 *   (ends of spans closing there before begins of spans opening there, outer begins
 *   before inner ones, inner ends before outer ones), and different tids are ordered by
 *   tid, then process-level events by seq — a total order, so the export is
 *   deterministic;
 * - every span begun in the trace has exactly one B and one E. Spans still open when the
 *   trace ends are closed at the last event's time with `args.unclosed = true`.
 *
 * Processor sharing runs several work items on one host lane at once, and their
 * intervals overlap without nesting, which a thread cannot show (Perfetto moves such
 * slices to an "overflow" track). Such a lane is split into extra threads ("cpu #2", ...)
 * by greedy first-fit interval partitioning so every thread's slices nest.
 *
 * Names stay low-cardinality (the kind, a span's label); everything else goes in `args`,
 * with the source event's `seq` so a slice can be found in the JSONL.
 */
import { InputError, InvariantError, assert } from "../errors";
import type { Ns } from "../time";
import { NS_PER_US } from "../time";
import { TRACE_VERSION, type TraceEvent } from "./events";
import { compareStrings } from "./reader";

// ---------------------------------------------------------------------------------------
// Output types

export type ChromePhase = "B" | "E" | "i" | "C" | "M";

export interface ChromeEvent {
  name: string;
  cat?: string;
  ph: ChromePhase;
  /** Microseconds, fractional (virtual ns / 1000). */
  ts: number;
  pid: number;
  tid: number;
  /** Instant scope: global or process. */
  s?: "g" | "p";
  args?: Record<string, unknown>;
}

export interface ChromeOtherData {
  traceVersion: typeof TRACE_VERSION;
  /** From RunStarted (undefined if the events had none). */
  seed: string | undefined;
  scenario: string | undefined;
  flowsimVersion: string | undefined;
  nodeVersion: string | undefined;
  level: string | undefined;
  config: unknown;
  /** RunEnded's fields (without the envelope), or null for a truncated trace. */
  runEnded: Record<string, unknown> | null;
  truncated: boolean;
  /** Events read. */
  events: number;
  /** Events of kinds the mapping does not handle, by kind (keys sorted). */
  skippedKinds: Record<string, number>;
  /** Spans open at the end of the trace, closed at the last event's time. */
  unclosedSpans: number;
  /** End events with no open span to close (e.g. their begin was dropped by the cap). */
  unmatchedEnds: number;
  /** Begin events whose key was already open; the older span is closed there, unclosed. */
  duplicateBegins: number;
  /** Threads added beyond one per lane to keep overlapping spans nested. */
  extraTracks: number;
}

export interface ChromeTrace {
  traceEvents: ChromeEvent[];
  displayTimeUnit: "ns";
  otherData: ChromeOtherData;
}

// ---------------------------------------------------------------------------------------
// Mapping types: how trace kinds become Chrome events. The kernel's are below; the engine
// adds its own with `mergeMappings(kernelChromeMapping, engineMapping)`.

export type SpanKey = string | number;

/** A span (slice) opened by one kind and closed by another, matched by (host, key). */
export interface ChromeSpanMapping {
  begin: string;
  end: string;
  /** Identifies the span among those open on its host; called on begin and end events. */
  key: (e: TraceEvent) => SpanKey;
  /** The host (process); undefined or "" for the cluster process. Called on begin and end. */
  host: (e: TraceEvent) => string | undefined;
  /** The lane (thread) on the host; called on begin events. */
  lane: (e: TraceEvent) => string;
  /** The slice name, low-cardinality; called on begin events. */
  name: (e: TraceEvent) => string;
  /** Chrome category; defaults to the begin kind. */
  cat?: string;
  /**
   * Kinds that end every open span of this mapping on the host they name, e.g. a host
   * crash, after which the lost work never gets its end event. Value: the named host.
   */
  closedBy?: Readonly<Record<string, (e: TraceEvent) => string | undefined>>;
}

/** "g": a global instant; "p": on the host's process when the event names one, else global. */
export type InstantScope = "g" | "p";

export interface ChromeInstantMapping {
  scope: InstantScope;
  /** The host of a "p" instant; defaults to the event's `host` field. */
  host?: (e: TraceEvent) => string | undefined;
  /** Defaults to the kind. */
  name?: (e: TraceEvent) => string;
}

/** A counter sample: series `series` of counter `name`, on the host's process if any. */
export interface ChromeCounterMapping {
  name: (e: TraceEvent) => string;
  series: (e: TraceEvent) => string;
  value: (e: TraceEvent) => number;
  host?: (e: TraceEvent) => string | undefined;
}

export interface ChromeMapping {
  spans?: readonly ChromeSpanMapping[];
  instants?: Readonly<Record<string, InstantScope | ChromeInstantMapping>>;
  counters?: Readonly<Record<string, ChromeCounterMapping>>;
  /** Kinds that declare a host (HostAdded), so pids follow declaration order. Value: the host. */
  hosts?: Readonly<Record<string, (e: TraceEvent) => string>>;
}

// ---------------------------------------------------------------------------------------
// Field accessors for mapping authors: they name the event and field when a trace is bad.

function fieldError(e: TraceEvent, field: string, expected: string): InputError {
  const value = e[field];
  const got = value === undefined ? "nothing" : (JSON.stringify(value) ?? String(value)).slice(0, 60);
  return new InputError(`trace seq ${e.seq} (${e.kind}): ${field}`, `must be ${expected}, got ${got}`);
}

export function stringField(e: TraceEvent, field: string): string {
  const value = e[field];
  if (typeof value !== "string") throw fieldError(e, field, "a string");
  return value;
}

export function optionalStringField(e: TraceEvent, field: string): string | undefined {
  const value = e[field];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw fieldError(e, field, "a string when present");
  return value;
}

export function numberField(e: TraceEvent, field: string): number {
  const value = e[field];
  if (typeof value !== "number" || !Number.isFinite(value)) throw fieldError(e, field, "a finite number");
  return value;
}

/** The `host` field, if the event has one: the default host of instants and counters. */
export function hostField(e: TraceEvent): string | undefined {
  return optionalStringField(e, "host");
}

// ---------------------------------------------------------------------------------------
// The kernel's mapping

const workKey = (e: TraceEvent): SpanKey => numberField(e, "work");
const requiredHost = (e: TraceEvent): string => stringField(e, "host");

export const kernelChromeMapping: ChromeMapping = {
  spans: [
    {
      begin: "WorkStarted",
      end: "WorkFinished",
      cat: "work",
      key: workKey,
      host: requiredHost,
      lane: (e) => stringField(e, "lane"),
      name: (e) => stringField(e, "label"),
      // A crash drops the host's running work without WorkFinished events (host.ts).
      closedBy: { HostCrashed: requiredHost },
    },
  ],
  instants: {
    HostCrashed: "p",
    HostRestarted: "p",
    HostSpeedChanged: "p",
    LinkPartitioned: "g",
    LinkHealed: "g",
    LinkClogged: "g",
    LinkUnclogged: "g",
    ConnectionReset: "g",
    DiskFaultStarted: "p",
    DiskFaultEnded: "p",
    DiskWritesLost: "p",
    DiskOpFailed: "p",
    BlobOutageStarted: "g",
    BlobOutageEnded: "g",
    BlobOpFailed: "g",
    FaultFired: "p",
    Mark: "p",
    Note: "p",
    TraceCapped: "g",
  },
  counters: {
    Metric: {
      name: (e) => stringField(e, "name"),
      series: (e) => stringField(e, "entity"),
      value: (e) => numberField(e, "value"),
      host: hostField,
    },
  },
  hosts: { HostAdded: requiredHost },
};

/**
 * Kernel kinds the kernel mapping leaves out, with the reason; a test checks that every
 * kernel kind is either mapped or listed here, so a new kind is a decision, not an accident.
 */
export const KERNEL_KINDS_NOT_EXPORTED: Readonly<Record<string, string>> = {
  RunStarted: "goes into otherData",
  RunEnded: "goes into otherData",
  ConnectionOpened: "connection lifecycles would be async slices; not drawn yet",
  ConnectionClosed: "connection lifecycles would be async slices; not drawn yet",
  MessageSent: "message hops would be flow arrows; not drawn yet",
  MessageDelivered: "message hops would be flow arrows; not drawn yet",
  MessageHeld: "message hops would be flow arrows; not drawn yet",
};

/** Kinds the exporter handles itself; a mapping may not claim them. */
const RESERVED_KINDS = ["RunStarted", "RunEnded"];

function mergeRecord<V>(what: string, a: Readonly<Record<string, V>> | undefined, b: Readonly<Record<string, V>> | undefined): Record<string, V> {
  const out: Record<string, V> = { ...a };
  for (const [kind, value] of Object.entries(b ?? {})) {
    if (Object.hasOwn(out, kind)) throw new InvariantError(`chrome mapping: ${what} kind ${kind} is mapped by both mappings`);
    out[kind] = value;
  }
  return out;
}

/**
 * `b` added to `a`. A kind mapped by both is an error rather than an override, so an
 * engine mapping cannot silently change how a kernel kind is shown.
 */
export function mergeMappings(a: ChromeMapping, b: ChromeMapping): ChromeMapping {
  const merged: ChromeMapping = {
    spans: [...(a.spans ?? []), ...(b.spans ?? [])],
    instants: mergeRecord("instant", a.instants, b.instants),
    counters: mergeRecord("counter", a.counters, b.counters),
    hosts: mergeRecord("host", a.hosts, b.hosts),
  };
  compileMapping(merged); // reports conflicts across categories now, not at export time
  return merged;
}

// ---------------------------------------------------------------------------------------
// Compiled mapping: one dispatch entry per kind, checked for conflicts once.

type Handler =
  | { type: "begin"; span: number }
  | { type: "end"; span: number }
  | { type: "instant"; scope: InstantScope; host: (e: TraceEvent) => string | undefined; name: ((e: TraceEvent) => string) | undefined }
  | { type: "counter"; counter: ChromeCounterMapping }
  | { type: "host"; host: (e: TraceEvent) => string };

interface Closer {
  span: number;
  host: (e: TraceEvent) => string | undefined;
}

interface CompiledMapping {
  spans: readonly ChromeSpanMapping[];
  handlers: Map<string, Handler>;
  closers: Map<string, Closer[]>;
}

function compileMapping(mapping: ChromeMapping): CompiledMapping {
  const handlers = new Map<string, Handler>();
  const add = (kind: string, handler: Handler) => {
    if (RESERVED_KINDS.includes(kind)) throw new InvariantError(`chrome mapping: ${kind} is handled by the exporter itself`);
    const previous = handlers.get(kind);
    if (previous !== undefined) throw new InvariantError(`chrome mapping: kind ${kind} mapped twice (${previous.type} and ${handler.type})`);
    handlers.set(kind, handler);
  };
  const spans = mapping.spans ?? [];
  const closers = new Map<string, Closer[]>();
  spans.forEach((span, index) => {
    if (span.begin === span.end) throw new InvariantError(`chrome mapping: span ${span.begin} begins and ends with the same kind`);
    add(span.begin, { type: "begin", span: index });
    add(span.end, { type: "end", span: index });
    for (const [kind, host] of Object.entries(span.closedBy ?? {})) {
      let list = closers.get(kind);
      if (list === undefined) closers.set(kind, (list = []));
      list.push({ span: index, host });
    }
  });
  for (const [kind, spec] of Object.entries(mapping.instants ?? {})) {
    const full: ChromeInstantMapping = typeof spec === "string" ? { scope: spec } : spec;
    if (full.scope !== "g" && full.scope !== "p") throw new InvariantError(`chrome mapping: instant ${kind} has scope ${String(full.scope)}`);
    add(kind, { type: "instant", scope: full.scope, host: full.host ?? hostField, name: full.name });
  }
  for (const [kind, counter] of Object.entries(mapping.counters ?? {})) add(kind, { type: "counter", counter });
  for (const [kind, host] of Object.entries(mapping.hosts ?? {})) add(kind, { type: "host", host });
  for (const kind of closers.keys()) {
    const handler = handlers.get(kind);
    if (handler !== undefined && (handler.type === "begin" || handler.type === "end")) {
      throw new InvariantError(`chrome mapping: ${kind} both closes spans and is a span ${handler.type}`);
    }
  }
  return { spans, handlers, closers };
}

// ---------------------------------------------------------------------------------------
// Export

/** Most threads one lane may be split into (a limit on everything, DESIGN style rule 3). */
export const MAX_TRACKS_PER_LANE = 4096;

export const CLUSTER_PID = 0;
const CLUSTER_NAME = "cluster";
/** Process-level events (instants, counters) use tid 0; lanes get tids from 1. */
const PROCESS_TID = 0;

interface Lane {
  name: string;
  spans: Span[];
}

interface Span {
  name: string;
  cat: string;
  beginNs: Ns;
  beginSeq: number;
  beginArgs: Record<string, unknown>;
  /** -1 while open. */
  endNs: Ns;
  endArgs: Record<string, unknown> | undefined;
}

/** A Chrome event with its sort key: (tNs, group, ord), total (see the module comment). */
interface Keyed {
  tNs: Ns;
  /** The tid for slice events; PROCESS_TID for process-level and global events. */
  group: number;
  /** Position in its tid's nesting walk for slices, the source seq otherwise. */
  ord: number;
  event: ChromeEvent;
}

function byKey(a: Keyed, b: Keyed): number {
  return a.tNs - b.tNs || a.group - b.group || a.ord - b.ord;
}

/** Outer spans first: by begin, then the longer one, then the earlier-begun (seq). */
function bySpanNesting(a: Span, b: Span): number {
  return a.beginNs - b.beginNs || b.endNs - a.endNs || a.beginSeq - b.beginSeq;
}

/** Fields of an event for `args`: everything but the envelope, keeping seq to find it in the JSONL. */
function argsOf(e: TraceEvent): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const key in e) {
    if (key !== "v" && key !== "t" && key !== "kind") args[key] = e[key];
  }
  return args;
}

function endArgsOf(e: TraceEvent): Record<string, unknown> {
  const args: Record<string, unknown> = { endSeq: e.seq };
  for (const key in e) {
    if (key !== "v" && key !== "t" && key !== "kind" && key !== "seq") args[key] = e[key];
  }
  return args;
}

/** All per-export state: one instance per call, so the exporter stays a pure function. */
class Exporter {
  private readonly pids = new Map<string, number>();
  private readonly processNames: string[] = [CLUSTER_NAME];
  /** Lanes per pid, in order of first appearance. */
  private readonly lanes: Map<string, Lane>[] = [new Map()];
  /** Open spans per span mapping, by host ("" for none), then key. */
  private readonly open: Map<string, Map<SpanKey, Span>>[];
  private readonly keyed: Keyed[] = [];
  private readonly skipped = new Map<string, number>();
  private runStarted: TraceEvent | undefined;
  private runEnded: TraceEvent | undefined;
  private events = 0;
  private lastT: Ns = 0;
  private unclosed = 0;
  private unmatchedEnds = 0;
  private duplicateBegins = 0;
  private extraTracks = 0;

  constructor(private readonly mapping: CompiledMapping) {
    this.open = mapping.spans.map(() => new Map());
  }

  read(e: TraceEvent): void {
    if (e.t < this.lastT) throw new InputError(`trace seq ${e.seq} (${e.kind}): t`, `${e.t} is before the previous event's ${this.lastT}`);
    this.events++;
    this.lastT = e.t;
    if (e.kind === "RunStarted") {
      this.runStarted = e;
      return;
    }
    if (e.kind === "RunEnded") {
      this.runEnded = e;
      return;
    }
    const closers = this.mapping.closers.get(e.kind);
    if (closers !== undefined) for (const closer of closers) this.closeHost(closer, e);
    const handler = this.mapping.handlers.get(e.kind);
    if (handler === undefined) {
      if (closers === undefined) this.skipped.set(e.kind, (this.skipped.get(e.kind) ?? 0) + 1);
      return;
    }
    switch (handler.type) {
      case "begin":
        return this.begin(handler.span, e);
      case "end":
        return this.end(handler.span, e);
      case "instant":
        return this.instant(handler.scope, handler.host, handler.name, e);
      case "counter":
        return this.counter(handler.counter, e);
      case "host":
        this.pidOf(handler.host(e));
        return;
    }
  }

  private pidOf(host: string | undefined): number {
    if (host === undefined || host === "") return CLUSTER_PID;
    let pid = this.pids.get(host);
    if (pid === undefined) {
      pid = this.processNames.length;
      this.pids.set(host, pid);
      this.processNames.push(host);
      this.lanes.push(new Map());
    }
    return pid;
  }

  private openOf(span: number, host: string | undefined): Map<SpanKey, Span> {
    const byHost = this.open[span]!;
    const hostKey = host ?? "";
    let byKey = byHost.get(hostKey);
    if (byKey === undefined) byHost.set(hostKey, (byKey = new Map()));
    return byKey;
  }

  private begin(index: number, e: TraceEvent): void {
    const m = this.mapping.spans[index]!;
    const host = m.host(e);
    const pid = this.pidOf(host);
    const laneName = m.lane(e);
    const lanes = this.lanes[pid]!;
    let lane = lanes.get(laneName);
    if (lane === undefined) lanes.set(laneName, (lane = { name: laneName, spans: [] }));
    const span: Span = {
      name: m.name(e),
      cat: m.cat ?? m.begin,
      beginNs: e.t,
      beginSeq: e.seq,
      beginArgs: argsOf(e),
      endNs: -1,
      endArgs: undefined,
    };
    lane.spans.push(span);
    const open = this.openOf(index, host);
    const key = m.key(e);
    const previous = open.get(key);
    if (previous !== undefined) {
      // Keys must be unique while open; keep both spans visible rather than lose one.
      this.duplicateBegins++;
      previous.endNs = e.t;
      previous.endArgs = { endSeq: e.seq, unclosed: true, endedBy: `duplicate ${e.kind}` };
      open.delete(key);
    }
    open.set(key, span);
  }

  private end(index: number, e: TraceEvent): void {
    const m = this.mapping.spans[index]!;
    const open = this.openOf(index, m.host(e));
    const key = m.key(e);
    const span = open.get(key);
    if (span === undefined) {
      this.unmatchedEnds++;
      return;
    }
    open.delete(key);
    span.endNs = e.t;
    span.endArgs = endArgsOf(e);
  }

  private closeHost(closer: Closer, e: TraceEvent): void {
    const open = this.openOf(closer.span, closer.host(e));
    for (const span of open.values()) {
      span.endNs = e.t;
      span.endArgs = { endSeq: e.seq, endedBy: e.kind };
    }
    open.clear();
  }

  private instant(
    scope: InstantScope,
    hostOf: (e: TraceEvent) => string | undefined,
    nameOf: ((e: TraceEvent) => string) | undefined,
    e: TraceEvent,
  ): void {
    const pid = scope === "p" ? this.pidOf(hostOf(e)) : CLUSTER_PID;
    const event: ChromeEvent = {
      name: nameOf === undefined ? e.kind : nameOf(e),
      cat: e.kind,
      ph: "i",
      ts: e.t / NS_PER_US,
      pid,
      tid: PROCESS_TID,
      s: pid === CLUSTER_PID ? "g" : "p",
      args: argsOf(e),
    };
    this.keyed.push({ tNs: e.t, group: PROCESS_TID, ord: e.seq, event });
  }

  private counter(m: ChromeCounterMapping, e: TraceEvent): void {
    const pid = this.pidOf(m.host === undefined ? undefined : m.host(e));
    const event: ChromeEvent = {
      name: m.name(e),
      cat: e.kind,
      ph: "C",
      ts: e.t / NS_PER_US,
      pid,
      tid: PROCESS_TID,
      args: { [m.series(e)]: m.value(e) },
    };
    this.keyed.push({ tNs: e.t, group: PROCESS_TID, ord: e.seq, event });
  }

  finish(): ChromeTrace {
    this.closeUnclosed();
    const metadata = this.layOutLanes();
    this.keyed.sort(byKey);
    const traceEvents = metadata;
    for (const k of this.keyed) traceEvents.push(k.event);
    return { traceEvents, displayTimeUnit: "ns", otherData: this.otherData() };
  }

  /** Spans still open when the trace ends (a truncated trace, cancelled work) end at its last event. */
  private closeUnclosed(): void {
    for (const byHost of this.open) {
      for (const byKey of byHost.values()) {
        for (const span of byKey.values()) {
          span.endNs = this.lastT;
          span.endArgs = { unclosed: true };
          this.unclosed++;
        }
        byKey.clear();
      }
    }
  }

  /**
   * Assigns threads (tids in pid order, then lane order) and emits each thread's B/E in
   * nesting order. Returns the metadata events naming processes and threads.
   */
  private layOutLanes(): ChromeEvent[] {
    const metadata: ChromeEvent[] = [];
    let nextTid = PROCESS_TID + 1;
    let ord = 0;
    for (let pid = 0; pid < this.processNames.length; pid++) {
      metadata.push(meta("process_name", pid, PROCESS_TID, { name: this.processNames[pid] }));
      metadata.push(meta("process_sort_index", pid, PROCESS_TID, { sort_index: pid }));
      let sortIndex = 0;
      for (const lane of this.lanes[pid]!.values()) {
        lane.spans.sort(bySpanNesting);
        const tracks: Track[] = [];
        for (const span of lane.spans) {
          // closeUnclosed gave every span an end; one before its begin would break the nesting walk.
          assert(span.endNs >= span.beginNs, `span ${span.name} (seq ${span.beginSeq}) ends before it begins`);
          let track: Track | undefined;
          for (const candidate of tracks) {
            ord = popEnded(candidate, span.beginNs, this.keyed, ord);
            const top = candidate.stack[candidate.stack.length - 1];
            if (top === undefined || top.endNs >= span.endNs) {
              track = candidate;
              break;
            }
          }
          if (track === undefined) {
            if (tracks.length >= MAX_TRACKS_PER_LANE) {
              throw new InputError(
                "chrome export",
                `lane "${lane.name}" of ${this.processNames[pid]} needs more than ${MAX_TRACKS_PER_LANE} threads to nest its overlapping spans`,
              );
            }
            const name = tracks.length === 0 ? lane.name : `${lane.name} #${tracks.length + 1}`;
            if (tracks.length > 0) this.extraTracks++;
            track = { pid, tid: nextTid++, stack: [] };
            tracks.push(track);
            metadata.push(meta("thread_name", pid, track.tid, { name }));
            metadata.push(meta("thread_sort_index", pid, track.tid, { sort_index: sortIndex++ }));
          }
          track.stack.push(span);
          this.keyed.push({ tNs: span.beginNs, group: track.tid, ord: ord++, event: slice("B", span, span.beginNs, track, span.beginArgs) });
        }
        for (const track of tracks) ord = popEnded(track, Infinity, this.keyed, ord);
      }
    }
    return metadata;
  }

  private otherData(): ChromeOtherData {
    const started = this.runStarted;
    const text = (field: string): string | undefined => (typeof started?.[field] === "string" ? (started[field] as string) : undefined);
    const skippedKinds: Record<string, number> = {};
    for (const kind of [...this.skipped.keys()].sort(compareStrings)) skippedKinds[kind] = this.skipped.get(kind)!;
    return {
      traceVersion: TRACE_VERSION,
      seed: text("seed"),
      scenario: text("scenario"),
      flowsimVersion: text("flowsimVersion"),
      nodeVersion: text("nodeVersion"),
      level: text("level"),
      config: started?.config,
      runEnded: this.runEnded === undefined ? null : argsWithoutSeq(this.runEnded),
      truncated: this.runEnded === undefined,
      events: this.events,
      skippedKinds,
      unclosedSpans: this.unclosed,
      unmatchedEnds: this.unmatchedEnds,
      duplicateBegins: this.duplicateBegins,
      extraTracks: this.extraTracks,
    };
  }
}

interface Track {
  pid: number;
  tid: number;
  /** Open spans, innermost last; each ends no later than the one below it. */
  stack: Span[];
}

/** Emits E for the spans on `track` that end at or before `atNs` (innermost first). */
function popEnded(track: Track, atNs: number, out: Keyed[], ord: number): number {
  const stack = track.stack;
  while (stack.length > 0 && stack[stack.length - 1]!.endNs <= atNs) {
    const span = stack.pop()!;
    out.push({ tNs: span.endNs, group: track.tid, ord: ord++, event: slice("E", span, span.endNs, track, span.endArgs!) });
  }
  return ord;
}

function slice(ph: "B" | "E", span: Span, tNs: Ns, track: Track, args: Record<string, unknown>): ChromeEvent {
  return { name: span.name, cat: span.cat, ph, ts: tNs / NS_PER_US, pid: track.pid, tid: track.tid, args };
}

function meta(name: string, pid: number, tid: number, args: Record<string, unknown>): ChromeEvent {
  return { name, ph: "M", ts: 0, pid, tid, args };
}

function argsWithoutSeq(e: TraceEvent): Record<string, unknown> {
  const args = argsOf(e);
  delete args.seq;
  return args;
}

/**
 * Exports events (as read by `readTraceLines`: t non-decreasing) to the Chrome Trace
 * Event Format. Kinds the mapping does not handle are counted in `otherData.skippedKinds`.
 */
export function exportChromeTrace(events: Iterable<TraceEvent>, mapping: ChromeMapping = kernelChromeMapping): ChromeTrace {
  const exporter = new Exporter(compileMapping(mapping));
  for (const e of events) exporter.read(e);
  return exporter.finish();
}
