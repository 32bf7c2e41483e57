/**
 * FLIP-27 sources for the simulator: a data generator (Flink's DataGeneratorSource with a
 * rate limiter) and a Kafka-like partitioned log, plus the enumerator's split assignment.
 *
 * Invariants:
 * - record data depends only on the split (its own stream, named by split id under the
 *   rng passed to createSplits — see job-rng.ts), never on the parallelism, the reader
 *   that reads it, or when it is read; re-reading a split from an offset (restore) yields
 *   the same records;
 * - a reader emits a split's records in offset order, round-robin across its splits one
 *   record at a time, so splits with the same event-time pattern progress in lockstep;
 * - availability is virtual time: a rate-limited split's record i is available at a fixed
 *   ns (below), and nextAvailableNs tells the runtime when to poll again.
 *
 * Readers pass the split id as a third argument to `emit` (SplitAwareEmit); a runtime that
 * keeps per-split watermarks uses it, one that does not can ignore it.
 */
import { InputError, assert } from "../../sim/errors";
import type { Rng, Zipf } from "../../sim/rng";
import type { ParallelismInferenceContext, SourceReader, SourceSpec, SourceSplit } from "./types";

/**
 * What readers call `emit` with: the SourceReader contract's (value, timestamp), plus the
 * split id (always passed by these readers; optional in the type so such a callback is also
 * a plain SourceReader emit).
 */
export type SplitAwareEmit = (value: unknown, timestampMs: number, splitId?: string) => void;

/** A split's reading position: the next offset (record index) to read. */
export interface SplitOffset {
  readonly splitId: string;
  readonly offset: number;
}

/** Readers whose position can be checkpointed and restored (the reader's split state). */
export interface CheckpointableReader extends SourceReader {
  /** Next offset per assigned split, in assignment order. */
  currentOffsets(): SplitOffset[];
  /** Moves assigned splits to the given offsets (restore); unknown split ids are an error. */
  seek(offsets: readonly SplitOffset[]): void;
}

/**
 * The enumerator's default assignment (FLIP-27, all splits known up front): split i goes to
 * reader i mod parallelism. Pure; the JobManager calls it and then noMoreSplits on every reader.
 */
export function assignSplits<S extends SourceSplit>(splits: readonly S[], parallelism: number): S[][] {
  assert(Number.isSafeInteger(parallelism) && parallelism >= 1, `assignSplits: bad parallelism ${parallelism}`);
  const out: S[][] = Array.from({ length: parallelism }, () => []);
  splits.forEach((split, i) => out[i % parallelism]!.push(split));
  return out;
}

/** Limits on everything (DESIGN style 3). */
export const MAX_SPLITS = 100_000;
/** Records one partition of a generated log may hold in memory (it keeps what it generated). */
export const MAX_LOG_RECORDS_PER_PARTITION = 10_000_000;

// ---------------------------------------------------------------------------------------
// Shared reader mechanics

interface Cursor {
  readonly splitId: string;
  /** Next offset to read. */
  next: number;
  /** Exclusive end offset; Infinity when unbounded. */
  readonly end: number;
}

abstract class RoundRobinReader<C extends Cursor> implements CheckpointableReader {
  protected readonly cursors: C[] = [];
  private noMore = false;
  private rr = 0;

  protected abstract makeCursor(split: SourceSplit): C;
  /** When the record at `cursor.next` is available (ns). */
  protected abstract availableAtNs(cursor: C, nowNs: number): number;
  /** Emits the record at `cursor.next` and advances it. */
  protected abstract emitNext(cursor: C, emit: SplitAwareEmit): void;
  protected abstract seekCursor(cursor: C, offset: number): void;

  addSplit(split: SourceSplit): void {
    assert(!this.cursors.some((c) => c.splitId === split.splitId), `source reader: split ${split.splitId} added twice`);
    this.cursors.push(this.makeCursor(split));
  }

  noMoreSplits(): void {
    this.noMore = true;
  }

