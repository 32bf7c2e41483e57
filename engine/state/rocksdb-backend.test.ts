import { describe, expect, it } from "vitest";
import { World } from "../../sim/world";
import { DEFAULT_COSTS } from "../costs";
import { RocksDbStateBackend, emptyRocksDbStats, type RocksDbSettings } from "./rocksdb-backend";

const KIB = 1024;
const SETTINGS: RocksDbSettings = {
  incremental: true,
  writeBufferBytes: 64 * KIB,
  writeBufferCount: 2,
  levelBaseBytes: 256 * KIB,
  targetFileBytes: 64 * KIB,
  blockCacheBytes: 32 * KIB,
  blockBytes: 4 * KIB,
};

function setup(settings: Partial<RocksDbSettings> = {}) {
  const world = new World({ hosts: [{ name: "tm", cores: 2 }] }, { seed: 1, scenario: "rocksdb-backend" });
  const flushes: { bytes: number; sync: boolean }[] = [];
  const compactions: { level: number; bytesIn: number; bytesOut: number }[] = [];
  const failures: string[] = [];
  const marks: string[] = [];
  const stats = emptyRocksDbStats();
  let chargedNs = 0;
  const backend = new RocksDbStateBackend({
    settings: { ...SETTINGS, ...settings },
    costs: DEFAULT_COSTS,
    host: world.host("tm"),
    disk: world.disk("tm"),
    instanceName: "v1-0-a0-n1",
    label: "test",
    charge: (ns) => {
      chargedNs += ns;
    },
    fail: (cause) => failures.push(cause),
    mark: (name) => marks.push(name),
    flushed: (e) => flushes.push(e),
    compacted: (e) => compactions.push(e),
    stats,
  });
  const charged = () => chargedNs;
  return { world, backend, flushes, compactions, failures, marks, stats, charged, disk: world.disk("tm") };
}

const PAD = "x".repeat(1000);

/** One record of a keyed reduce: read the key's value, write it back. */
function update(b: RocksDbStateBackend, key: number): void {
  b.setCurrentKey(key);
  const v = b.get("v") as { n: number } | undefined;
  b.set("v", { n: (v?.n ?? 0) + 1, pad: PAD });
}

