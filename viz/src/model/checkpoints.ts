/**
 * Checkpoints: each one from its trigger to completion or abort, with every subtask's
 * acknowledgement and its phases as Flink's checkpoint statistics report them (start
 * delay, alignment, sync, async). The view shows a history strip and, for the selected
 * checkpoint, a per-subtask phase Gantt sorted by duration so the slowest subtasks rise
 * to the top (FLINK-39566). Everything is "as of" the scrub time: a checkpoint completed
 * after t is still pending at t, and acks after t are not shown yet.
 */
import type { TraceEvent } from "../../../sim/trace/events";
import { compareStrings } from "../../../sim/trace/reader";
import { num, str, strings } from "./event-fields";

export interface Ack {
  subtask: string;
  host: string;
  ackNs: number;
  startDelayNs: number;
  alignmentNs: number;
  syncNs: number;
  asyncNs: number;
  stateBytes: number;
  /** Taken unaligned (from the start or after the aligned-checkpoint timeout). */
  unaligned: boolean;
  /** In-flight data persisted as channel state (unaligned), bytes. */
  persistedBytes: number;
}

export interface Checkpoint {
  id: number;
  triggerNs: number;
  triggerSeq: number;
  mode: string;
  expectedSubtasks: number;
  /** When it completed or was aborted. */
  endNs: number | undefined;
  outcome: "COMPLETED" | "ABORTED" | undefined;
  durationNs: number | undefined;
  stateBytes: number | undefined;
  reason: string | undefined;
  acks: Ack[];
  /** Set when this id is a savepoint (SavepointTriggered): its options and where it was stored. */
  savepoint: SavepointInfo | undefined;
}

/**
 * A savepoint: triggered by the user (stop-with-savepoint when `terminate`, after
 * draining the sources to end of input when `drain`), in the CANONICAL or NATIVE
 * format; its acks are CheckpointAcknowledged with its id, so the Gantt is the same.
 * The JobManager writes its metadata (SavepointStored) shortly after it completes.
 */
export interface SavepointInfo {
  terminate: boolean;
  drain: boolean;
  format: string;
  storedNs: number | undefined;
  path: string | undefined;
  metadataBytes: number | undefined;
}

export interface Restore {
  tNs: number;
  checkpoint: number;
  subtasks: string[];
}

export interface CheckpointModel {
  checkpoints: Checkpoint[];
  restores: Restore[];
}

export type CheckpointStatus = "PENDING" | "COMPLETED" | "ABORTED";

export function buildCheckpoints(events: Iterable<TraceEvent>): CheckpointModel {
  const byId = new Map<number, Checkpoint>();
  const checkpoints: Checkpoint[] = [];
  const restores: Restore[] = [];
  for (const e of events) {
    if (!e.kind.startsWith("Checkpoint") && !e.kind.startsWith("Savepoint")) continue;
    const id = num(e, "checkpoint");
    if (id === undefined) continue;
    if (e.kind === "CheckpointRestored") {
      restores.push({ tNs: e.t, checkpoint: id, subtasks: strings(e, "subtasks") });
      continue;
    }
    let cp = byId.get(id);
    if (cp === undefined) {
      // An ack or end without its trigger (a cut trace) still gets a row, starting at its first event.
      cp = { id, triggerNs: e.t, triggerSeq: e.seq, mode: "?", expectedSubtasks: 0, endNs: undefined, outcome: undefined, durationNs: undefined, stateBytes: undefined, reason: undefined, acks: [], savepoint: undefined };
      byId.set(id, cp);
      checkpoints.push(cp);
    }
    switch (e.kind) {
      case "CheckpointTriggered":
        cp.mode = str(e, "mode") ?? "?";
        cp.expectedSubtasks = num(e, "subtasks") ?? 0;
        break;
      case "SavepointTriggered":
        cp.mode = "savepoint";
        cp.expectedSubtasks = num(e, "subtasks") ?? 0;
        cp.savepoint = { terminate: e.terminate === true, drain: e.drain === true, format: str(e, "format") ?? "?", storedNs: undefined, path: undefined, metadataBytes: undefined };
        break;
      case "SavepointStored":
        if (cp.savepoint !== undefined) {
          cp.savepoint.storedNs = e.t;
          cp.savepoint.path = str(e, "path");
          cp.savepoint.metadataBytes = num(e, "metadataBytes");
        }
        break;
      case "CheckpointAcknowledged":
        cp.acks.push({
          subtask: str(e, "subtask") ?? "?",
          host: str(e, "host") ?? "?",
          ackNs: e.t,
          startDelayNs: num(e, "startDelayNs") ?? 0,
          alignmentNs: num(e, "alignmentNs") ?? 0,
          syncNs: num(e, "syncNs") ?? 0,
          asyncNs: num(e, "asyncNs") ?? 0,
          stateBytes: num(e, "stateBytes") ?? 0,
          unaligned: e["unaligned"] === true,
          persistedBytes: num(e, "persistedBytes") ?? 0,
        });
        break;
      case "CheckpointCompleted":
      case "CheckpointAborted":
      case "SavepointCompleted":
      case "SavepointFailed":
        cp.endNs = e.t;
        cp.outcome = e.kind === "CheckpointCompleted" || e.kind === "SavepointCompleted" ? "COMPLETED" : "ABORTED";
        cp.durationNs = num(e, "durationNs") ?? e.t - cp.triggerNs;
        cp.stateBytes = num(e, "stateBytes");
        cp.reason = str(e, "reason");
        break;
    }
  }
  return { checkpoints, restores };
}

