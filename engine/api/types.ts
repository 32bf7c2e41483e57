/**
 * The contracts between the DataStream API, the graph compiler, the runtime and the
 * oracle. User functions are real JavaScript; the runtime calls them through the
 * StreamOperator interface below, exactly as Flink's task calls its operator chain.
 *
 * Event time is in milliseconds (as in Flink); virtual time is in ns (sim/time.ts).
 * Watermark values: MIN_WATERMARK (-Infinity) before any watermark, MAX_WATERMARK
 * (+Infinity) at end of input.
 */
import type { Rng } from "../../sim/rng";

export type RuntimeMode = "STREAMING" | "BATCH";

/** How records of an edge are distributed over the consumer's subtasks. */
export const PARTITIONER_KINDS = ["forward", "rescale", "rebalance", "hash", "broadcast", "global"] as const;
export type PartitionerKind = (typeof PARTITIONER_KINDS)[number];

/** Pointwise partitioners connect subtask ranges; the others connect every pair. */
export const POINTWISE_PARTITIONERS: ReadonlySet<PartitionerKind> = new Set(["forward", "rescale"]);

export const MIN_WATERMARK = -Infinity;
export const MAX_WATERMARK = Infinity;

/** Keys must have a total order and a stable hash: numbers, strings, booleans. */
export type Key = string | number | boolean;
export type KeySelector = (value: any) => Key;

/** Where an operator's output goes: chained operators or record writers. */
export interface Output {
  /** A record with its event timestamp (NaN when it has none). */
  collect(value: unknown, timestampMs: number): void;
  emitWatermark(watermarkMs: number): void;
  /** A record to a named side output (late data); the runtime routes or counts it. */
  collectSide(tag: string, value: unknown, timestampMs: number): void;
}

/**
 * Keyed state of the current key (hashmap, RocksDB or changelog backend, or the BATCH
 * single-key backend), by name. A name holds one kind of state, as a Flink state descriptor:
 * - value state: get / set / clear;
 * - list state (Flink's ListState): an array, read with get, grown with addToList — one
 *   element written, not the list (RocksDB: a merge operand; changelog: one added element);
 * - map state (Flink's MapState): a JS Map of user key → value, read whole with get (an
 *   iteration) or by entry with getMapEntry; each entry is written and deleted alone
 *   (RocksDB keeps one entry per user key). A map left empty is removed, as in Flink.
 * Values read are the backend's own: callers must not mutate them.
 */
export interface KeyedState {
  get(name: string): unknown;
  set(name: string, value: unknown): void;
  clear(name: string): void;
  addToList(name: string, element: unknown): void;
  getMapEntry(name: string, userKey: Key): unknown;
  putMapEntry(name: string, userKey: Key, value: unknown): void;
  removeMapEntry(name: string, userKey: Key): void;
  /**
   * Visits every key that holds state `name`, with that key current during `visit` (Flink's
   * KeyedStateBackend.applyToAllKeys, behind applyToKeyedState); the key current before is
   * current again after.
   */
  forEachKeyWith(name: string, visit: (key: Key) => void): void;
}

/** Timers of the current key (event time in ms; processing time in ms of virtual time). */
export interface TimerService {
  currentWatermark(): number;
  currentProcessingTimeMs(): number;
  registerEventTimeTimer(timestampMs: number): void;
  registerProcessingTimeTimer(timestampMs: number): void;
  deleteEventTimeTimer(timestampMs: number): void;
}

export interface OperatorContext {
  readonly operatorName: string;
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly runtimeMode: RuntimeMode;
  /** State of the key set by the runtime before processElement/onTimer (keyed operators only). */
  readonly state: KeyedState;
  readonly timers: TimerService;
  /** The key of the element or timer being processed (keyed operators only). */
  currentKey(): Key | undefined;
  /** A stream of this subtask for user randomness (named per operator and subtask). */
  readonly rng: Rng;
  /** The simulated external system sinks write into (engine/external-store.ts). */
  readonly external: ExternalStoreApi;
  /** Execution attempt number of this subtask (fencing and transaction ids use it). */
  readonly attemptNumber: number;
  /** Checkpointing is on (STREAMING with execution.checkpointing.interval set). */
  readonly checkpointingEnabled: boolean;
  /** Records a coverage mark in the trace (e.g. "sink.recommit"). */
  mark(name: string): void;
}

export type TransactionId = string;

/**
 * The external store's API as operators see it. Committed records are the job's visible
 * output; commit is idempotent by transaction id; writes to an aborted or fenced
 * transaction are rejected by the store.
 */
