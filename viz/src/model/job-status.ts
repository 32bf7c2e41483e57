/**
 * The job's status over time, from JobStatusChanged (CREATED, RECONCILING, RUNNING,
 * FINISHED, FAILED, CANCELED). The status at t is that of the last change at or before t,
 * so at a time with several changes (RECONCILING then RUNNING at one instant) the last
 * one in trace order wins. Undefined before the first change.
 *
 * Invariant: `changes` is sorted by (time, seq), which `jobStatusAt` searches.
 */
import type { TraceEvent } from "../../../sim/trace/events";
import { str } from "./event-fields";

export interface StatusChange {
  tNs: number;
  seq: number;
  status: string;
}

export interface JobStatusModel {
  changes: StatusChange[];
}

export function buildJobStatus(events: Iterable<TraceEvent>): JobStatusModel {
  const changes: StatusChange[] = [];
  for (const e of events) {
    if (e.kind !== "JobStatusChanged") continue;
    const status = str(e, "status");
    if (status === undefined) continue;
    changes.push({ tNs: e.t, seq: e.seq, status });
  }
  // A trace is in (t, seq) order already; sorting keeps the search right for any input.
  changes.sort((a, b) => a.tNs - b.tNs || a.seq - b.seq);
  return { changes };
}

/** The job status at time t (binary search: the last change with tNs ≤ t). */
export function jobStatusAt(model: JobStatusModel, t: number): string | undefined {
  let lo = 0;
  let hi = model.changes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (model.changes[mid]!.tNs <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? undefined : model.changes[lo - 1]!.status;
}
