/**
 * The `rocksdb` keyed state backend (`state.backend.type: rocksdb`): the heap backend's
 * real JS values (so results stay exact) plus an LSM cost model (lsm-model.ts) of the
 * embedded RocksDB instance, which decides what each access costs and what the instance
 * does in the background:
 * - per access, on the task's work item: (de)serialization of the entry's bytes; per
 *   block-cache miss, the local disk's read time (the task thread blocks on it) and the
 *   block's decompression, and the read is issued on the disk so it competes with flushes;
 * - a full memtable is flushed to a new L0 file: compression on the host (a background
 *   thread), append and fsync on the TaskManager's local disk; when writes outrun flushes
 *   (`writebuffer.count` memtables) the write stalls — the task is charged one flush;
 * - compactions (one at a time) read their inputs from disk, merge (decompress and
 *   compress on the host), write and fsync their outputs, then delete the inputs;
 * - a checkpoint with `state.backend.incremental` flushes the memtable on the task thread
 *   (RocksDB's checkpoint does) and snapshots the set of live SST files: files the last
 *   confirmed checkpoint uploaded are referenced, the others are uploaded;
 * - restore installs an incremental snapshot's files (downloaded by the task) or
 *   re-inserts a full snapshot's entries.
 *
 * Invariants: nothing is issued on a disk or host after dispose; every local file this
 * instance wrote is deleted at dispose (when its host is up); the files of a snapshot
 * are exactly the live files after its flush.
 */
import type { Disk } from "../../sim/disk";
import type { Host } from "../../sim/host";
import type { Key } from "../api/types";
import type { CheckpointId, RocksDbOperatorSnapshot, SharedFileHandle } from "../checkpoint/snapshot";
import { serializedBytes } from "../checkpoint/snapshot";
import type { CostModel } from "../costs";
import { HashMapStateBackend } from "./keyed-state";
import { LsmTree, fileMeta, type Compaction, type LsmParams, type SstFile } from "./lsm-model";

export interface RocksDbSettings extends LsmParams {
  /** state.backend.incremental */
  incremental: boolean;
}

/** Counters over every RocksDB instance of a run (JobRunResult.rocksdb). */
export interface RocksDbStats {
  instances: number;
  flushes: number;
  flushedBytes: number;
  compactions: number;
  compactionBytesIn: number;
  compactionBytesOut: number;
  /** Bytes of entries put (overwrites included): the denominator of write amplification. */
  userBytes: number;
  cacheHits: number;
  cacheMisses: number;
  memtableHits: number;
  writeStalls: number;
}

export function emptyRocksDbStats(): RocksDbStats {
  return { instances: 0, flushes: 0, flushedBytes: 0, compactions: 0, compactionBytesIn: 0, compactionBytesOut: 0, userBytes: 0, cacheHits: 0, cacheMisses: 0, memtableHits: 0, writeStalls: 0 };
}

/** What the backend needs from its task and TaskManager. */
export interface RocksDbEnvironment {
  settings: RocksDbSettings;
  costs: CostModel;
  host: Host;
  disk: Disk;
  /** Unique per instance and attempt: names its files and its local directory. */
  instanceName: string;
  /** Labels background work on the host (the vertex name). */
  label: string;
  /** Adds CPU time to the task's current work item. */
  charge(ns: number): void;
  /** A background I/O error: RocksDB stops, the task fails. */
  fail(cause: string): void;
  mark(name: string): void;
  flushed(e: { bytes: number; files: number; l0Files: number; sync: boolean }): void;
  compacted(e: { level: number; bytesIn: number; bytesOut: number; filesIn: number; filesOut: number }): void;
  stats: RocksDbStats | undefined;
}

/** Per entry: RocksDB's internal key suffix (sequence number and type, 8 bytes) and Flink's key-group prefix (2). */
const ENTRY_KEY_OVERHEAD_BYTES = 10;

export class RocksDbStateBackend extends HashMapStateBackend {
  readonly lsm: LsmTree;
  private prefix = "";
  private keyBytes = 0;
  private flushesInFlight = 0;
  private compaction: Compaction | undefined;
  private disposed = false;
  /** Local files written and not deleted, by file name. */
  private readonly localFiles = new Set<string>();
  /** Incremental: the files each snapshot not yet confirmed references, by checkpoint. */
  private readonly taken = new Map<CheckpointId, Map<string, SharedFileHandle>>();
  /** Incremental: the files of the last confirmed checkpoint (already in the blob store). */
  private confirmed = new Map<string, SharedFileHandle>();