export interface ExternalStoreApi {
  /** Non-transactional append (collect sink): visible at once. */
  append(sink: string, record: unknown): void;
  /**
   * Kafka's initTransactions: a writer announces its fencing key (stable across attempts,
   * e.g. "sink-2/") and epoch (its attempt number). Transactions of lower epochs still
   * live are aborted — except, when `keepUpToCheckpoint` is given (a restore from that
   * checkpoint), pre-committed ones of checkpoints ≤ it, which the restored committer
   * commits (KafkaSink aborts only the transactional ids after the restored checkpoint).
   * Every later operation of a lower epoch is rejected: zombies are fenced.
   */
  initTransactions(sink: string, fencingKey: string, epoch: number, keepUpToCheckpoint?: number): void;
  /**
   * Begins a transaction of `sink` owned by `writerId` (e.g. "sink-2/attempt-0"), fenced if
   * given; `checkpoint`: the checkpoint it will belong to (KafkaSink's per-checkpoint id).
   */
  beginTransaction(sink: string, writerId: string, fencing?: { key: string; epoch: number }, checkpoint?: number): TransactionId;
  write(txn: TransactionId, record: unknown): void;
  /** Flushes and freezes the transaction: no more writes, ready to commit. */
  preCommit(txn: TransactionId): void;
  /** Makes the transaction's records visible; committing twice is a no-op. */
  commit(txn: TransactionId): void;
  abort(txn: TransactionId): void;
}

/**
 * A running operator instance (one per subtask). The runtime calls, in this order: open;
 * then processElement / processWatermark / onEventTimer / onProcessingTimer as input
 * arrives; endInput once when all input ended (bounded); close. Keyed operators get the
 * current key set before processElement and onTimer.
 */
export interface StreamOperator {
  open(ctx: OperatorContext, out: Output): void;
  processElement(value: unknown, timestampMs: number): void;
  /**
   * Two-input operators (Flink's TwoInputStreamOperator): an element of the second input;
   * the first input's go to processElement. Keyed: the key comes from the node's keySelector2
   * (none for a broadcast input, whose elements have no current key).
   */
  processElement2?(value: unknown, timestampMs: number): void;
  /** Called after the runtime fired event-time timers ≤ watermark; must forward it. */
  processWatermark(watermarkMs: number): void;
  onEventTimer(timestampMs: number): void;
  onProcessingTimer(timestampMs: number): void;
  endInput(): void;
  close(): void;
  /**
   * Checkpointing hooks, all optional, called by the task between records:
   * - initializeState on restore, before open, with the operator's snapshotState result;
   * - prepareSnapshotPreBarrier(n) before barrier n leaves (may still emit records);
   * - snapshotState(n) returns the operator's own (non-keyed) state as plain data;
   * - notifyCheckpointComplete(n) once checkpoint n is complete.
   */
  initializeState?(ctx: OperatorContext, state: unknown, checkpointId: number): void;
  prepareSnapshotPreBarrier?(checkpointId: number): void;
  snapshotState?(checkpointId: number): unknown;
  notifyCheckpointComplete?(checkpointId: number): void;
}

/** The cost of an operator, charged as virtual CPU time (see engine/costs.ts). */
export interface OperatorCost {
  /** CPU ns per input record at host speed 1. */
  cpuNsPerRecord?: number;
  /** Serialized size of each output record, bytes (drives buffers and network). */
  recordBytes?: number;
  /** Keyed state accesses per record (for state-access costs). */
  stateAccessesPerRecord?: number;
}

/** A FLIP-27 source: an enumerator on the JobManager hands splits to readers in tasks. */
export interface SourceSpec {
  readonly bounded: boolean;
  /** Splits, created on the JobManager from the job's seed stream. */
  createSplits(parallelism: number, rng: Rng): SourceSplit[];
  /** A reader for one subtask; it pulls splits from the enumerator as it needs them. */
  createReader(subtaskIndex: number, rng: Rng): SourceReader;
  /**
   * Flink's DynamicParallelismInference (FLIP-379): the adaptive batch scheduler asks a
   * source whose parallelism the user left unset how many subtasks its data needs.
   */
  inferParallelism?(ctx: ParallelismInferenceContext): number;
}

/** Serialized record size when an operator declares none, bytes. */
export const DEFAULT_RECORD_BYTES = 64;

export interface ParallelismInferenceContext {
  /** `execution.batch.adaptive.auto-parallelism.default-source-parallelism`: the most it may return. */
  readonly upperBound: number;
  /** `…avg-data-volume-per-task`. */
  readonly avgDataVolumePerTaskBytes: number;
  /** Serialized size of each record the source emits (its operator cost). */
  readonly recordBytes: number;
}

export interface SourceSplit {
  readonly splitId: string;
}

export interface SourceReader {
  addSplit(split: SourceSplit): void;
  /** No more splits will come: when the assigned ones are exhausted, input ends. */
  noMoreSplits(): void;
  /**
   * Emits up to `maxRecords` records available at virtual time `nowNs` via `emit`, and
   * returns how many it emitted. Returns 0 when nothing is available now.
   */
  poll(nowNs: number, maxRecords: number, emit: (value: unknown, timestampMs: number) => void): number;
  /** Virtual time when the next record becomes available; Infinity when none will (yet). */
  nextAvailableNs(nowNs: number): number;
  /** True when all assigned splits are exhausted and noMoreSplits was called. */
  isFinished(): boolean;
  /** Watermark the source itself knows (e.g. from bounded disorder), or MIN_WATERMARK. */
  currentWatermark?(): number;
}

/** Creates one operator per subtask. */
export type OperatorFactory = (subtaskIndex: number) => StreamOperator;
