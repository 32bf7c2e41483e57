import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { propRuns } from "../../test/prop";
import { BlockCache } from "./block-cache";
import { L0_COMPACTION_TRIGGER, LsmTree, NUM_LEVELS, fileMeta, type LsmParams } from "./lsm-model";

const KIB = 1024;
const MIB = 1024 * KIB;
const SMALL: LsmParams = { writeBufferBytes: 64 * KIB, writeBufferCount: 2, levelBaseBytes: 256 * KIB, targetFileBytes: 64 * KIB, blockCacheBytes: 64 * KIB, blockBytes: 4 * KIB };

const tree = (params: Partial<LsmParams> = {}) => new LsmTree({ ...SMALL, ...params }, (seq) => `f${seq}`);

/** Puts until the memtable is full, then switches and flushes it. */
function putAndFlush(t: LsmTree, id: string, bytes: number): void {
  if (t.put(id, bytes)) {
    t.switchMemtable();
    t.flushOldest();
  }
}

describe("LSM model: memtable and flush", () => {
  it("the memtable is full exactly at writebuffer.size (overwrites count); the flush writes the latest version of each entry once", () => {
    const t = tree();
    let full = false;
    let puts = 0;
    while (!full) {
      full = t.put(`k${puts % 10}`, 1000); // 10 entries overwritten again and again
      puts++;
    }
    expect(puts).toBe(Math.ceil((64 * KIB) / 1000));
    expect(t.activeMemtableBytes).toBeGreaterThanOrEqual(64 * KIB);
    expect(t.switchMemtable()).toBe(true);
    const file = t.flushOldest()!;
    expect(file.level).toBe(0);
    expect(file.entries.size).toBe(10);
    expect(file.bytes).toBe(10 * 1000);
    expect(t.activeMemtableBytes).toBe(0);
    expect(t.switchMemtable()).toBe(false); // empty: nothing to flush
  });

  it("reads find the newest version: memtable first, then L0 newest first", () => {
    const t = tree();
    t.put("a", 100);
    t.switchMemtable();
    t.flushOldest();
    t.put("a", 200);
    expect(t.get("a")).toMatchObject({ inMemtable: true, found: { bytes: 200 } });
    t.switchMemtable();
    t.flushOldest();
    const r = t.get("a");
    expect(r.inMemtable).toBe(false);
    expect(r.found?.bytes).toBe(200);
    expect(r.blockHits + r.blockMisses).toBe(1); // the newest L0 file had it
    expect(t.get("absent").found).toBeUndefined();
  });
});