  constructor(private readonly env: RocksDbEnvironment) {
    super();
    this.lsm = new LsmTree(env.settings, (seq) => `${env.instanceName}-${String(seq).padStart(6, "0")}`);
    if (env.stats !== undefined) env.stats.instances++;
  }

  override setCurrentKey(key: Key): void {
    super.setCurrentKey(key);
    this.prefix = `${typeof key}:${String(key)}\u0000`;
    this.keyBytes = serializedBytes(key) + ENTRY_KEY_OVERHEAD_BYTES;
  }

  override get(name: string): unknown {
    const value = super.get(name);
    // A list is one key with merge operands, a map one key per entry (read by a prefix
    // iteration): both are deserialized whole, so they cost their full size.
    this.read(name, Array.isArray(value) || value instanceof Map ? serializedBytes(value) : undefined);
    return value;
  }

  override set(name: string, value: unknown): void {
    if (value instanceof Map) {
      this.replaceMap(name, value);
      return;
    }
    super.set(name, value);
    this.write(name, this.keyBytes + name.length + serializedBytes(value));
  }

  override clear(name: string): void {
    const old = this.peekValue(name);
    super.clear(name);
    // RocksDBMapState.clear deletes entry by entry.
    if (old instanceof Map) for (const userKey of old.keys()) this.put(this.entryId(name, userKey), this.keyBytes + name.length + serializedBytes(userKey), true);
    else this.put(name, this.keyBytes + name.length, true);
  }

  /** RocksDBListState.add: a merge operand of the one element; the list is not read. */
  override addToList(name: string, element: unknown): void {
    super.addToList(name, element);
    this.write(name, this.keyBytes + name.length + serializedBytes(element));
  }

  override getMapEntry(name: string, userKey: Key): unknown {
    const value = super.getMapEntry(name, userKey);
    this.read(this.entryId(name, userKey), undefined);
    return value;
  }

  override putMapEntry(name: string, userKey: Key, value: unknown): void {
    super.putMapEntry(name, userKey, value);
    this.write(this.entryId(name, userKey), this.keyBytes + name.length + serializedBytes(userKey) + serializedBytes(value));
  }

  override removeMapEntry(name: string, userKey: Key): void {
    super.removeMapEntry(name, userKey);
    this.put(this.entryId(name, userKey), this.keyBytes + name.length + serializedBytes(userKey), true);
  }

  /** A map written whole (MapState.putAll after clear): the old entries deleted, each new one put. */
  private replaceMap(name: string, map: Map<Key, unknown>): void {
    const old = this.peekValue(name);
    if (old instanceof Map) for (const userKey of old.keys()) if (!map.has(userKey)) this.removeMapEntry(name, userKey);
    super.set(name, map);
    for (const [userKey, value] of map) this.write(this.entryId(name, userKey), this.keyBytes + name.length + serializedBytes(userKey) + serializedBytes(value));
  }

  /** The LSM key of one map entry: the state's key, then the user key (RocksDBMapState's layout). */
  private entryId(name: string, userKey: Key): string {
    return `${name}\u0001${typeof userKey}:${String(userKey)}`;
  }

  /** A point lookup of `id` under the current key; `valueBytes` overrides the found entry's size. */
  private read(id: string, valueBytes: number | undefined): void {
    const r = this.lsm.get(this.prefix + id);
    const env = this.env;
    let ns = 0;
    if (valueBytes !== undefined) ns += valueBytes * env.costs.deserializeNsPerByte;
    else if (r.found !== undefined && !r.found.tombstone) ns += r.found.bytes * env.costs.deserializeNsPerByte;
    if (r.missed !== undefined) {
      for (const [file, index, bytes] of r.missed) {
        ns += this.blockReadNs(bytes) + bytes * env.costs.rocksdbDecompressNsPerByte;
        this.readBlock(file, index, bytes);
      }
    }
    env.charge(ns);
    const stats = env.stats;
    if (stats !== undefined) {
      stats.cacheHits += r.blockHits;
      stats.cacheMisses += r.blockMisses;
      if (r.inMemtable) stats.memtableHits++;
    }
  }

  /** A serialized write of `bytes` under `id` of the current key. */
  private write(id: string, bytes: number): void {
    this.env.charge(bytes * this.env.costs.serializeNsPerByte);
    this.put(id, bytes, false);
  }

  private put(id: string, bytes: number, tombstone: boolean): void {
    if (this.env.stats !== undefined) this.env.stats.userBytes += bytes;
    if (this.lsm.put(this.prefix + id, bytes, tombstone)) this.switchAndFlush(true);
  }