  poll(nowNs: number, maxRecords: number, emit: SplitAwareEmit): number {
    const cursors = this.cursors;
    const n = cursors.length;
    let emitted = 0;
    let misses = 0;
    while (emitted < maxRecords && n > 0 && misses < n) {
      const c = cursors[this.rr]!;
      this.rr = (this.rr + 1) % n;
      if (c.next < c.end && this.availableAtNs(c, nowNs) <= nowNs) {
        this.emitNext(c, emit);
        emitted++;
        misses = 0;
      } else {
        misses++;
      }
    }
    return emitted;
  }

  nextAvailableNs(nowNs: number): number {
    let next = Infinity;
    for (const c of this.cursors) {
      if (c.next >= c.end) continue;
      const at = this.availableAtNs(c, nowNs);
      if (at < next) next = at;
    }
    return next <= nowNs ? nowNs : next;
  }

  isFinished(): boolean {
    return this.noMore && this.cursors.every((c) => c.next >= c.end);
  }

  currentOffsets(): SplitOffset[] {
    return this.cursors.map((c) => ({ splitId: c.splitId, offset: c.next }));
  }

  seek(offsets: readonly SplitOffset[]): void {
    for (const { splitId, offset } of offsets) {
      const c = this.cursors.find((x) => x.splitId === splitId);
      assert(c !== undefined, `source reader: seek to unknown split ${splitId}`);
      assert(Number.isSafeInteger(offset) && offset >= 0 && offset <= c.end, `source reader: bad offset ${offset} for ${splitId}`);
      this.seekCursor(c, offset);
    }
  }
}

/** ceil(records × 1e9 / rate) ns: the time `records` records take at `ratePerSecond`. */
function spacingNs(records: number, ratePerSecond: number): number {
  return Math.ceil((records * 1e9) / ratePerSecond);
}

// ---------------------------------------------------------------------------------------
// GeneratorSource

export interface GeneratorSourceOptions {
  /** Total records over all splits (bounded); unset = unbounded. */
  records?: number;
  /** Number of splits; fixed by the job, independent of parallelism, so the data is too. */
  splits: number;
  /**
   * Uneven split sizes, as files of different lengths: split i gets a share of `records`
   * proportional to a lognormal(0, sigma) weight drawn from the source's own seeded stream
   * (child "split-sizes"), apportioned by largest remainder so the total stays exact.
   * Unset or 0: even splits. Bounded sources only.
   */
  splitSizeSigma?: number;
  /** Records per second per split; unset = as fast as the reader is polled. */
  ratePerSecond?: number;
  /** Key of each record: a rank in [0, count), uniform or zipf (exponent default 1). Unset: key = seq. */
  keys?: { count: number; distribution: "uniform" | "zipf"; exponent?: number };
  /**
   * The record for global sequence number `seq` (unique over splits, dense when bounded with even splits),
   * its key, the split's stream (draw freely: it is replayed identically) and its event
   * timestamp (NaN without eventTime). Default `{ key, seq }`.
   */
  value?: (seq: number, key: number, rng: Rng, timestampMs: number) => unknown;
  /** Record i of a split gets ts = startMs + i × intervalMs − d, d uniform in [0, maxDisorderMs] (integer ms). */
  eventTime?: { startMs: number; intervalMs: number; maxDisorderMs: number };
  /**
   * A producer that goes quiet (a Kafka partition nobody writes to for a while): in splits
   * with index < `splits`, the records from offset `afterRecords` on become available
   * `forMs` later than the rate alone makes them (anchored like the rate, when the reader
   * took the split). Only availability changes: the records and their timestamps do not,
   * so event time resumes where the split left it — behind everyone else's.
   */
  pause?: { splits: number; afterRecords: number; forMs: number };
}

export interface GeneratorSplit extends SourceSplit {
  readonly index: number;
  /** Records in this split (Infinity when unbounded). */
  readonly count: number;
  /** A fresh copy of the split's data stream (from draw 0). */
  stream(): Rng;
}