export function statusAt(cp: Checkpoint, t: number): CheckpointStatus | undefined {
  if (t < cp.triggerNs) return undefined;
  if (cp.endNs === undefined || t < cp.endNs) return "PENDING";
  return cp.outcome!;
}

/** Checkpoints triggered by t, oldest first. */
export function checkpointsAt(model: CheckpointModel, t: number): Checkpoint[] {
  return model.checkpoints.filter((cp) => cp.triggerNs <= t);
}

/** An ack's total, as the Gantt draws it: trigger to ack. */
export function ackDurationNs(cp: Checkpoint, a: Ack): number {
  return a.ackNs - cp.triggerNs;
}

/** Acks received by t, slowest first; ties by subtask id, so the order is total. */
export function rowsByDuration(cp: Checkpoint, t: number): Ack[] {
  return cp.acks
    .filter((a) => a.ackNs <= t)
    .sort((a, b) => ackDurationNs(cp, b) - ackDurationNs(cp, a) || compareStrings(a.subtask, b.subtask));
}

export interface DurationSummary {
  count: number;
  minNs: number;
  medianNs: number;
  maxNs: number;
}

/** The savepoint's path once its metadata was stored by t. */
export function savepointPathAt(cp: Checkpoint, t: number): string | undefined {
  const sp = cp.savepoint;
  return sp !== undefined && sp.storedNs !== undefined && sp.storedNs <= t ? sp.path : undefined;
}

/** "stop-with-savepoint --drain", "stop-with-savepoint" or "savepoint", after Flink's CLI. */
export function savepointAction(sp: SavepointInfo): string {
  return sp.terminate ? `stop-with-savepoint${sp.drain ? " --drain" : ""}` : "savepoint";
}

/** min / median / max duration of the periodic checkpoints completed by t (Flink's Summary tab; savepoints are not counted). */
export function completedSummaryAt(model: CheckpointModel, t: number): DurationSummary | undefined {
  const ds = model.checkpoints
    .filter((cp) => cp.savepoint === undefined && statusAt(cp, t) === "COMPLETED")
    .map((cp) => cp.durationNs!)
    .sort((a, b) => a - b);
  if (ds.length === 0) return undefined;
  const mid = ds.length >> 1;
  const median = ds.length % 2 === 1 ? ds[mid]! : (ds[mid - 1]! + ds[mid]!) / 2;
  return { count: ds.length, minNs: ds[0]!, medianNs: median, maxNs: ds[ds.length - 1]! };
}

/** The newest checkpoint triggered by t (the view follows it unless one is pinned). */
export function newestAt(model: CheckpointModel, t: number): Checkpoint | undefined {
  let newest: Checkpoint | undefined;
  for (const cp of model.checkpoints) if (cp.triggerNs <= t) newest = cp;
  return newest;
}
