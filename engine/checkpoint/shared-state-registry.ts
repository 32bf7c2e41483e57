/**
 * Reference counts of checkpoint blobs (Flink's SharedStateRegistry): every retained
 * completed checkpoint holds one reference per blob of each of its state handles — the
 * subtask's private blob and, for incremental rocksdb snapshots, the shared SST files it
 * uploaded or referenced. A blob is deleted only when the last retained checkpoint that
 * uses it is discarded, so discarding old checkpoints never deletes a file a retained one
 * still needs.
 *
 * Invariants: counts are ≥ 1 for every registered key (a key at 0 is removed and
 * returned for deletion exactly once); a release never drops a key below 0. The
 * coordinator refuses a checkpoint that references a shared file no retained checkpoint
 * holds (count 0), so a deleted key is never registered again.
 */
import { assert } from "../../sim/errors";
import { blobKeysOf, type StateHandle } from "./snapshot";

export class SharedStateRegistry {
  private readonly counts = new Map<string, number>();
  /** Keys released to 0 (and so deleted): a changelog blob is gone exactly when it is here. */
  private readonly deleted = new Set<string>();

  /** A checkpoint completed: one reference per blob of each handle. */
  register(handles: Iterable<StateHandle>): void {
    for (const h of handles) {
      for (const key of blobKeysOf(h)) this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    }
  }

  /** A checkpoint was discarded: drops its references; returns the blobs no retained checkpoint uses. */
  release(handles: Iterable<StateHandle>): string[] {
    const out: string[] = [];
    for (const h of handles) {
      for (const key of blobKeysOf(h)) {
        const n = this.counts.get(key);
        assert(n !== undefined && n > 0, `shared state ${key} released more often than registered`);
        if (n === 1) {
          this.counts.delete(key);
          this.deleted.add(key);
          out.push(key);
        } else {
          this.counts.set(key, n - 1);
        }
      }
    }
    return out;
  }

  /** The key was released by its last retained checkpoint and deleted. */
  wasDeleted(key: string): boolean {
    return this.deleted.has(key);
  }

  /** References held by retained checkpoints (0 when unregistered). */
  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** Registered keys, in first-registration order. */
  keys(): string[] {
    return [...this.counts.keys()];
  }
}