/**
 * Flink's DataGeneratorSource with a per-reader RateLimiterStrategy: rate limiting is
 * anchored when the reader gets the split — the first poll or nextAvailableNs after addSplit
 * (or after seek) — so record i (from the anchor's offset r) is available at
 * anchor + ceil((i − r) × 1e9 / rate) ns. A restarted reader paces from its restart, as
 * Flink's does; the PartitionedLogSource instead models data that piles up while down.
 */
export class GeneratorSourceSpec implements SourceSpec {
  readonly bounded: boolean;
  readonly options: Readonly<GeneratorSourceOptions>;

  constructor(options: GeneratorSourceOptions) {
    validateGenerator(options);
    this.options = options;
    this.bounded = options.records !== undefined;
  }

  createSplits(_parallelism: number, rng: Rng): GeneratorSplit[] {
    const { splits, records } = this.options;
    const counts = records === undefined ? undefined : splitCounts(records, splits, this.options.splitSizeSigma ?? 0, rng);
    return Array.from({ length: splits }, (_, index) => {
      const count = counts === undefined ? Infinity : counts[index]!;
      const splitId = `split-${index}`;
      return { splitId, index, count, stream: () => rng.child(splitId) };
    });
  }

  /**
   * A bounded generator knows its data volume: one subtask per avg-data-volume-per-task of
   * records, at most one per split (a split is read whole) and at most the upper bound.
   */
  inferParallelism(ctx: ParallelismInferenceContext): number {
    const { records, splits } = this.options;
    if (records === undefined) return ctx.upperBound;
    const wanted = Math.ceil((records * ctx.recordBytes) / ctx.avgDataVolumePerTaskBytes);
    return Math.max(1, Math.min(wanted, splits, ctx.upperBound));
  }

  createReader(_subtaskIndex: number, _rng: Rng): GeneratorSourceReader {
    return new GeneratorSourceReader(this.options);
  }
}

export function GeneratorSource(options: GeneratorSourceOptions): GeneratorSourceSpec {
  return new GeneratorSourceSpec(options);
}

interface GeneratorCursor extends Cursor {
  readonly split: GeneratorSplit;
  rng: Rng;
  zipf: Zipf | undefined;
  anchorNs: number;
  anchorOffset: number;
}

export class GeneratorSourceReader extends RoundRobinReader<GeneratorCursor> {
  constructor(private readonly options: Readonly<GeneratorSourceOptions>) {
    super();
  }

  protected makeCursor(split: SourceSplit): GeneratorCursor {
    const s = split as GeneratorSplit;
    assert(typeof s.stream === "function", `generator reader: not a generator split: ${split.splitId}`);
    const rng = s.stream();
    return { splitId: s.splitId, split: s, next: 0, end: s.count, rng, zipf: this.zipfOn(rng), anchorNs: NaN, anchorOffset: 0 };
  }

  protected availableAtNs(c: GeneratorCursor, nowNs: number): number {
    const rate = this.options.ratePerSecond;
    const pause = this.options.pause;
    if (rate === undefined && pause === undefined) return nowNs;
    if (Number.isNaN(c.anchorNs)) {
      c.anchorNs = nowNs;
      c.anchorOffset = c.next;
    }
    let at = rate === undefined ? c.anchorNs : c.anchorNs + spacingNs(c.next - c.anchorOffset, rate);
    // A reader anchored past the pause (restored beyond it) no longer waits for it.
    if (pause !== undefined && c.split.index < pause.splits && c.next >= pause.afterRecords && c.anchorOffset <= pause.afterRecords) at += pause.forMs * 1e6;
    return at;
  }

