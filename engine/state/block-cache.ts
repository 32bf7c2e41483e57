/**
 * RocksDB's block cache as an LRU set of block ids (`state.backend.rocksdb.block.cache-size`
 * / `state.backend.rocksdb.block.blocksize` blocks). The LSM model asks it whether a
 * data block is in memory; a miss means a read from the local disk.
 *
 * Invariants: at most `capacityBlocks` ids are held; recency order is insertion order of
 * the Map (a hit moves the id to the end), so eviction is deterministic.
 */
import { InvariantError } from "../../sim/errors";

export class BlockCache {
  private readonly blocks = new Map<string, true>();
  hits = 0;
  misses = 0;

  constructor(readonly capacityBlocks: number) {
    if (!Number.isSafeInteger(capacityBlocks) || capacityBlocks < 0) throw new InvariantError(`block cache capacity must be a whole number ≥ 0, got ${capacityBlocks}`);
  }

  /** Looks the block up; a miss loads it (evicting the least recently used). True on a hit. */
  access(block: string): boolean {
    if (this.blocks.delete(block)) {
      this.blocks.set(block, true);
      this.hits++;
      return true;
    }
    this.misses++;
    if (this.capacityBlocks === 0) return false;
    if (this.blocks.size >= this.capacityBlocks) this.blocks.delete(this.blocks.keys().next().value!);
    this.blocks.set(block, true);
    return false;
  }

  /** Drops every block of a file (deleted by a compaction): they can never be hit again. */
  evictFile(prefix: string): void {
    for (const id of [...this.blocks.keys()]) if (id.startsWith(prefix)) this.blocks.delete(id);
  }

  get size(): number {
    return this.blocks.size;
  }

  get hitRate(): number {
    const n = this.hits + this.misses;
    return n === 0 ? 0 : this.hits / n;
  }
}
