/**
 * The completed checkpoint store and checkpoint ID counter of a job under JobManager high
 * availability (Flink's DefaultCompletedCheckpointStore over a ZooKeeperStateHandleStore or
 * KubernetesStateHandleStore, and ZooKeeperCheckpointIDCounter / KubernetesCheckpointIDCounter).
 * They outlive every JobManager process, so a new leader finds the job's latest completed
 * checkpoint and numbers its own checkpoints above every id an earlier leader used.
 *
 * Model: the HA service itself (ZooKeeper, a Kubernetes ConfigMap) keeps two small things —
 * the ID counter and one pointer per retained completed checkpoint; reading and writing them
 * is taken as instantaneous (a few ms next to the blob store's tens). The pointer leads to
 * the checkpoint's metadata (the handles of every subtask), a blob on the blob store
 * (`high-availability.storageDir`): writing it costs a put, and a new leader reads every
 * retained one back with a get each. A checkpoint is added — and so completed, see
 * CheckpointCoordinator — only once its metadata put finished: if the JobManager's host
 * crashes first, the put is abandoned (sim/blob-store.ts) and the checkpoint never existed
 * for the next leader, whose sinks then abort what it pre-committed. A subsumed checkpoint's
 * pointer goes first and its metadata after, so no leader ever reads a discarded one.
 *
 * Invariants: pointers are in increasing checkpoint id order; a pointer exists only for
 * metadata whose put completed; ids handed out by the counter never repeat, across leaders.
 */
import { assert } from "../../sim/errors";
import type { BlobError, BlobStore } from "../../sim/blob-store";
import type { Host } from "../../sim/host";
import type { Kernel } from "../../sim/kernel";
import type { ExecutionVertexId } from "../graph/execution-graph";
import type { CompletedCheckpoint } from "./coordinator";
import type { CheckpointId, StateHandle } from "./snapshot";

/**
 * Size of a checkpoint's metadata: a header, then per subtask its state handle (blob
 * locations, key-group ranges, offsets) and per referenced shared file a handle. Flink's
 * `_metadata` is of this order (hundreds of bytes per operator subtask).
 */
export const METADATA_HEADER_BYTES = 1024;
export const METADATA_BYTES_PER_HANDLE = 256;
export const METADATA_BYTES_PER_SHARED_FILE = 96;

/** What a metadata blob holds (the CompletedCheckpoint, serializable). */
interface StoredMetadata {
  id: CheckpointId;
  triggerNs: number;
  completedNs: number;
  handles: [ExecutionVertexId, StateHandle][];
}

export function metadataBytes(cp: CompletedCheckpoint): number {
  let n = METADATA_HEADER_BYTES;
  for (const h of cp.handles.values()) n += METADATA_BYTES_PER_HANDLE + (h.shared?.length ?? 0) * METADATA_BYTES_PER_SHARED_FILE;
  return n;
}

/** A new leader's read of the store. */
export interface StoreRecovery {
  /** Retained completed checkpoints, oldest first (the last is restored). */
  checkpoints: CompletedCheckpoint[];
  /** Metadata bytes read and how long the reads took. */
  bytes: number;
  readNs: number;
}

export class CompletedCheckpointStore {
  /** The checkpoint ID counter's next value (CheckpointIDCounter.INITIAL_CHECKPOINT_ID = 1). */
  private counter = 1;
  /** The HA service's pointers to retained checkpoints' metadata, oldest first. */
  private readonly pointers: { id: CheckpointId; key: string }[] = [];

  constructor(
    private readonly blob: BlobStore,
    /** Key prefix of the metadata blobs (high-availability.storageDir/<job>). */
    readonly prefix: string,
  ) {}

  /** CheckpointIDCounter.getAndIncrement: the id of a checkpoint being triggered. */
  getAndIncrement(): CheckpointId {
    return this.counter++;
  }

  /** The id the next trigger gets (CheckpointIDCounter.get). */
  get nextCheckpointId(): CheckpointId {
    return this.counter;
  }

  /** Ids of the checkpoints a new leader would recover, oldest first. */
  get retainedIds(): CheckpointId[] {
    return this.pointers.map((p) => p.id);
  }

  metadataKey(id: CheckpointId): string {
    return `${this.prefix}/completedCheckpoint-${id}`;
  }

  /**
   * Writes a checkpoint's metadata, then (when `stillWanted` — it may have been aborted
   * meanwhile) adds its pointer and calls `done()`. A failed put calls `done(err)`; a put
   * whose host crashed calls nothing (the JobManager is gone with it).
   */
  add(host: Host, cp: CompletedCheckpoint, stillWanted: () => boolean, done: (err?: BlobError) => void): void {
    const key = this.metadataKey(cp.id);
    const data: StoredMetadata = { id: cp.id, triggerNs: cp.triggerNs, completedNs: cp.completedNs, handles: [...cp.handles] };
    this.blob.put(host, key, metadataBytes(cp), data, (err) => {
      if (err !== undefined) {
        done(err);
        return;
      }
      if (!stillWanted()) {
        this.blob.delete(host, key, () => {});
        return;
      }
      const last = this.pointers[this.pointers.length - 1];
      assert(last === undefined || last.id < cp.id, `completed checkpoint ${cp.id} added after ${last?.id}`);
      this.pointers.push({ id: cp.id, key });
      done();
    });
  }

  /** A subsumed checkpoint: its pointer is removed at once, its metadata deleted after. */
  remove(host: Host, id: CheckpointId): void {
    const i = this.pointers.findIndex((p) => p.id === id);
    if (i < 0) return;
    const [p] = this.pointers.splice(i, 1);
    this.blob.delete(host, p!.key, () => {});
  }

  /**
   * A new leader reads every retained checkpoint's metadata, in order (Flink's
   * DefaultCompletedCheckpointStoreUtils.retrieveCompletedCheckpoints). The first failed
   * read fails the recovery (the caller may retry).
   */
  recover(host: Host, kernel: Kernel, cb: (err: BlobError | undefined, recovery?: StoreRecovery) => void): void {
    const startNs = kernel.now;
    const wanted = [...this.pointers];
    const checkpoints: CompletedCheckpoint[] = [];
    let bytes = 0;
    const next = (i: number): void => {
      if (i === wanted.length) {
        cb(undefined, { checkpoints, bytes, readNs: kernel.now - startNs });
        return;
      }
      this.blob.get(host, wanted[i]!.key, (err, obj) => {
        if (err !== undefined || obj === undefined) {
          cb(err ?? { code: "NotFound", message: wanted[i]!.key });
          return;
        }
        const m = obj.data as StoredMetadata;
        bytes += obj.sizeBytes;
        checkpoints.push({ id: m.id, triggerNs: m.triggerNs, completedNs: m.completedNs, handles: new Map(m.handles) });
        next(i + 1);
      });
    };
    next(0);
  }
}