  protected emitNext(c: GeneratorCursor, emit: SplitAwareEmit): void {
    const o = this.options;
    const i = c.next++;
    const seq = i * o.splits + c.split.index;
    const rng = c.rng;
    // Draw order is fixed — key, disorder, value — so a replay draws the same numbers.
    const key = o.keys === undefined ? seq : c.zipf !== undefined ? c.zipf.sample() : rng.int(0, o.keys.count);
    let ts = NaN;
    if (o.eventTime !== undefined) {
      const { startMs, intervalMs, maxDisorderMs } = o.eventTime;
      ts = startMs + i * intervalMs - (maxDisorderMs > 0 ? rng.int(0, maxDisorderMs + 1) : 0);
    }
    const value = o.value === undefined ? { key, seq } : o.value(seq, key, rng, ts);
    emit(value, ts, c.splitId);
  }

  protected seekCursor(c: GeneratorCursor, offset: number): void {
    // The stream is sequential: restart it and replay the draws of the skipped records.
    this.resetStream(c);
    c.next = 0;
    const discard = () => {};
    while (c.next < offset) this.emitNext(c, discard);
    c.anchorNs = NaN;
  }

  private resetStream(c: GeneratorCursor): void {
    c.rng = c.split.stream();
    c.zipf = this.zipfOn(c.rng);
  }

  private zipfOn(rng: Rng): Zipf | undefined {
    const keys = this.options.keys;
    return keys?.distribution === "zipf" ? rng.zipf(keys.count, keys.exponent ?? 1) : undefined;
  }
}

/**
 * Records per split: even (the first `records % splits` get one more) without skew; with
 * sigma > 0, proportional to lognormal weights by largest remainder (ties by split index),
 * so the counts sum to `records` exactly and depend only on the seed.
 */
function splitCounts(records: number, splits: number, sigma: number, rng: Rng): number[] {
  if (sigma === 0) return Array.from({ length: splits }, (_, i) => Math.floor(records / splits) + (i < records % splits ? 1 : 0));
  const draw = rng.child("split-sizes");
  const weights = Array.from({ length: splits }, () => draw.lognormal(0, sigma));
  const total = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (records * w) / total);
  const counts = exact.map(Math.floor);
  let left = records - counts.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => ({ r: x - Math.floor(x), i })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (let k = 0; left > 0; k++, left--) counts[order[k % splits]!.i]!++;
  return counts;
}

function validateGenerator(o: GeneratorSourceOptions): void {
  const f = "GeneratorSource";
  if (!Number.isSafeInteger(o.splits) || o.splits < 1 || o.splits > MAX_SPLITS) {
    throw new InputError(`${f}.splits`, `must be an integer in [1, ${MAX_SPLITS}], got ${o.splits}`);
  }
  if (o.records !== undefined && (!Number.isSafeInteger(o.records) || o.records < 0)) {
    throw new InputError(`${f}.records`, `must be a non-negative integer (or unset for unbounded), got ${o.records}`);
  }
  if (o.splitSizeSigma !== undefined) {
    if (!(o.splitSizeSigma >= 0 && o.splitSizeSigma <= 3)) throw new InputError(`${f}.splitSizeSigma`, `must be a number in [0, 3], got ${o.splitSizeSigma}`);
    if (o.records === undefined && o.splitSizeSigma > 0) throw new InputError(`${f}.splitSizeSigma`, "uneven split sizes need a bounded source (set records)");
  }
  if (o.ratePerSecond !== undefined && !(o.ratePerSecond > 0 && Number.isFinite(o.ratePerSecond))) {
    throw new InputError(`${f}.ratePerSecond`, `must be a positive number (or unset for as fast as possible), got ${o.ratePerSecond}`);
  }
  if (o.keys !== undefined) {
    if (!Number.isSafeInteger(o.keys.count) || o.keys.count < 1) throw new InputError(`${f}.keys.count`, `must be a positive integer, got ${o.keys.count}`);
    if (o.keys.distribution !== "uniform" && o.keys.distribution !== "zipf") {
      throw new InputError(`${f}.keys.distribution`, `must be "uniform" or "zipf", got ${JSON.stringify(o.keys.distribution)}`);
    }
    if (o.keys.exponent !== undefined && !(o.keys.exponent > 0 && Number.isFinite(o.keys.exponent))) {
      throw new InputError(`${f}.keys.exponent`, `must be a positive number, got ${o.keys.exponent}`);
    }
  }
  if (o.pause !== undefined) {
    const { splits, afterRecords, forMs } = o.pause;
    if (!Number.isSafeInteger(splits) || splits < 0) throw new InputError(`${f}.pause.splits`, `must be a non-negative integer, got ${splits}`);
    if (!Number.isSafeInteger(afterRecords) || afterRecords < 0) throw new InputError(`${f}.pause.afterRecords`, `must be a non-negative integer, got ${afterRecords}`);
    if (!Number.isSafeInteger(forMs) || forMs < 0) throw new InputError(`${f}.pause.forMs`, `must be a non-negative integer ms, got ${forMs}`);
  }
  if (o.eventTime !== undefined) {
    const { startMs, intervalMs, maxDisorderMs } = o.eventTime;
    if (!Number.isSafeInteger(startMs)) throw new InputError(`${f}.eventTime.startMs`, `must be an integer, got ${startMs}`);
    if (!Number.isSafeInteger(intervalMs) || intervalMs < 0) throw new InputError(`${f}.eventTime.intervalMs`, `must be a non-negative integer, got ${intervalMs}`);
    if (!Number.isSafeInteger(maxDisorderMs) || maxDisorderMs < 0) throw new InputError(`${f}.eventTime.maxDisorderMs`, `must be a non-negative integer, got ${maxDisorderMs}`);
  }
}

