/**
 * The byte-level model of one RocksDB instance (one keyed operator's state): memtables,
 * SST files in levels, leveled compaction and the block cache. It tracks sizes and
 * positions of entries, not their values (the backend keeps the real JS values, so results
 * stay exact); the backend (rocksdb-backend.ts) charges CPU and disk time for what the
 * model reports.
 *
 * Model (RocksDB defaults unless an option is named):
 * - A put goes to the active memtable; its size grows by every put, overwrites included
 *   (the skip list keeps every version until the flush). At
 *   `state.backend.rocksdb.writebuffer.size` it becomes immutable and a flush writes the
 *   latest version of each entry (tombstones included) to one new L0 file.
 * - Leveled compaction (RocksDB "Leveled Compaction" wiki): L0 is compacted into L1 when it
 *   holds level0_file_num_compaction_trigger = 4 files (all L0 files and the overlapping
 *   L1 files); level n ≥ 1 is compacted when its bytes exceed its target,
 *   `max-size-level-base` × 10^(n−1) (max_bytes_for_level_multiplier = 10): one file of
 *   Ln, picked round-robin by key, with the overlapping files of Ln+1. The merge keeps the
 *   newest version of each entry, drops tombstones when no deeper level holds data, and
 *   cuts the output into files of `target-file-size-base`. num_levels = 7.
 * - Keys are ordered as Flink's are — by key group first — which a hash of the entry id
 *   stands for: a position in [0, 1). Files cover a position range; a file's blocks
 *   (`block.blocksize`) split its range evenly.
 * - A get looks in the memtables, then in every L0 file (newest first), then in the one
 *   file per level whose range covers the key, each a block lookup in the cache (a block
 *   is `blocksize`, or one entry when that is larger); without
 *   bloom filters (Flink's default) a file that does not hold the key still costs its
 *   block lookup. It stops at the newest version found.
 *
 * Invariants: files of a level ≥ 1 never overlap and are sorted by position; an entry id
 * is in at most one file per level ≥ 1; a file is an input of at most one compaction, and
 * only once written; bytes of a file = Σ its entries' bytes.
 */
import { InvariantError, assert } from "../../sim/errors";
import { BlockCache } from "./block-cache";

/** RocksDB's level0_file_num_compaction_trigger default. */
export const L0_COMPACTION_TRIGGER = 4;
/** RocksDB's max_bytes_for_level_multiplier default. */
export const LEVEL_MULTIPLIER = 10;
/** RocksDB's num_levels default. */
export const NUM_LEVELS = 7;

export interface LsmParams {
  writeBufferBytes: number;
  writeBufferCount: number;
  levelBaseBytes: number;
  targetFileBytes: number;
  blockCacheBytes: number;
  blockBytes: number;
}

/** One version of an entry: its serialized size, its position in key order, deleted or not. */
export interface EntryVersion {
  bytes: number;
  pos: number;
  tombstone: boolean;
}

export interface SstFile {
  /** Unique across attempts of the job (restored files keep their names). */
  readonly name: string;
  readonly level: number;
  /** Creation order within this instance (newer L0 files shadow older ones). */
  readonly seq: number;
  readonly bytes: number;
  readonly minPos: number;
  readonly maxPos: number;
  readonly entries: ReadonlyMap<string, EntryVersion>;
  compacting: boolean;
  /** Its bytes are still going to disk (the backend sets it): not a compaction input yet. */
  writing: boolean;
}

/** A file as plain data (snapshots carry it; restore rebuilds the file from it). */
export interface SstFileMeta {
  name: string;
  level: number;
  seq: number;
  bytes: number;
  /** [entry id, bytes, position, tombstone 1/0], in position order. */
  entries: [string, number, number, number][];
}

interface Memtable {
  readonly entries: Map<string, EntryVersion>;
  /** Σ bytes of every put, overwrites included. */
  bytes: number;
}

export interface Compaction {
  readonly level: number;
  readonly outputLevel: number;
  readonly inputs: readonly SstFile[];
  readonly bytesIn: number;
}

export interface CompactionResult {
  readonly outputs: readonly SstFile[];
  readonly bytesOut: number;
}

/** Where a get found its entry, and the blocks it had to look up on the way. */
export interface GetResult {
  found: EntryVersion | undefined;
  inMemtable: boolean;
  blockHits: number;
  blockMisses: number;
  /** The blocks that missed the cache: [file name, block index, block bytes] (undefined when none). */
  missed: [string, number, number][] | undefined;
}

