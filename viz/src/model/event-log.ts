/**
 * The event log's model: which events pass the filters (kind, vertex, host) and a
 * one-line summary of each. The filtered list is an index array computed once per filter
 * change, so scrolling and following the scrub time stay cheap at 1M events.
 */
import type { TraceEvent } from "../../../sim/trace/events";
import { eventHost, eventVertices } from "./event-fields";

export interface LogFilter {
  kind: string | undefined;
  vertex: string | undefined;
  host: string | undefined;
}

/**
 * Kind filters that select a family of kinds at once; a filter's `kind` may name one
 * ("@blocklist"). The "@" prefix cannot clash with a kind (kinds are PascalCase).
 */
export const KIND_GROUPS: Readonly<Record<string, { label: string; kinds: readonly string[] }>> = {
  "@blocklist": { label: "blocklist (NodeBlocked, NodeUnblocked)", kinds: ["NodeBlocked", "NodeUnblocked"] },
  "@speculation": { label: "speculative execution", kinds: ["SpeculativeAttemptLaunched", "SpeculativeExecutionFinished", "NodeBlocked", "NodeUnblocked"] },
  "@adaptive": { label: "parallelism decisions", kinds: ["VertexParallelismDecided", "VertexInitialized"] },
  "@savepoint": {
    label: "savepoints and restores",
    kinds: ["SavepointTriggered", "SavepointCompleted", "SavepointFailed", "SavepointStored", "JobRestoredFromSavepoint", "SnapshotFileDeleted"],
  },
  "@jobmanager": {
    label: "JobManager failover and batch job recovery",
    kinds: ["JobManagerLost", "JobManagerLeaderElected", "CheckpointStoreRecovered", "JobEventsFlushed", "JobEventsReplayed", "PartitionsReconciled", "RecoveryVerticesReset", "JobRecoveryFinished"],
  },
};

/** The groups with at least one of their kinds in the trace, for the kind filter. */
export function kindGroupsPresent(kinds: readonly string[]): string[] {
  return Object.keys(KIND_GROUPS).filter((g) => KIND_GROUPS[g]!.kinds.some((k) => kinds.includes(k)));
}

function kindMatches(kind: string, filterKind: string): boolean {
  const group = KIND_GROUPS[filterKind];
  return group === undefined ? kind === filterKind : group.kinds.includes(kind);
}

export const NO_FILTER: LogFilter = { kind: undefined, vertex: undefined, host: undefined };

export function matches(e: TraceEvent, f: LogFilter): boolean {
  if (f.kind !== undefined && !kindMatches(e.kind, f.kind)) return false;
  if (f.host !== undefined && eventHost(e) !== f.host) return false;
  if (f.vertex !== undefined && !eventVertices(e).includes(f.vertex)) return false;
  return true;
}

/** Indexes of the events that pass, in trace order (all of them when there is no filter). */
export function filterEvents(events: readonly TraceEvent[], f: LogFilter): Int32Array {
  if (f.kind === undefined && f.vertex === undefined && f.host === undefined) {
    const all = new Int32Array(events.length);
    for (let i = 0; i < all.length; i++) all[i] = i;
    return all;
  }
  const out: number[] = [];
  for (let i = 0; i < events.length; i++) if (matches(events[i]!, f)) out.push(i);
  return Int32Array.from(out);
}

/** Position in the filtered list of the last event at or before t (-1 if none): the log's "now" row. */
export function currentRow(filtered: Int32Array, times: Float64Array, t: number): number {
  // `filtered` is increasing and so are the times at it: an upper-bound search over times[filtered[i]].
  let lo = 0;
  let hi = filtered.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[filtered[mid]!]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

const ENVELOPE = new Set(["v", "seq", "t", "kind"]);
const SUMMARY_MAX_CHARS = 160;

/** The event's own fields as "key=value", short (the full JSON is shown on selection). */
export function summarize(e: TraceEvent): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(e)) {
    if (ENVELOPE.has(k) || k === "config") continue;
    parts.push(`${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  }
  const text = parts.join(" ");
  return text.length > SUMMARY_MAX_CHARS ? text.slice(0, SUMMARY_MAX_CHARS) + "…" : text;
}
