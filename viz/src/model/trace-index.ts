/**
 * Time indexes over a parsed trace, built once at load so that scrubbing is a binary
 * search rather than a scan: the event times as a typed array, the events of each kind,
 * and the hosts and vertices that appear (for the log's filters).
 *
 * Invariant: `times` is non-decreasing (the reader checked it), so `countAtOrBefore`
 * is an upper bound search; every per-kind list is in trace order.
 */
import type { TraceEvent } from "../../../sim/trace/events";
import { compareStrings } from "../../../sim/trace/reader";
import { eventHost, eventVertices } from "./event-fields";

export interface TraceIndex {
  readonly events: readonly TraceEvent[];
  /** `events[i].t`, as a typed array for fast searches. */
  readonly times: Float64Array;
  readonly startNs: number;
  readonly endNs: number;
  /** Indexes into `events`, per kind, in trace order. */
  readonly byKind: ReadonlyMap<string, Int32Array>;
  /** Sorted (code-unit order), for the filters. */
  readonly kinds: readonly string[];
  readonly hosts: readonly string[];
  readonly vertices: readonly string[];
}

export function buildTraceIndex(events: readonly TraceEvent[]): TraceIndex {
  const n = events.length;
  const times = new Float64Array(n);
  const kindLists = new Map<string, number[]>();
  const hosts = new Set<string>();
  const vertices = new Set<string>();
  for (let i = 0; i < n; i++) {
    const e = events[i]!;
    times[i] = e.t;
    let list = kindLists.get(e.kind);
    if (list === undefined) kindLists.set(e.kind, (list = []));
    list.push(i);
    const host = eventHost(e);
    if (host !== undefined) hosts.add(host);
    // Only the kinds that name a vertex; scanning arrays of every event would cost at 1M events.
    if (typeof e.vertex === "string") vertices.add(e.vertex);
  }
  for (const i of kindLists.get("JobSubmitted") ?? []) for (const v of eventVertices(events[i]!)) vertices.add(v);
  const byKind = new Map<string, Int32Array>();
  for (const [kind, list] of kindLists) byKind.set(kind, Int32Array.from(list));
  return {
    events,
    times,
    startNs: n > 0 ? times[0]! : 0,
    endNs: n > 0 ? times[n - 1]! : 0,
    byKind,
    kinds: [...kindLists.keys()].sort(compareStrings),
    hosts: [...hosts].sort(compareStrings),
    vertices: [...vertices].sort(compareStrings),
  };
}

/** How many entries of a sorted array are ≤ t (so `[0, result)` is "what happened by t"). */
export function upperBound(sorted: ArrayLike<number>, t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** How many entries of a sorted array are < t. */
export function lowerBound(sorted: ArrayLike<number>, t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Number of events at or before virtual time t. */
export function countAtOrBefore(index: TraceIndex, t: number): number {
  return upperBound(index.times, t);
}

/** Events of one kind, in trace order. */
export function eventsOfKind(index: TraceIndex, kind: string): TraceEvent[] {
  const list = index.byKind.get(kind);
  if (list === undefined) return [];
  const out: TraceEvent[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) out[i] = index.events[list[i]!]!;
  return out;
}

/** The time of the first event strictly after t, or undefined at the end (the "step" button). */
export function nextEventTime(index: TraceIndex, t: number): number | undefined {
  const i = upperBound(index.times, t);
  return i < index.times.length ? index.times[i] : undefined;
}

/** The time of the last event strictly before t, or undefined at the start. */
export function previousEventTime(index: TraceIndex, t: number): number | undefined {
  const i = lowerBound(index.times, t);
  return i > 0 ? index.times[i - 1] : undefined;
}