describe("LSM model: leveled compaction", () => {
  it(`L0 compacts into L1 at ${L0_COMPACTION_TRIGGER} files, not before; the merge keeps one version per entry`, () => {
    const t = tree();
    for (let f = 0; f < L0_COMPACTION_TRIGGER; f++) {
      for (let i = 0; i < 20; i++) t.put(`k${i}`, 1000);
      t.switchMemtable();
      t.flushOldest();
      if (f < L0_COMPACTION_TRIGGER - 1) expect(t.pickCompaction()).toBeUndefined();
    }
    const c = t.compactOnce()!;
    expect(c.level).toBe(0);
    expect(c.outputLevel).toBe(1);
    expect(c.bytesIn).toBe(L0_COMPACTION_TRIGGER * 20 * 1000);
    expect(c.bytesOut).toBe(20 * 1000);
    expect(t.levels[0]).toEqual([]);
    expect(t.levels[1]!.reduce((n, f) => n + f.entries.size, 0)).toBe(20);
    // Bytes written: 4 flushes of 20 KB, plus the compaction's 20 KB, for 80 KB put.
    expect(t.writeAmplification).toBeCloseTo((4 * 20_000 + 20_000) / 80_000, 9);
  });

  it("a level above its target (max-size-level-base × 10^(n−1)) compacts one file into the next level; outputs are cut at target-file-size-base", () => {
    const t = tree({ writeBufferBytes: 32 * KIB, levelBaseBytes: 64 * KIB, targetFileBytes: 16 * KIB });
    for (let i = 0; i < 4000; i++) {
      putAndFlush(t, `k${i}`, 100);
      while (t.compactOnce() !== undefined);
    }
    expect(t.targetBytes(1)).toBe(64 * KIB);
    expect(t.targetBytes(2)).toBe(640 * KIB);
    const bytes = (level: number) => t.levels[level]!.reduce((n, f) => n + f.bytes, 0);
    expect(bytes(1)).toBeLessThanOrEqual(64 * KIB);
    expect(bytes(2)).toBeGreaterThan(0);
    for (let level = 1; level < NUM_LEVELS; level++) for (const f of t.levels[level]!) expect(f.bytes).toBeLessThanOrEqual(16 * KIB);
    expect(t.compactionBytesOut).toBeGreaterThan(0);
    // Every byte is written by its flush and again by each compaction that moves it down.
    expect(t.writeAmplification).toBeGreaterThan(1.5);
  });

  it("tombstones shadow older versions and are dropped when compacted into the bottom", () => {
    const t = tree();
    for (let i = 0; i < 10; i++) t.put(`k${i}`, 1000);
    t.switchMemtable();
    t.flushOldest();
    t.put("k3", 20, true);
    expect(t.get("k3").found?.tombstone).toBe(true);
    for (let f = 0; f < 3; f++) {
      t.put(`x${f}`, 1000);
      t.switchMemtable();
      t.flushOldest();
    }
    t.compactOnce();
    expect(t.get("k3").found).toBeUndefined();
    expect(t.diskBytes).toBe(9 * 1000 + 3 * 1000);
  });

  it("property: any sequence of puts, deletes, flushes and compactions keeps the level invariants, and reads see the latest write", () => {
    const op = fc.oneof(
      { weight: 8, arbitrary: fc.record({ kind: fc.constant("put" as const), key: fc.integer({ min: 0, max: 60 }), bytes: fc.integer({ min: 1, max: 3000 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("delete" as const), key: fc.integer({ min: 0, max: 60 }) }) },
      { weight: 1, arbitrary: fc.constant({ kind: "flush" as const }) },
      { weight: 1, arbitrary: fc.constant({ kind: "compact" as const }) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.integer({ min: 4, max: 32 }), (ops, targetKib) => {
        const t = tree({ writeBufferBytes: 16 * KIB, levelBaseBytes: 32 * KIB, targetFileBytes: targetKib * KIB });
        const latest = new Map<string, number | undefined>();
        for (const o of ops) {
          if (o.kind === "put") {
            putAndFlush(t, `k${o.key}`, o.bytes);
            latest.set(`k${o.key}`, o.bytes);
          } else if (o.kind === "delete") {
            if (t.put(`k${o.key}`, 10, true)) {
              t.switchMemtable();
              t.flushOldest();
            }
            latest.set(`k${o.key}`, undefined);
          } else if (o.kind === "flush") {
            if (t.switchMemtable()) t.flushOldest();
          } else {
            t.compactOnce();
          }
        }
        for (const [id, bytes] of latest) {
          const found = t.get(id).found;
          if (bytes === undefined) expect(found === undefined || found.tombstone).toBe(true);
          else expect(found).toMatchObject({ bytes, tombstone: false });
        }
        for (let level = 1; level < NUM_LEVELS; level++) {
          const files = t.levels[level]!;
          for (let i = 1; i < files.length; i++) expect(files[i]!.minPos).toBeGreaterThan(files[i - 1]!.maxPos);
        }
        for (const f of t.liveFiles()) {
          let n = 0;
          for (const e of f.entries.values()) n += e.bytes;
          expect(f.bytes).toBe(n);
          expect(f.compacting).toBe(false);
        }
        // Everything on disk was written by a flush or a compaction (write amplification never undercounts).
        expect(t.flushedBytes + t.compactionBytesOut).toBeGreaterThanOrEqual(t.diskBytes);
      }),
      { numRuns: propRuns(150) },
    );
  });

  it("restoreFiles rebuilds the same levels from snapshot metadata", () => {
    const t = tree();
    for (let i = 0; i < 3000; i++) putAndFlush(t, `k${i % 700}`, 200);
    while (t.compactOnce() !== undefined);
    if (t.switchMemtable()) t.flushOldest();
    const metas = t.liveFiles().map(fileMeta);
    const u = tree();
    u.restoreFiles(structuredClone(metas));
    expect(u.liveFiles().map((f) => [f.name, f.level, f.bytes])).toEqual(t.liveFiles().map((f) => [f.name, f.level, f.bytes]));
    for (let i = 0; i < 700; i++) expect(u.get(`k${i}`).found?.bytes).toBe(200);
  });
});

describe("block cache", () => {
  it("is an LRU of blocks charged by their bytes, within block.cache-size", () => {
    const c = new BlockCache(8 * KIB);
    expect(c.access("a", 4 * KIB)).toBe(false);
    expect(c.access("b", 4 * KIB)).toBe(false);
    expect(c.access("a", 4 * KIB)).toBe(true);
    expect(c.access("c", 4 * KIB)).toBe(false); // evicts b, the least recently used
    expect(c.access("b", 4 * KIB)).toBe(false);
    expect(c.access("a", 4 * KIB)).toBe(false);
    expect(c.access("big", 8 * KIB)).toBe(false); // takes the whole cache
    expect(c.bytes).toBe(8 * KIB);
    expect(c.access("huge", 9 * KIB)).toBe(false); // larger than the cache: never held
    expect(c.access("huge", 9 * KIB)).toBe(false);
    expect(new BlockCache(0).access("a", 1)).toBe(false);
  });

  it("a bigger cache serves more reads from memory: the hit rate grows with block.cache-size", () => {
    const rates = [0, 64 * KIB, 512 * KIB, 8 * MIB].map((cache) => {
      const t = tree({ blockCacheBytes: cache });
      for (let i = 0; i < 2000; i++) t.put(`k${i}`, 500);
      t.switchMemtable();
      t.flushOldest();
      // Skewed reads, as hot keys are: key i with weight ~ 1/(1 + i mod 50).
      for (let r = 0; r < 20_000; r++) t.get(`k${(r * 7919) % (1 + (r % 50)) * 40 + (r % 40)}`);
      return t.cache.hitRate;
    });
    expect(rates[0]).toBe(0);
    for (let i = 1; i < rates.length; i++) expect(rates[i]!).toBeGreaterThan(rates[i - 1]!);
    expect(rates[3]!).toBeGreaterThan(0.9); // everything fits: only first reads miss
  });
});
