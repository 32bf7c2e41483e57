/**
 * Moving a subtask's snapshot to and from the blob store: the private blob (the snapshot
 * object, as Flink's metadata and private state) and, for incremental rocksdb snapshots,
 * the shared SST files — uploaded only when new in this checkpoint, downloaded all on
 * restore (Flink's RocksIncrementalSnapshotStrategy and its restore operation). Changelog
 * blobs (log segments, materializations) are uploaded by the task's log, not here: a
 * checkpoint only references them, and counts as uploaded those it is the first to use.
 *
 * Invariants: the callback runs once, after every transfer issued has ended; a failed
 * upload deletes what it had put, so nothing of a declined snapshot stays behind.
 */
import type { BlobStore } from "../../sim/blob-store";
import type { Host } from "../../sim/host";
import { sharedFilesOf, type CheckpointId, type StateHandle, type SubtaskSnapshot } from "./snapshot";

export interface Uploaded {
  handle: StateHandle;
  uploadedBytes: number;
  snapshot: SubtaskSnapshot;
}

/** Uploads the private blob (`privateBytes` under `key`) and the shared files new in this checkpoint, all at once. */
export function uploadSubtaskSnapshot(
  blobStore: BlobStore,
  host: Host,
  checkpointId: CheckpointId,
  key: string,
  snapshot: SubtaskSnapshot,
  privateBytes: number,
  done: (err: string | undefined, uploaded: Uploaded | undefined) => void,
): void {
  const shared = sharedFilesOf(snapshot);
  const fresh = shared.filter((s) => s.checkpointId === checkpointId);
  const puts: [string, number, unknown][] = [[key, privateBytes, snapshot], ...fresh.filter((s) => s.changelog !== true).map((s): [string, number, unknown] => [s.blobKey, s.bytes, s.name])];
  let pending = puts.length;
  let firstError: string | undefined;
  const stored: string[] = [];
  for (const [blobKey, bytes, data] of puts) {
    blobStore.put(host, blobKey, bytes, data, (err) => {
      if (err !== undefined) firstError ??= `upload of ${blobKey} failed: ${err.code}`;
      else stored.push(blobKey);
      if (--pending > 0) return;
      if (firstError !== undefined) {
        for (const k of stored) blobStore.delete(host, k, () => {});
        done(firstError, undefined);
        return;
      }
      let stateBytes = privateBytes;
      for (const s of shared) stateBytes += s.bytes;
      let uploadedBytes = privateBytes;
      for (const s of fresh) uploadedBytes += s.bytes;
      const handle: StateHandle = { checkpointId, blobKey: key, stateBytes, ...(shared.length > 0 ? { shared } : {}) };
      done(undefined, { handle, uploadedBytes, snapshot });
    });
  }
}

/**
 * Downloads the private blob and every shared file of the handle; the snapshot object once
 * all arrived, and what the changelog blobs hold (materializations and log segments, by key).
 */
export function downloadSubtaskSnapshot(
  blobStore: BlobStore,
  host: Host,
  handle: StateHandle,
  done: (err: string | undefined, snapshot: SubtaskSnapshot | undefined, changelogBlobs: ReadonlyMap<string, unknown>) => void,
): void {
  const keys = [handle.blobKey, ...new Set((handle.shared ?? []).map((s) => s.blobKey))];
  const changelogKeys = new Set((handle.shared ?? []).filter((s) => s.changelog === true).map((s) => s.blobKey));
  let pending = keys.length;
  let firstError: string | undefined;
  let snapshot: SubtaskSnapshot | undefined;
  const blobs = new Map<string, unknown>();
  for (const blobKey of keys) {
    blobStore.get(host, blobKey, (err, obj) => {
      if (err !== undefined || obj === undefined) firstError ??= `${blobKey}: ${err?.code ?? "missing"}`;
      else if (blobKey === handle.blobKey) snapshot = obj.data as SubtaskSnapshot;
      else if (changelogKeys.has(blobKey)) blobs.set(blobKey, obj.data);
      if (--pending > 0) return;
      done(firstError, firstError === undefined ? snapshot : undefined, blobs);
    });
  }
}
