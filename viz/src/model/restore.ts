/**
 * A job started from a savepoint (execution.state-recovery.path): which savepoint, in
 * which format, under which claim mode, and per job vertex its parallelism in the run
 * that took the savepoint and in this one (the rescale). Under CLAIM the job owns the
 * savepoint's files and deletes them once no retained checkpoint references them
 * (SnapshotFileDeleted); under NO_CLAIM it never deletes them, so none are listed.
 *
 * Everything is "as of" the scrub time: the restore shows from its event on (time 0 in a
 * restored phase's trace), a deletion from its own time on.
 */
import type { TraceEvent } from "../../../sim/trace/events";
import { num, str } from "./event-fields";

export interface VertexRescale {
  vertex: string;
  name: string;
  oldParallelism: number;
  newParallelism: number;
  maxParallelism: number;
}

export interface SavepointRestore {
  tNs: number;
  seq: number;
  checkpoint: number;
  path: string;
  claimMode: string;
  format: string;
  vertices: VertexRescale[];
  plannedReadBytes: number;
}

export interface FileDeletion {
  tNs: number;
  seq: number;
  key: string;
  owner: string;
  claimMode: string;
  reason: string;
}

export interface RestoreModel {
  /** The restore this trace starts from, if any (a job restores at most once, at submission). */
  restore: SavepointRestore | undefined;
  /** Snapshot files deleted, in trace order (so by time). */
  deletions: FileDeletion[];
}

/** `events` in trace order; only JobRestoredFromSavepoint and SnapshotFileDeleted are read. */
export function buildRestore(events: Iterable<TraceEvent>): RestoreModel {
  let restore: SavepointRestore | undefined;
  const deletions: FileDeletion[] = [];
  for (const e of events) {
    if (e.kind === "JobRestoredFromSavepoint" && restore === undefined) {
      restore = {
        tNs: e.t,
        seq: e.seq,
        checkpoint: num(e, "checkpoint") ?? -1,
        path: str(e, "path") ?? "?",
        claimMode: str(e, "claimMode") ?? "?",
        format: str(e, "format") ?? "?",
        vertices: readVertices(e.vertices),
        plannedReadBytes: num(e, "plannedReadBytes") ?? 0,
      };
    } else if (e.kind === "SnapshotFileDeleted") {
      deletions.push({ tNs: e.t, seq: e.seq, key: str(e, "key") ?? "?", owner: str(e, "owner") ?? "?", claimMode: str(e, "claimMode") ?? "?", reason: str(e, "reason") ?? "" });
    }
  }
  return { restore, deletions };
}

function readVertices(v: unknown): VertexRescale[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((x) => {
    if (typeof x !== "object" || x === null) return [];
    const o = x as Record<string, unknown>;
    const n = (k: string) => (typeof o[k] === "number" && Number.isFinite(o[k]) ? (o[k] as number) : undefined);
    const oldP = n("oldParallelism");
    const newP = n("newParallelism");
    if (typeof o.vertex !== "string" || oldP === undefined || newP === undefined) return [];
    return [{ vertex: o.vertex, name: typeof o.name === "string" ? o.name : o.vertex, oldParallelism: oldP, newParallelism: newP, maxParallelism: n("maxParallelism") ?? 0 }];
  });
}

/** The restore if it happened by t. */
export function restoreAt(m: RestoreModel, t: number): SavepointRestore | undefined {
  return m.restore !== undefined && m.restore.tNs <= t ? m.restore : undefined;
}

/** How many snapshot files were deleted by t (deletions are sorted by time: an upper-bound search). */
export function deletedCountAt(m: RestoreModel, t: number): number {
  let lo = 0;
  let hi = m.deletions.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (m.deletions[mid]!.tNs <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The vertex's parallelism before the restore, when the restore (by t) changed it; undefined otherwise. */
export function previousParallelismAt(m: RestoreModel, vertex: string, t: number): number | undefined {
  const v = restoreAt(m, t)?.vertices.find((x) => x.vertex === vertex);
  return v !== undefined && v.oldParallelism !== v.newParallelism ? v.oldParallelism : undefined;
}

/** "v0 7 → 2" per vertex; "(unchanged)" for one whose parallelism stayed. */
export function rescaleText(v: VertexRescale): string {
  return `${v.oldParallelism} → ${v.newParallelism}${v.oldParallelism === v.newParallelism ? " (unchanged)" : ""}`;
}