describe("rocksdb backend: the LSM model on a simulated host and disk", () => {
  it("values stay exact; full memtables are flushed to SST files on the local disk, compactions rewrite them and delete their inputs", () => {
    const s = setup();
    for (let i = 0; i < 600; i++) {
      update(s.backend, i % 50);
      if (i % 50 === 49) s.world.run(); // background flushes and compactions keep up
    }
    s.backend.setCurrentKey(7);
    expect(s.backend.get("v")).toEqual({ n: 12, pad: PAD });
    expect(s.flushes.length).toBeGreaterThanOrEqual(8);
    expect(s.flushes.every((f) => f.bytes > 0 && !f.sync)).toBe(true);
    expect(s.compactions.length).toBeGreaterThanOrEqual(2);
    expect(s.compactions[0]!.level).toBe(0);
    // Compaction rewrites bytes on disk: the disk wrote flushes and compaction outputs.
    const flushed = s.flushes.reduce((n, f) => n + f.bytes, 0);
    const rewritten = s.compactions.reduce((n, c) => n + c.bytesOut, 0);
    expect(s.disk.writtenBytes).toBe(flushed + rewritten);
    expect(s.disk.readBytes).toBeGreaterThanOrEqual(s.compactions.reduce((n, c) => n + c.bytesIn, 0));
    // Only the live files remain on disk.
    expect(s.disk.files().sort()).toEqual(s.backend.lsm.liveFiles().map((f) => `rocksdb/v1-0-a0-n1/${f.name}.sst`).sort());
    expect(s.stats.writeStalls).toBe(0);
  });

  it("writes that outrun the flushes stall (writebuffer.count memtables): the writer is charged a flush", () => {
    const s = setup();
    for (let i = 0; i < 300; i++) update(s.backend, i % 50); // no simulated time passes: no flush completes
    expect(s.stats.writeStalls).toBeGreaterThan(0);
    expect(s.marks).toContain("rocksdb.writeStall");
    const roomy = setup({ writeBufferCount: 64 });
    for (let i = 0; i < 300; i++) update(roomy.backend, i % 50);
    expect(roomy.stats.writeStalls).toBe(0);
    expect(roomy.charged()).toBeLessThan(s.charged());
  });

  it("dispose deletes every local file and stops background work", () => {
    const s = setup();
    for (let i = 0; i < 300; i++) update(s.backend, i % 50);
    s.backend.dispose();
    s.world.run();
    expect(s.disk.files()).toEqual([]);
    expect(s.failures).toEqual([]);
  });

  it("a read that misses the block cache pays a disk read; a hit does not", () => {
    const s = setup({ blockCacheBytes: 0 });
    for (let i = 0; i < 60; i++) update(s.backend, i);
    s.backend.snapshotFiles(1); // flushes the memtable: reads now go to the SST file
    s.world.run();
    const before = s.charged();
    s.backend.setCurrentKey(5);
    s.backend.get("v");
    const missNs = s.charged() - before;
    const warm = setup({ blockCacheBytes: 1024 * KIB });
    for (let i = 0; i < 60; i++) update(warm.backend, i);
    warm.backend.snapshotFiles(1);
    warm.world.run();
    warm.backend.setCurrentKey(5);
    warm.backend.get("v"); // loads the block
    const b2 = warm.charged();
    warm.backend.get("v");
    const hitNs = warm.charged() - b2;
    const ssd = s.disk.params;
    expect(missNs - hitNs).toBeCloseTo(ssd.opLatencyNs + (4 * KIB * 1e9) / ssd.readBandwidthBytesPerS + 4 * KIB * DEFAULT_COSTS.rocksdbDecompressNsPerByte, 6);
    expect(s.stats.cacheMisses).toBe(1);
    expect(warm.stats.cacheHits).toBe(1);
  });
});

describe("rocksdb backend: incremental snapshots are sets of SST files", () => {
  it("a snapshot flushes the memtable and uploads only files new since the last confirmed checkpoint", () => {
    const s = setup({ writeBufferBytes: 1024 * KIB });
    for (let i = 0; i < 100; i++) update(s.backend, i);
    const cp1 = s.backend.snapshotFiles(1)!;
    expect(s.flushes).toEqual([]); // the flush's I/O is issued; the task was charged for it
    expect(s.charged()).toBeGreaterThan(0);
    expect(cp1.files.length).toBe(1);
    expect(cp1.shared.every((f) => f.checkpointId === 1)).toBe(true);
    s.backend.notifyCheckpointComplete(1);
    for (let i = 0; i < 10; i++) update(s.backend, i);
    const cp2 = s.backend.snapshotFiles(2)!;
    expect(cp2.files.map((f) => f.name)).toEqual([cp2.files[0]!.name, cp1.files[0]!.name]);
    const fresh = cp2.shared.filter((f) => f.checkpointId === 2);
    const referenced = cp2.shared.filter((f) => f.checkpointId === 1);
    expect(referenced).toEqual(cp1.shared);
    expect(fresh.length).toBe(1);
    expect(fresh[0]!.bytes).toBeLessThan(cp1.shared[0]!.bytes / 5);
    // Checkpoint 2 is not confirmed: checkpoint 3 uploads its file again (under a new key).
    for (let i = 0; i < 10; i++) update(s.backend, i);
    const cp3 = s.backend.snapshotFiles(3)!;
    expect(cp3.shared.filter((f) => f.checkpointId === 3).map((f) => f.name)).toEqual(cp3.files.slice(0, 2).map((f) => f.name));
    s.world.run();
    expect(s.flushes.map((f) => f.sync)).toEqual([true, true, true]);
  });

  it("compaction replaces files, so the next snapshot uploads the compacted output (a burst)", () => {
    const s = setup({ writeBufferBytes: 1024 * KIB });
    const uploads: number[] = [];
    for (let cp = 1; cp <= 6; cp++) {
      for (let i = 0; i < 40; i++) update(s.backend, (cp * 17 + i) % 200);
      const snap = s.backend.snapshotFiles(cp)!;
      uploads.push(snap.shared.filter((f) => f.checkpointId === cp).reduce((n, f) => n + f.bytes, 0));
      s.world.run(); // background flush I/O and compactions finish before the next checkpoint
      s.backend.notifyCheckpointComplete(cp);
    }
    expect(s.compactions.length).toBe(1); // the 4th flush triggered L0 → L1
    // Checkpoints 1–4 upload one small file each; 5 uploads the compacted file with everything.
    expect(uploads[4]!).toBeGreaterThan(2.5 * uploads[3]!);
    expect(uploads[5]!).toBeLessThan(uploads[4]! / 2);
  });
});

