/**
 * RocksDB's block cache (`state.backend.rocksdb.block.cache-size`): an LRU of data blocks
 * charged by their bytes, as RocksDB's LRUCache charges a block. The LSM model asks it
 * whether a block is in memory; a miss means a read from the local disk.
 *
 * Invariants: Σ bytes of held blocks ≤ capacityBytes (a block larger than the whole cache
 * is never held); recency order is the Map's insertion order (a hit moves the block to
 * the end), so eviction is deterministic.
 */
import { InvariantError } from "../../sim/errors";

export class BlockCache {
  private readonly blocks = new Map<string, number>();
  private usedBytes = 0;
  hits = 0;
  misses = 0;

  constructor(readonly capacityBytes: number) {
    if (!Number.isSafeInteger(capacityBytes) || capacityBytes < 0) throw new InvariantError(`block cache capacity must be a whole number of bytes ≥ 0, got ${capacityBytes}`);
  }

  /** Looks the block up; a miss loads it (evicting the least recently used). True on a hit. */
  access(block: string, bytes: number): boolean {
    const held = this.blocks.get(block);
    if (held !== undefined) {
      this.blocks.delete(block);
      this.blocks.set(block, held);
      this.hits++;
      return true;
    }
    this.misses++;
    if (bytes > this.capacityBytes) return false;
    while (this.usedBytes + bytes > this.capacityBytes) {
      const [oldest, size] = this.blocks.entries().next().value!;
      this.blocks.delete(oldest);
      this.usedBytes -= size;
    }
    this.blocks.set(block, bytes);
    this.usedBytes += bytes;
    return false;
  }

  /** Drops every block of a file (deleted by a compaction): they can never be hit again. */
  evictFile(prefix: string): void {
    for (const [id, size] of [...this.blocks]) {
      if (!id.startsWith(prefix)) continue;
      this.blocks.delete(id);
      this.usedBytes -= size;
    }
  }

  get size(): number {
    return this.blocks.size;
  }

  get bytes(): number {
    return this.usedBytes;
  }

  get hitRate(): number {
    const n = this.hits + this.misses;
    return n === 0 ? 0 : this.hits / n;
  }
}
