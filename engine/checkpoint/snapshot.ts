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
import type { SstFileMeta } from "../state/lsm-model";

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
  /**
   * An incremental rocksdb snapshot: the SST files of the operator's RocksDB instance
   * (their contents are `keyed`, which stays exact in memory) and their shared handles.
   * Absent for heap and full snapshots, whose keyed entries are serialized into the
   * subtask's own blob.
   */
  rocksdb?: RocksDbOperatorSnapshot;
  /**
   * The changelog backend (FLIP-158): the keyed state is the last materialized snapshot
   * plus the log segments since, all shared blobs; `keyed` is empty here and filled on
   * restore by replaying the log (engine/state/changelog-backend.ts).
   */
  changelog?: ChangelogOperatorSnapshot;
}

export interface ChangelogOperatorSnapshot {
  /** The materialized part (undefined before the first materialization). */
  materialization: MaterializationRef | undefined;
  /** Log segments after the materialization, in sequence order. */
  segments: { blobKey: string; seqFrom: number; seqTo: number; bytes: number; changes: number }[];
  /** Every blob of the two, as shared handles; `checkpointId` is the first checkpoint that referenced it. */
  shared: SharedFileHandle[];
}

export interface MaterializationRef {
  id: number;
  /** Changes below this sequence number are in it. */
  upTo: number;
  /** The blob of the materialized entries (a full snapshot) or of the SST files' metadata (incremental rocksdb). */
  blobKey: string;
  bytes: number;
  /** Incremental rocksdb: the SST files of the materialization. */
  rocksdb?: RocksDbOperatorSnapshot;
}

export interface RocksDbOperatorSnapshot {
  files: SstFileMeta[];
  /** One per file: uploaded by this checkpoint, or referenced from the last confirmed one. */
  shared: SharedFileHandle[];
}

/** An SST file in the blob store's shared directory (Flink's shared state of incremental checkpoints). */
export interface SharedFileHandle {
  /** The SST file's name (unique in the job). */
  name: string;
  /** Where it was uploaded; unique per upload, so an aborted upload never clobbers a live one. */
  blobKey: string;
  bytes: number;
  /** The checkpoint that uploaded it (changelog blobs: the first checkpoint that referenced it). */
  checkpointId: CheckpointId;
  /**
   * A changelog blob (log segment or materialization), uploaded by the task's log and owned
   * by it until a completed checkpoint references it: the coordinator never deletes it on
   * an abort, and it is gone only once the shared-state registry deleted it.
   */
  changelog?: true;
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
  /** The subtask's own (private) blob: operator state, timers, offsets, keyed state of full snapshots. */
  blobKey: string;
  /** The whole state: the private blob plus every shared file referenced. */
  stateBytes: number;
  /**
   * The subtask had finished before this checkpoint (FLIP-147): a restore deploys it
   * "finished on restore" — it restores nothing and ends its input at once, as Flink does.
   * Its last snapshot is not used: it belongs to an older checkpoint, and replaying its
   * timers or channel state would repeat what later checkpoints already account for.
   */
  finished?: boolean;
  /** Incremental rocksdb snapshots: the SST files, uploaded now or referenced (shared). */
  shared?: SharedFileHandle[];
  /** Savepoints: serialized bytes per key group, ascending (Flink's KeyGroupRangeOffsets). */
  keyGroupBytes?: [number, number][];
  /** Savepoints: each operator's list state, element count and bytes (for redistribution). */
  operatorLists?: { node: string; count: number; bytes: number }[];
  /** Savepoints: the operators with broadcast state, and its bytes (each new subtask reads one copy on rescale). */
  broadcastStates?: { node: string; bytes: number }[];
  /**
   * A restore from a savepoint (engine/checkpoint/rescale.ts): the parts of old subtasks'
   * snapshots this subtask reads — its key-group range and its share of operator and
   * source-split state. `blobKey` is the first part's.
   */
  rescale?: RescaledRestore;
}