describe("rocksdb backend: list and map state (RocksDBListState, RocksDBMapState)", () => {
  const ELEMENT = { id: 0, pad: "y".repeat(100) };

  it("list add writes one element (a merge operand), not the list: n adds write O(n) bytes, n rewrites of value state O(n²)", () => {
    const lists = setup();
    const values = setup();
    for (let i = 0; i < 200; i++) {
      lists.backend.setCurrentKey(1);
      lists.backend.addToList("l", { ...ELEMENT, id: i });
      values.backend.setCurrentKey(1);
      const old = (values.backend.get("l") as unknown[] | undefined) ?? [];
      values.backend.set("l", [...old, { ...ELEMENT, id: i }]);
    }
    lists.backend.setCurrentKey(1);
    expect((lists.backend.get("l") as { id: number }[]).map((e) => e.id)).toEqual([...Array(200).keys()]);
    expect(lists.stats.userBytes).toBeLessThan(200 * 150);
    expect(values.stats.userBytes).toBeGreaterThan(50 * lists.stats.userBytes);
  });

  it("reading a list deserializes all of it", () => {
    const s = setup();
    s.backend.setCurrentKey(1);
    s.backend.addToList("l", ELEMENT);
    let before = s.charged();
    s.backend.get("l");
    const one = s.charged() - before;
    for (let i = 0; i < 99; i++) s.backend.addToList("l", ELEMENT);
    before = s.charged();
    s.backend.get("l");
    expect(s.charged() - before).toBeGreaterThan(50 * one);
  });

  it("a map entry is written, read and deleted alone; clear deletes entry by entry", () => {
    const s = setup();
    s.backend.setCurrentKey(1);
    for (let i = 0; i < 100; i++) s.backend.putMapEntry("m", i, ELEMENT);
    const written = s.stats.userBytes;
    s.backend.putMapEntry("m", 7, { ...ELEMENT, id: 7 });
    const onePut = s.stats.userBytes - written;
    expect(onePut).toBeLessThan(200);
    expect(onePut * 50).toBeLessThan(written);
    let before = s.charged();
    expect(s.backend.getMapEntry("m", 7)).toEqual({ ...ELEMENT, id: 7 });
    const oneGet = s.charged() - before;
    before = s.charged();
    expect((s.backend.get("m") as Map<number, unknown>).size).toBe(100);
    expect(s.charged() - before).toBeGreaterThan(50 * oneGet);
    // Each entry is its own LSM key: 100 tombstones on clear.
    let bytes = s.stats.userBytes;
    s.backend.set("v", 1);
    bytes = s.stats.userBytes;
    s.backend.clear("v");
    const oneTombstone = s.stats.userBytes - bytes;
    bytes = s.stats.userBytes;
    s.backend.clear("m");
    expect(s.backend.get("m")).toBeUndefined();
    expect(s.stats.userBytes - bytes).toBeGreaterThanOrEqual(100 * oneTombstone);
    s.backend.removeMapEntry("m", 3);
    expect(s.backend.getMapEntry("m", 3)).toBeUndefined();
  });
});