  /** The active memtable is full: it becomes immutable and a background flush writes it out. */
  private switchAndFlush(fromWrite: boolean): void {
    if (fromWrite && this.flushesInFlight >= this.env.settings.writeBufferCount - 1) {
      // RocksDB stalls writes while every memtable waits for a flush: the writer waits one.
      this.env.charge(this.flushIoNs(this.env.settings.writeBufferBytes));
      this.env.mark("rocksdb.writeStall");
      if (this.env.stats !== undefined) this.env.stats.writeStalls++;
    }
    if (!this.lsm.switchMemtable()) return;
    const file = this.lsm.flushOldest()!;
    this.writeFlush(file, false);
  }

  // ---- background work ----

  private get alive(): boolean {
    return !this.disposed && this.env.host.up;
  }

  /** Writes a flushed file: compression on the host (unless the task already paid it), append, fsync. */
  private writeFlush(file: SstFile, sync: boolean): void {
    this.flushesInFlight++;
    file.writing = true;
    const write = () => {
      if (!this.alive) return;
      this.writeFile(file, () => {
        this.flushesInFlight--;
        const stats = this.env.stats;
        if (stats !== undefined) {
          stats.flushes++;
          stats.flushedBytes += file.bytes;
        }
        this.env.flushed({ bytes: file.bytes, files: 1, l0Files: this.lsm.levels[0]!.length, sync });
        this.maybeCompact();
      });
    };
    if (sync) write();
    else this.env.host.run(file.bytes * this.env.costs.rocksdbCompressNsPerByte, write, this.env.label, "rocksdb");
  }

  /** Appends and fsyncs a file on the local disk; then `done`, or the task fails on an I/O error. */
  private writeFile(file: SstFile, done: () => void): void {
    const path = this.pathOf(file.name);
    this.localFiles.add(file.name);
    file.writing = true;
    this.env.disk.append(path, file.bytes, undefined, (err) => {
      if (!this.alive) return;
      if (err !== undefined) return this.env.fail(`IOException: RocksDB could not write ${file.name}: ${err.code}`);
      this.env.disk.fsync(path, (err2) => {
        if (!this.alive) return;
        if (err2 !== undefined) return this.env.fail(`IOException: RocksDB could not sync ${file.name}: ${err2.code}`);
        file.writing = false;
        done();
      });
    });
  }

  /** One compaction at a time: read the inputs, merge on the host, write the outputs, swap, delete the inputs. */
  private maybeCompact(): void {
    if (this.compaction !== undefined || !this.alive) return;
    const c = this.lsm.pickCompaction();
    if (c === undefined) return;
    this.compaction = c;
    let reads = c.inputs.length;
    const abandon = (cause: string) => {
      this.lsm.abandonCompaction(c);
      this.compaction = undefined;
      this.env.fail(cause);
    };
    for (const input of c.inputs) {
      this.env.disk.read(this.pathOf(input.name), 0, input.bytes, (err) => {
        if (!this.alive) return;
        if (err !== undefined) return abandon(`IOException: RocksDB compaction could not read ${input.name}: ${err.code}`);
        if (--reads > 0) return;
        const result = this.lsm.mergeCompaction(c);
        const cpuNs = c.bytesIn * this.env.costs.rocksdbDecompressNsPerByte + result.bytesOut * this.env.costs.rocksdbCompressNsPerByte;
        this.env.host.run(cpuNs, () => {
          if (!this.alive) return;
          let writes = result.outputs.length;
          const install = () => {
            this.lsm.installCompaction(c, result);
            this.compaction = undefined;
            for (const input of c.inputs) this.deleteLocal(input.name);
            const stats = this.env.stats;
            if (stats !== undefined) {
              stats.compactions++;
              stats.compactionBytesIn += c.bytesIn;
              stats.compactionBytesOut += result.bytesOut;
            }
            this.env.compacted({ level: c.level, bytesIn: c.bytesIn, bytesOut: result.bytesOut, filesIn: c.inputs.length, filesOut: result.outputs.length });
            this.maybeCompact();
          };
          if (writes === 0) return install();
          for (const out of result.outputs) this.writeFile(out, () => {
            if (--writes === 0) install();
          });
        }, this.env.label, "rocksdb");
      });
    }
  }

  private readBlock(file: string, index: number, bytes: number): void {
    if (!this.alive || !this.localFiles.has(file)) return;
    this.env.disk.read(this.pathOf(file), index * this.env.settings.blockBytes, bytes, () => {});
  }

  /** What the task waits for one block read: the disk's op latency, a seek, the transfer. */
  private blockReadNs(bytes: number): number {
    const p = this.env.disk.params;
    return (p.opLatencyNs + p.seekNs + (bytes * 1e9) / p.readBandwidthBytesPerS) * this.env.disk.slow;
  }

