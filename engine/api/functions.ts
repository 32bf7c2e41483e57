/**
 * User-function types of the DataStream API, shaped like Flink's (MapFunction,
 * FlatMapFunction + Collector, ReduceFunction, AggregateFunction, KeyedProcessFunction).
 * They are plain JS functions or objects; operators (operators.ts) call them.
 *
 * A user function object is shared by all subtasks of its operator (a JS closure cannot be
 * copied the way Flink deserializes one copy per subtask), so keep per-subtask state in
 * keyed state or in `open`, never in captured variables.
 */
import type { Rng } from "../../sim/rng";
import type { Key, TimerService } from "./types";

/** The second argument is Flink's RuntimeContext of a RichMapFunction (subtask, attempt). */
export type MapFunction<T, R> = (value: T, ctx: FunctionRuntimeContext) => R;
export type FilterFunction<T> = (value: T) => boolean;

/** Receives the records a function emits; they carry the input's timestamp (TimestampedCollector). */
export interface Collector<T> {
  collect(value: T): void;
}

export type FlatMapFunction<T, R> = (value: T, out: Collector<R>) => void;

/** Combines two values of one key into one; must not return undefined (it means "no state"). */
export type ReduceFunction<T> = (a: T, b: T) => T;

/** Flink's AggregateFunction: an accumulator per key (and window). Must not use undefined as ACC. */
export interface AggregateFunction<IN, ACC, OUT> {
  createAccumulator(): ACC;
  /** Returns the updated accumulator (may be the same object, mutated). */
  add(value: IN, accumulator: ACC): ACC;
  getResult(accumulator: ACC): OUT;
  /** Combines two accumulators when session windows merge (Flink's merge; required only for merging windows). */
  merge?(a: ACC, b: ACC): ACC;
}

/** A window as Flink's TimeWindow: [startMs, endMs); its maxTimestamp is endMs − 1. */
export interface TimeWindow {
  readonly startMs: number;
  readonly endMs: number;
}

/** Shapes a window's aggregate result with its key and window into one output (a one-line ProcessWindowFunction). */
export type WindowResultFunction<K, R, OUT> = (key: K, window: TimeWindow, result: R) => OUT;

/** What a ProcessWindowFunction sees of the window being fired or cleared. */
export interface ProcessWindowContext {
  readonly window: TimeWindow;
  currentWatermark(): number;
  currentProcessingTimeMs(): number;
  /**
   * Keyed state of this key and window (Flink's windowState). The function must clear it in
   * `clear`, as in Flink; merging (session) windows have none (Flink forbids it too).
   */
  readonly windowState: KeyedStateStore;
  /** Keyed state of this key across its windows (Flink's globalState). */
  readonly globalState: KeyedStateStore;
  /** Emits to a named side output. */
  output(tag: string, value: unknown): void;
}

/**
 * Flink's ProcessWindowFunction: called once per window fire with all its elements (kept in
 * list state), or with the one pre-aggregated result when given to reduce/aggregate. Output
 * carries the window's maxTimestamp. `clear` runs when the window's state is dropped
 * (watermark past maxTimestamp + allowedLateness).
 */
export interface ProcessWindowFunction<IN, OUT, K extends Key> {
  open?(ctx: FunctionRuntimeContext): void;
  process(key: K, context: ProcessWindowContext, elements: readonly IN[], out: Collector<OUT>): void;
  clear?(context: ProcessWindowContext): void;
}

/** The value state of the current key, by name (Flink's ValueState, one per name). */
export interface ValueStates {
  get<V>(name: string): V | undefined;
  set<V>(name: string, value: V): void;
  clear(name: string): void;
}

/**
 * Flink's ListState of the current key: `add` writes one element (RocksDB merges it in,
 * the changelog logs it) without reading the list.
 */
export interface ListState<T> {
  /** The elements in order (empty when none); read-only. */
  get(): readonly T[];
  add(value: T): void;
  addAll(values: readonly T[]): void;
  /** Replaces the list (empty: clears it). */
  update(values: readonly T[]): void;
  clear(): void;
}

/** Flink's MapState of the current key: each entry is read and written alone. */
export interface MapState<UK extends Key, V> {
  get(key: UK): V | undefined;
  put(key: UK, value: V): void;
  putAll(entries: Iterable<readonly [UK, V]>): void;
  remove(key: UK): void;
  contains(key: UK): boolean;
  /** All entries, in insertion order; an iteration reads the whole map. */
  entries(): IterableIterator<[UK, V]>;
  keys(): IterableIterator<UK>;
  values(): IterableIterator<V>;
  isEmpty(): boolean;
  clear(): void;
}

/** Keyed state by name, as Flink's state descriptors: a name is one kind of state. */
export interface KeyedStateStore {
  /** Value state (Flink's ValueState). */
  readonly state: ValueStates;
  listState<T>(name: string): ListState<T>;
  mapState<UK extends Key, V>(name: string): MapState<UK, V>;
}

/** What a KeyedProcessFunction sees for the element (or timer) being processed. */
export interface KeyedProcessContext<K> extends KeyedStateStore {
  /** The element's (or firing timer's) timestamp in ms; NaN when it has none. */
  readonly timestampMs: number;
  readonly key: K;
  readonly timerService: TimerService;
  /** Emits to a named side output (Flink's ctx.output(OutputTag, value)). */
  output(tag: string, value: unknown): void;
}

export interface OnTimerContext<K> extends KeyedProcessContext<K> {
  readonly timeDomain: "EVENT_TIME" | "PROCESSING_TIME";
}

/** Per-subtask information a function may read in `open` (Flink's RuntimeContext, reduced). */
export interface FunctionRuntimeContext {
  readonly operatorName: string;
  readonly subtaskIndex: number;
  readonly parallelism: number;
  /** Execution attempt of this subtask: 0, then 1, 2, ... after restarts (Flink's getAttemptNumber). */
  readonly attemptNumber: number;
  readonly rng: Rng;
}

export interface KeyedProcessFunction<K extends Key, I, O> {
  open?(ctx: FunctionRuntimeContext): void;
  processElement(value: I, ctx: KeyedProcessContext<K>, out: Collector<O>): void;
  onTimer?(timestampMs: number, ctx: OnTimerContext<K>, out: Collector<O>): void;
}
