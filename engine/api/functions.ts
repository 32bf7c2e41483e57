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

/** Shapes a window's aggregate result with its key and window (Flink's ProcessWindowFunction, simplified). */
export type WindowResultFunction<K, R, OUT> = (key: K, window: TimeWindow, result: R) => OUT;

/** The value state of the current key, by name (Flink's ValueState, one per name). */
export interface ValueStates {
  get<V>(name: string): V | undefined;
  set<V>(name: string, value: V): void;
  clear(name: string): void;
}

/** What a KeyedProcessFunction sees for the element (or timer) being processed. */
export interface KeyedProcessContext<K> {
  /** The element's (or firing timer's) timestamp in ms; NaN when it has none. */
  readonly timestampMs: number;
  readonly key: K;
  readonly timerService: TimerService;
  readonly state: ValueStates;
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
