/**
 * What a checkpoint holds for one subtask, and how big it is.
 *
 * A subtask's snapshot is plain data: per chained operator its keyed state (key → named
 * values), its timers and its operator state (e.g. a committer's pending committables),
 * plus the source reader's split offsets. It is deep-copied when taken (the running task
 * goes on mutating its objects) and again when restored (several attempts may restore
 * the same checkpoint), as Flink serializes on snapshot and deserializes on restore.
 *
 * The blob store keeps the object under a key; the JobManager keeps only handles (key and
 * size), as Flink's checkpoint metadata does.
 */
import { InvariantError } from "../../sim/errors";
import type { Key } from "../api/types";
import type { SplitOffset } from "../api/sources";
import type { InputChannelState, OutputChannelState } from "./channel-state";

export type CheckpointId = number;

export interface TimerSnapshot {
  timestampMs: number;
  key: Key;
  keyGroup: number;
}

export interface OperatorSnapshot {
  /** The chain node's name (stable across attempts). */
  node: string;
  /** Keyed state: [key, named values] in the backend's order. */
  keyed: [Key, Record<string, unknown>][];
  eventTimers: TimerSnapshot[];
  processingTimers: TimerSnapshot[];
  /** What the operator's snapshotState returned (non-keyed operator state). */
  operator: unknown;
}

export interface SubtaskSnapshot {
  operators: OperatorSnapshot[];
  /** The source reader's next offset per split (sources only). */
  sourceOffsets: SplitOffset[] | undefined;
  /** Unaligned checkpoints: in-flight data the barriers overtook (engine/checkpoint/channel-state.ts). */
  inputChannelState?: InputChannelState[];
  outputChannelState?: OutputChannelState[];
}

/** Where a subtask's snapshot lives: what the JobManager's checkpoint metadata keeps. */
export interface StateHandle {
  checkpointId: CheckpointId;
  blobKey: string;
  stateBytes: number;
  /**
   * The subtask had finished before this checkpoint (FLIP-147): a restore deploys it
   * "finished on restore" — it restores nothing and ends its input at once, as Flink does.
   * Its last snapshot is not used: it belongs to an older checkpoint, and replaying its
   * timers or channel state would repeat what later checkpoints already account for.
   */
  finished?: boolean;
}

/** Phases of one subtask's part of a checkpoint, as Flink's checkpoint statistics report them. */
export interface SubtaskCheckpointStats {
  /** From the trigger to the first barrier reaching the subtask (sources: the trigger mail running). */
  startDelayNs: number;
  /** From the first barrier to the last (0 for sources and single-input tasks). */
  alignmentNs: number;
  /** The synchronous snapshot on the task thread. */
  syncNs: number;
  /** Serialization and upload to the blob store. */
  asyncNs: number;
  stateBytes: number;
  /** The subtask's input had ended (FLIP-147): this checkpoint lets it finish. */
  afterEndOfInput: boolean;
  /** Taken unaligned (from the start, or after the aligned-checkpoint timeout). */
  unaligned: boolean;
  /** In-flight data persisted as channel state, bytes (0 when aligned). */
  persistedBytes: number;
}

/** Deep copy of snapshot data; state must be plain data (no functions, symbols, class instances with behaviour). */
export function cloneState<T>(value: T, what: string): T {
  try {
    return structuredClone(value);
  } catch (e) {
    throw new InvariantError(`${what}: state is not plain data and cannot be checkpointed (${(e as Error).message})`);
  }
}

/** Bytes of one key's fixed overhead in a serialized key-group entry (key-group, length, namespace). */
const ENTRY_OVERHEAD_BYTES = 8;

/**
 * Serialized size of a value, as Flink's serializers would write it: 8 bytes per number,
 * strings by their length, containers by their elements. Cheap enough to run per checkpoint.
 */
export function serializedBytes(value: unknown, depth = 0): number {
  if (depth > 16) return 8;
  switch (typeof value) {
    case "number":
    case "bigint":
      return 8;
    case "string":
      return 4 + value.length;
    case "boolean":
      return 1;
    case "undefined":
      return 1;
    case "object": {
      if (value === null) return 1;
      if (Array.isArray(value)) {
        let n = 4;
        for (const v of value) n += serializedBytes(v, depth + 1);
        return n;
      }
      if (value instanceof Map) {
        let n = 4;
        for (const [k, v] of value) n += serializedBytes(k, depth + 1) + serializedBytes(v, depth + 1);
        return n;
      }
      let n = 1;
      for (const k in value) n += serializedBytes((value as Record<string, unknown>)[k], depth + 1);
      return n;
    }
    default:
      return 8;
  }
}

/** The serialized size of a subtask snapshot. */
export function snapshotBytes(s: SubtaskSnapshot): number {
  let n = 16 + (s.sourceOffsets?.length ?? 0) * 16;
  for (const c of s.inputChannelState ?? []) n += c.bytes;
  for (const c of s.outputChannelState ?? []) n += c.bytes;
  for (const op of s.operators) {
    for (const [key, values] of op.keyed) n += ENTRY_OVERHEAD_BYTES + serializedBytes(key) + serializedBytes(values);
    n += (op.eventTimers.length + op.processingTimers.length) * 24;
    if (op.operator !== undefined) n += serializedBytes(op.operator);
  }
  return n;
}

/** Keyed-state entries and timers in a snapshot (the sync phase's work). */
export function snapshotEntries(s: SubtaskSnapshot): number {
  let n = 0;
  for (const op of s.operators) n += op.keyed.length + op.eventTimers.length + op.processingTimers.length;
  return n;
}