/** The position of an entry id in key order: FNV-1a of the id, in [0, 1). */
export function positionOf(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 4294967296;
}

export class LsmTree {
  private active: Memtable = { entries: new Map(), bytes: 0 };
  /** Memtables switched out and not flushed yet, oldest first. */
  private readonly immutables: Memtable[] = [];
  /** levels[0] newest first; levels[n ≥ 1] sorted by position. */
  readonly levels: SstFile[][] = Array.from({ length: NUM_LEVELS }, () => []);
  readonly cache: BlockCache;
  private nextSeq = 0;
  /** Round-robin compaction cursor per level (the position after the last compacted file). */
  private readonly cursor: number[] = new Array<number>(NUM_LEVELS).fill(0);
  // Statistics.
  userBytesWritten = 0;
  flushedBytes = 0;
  compactionBytesIn = 0;
  compactionBytesOut = 0;
  flushes = 0;
  compactions = 0;

  constructor(
    readonly params: LsmParams,
    /** Names new files (the backend makes them unique per attempt). */
    private readonly nameFile: (seq: number) => string,
  ) {
    this.cache = new BlockCache(params.blockCacheBytes);
  }

  // ---- writes ----

  /** Writes a version of `id`; true when the active memtable became full (switch and flush it). */
  put(id: string, bytes: number, tombstone = false): boolean {
    assert(Number.isFinite(bytes) && bytes > 0, `entry ${id}: size ${bytes}`);
    this.active.entries.set(id, { bytes, pos: positionOf(id), tombstone });
    this.active.bytes += bytes;
    this.userBytesWritten += bytes;
    return this.active.bytes >= this.params.writeBufferBytes;
  }

  get activeMemtableBytes(): number {
    return this.active.bytes;
  }

  get immutableMemtables(): number {
    return this.immutables.length;
  }

  /** Makes the active memtable immutable (no-op when empty); true when it switched. */
  switchMemtable(): boolean {
    if (this.active.entries.size === 0) return false;
    this.immutables.push(this.active);
    this.active = { entries: new Map(), bytes: 0 };
    return true;
  }