export interface RescaledRestore {
  savepointId: CheckpointId;
  maxParallelism: number;
  newIndex: number;
  newParallelism: number;
  oldParallelism: number;
  /** The key groups this subtask owns, inclusive. */
  keyGroups: { start: number; end: number };
  /** Old subtasks read, ascending: the private blob and how many bytes of it (a ranged read). */
  parts: { oldSubtask: number; blobKey: string; readBytes: number }[];
  /** Rescaled operator lists: this subtask's [from, to) of each node's concatenated list, and where each part's list starts in it. */
  lists: { node: string; from: number; to: number; offsets: [number, number][] }[];
  /** NATIVE, same key-group range, rocksdb: open the SST files instead of re-inserting entries. */
  nativeFiles: boolean;
  /** NO_CLAIM: the restored files must not be referenced by later checkpoints (the first is full). */
  noClaim: boolean;
}

/** Bytes of the handle's private blob. */
export function privateBytesOf(h: StateHandle): number {
  let n = h.stateBytes;
  for (const s of h.shared ?? []) n -= s.bytes;
  return n;
}

/** Every blob a handle consists of (private first). */
export function blobKeysOf(h: StateHandle): string[] {
  if (h.rescale !== undefined) return [...new Set([...h.rescale.parts.map((p) => p.blobKey), ...(h.shared ?? []).map((s) => s.blobKey)])];
  return [h.blobKey, ...(h.shared ?? []).map((s) => s.blobKey)];
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
  /** Bytes actually uploaded: the private blob plus new shared files (= stateBytes for full snapshots). */
  uploadedBytes: number;
  /** The subtask's input had ended (FLIP-147): this checkpoint lets it finish. */
  afterEndOfInput: boolean;
  /** Taken unaligned (from the start, or after the aligned-checkpoint timeout). */
  unaligned: boolean;
  /** In-flight data persisted as channel state, bytes (0 when aligned). */
  persistedBytes: number;
}

/** Deep copy of snapshot data; state must be plain data (no functions, symbols, class instances with behaviour). */
/**
 * Broadcast state (engine/api/two-input-operators.ts) is operator state every subtask holds
 * an identical copy of: `{ broadcast: [[name, entries], ...] }`. It is not split like list
 * state on rescale; each new subtask takes one old subtask's copy (see rescale.ts).
 */
export function isBroadcastStateSnapshot(state: unknown): boolean {
  return typeof state === "object" && state !== null && !Array.isArray(state) && Array.isArray((state as { broadcast?: unknown }).broadcast);
}

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

/** Metadata bytes per shared file in the private blob (name, blob key, size, level). */
const SHARED_HANDLE_BYTES = 96;

/** The serialized size of a subtask snapshot's private blob (shared SST files not included). */
export function snapshotBytes(s: SubtaskSnapshot): number {
  let n = 16 + (s.sourceOffsets?.length ?? 0) * 16;
  for (const c of s.inputChannelState ?? []) n += c.bytes;
  for (const c of s.outputChannelState ?? []) n += c.bytes;
  for (const op of s.operators) {
    // Changelog: the keyed state is shared blobs (`keyed` is empty), only their handles are here.
    if (op.changelog !== undefined) n += op.changelog.shared.length * SHARED_HANDLE_BYTES;
    if (op.rocksdb !== undefined) n += op.rocksdb.shared.length * SHARED_HANDLE_BYTES;
    else for (const [key, values] of op.keyed) n += ENTRY_OVERHEAD_BYTES + serializedBytes(key) + serializedBytes(values);
    n += (op.eventTimers.length + op.processingTimers.length) * 24;
    if (op.operator !== undefined) n += serializedBytes(op.operator);
  }
  return n;
}

/** Shared files of every operator of a subtask snapshot. */
export function sharedFilesOf(s: SubtaskSnapshot): SharedFileHandle[] {
  const out: SharedFileHandle[] = [];
  for (const op of s.operators) {
    if (op.rocksdb !== undefined) out.push(...op.rocksdb.shared);
    if (op.changelog !== undefined) out.push(...op.changelog.shared);
  }
  return out;
}

/** Keyed-state entries and timers in a snapshot (the sync phase's work). */
export function snapshotEntries(s: SubtaskSnapshot): number {
  let n = 0;
  // An incremental rocksdb snapshot links files (RocksDB's checkpoint): per file, not per entry.
  for (const op of s.operators) n += (op.rocksdb !== undefined ? op.rocksdb.files.length : op.keyed.length) + op.eventTimers.length + op.processingTimers.length;
  return n;
}