  /** What a writer waits for a flush of `bytes`: compression, the write, the fsync. */
  private flushIoNs(bytes: number): number {
    const p = this.env.disk.params;
    return bytes * this.env.costs.rocksdbCompressNsPerByte + (p.opLatencyNs + (bytes * 1e9) / p.writeBandwidthBytesPerS + p.fsyncLatencyNs) * this.env.disk.slow;
  }

  private pathOf(name: string): string {
    return `rocksdb/${this.env.instanceName}/${name}.sst`;
  }

  private deleteLocal(name: string): void {
    if (!this.localFiles.delete(name)) return;
    if (this.env.host.up) this.env.disk.delete(this.pathOf(name));
  }

  // ---- checkpoints ----

  /**
   * The sync phase of an incremental snapshot: flush the memtable on the task thread
   * (charged), then take the live files — referencing those the last confirmed checkpoint
   * uploaded, uploading the rest under unique keys. Undefined for full snapshots. `tag`
   * names the kind of snapshot in the keys (a changelog materialization: "mat").
   */
  snapshotFiles(checkpointId: CheckpointId, tag = "chk"): RocksDbOperatorSnapshot | undefined {
    if (!this.env.settings.incremental) return undefined;
    const files = this.flushForSnapshot();
    const handles = new Map<string, SharedFileHandle>();
    for (const f of files) {
      handles.set(f.name, this.confirmed.get(f.name) ?? { name: f.name, blobKey: `checkpoints/shared/${f.name}.sst@${tag}-${checkpointId}`, bytes: f.bytes, checkpointId });
    }
    this.taken.set(checkpointId, handles);
    return { files: files.map(fileMeta), shared: [...handles.values()] };
  }

  /** A snapshot sees the memtable as an SST file: flush it (charging the IO), then list the live files. */
  private flushForSnapshot(): ReturnType<LsmTree["liveFiles"]> {
    if (this.lsm.switchMemtable()) {
      const file = this.lsm.flushOldest()!;
      this.env.charge(this.flushIoNs(file.bytes));
      this.writeFlush(file, true);
    }
    return this.lsm.liveFiles();
  }

  /**
   * A NATIVE savepoint: every live SST file uploaded anew into the savepoint's directory
   * (self-contained, nothing referenced from checkpoints) and not the base of any later
   * incremental checkpoint. Undefined unless the backend snapshots incrementally.
   */
  snapshotFilesForSavepoint(checkpointId: CheckpointId, dir: string): RocksDbOperatorSnapshot | undefined {
    if (!this.env.settings.incremental) return undefined;
    const files = this.flushForSnapshot();
    return { files: files.map(fileMeta), shared: files.map((f) => ({ name: f.name, blobKey: `${dir}/${this.env.instanceName}/${f.name}.sst`, bytes: f.bytes, checkpointId })) };
  }

  /** Checkpoint n completed: its files are the baseline of the next incremental snapshot. */
  notifyCheckpointComplete(checkpointId: CheckpointId): void {
    const handles = this.taken.get(checkpointId);
    if (handles === undefined) return;
    this.confirmed = handles;
    for (const id of [...this.taken.keys()]) if (id <= checkpointId) this.taken.delete(id);
  }

  /** Restore: the values, and the LSM from an incremental snapshot's files or a full snapshot's entries. */
  restoreState(entries: readonly [Key, Record<string, unknown>][], snapshot: RocksDbOperatorSnapshot | undefined): void {
    if (snapshot !== undefined) {
      // The task downloaded the files; they land in this instance's directory.
      for (const f of this.lsm.restoreFiles(snapshot.files)) this.writeFile(f, () => this.maybeCompact());
      this.confirmed = new Map(snapshot.shared.map((s) => [s.name, s]));
    } else {
      // A full snapshot is written back through the memtable (Flink's full restore inserts every entry).
      for (const [key, values] of entries) {
        const prefix = `${typeof key}:${String(key)}\u0000`;
        const keyBytes = serializedBytes(key) + ENTRY_KEY_OVERHEAD_BYTES;
        for (const name of Object.keys(values)) {
          const value = values[name];
          if (value instanceof Map) {
            for (const [userKey, v] of value) {
              if (this.lsm.put(prefix + this.entryId(name, userKey), keyBytes + name.length + serializedBytes(userKey) + serializedBytes(v))) this.switchAndFlush(false);
            }
          } else if (this.lsm.put(prefix + name, keyBytes + name.length + serializedBytes(value))) this.switchAndFlush(false);
        }
      }
    }
    this.restore(entries);
    this.prefix = "";
  }

  /** The instance closes: background work stops, its local files are deleted. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const name of [...this.localFiles]) this.deleteLocal(name);
  }
}