  /**
   * Flushes the oldest immutable memtable into a new L0 file (installed at once: its bytes
   * then go to disk in the background). Undefined when there is none.
   */
  flushOldest(): SstFile | undefined {
    const m = this.immutables.shift();
    if (m === undefined) return undefined;
    const entries = [...m.entries].sort((a, b) => a[1].pos - b[1].pos || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const file = this.makeFile(0, new Map(entries));
    this.levels[0]!.unshift(file);
    this.flushes++;
    this.flushedBytes += file.bytes;
    return file;
  }

  // ---- reads ----

  /** Looks `id` up as RocksDB's Get does, through the block cache. */
  get(id: string): GetResult {
    const result: GetResult = { found: undefined, inMemtable: false, blockHits: 0, blockMisses: 0, missed: undefined };
    const mem = this.active.entries.get(id) ?? this.fromImmutables(id);
    if (mem !== undefined) {
      result.found = mem;
      result.inMemtable = true;
      return result;
    }
    const pos = positionOf(id);
    for (const file of this.levels[0]!) {
      if (pos < file.minPos || pos > file.maxPos) continue;
      if (this.probe(file, id, pos, result)) return result;
    }
    for (let level = 1; level < NUM_LEVELS; level++) {
      const file = fileCovering(this.levels[level]!, pos);
      if (file !== undefined && this.probe(file, id, pos, result)) return result;
    }
    return result;
  }

  private fromImmutables(id: string): EntryVersion | undefined {
    for (let i = this.immutables.length - 1; i >= 0; i--) {
      const e = this.immutables[i]!.entries.get(id);
      if (e !== undefined) return e;
    }
    return undefined;
  }

  private probe(file: SstFile, id: string, pos: number, result: GetResult): boolean {
    const index = blockIndex(file, pos, this.params.blockBytes);
    const e = file.entries.get(id);
    // A block holds at least one entry: an entry larger than blocksize makes its block larger.
    const bytes = e === undefined ? this.params.blockBytes : Math.max(this.params.blockBytes, e.bytes);
    if (this.cache.access(blockId(file, index), bytes)) {
      result.blockHits++;
    } else {
      result.blockMisses++;
      (result.missed ??= []).push([file.name, index, bytes]);
    }
    if (e === undefined) return false;
    result.found = e;
    return true;
  }

  // ---- compaction ----

  /** Level sizes against their targets (RocksDB's compaction score); the best ≥ 1, if any. */
  pickCompaction(): Compaction | undefined {
    let best = -1;
    let bestScore = 1;
    for (let level = 0; level < NUM_LEVELS - 1; level++) {
      const all = this.levels[level]!;
      if (all.some((f) => f.compacting)) continue;
      // L0 files are written oldest first: the written ones are the oldest, a valid input set.
      const files = level === 0 ? all.filter((f) => !f.writing) : all;
      if (level > 0 && files.some((f) => f.writing)) continue;
      const score = level === 0 ? files.length / L0_COMPACTION_TRIGGER : sum(files) / this.targetBytes(level);
      if (score >= bestScore && (best < 0 || score > bestScore)) {
        best = level;
        bestScore = score;
      }
    }
    if (best < 0) return undefined;
    const outputLevel = best + 1;
    let picked: SstFile[];
    if (best === 0) {
      picked = this.levels[0]!.filter((f) => !f.writing);
    } else {
      // Round-robin by key: the first file starting at or after the cursor, else the first.
      const files = this.levels[best]!;
      const start = files.find((f) => f.minPos >= this.cursor[best]!) ?? files[0]!;
      picked = [start];
      this.cursor[best] = start.maxPos + Number.EPSILON;
    }
    const lo = Math.min(...picked.map((f) => f.minPos));
    const hi = Math.max(...picked.map((f) => f.maxPos));
    const next = this.levels[outputLevel]!;
    if (next.some((f) => f.compacting)) return undefined;
    const overlapping = next.filter((f) => f.maxPos >= lo && f.minPos <= hi);
    if (overlapping.some((f) => f.writing)) return undefined;
    const inputs = [...picked, ...overlapping];
    for (const f of inputs) f.compacting = true;
    return { level: best, outputLevel, inputs, bytesIn: sum(inputs) };
  }

  /** Target bytes of level n ≥ 1. */
  targetBytes(level: number): number {
    return this.params.levelBaseBytes * LEVEL_MULTIPLIER ** (level - 1);
  }

  /**
   * Merges a picked compaction's inputs (nothing is installed yet): newest version per
   * entry, tombstones dropped at the bottom, output cut at the target file size.
   */
  mergeCompaction(c: Compaction): CompactionResult {
    // Newest first: L0 inputs (newest first), then the picked level, then the output level.
    const ordered = [...c.inputs].sort((a, b) => a.level - b.level || b.seq - a.seq);
    const merged = new Map<string, EntryVersion>();
    for (const f of ordered) for (const [id, e] of f.entries) if (!merged.has(id)) merged.set(id, e);
    const bottom = this.levels.every((files, level) => level <= c.outputLevel || files.length === 0);
    const live = [...merged].filter(([, e]) => !(bottom && e.tombstone));
    live.sort((a, b) => a[1].pos - b[1].pos || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const outputs: SstFile[] = [];
    let batch = new Map<string, EntryVersion>();
    let batchBytes = 0;
    for (const [id, e] of live) {
      if (batchBytes > 0 && batchBytes + e.bytes > this.params.targetFileBytes) {
        outputs.push(this.makeFile(c.outputLevel, batch));
        batch = new Map();
        batchBytes = 0;
      }
      batch.set(id, e);
      batchBytes += e.bytes;
    }
    if (batch.size > 0) outputs.push(this.makeFile(c.outputLevel, batch));
    return { outputs, bytesOut: sum(outputs) };
  }

  /** Installs a merged compaction: its outputs replace its inputs (which the caller deletes from disk). */
  installCompaction(c: Compaction, result: CompactionResult): void {
    const inputs = new Set(c.inputs);
    for (let level = 0; level < NUM_LEVELS; level++) {
      const files = this.levels[level]!;
      const kept = files.filter((f) => !inputs.has(f));
      files.length = 0;
      files.push(...kept);
    }
    for (const f of c.inputs) this.cache.evictFile(`${f.name}#`);
    const out = this.levels[c.outputLevel]!;
    out.push(...result.outputs);
    out.sort((a, b) => a.minPos - b.minPos);
    for (let i = 1; i < out.length; i++) {
      if (out[i]!.minPos <= out[i - 1]!.maxPos) throw new InvariantError(`L${c.outputLevel} files ${out[i - 1]!.name} and ${out[i]!.name} overlap`);
    }
    this.compactions++;
    this.compactionBytesIn += c.bytesIn;
    this.compactionBytesOut += result.bytesOut;
  }

  /** Picks, merges and installs one compaction at once (tests; the backend spreads it over time). */
  compactOnce(): (Compaction & CompactionResult) | undefined {
    const c = this.pickCompaction();
    if (c === undefined) return undefined;
    const result = this.mergeCompaction(c);
    this.installCompaction(c, result);
    return { ...c, ...result };
  }

  /** A compaction that could not run (its I/O failed): its inputs may be picked again. */
  abandonCompaction(c: Compaction): void {
    for (const f of c.inputs) f.compacting = false;
  }

  // ---- files ----

  /** Every live file, level by level (the set a RocksDB checkpoint links). */
  liveFiles(): SstFile[] {
    return this.levels.flat();
  }

  /** Σ live file bytes. */
  get diskBytes(): number {
    return sum(this.liveFiles());
  }

  /** Bytes written to disk (flushes and compaction outputs) per byte the user put. */
  get writeAmplification(): number {
    return this.userBytesWritten === 0 ? 0 : (this.flushedBytes + this.compactionBytesOut) / this.userBytesWritten;
  }

  /** Installs restored files (an incremental restore); the tree must be empty. */
  restoreFiles(metas: readonly SstFileMeta[]): SstFile[] {
    assert(this.liveFiles().length === 0 && this.active.entries.size === 0, "restore into a non-empty LSM tree");
    const files = metas.map((m) => fileFromMeta(m));
    for (const f of files) this.levels[f.level]!.push(f);
    this.levels[0]!.sort((a, b) => b.seq - a.seq);
    for (let level = 1; level < NUM_LEVELS; level++) this.levels[level]!.sort((a, b) => a.minPos - b.minPos);
    this.nextSeq = Math.max(0, ...metas.map((m) => m.seq + 1));
    return files;
  }

  private makeFile(level: number, entries: Map<string, EntryVersion>): SstFile {
    let bytes = 0;
    let minPos = Infinity;
    let maxPos = -Infinity;
    for (const e of entries.values()) {
      bytes += e.bytes;
      if (e.pos < minPos) minPos = e.pos;
      if (e.pos > maxPos) maxPos = e.pos;
    }
    const seq = this.nextSeq++;
    return { name: this.nameFile(seq), level, seq, bytes, minPos, maxPos, entries, compacting: false, writing: false };
  }
}

export function fileMeta(f: SstFile): SstFileMeta {
  return { name: f.name, level: f.level, seq: f.seq, bytes: f.bytes, entries: [...f.entries].map(([id, e]) => [id, e.bytes, e.pos, e.tombstone ? 1 : 0]) };
}

function fileFromMeta(m: SstFileMeta): SstFile {
  const entries = new Map<string, EntryVersion>(m.entries.map(([id, bytes, pos, t]) => [id, { bytes, pos, tombstone: t === 1 }]));
  let minPos = Infinity;
  let maxPos = -Infinity;
  for (const e of entries.values()) {
    minPos = Math.min(minPos, e.pos);
    maxPos = Math.max(maxPos, e.pos);
  }
  return { name: m.name, level: m.level, seq: m.seq, bytes: m.bytes, minPos, maxPos, entries, compacting: false, writing: false };
}

/** Blocks of a file. */
export function blockCount(file: SstFile, blockBytes: number): number {
  return Math.max(1, Math.ceil(file.bytes / blockBytes));
}

function blockIndex(file: SstFile, pos: number, blockBytes: number): number {
  const n = blockCount(file, blockBytes);
  const span = file.maxPos - file.minPos;
  if (span <= 0) return 0;
  return Math.min(n - 1, Math.floor(((pos - file.minPos) / span) * n));
}

function blockId(file: SstFile, index: number): string {
  return `${file.name}#${index}`;
}

function fileCovering(files: readonly SstFile[], pos: number): SstFile | undefined {
  let lo = 0;
  let hi = files.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (files[mid]!.maxPos < pos) lo = mid + 1;
    else hi = mid;
  }
  const f = files[lo];
  return f !== undefined && f.minPos <= pos ? f : undefined;
}

function sum(files: readonly SstFile[]): number {
  let n = 0;
  for (const f of files) n += f.bytes;
  return n;
}