// ---------------------------------------------------------------------------------------
// PartitionedLogSource

export interface PartitionedLogSourceOptions {
  partitions: number;
  /** Explicit records, one array per partition (bounded). Exclusive with `generator`. */
  data?: readonly (readonly unknown[])[];
  /** The record at (partition, offset), drawn from the partition's stream in offset order. */
  generator?: (partition: number, offset: number, rng: Rng) => unknown;
  /** With `generator`: records per partition (bounded); unset = unbounded. */
  recordsPerPartition?: number;
  /** Event timestamp (ms) of a record; unset = none (NaN). */
  timestamp?: (record: unknown, partition: number, offset: number) => number;
  /** Appends per second per partition; unset = every record is in the log from the start. */
  ratePerSecond?: number;
  /** Virtual time the producer starts appending, ns (default 0). */
  startNs?: number;
}

/** One partition of the log: the records it holds, generated lazily and kept (a log is re-readable). */
export class PartitionLog {
  private readonly records: unknown[] = [];
  private rng: Rng | undefined;

  constructor(
    readonly partition: number,
    private readonly options: Readonly<PartitionedLogSourceOptions>,
    private readonly stream: () => Rng,
  ) {
    if (options.data !== undefined) this.records = options.data[partition]!.slice();
  }

  /** Records the partition will ever hold (Infinity when unbounded). */
  get size(): number {
    const o = this.options;
    if (o.data !== undefined) return this.records.length;
    return o.recordsPerPartition ?? Infinity;
  }

  /** Virtual time the record at `offset` is appended (ns). */
  appendedAtNs(offset: number): number {
    const o = this.options;
    const start = o.startNs ?? 0;
    return o.ratePerSecond === undefined ? start : start + spacingNs(offset, o.ratePerSecond);
  }

  record(offset: number): unknown {
    assert(offset < this.size, `partition ${this.partition}: offset ${offset} beyond the log`);
    const gen = this.options.generator;
    if (gen !== undefined) {
      assert(offset < MAX_LOG_RECORDS_PER_PARTITION, `partition ${this.partition}: more than ${MAX_LOG_RECORDS_PER_PARTITION} records generated`);
      this.rng ??= this.stream();
      while (this.records.length <= offset) this.records.push(gen(this.partition, this.records.length, this.rng));
    }
    return this.records[offset];
  }
}

export interface LogSplit extends SourceSplit {
  readonly partition: number;
  readonly log: PartitionLog;
}

