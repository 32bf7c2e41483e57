/**
 * Savepoints (Flink's user-owned snapshots) and the options of a restore.
 *
 * A savepoint is taken like a checkpoint — barriers from the sources, aligned snapshots,
 * uploads, acknowledgements — but it is always a full, self-contained snapshot under its
 * own directory (`savepoints/sp-<id>/`): nothing is shared with checkpoints, it is never
 * subsumed or deleted by the job, and it is not the base of later incremental
 * checkpoints. Its format is CANONICAL by default: every operator's keyed state as
 * serialized key/value entries, whatever the state backend (a rocksdb job's SST files
 * are not used), so a job can restore it with another backend; NATIVE keeps an
 * incremental rocksdb backend's SST files (uploaded anew into the savepoint directory),
 * which restores faster but only into rocksdb. The JobManager writes the savepoint's
 * metadata (`<path>/_metadata`): every subtask's handle, with the bytes of each key group
 * (Flink's KeyGroupRangeOffsets) so a rescaled restore reads only the ranges it needs.
 *
 * Invariants: a savepoint's handles cover every subtask of every job vertex; its blobs
 * are only under its own path; a completed savepoint is never registered in the
 * checkpoint store's shared-state registry of the job that took it.
 */
import { InputError, unknownNameProblem } from "../../sim/errors";
import { keyGroupFor } from "../api/key-groups";
import { isBroadcastStateSnapshot, serializedBytes, type CheckpointId, type StateHandle, type SubtaskSnapshot } from "./snapshot";

export type SavepointFormat = "CANONICAL" | "NATIVE";
export const SAVEPOINT_FORMATS: readonly SavepointFormat[] = ["CANONICAL", "NATIVE"];

/** execution.state-recovery.claim-mode (LEGACY was removed in Flink 2.0 and is not modelled). */
export type ClaimMode = "CLAIM" | "NO_CLAIM";
export const CLAIM_MODES: readonly ClaimMode[] = ["CLAIM", "NO_CLAIM"];

export interface SavepointOptions {
  /** stop-with-savepoint: the job finishes once the savepoint completes. */
  terminate: boolean;
  /** `--drain`: sources end their input (MAX_WATERMARK, EndOfData) before the barrier, so event-time windows fire. */
  drain: boolean;
  format: SavepointFormat;
}

export function parseSavepointFormat(value: unknown, field: string): SavepointFormat {
  const v = value ?? "CANONICAL";
  if (typeof v !== "string" || !(SAVEPOINT_FORMATS as readonly string[]).includes(v)) throw new InputError(field, unknownNameProblem("savepoint format", String(v), SAVEPOINT_FORMATS));
  return v as SavepointFormat;
}

export function savepointPath(id: CheckpointId): string {
  return `savepoints/sp-${id}`;
}

/** One job vertex in a savepoint: its parallelism then, and each subtask's handle. */
export interface SavepointVertex {
  vertexId: string;
  name: string;
  parallelism: number;
  maxParallelism: number;
  /** By subtask index. */
  handles: StateHandle[];
}

/** The savepoint's `_metadata` (what `execution.state-recovery.path` points to). */
export interface SavepointMetadata {
  id: CheckpointId;
  path: string;
  format: SavepointFormat;
  /** Taken with --drain (every input had ended). */
  drained: boolean;
  triggerNs: number;
  completedNs: number;
  /** Σ stateBytes over every handle. */
  stateBytes: number;
  vertices: SavepointVertex[];
  /** The highest execution attempt number the job ran: a restored job numbers its attempts above it (sink fencing epochs). */
  maxAttemptNumber: number;
  /** The (canonical or native) state backend the job ran: informational. */
  backend: string;
}

export const METADATA_FILE = "_metadata";

/** Metadata bytes: a header plus per handle its key, sizes and key-group offsets. */
export function metadataBytes(m: Omit<SavepointMetadata, "stateBytes">): number {
  let n = 64;
  for (const v of m.vertices) for (const h of v.handles) n += 96 + (h.keyGroupBytes?.length ?? 0) * 12 + (h.operatorLists?.length ?? 0) * 24 + (h.shared?.length ?? 0) * 96;
  return n;
}

/**
 * Serialized bytes per key group of a subtask snapshot's keyed state and timers (Flink
 * writes a savepoint's keyed state key group by key group and records each group's
 * offset), ascending by key group, groups with no state left out.
 */
export function keyGroupBytesOf(snapshot: SubtaskSnapshot, maxParallelism: number): [number, number][] {
  const bytes = new Map<number, number>();
  const add = (g: number, n: number) => bytes.set(g, (bytes.get(g) ?? 0) + n);
  for (const op of snapshot.operators) {
    for (const [key, values] of op.keyed) add(keyGroupFor(key, maxParallelism), 8 + serializedBytes(key) + serializedBytes(values));
    for (const t of op.eventTimers) add(t.keyGroup, 24);
    for (const t of op.processingTimers) add(t.keyGroup, 24);
  }
  return [...bytes].sort((a, b) => a[0] - b[0]);
}

/** Each operator's list state (its operator state as a list): element count and bytes, for redistribution. */
export function operatorListsOf(snapshot: SubtaskSnapshot): { node: string; count: number; bytes: number }[] {
  const out: { node: string; count: number; bytes: number }[] = [];
  for (const op of snapshot.operators) {
    if (op.operator === undefined || isBroadcastStateSnapshot(op.operator)) continue;
    const count = Array.isArray(op.operator) ? op.operator.length : 1;
    out.push({ node: op.node, count, bytes: serializedBytes(op.operator) });
  }
  return out;
}

/** Each operator's broadcast state and its bytes (a copy per subtask; on rescale one is read). */
export function broadcastStatesOf(snapshot: SubtaskSnapshot): { node: string; bytes: number }[] {
  return snapshot.operators.filter((op) => isBroadcastStateSnapshot(op.operator)).map((op) => ({ node: op.node, bytes: serializedBytes(op.operator) }));
}
