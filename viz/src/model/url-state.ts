/**
 * The replay state kept in the URL, so a view can be shared or reloaded: the trace (a
 * served path, in the query string) and in the hash the scrub time, the selected event
 * and the log filters. Parsing never throws: a bad value is dropped, not shown as an error,
 * because a stale link must still open the trace.
 */
import type { LogFilter } from "./event-log";

export interface UrlState {
  trace: string | undefined;
  timeNs: number | undefined;
  selectedSeq: number | undefined;
  filter: LogFilter;
}

function nonNegativeInt(s: string | null): number | undefined {
  if (s === null || !/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

function nonEmpty(s: string | null): string | undefined {
  return s === null || s === "" ? undefined : s;
}

export function parseUrlState(search: string, hash: string): UrlState {
  const q = new URLSearchParams(search);
  const h = new URLSearchParams(hash.startsWith("#") ? hash.slice(1) : hash);
  return {
    trace: nonEmpty(q.get("trace")),
    timeNs: nonNegativeInt(h.get("t")),
    selectedSeq: nonNegativeInt(h.get("sel")),
    filter: { kind: nonEmpty(h.get("kind")), vertex: nonEmpty(h.get("vertex")), host: nonEmpty(h.get("host")) },
  };
}

/** The hash part ("#t=...&sel=..."); fields at their defaults are left out. */
export function formatUrlHash(s: Omit<UrlState, "trace">): string {
  const h = new URLSearchParams();
  if (s.timeNs !== undefined) h.set("t", String(Math.round(s.timeNs)));
  if (s.selectedSeq !== undefined) h.set("sel", String(s.selectedSeq));
  if (s.filter.kind !== undefined) h.set("kind", s.filter.kind);
  if (s.filter.vertex !== undefined) h.set("vertex", s.filter.vertex);
  if (s.filter.host !== undefined) h.set("host", s.filter.host);
  const text = h.toString();
  return text === "" ? "" : `#${text}`;
}