/**
 * A Kafka-like source: `partitions` logs, each read by offset. Appends are anchored at the
 * producer's start (startNs), not at the reader: a reader that restarts after downtime
 * finds a backlog, as with Kafka. Offsets are the reader's checkpointable state.
 */
export class PartitionedLogSourceSpec implements SourceSpec {
  readonly bounded: boolean;
  readonly options: Readonly<PartitionedLogSourceOptions>;

  constructor(options: PartitionedLogSourceOptions) {
    validateLog(options);
    this.options = options;
    this.bounded = options.data !== undefined || options.recordsPerPartition !== undefined;
  }

  createSplits(_parallelism: number, rng: Rng): LogSplit[] {
    return Array.from({ length: this.options.partitions }, (_, partition) => {
      const name = `partition-${partition}`;
      return { splitId: name, partition, log: new PartitionLog(partition, this.options, () => rng.child(name)) };
    });
  }

  createReader(_subtaskIndex: number, _rng: Rng): PartitionedLogReader {
    return new PartitionedLogReader(this.options);
  }
}

export function PartitionedLogSource(options: PartitionedLogSourceOptions): PartitionedLogSourceSpec {
  return new PartitionedLogSourceSpec(options);
}

interface LogCursor extends Cursor {
  readonly log: PartitionLog;
}

export class PartitionedLogReader extends RoundRobinReader<LogCursor> {
  constructor(private readonly options: Readonly<PartitionedLogSourceOptions>) {
    super();
  }

  protected makeCursor(split: SourceSplit): LogCursor {
    const s = split as LogSplit;
    assert(s.log instanceof PartitionLog, `log reader: not a log split: ${split.splitId}`);
    return { splitId: s.splitId, log: s.log, next: 0, end: s.log.size };
  }

  protected availableAtNs(c: LogCursor): number {
    return c.log.appendedAtNs(c.next);
  }

  protected emitNext(c: LogCursor, emit: SplitAwareEmit): void {
    const offset = c.next++;
    const record = c.log.record(offset);
    const ts = this.options.timestamp === undefined ? NaN : this.options.timestamp(record, c.log.partition, offset);
    emit(record, ts, c.splitId);
  }

  protected seekCursor(c: LogCursor, offset: number): void {
    c.next = offset;
  }
}

function validateLog(o: PartitionedLogSourceOptions): void {
  const f = "PartitionedLogSource";
  if (!Number.isSafeInteger(o.partitions) || o.partitions < 1 || o.partitions > MAX_SPLITS) {
    throw new InputError(`${f}.partitions`, `must be an integer in [1, ${MAX_SPLITS}], got ${o.partitions}`);
  }
  if ((o.data === undefined) === (o.generator === undefined)) {
    throw new InputError(f, "give exactly one of `data` (records per partition) and `generator`");
  }
  if (o.data !== undefined && o.data.length !== o.partitions) {
    throw new InputError(`${f}.data`, `must have one array per partition (${o.partitions}), got ${o.data.length}`);
  }
  if (o.data !== undefined && o.recordsPerPartition !== undefined) {
    throw new InputError(`${f}.recordsPerPartition`, "only applies with `generator`");
  }
  if (o.recordsPerPartition !== undefined && (!Number.isSafeInteger(o.recordsPerPartition) || o.recordsPerPartition < 0)) {
    throw new InputError(`${f}.recordsPerPartition`, `must be a non-negative integer, got ${o.recordsPerPartition}`);
  }
  if (o.ratePerSecond !== undefined && !(o.ratePerSecond > 0 && Number.isFinite(o.ratePerSecond))) {
    throw new InputError(`${f}.ratePerSecond`, `must be a positive number, got ${o.ratePerSecond}`);
  }
  if (o.startNs !== undefined && (!Number.isSafeInteger(o.startNs) || o.startNs < 0)) {
    throw new InputError(`${f}.startNs`, `must be a non-negative integer ns, got ${o.startNs}`);
  }
}
