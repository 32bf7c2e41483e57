/**
 * User functions of two-input operators, shaped like Flink's: CoMapFunction,
 * CoFlatMapFunction, CoProcessFunction, KeyedCoProcessFunction, and the broadcast-state
 * pair BroadcastProcessFunction / KeyedBroadcastProcessFunction.
 *
 * As for one-input functions (functions.ts), one function object serves every subtask: keep
 * per-subtask data in state, never in captured variables.
 */
import type { Collector, FunctionRuntimeContext, KeyedProcessContext, KeyedStateStore, OnTimerContext } from "./functions";
import type { Key, TimerService } from "./types";

export interface CoMapFunction<I1, I2, O> {
  map1(value: I1): O;
  map2(value: I2): O;
}

export interface CoFlatMapFunction<I1, I2, O> {
  flatMap1(value: I1, out: Collector<O>): void;
  flatMap2(value: I2, out: Collector<O>): void;
}

/** What a non-keyed CoProcessFunction sees: the element's timestamp and side outputs (no state, no timers: those need keys). */
export interface CoProcessContext {
  readonly timestampMs: number;
  currentWatermark(): number;
  output(tag: string, value: unknown): void;
}

export interface CoProcessFunction<I1, I2, O> {
  open?(ctx: FunctionRuntimeContext): void;
  processElement1(value: I1, ctx: CoProcessContext, out: Collector<O>): void;
  processElement2(value: I2, ctx: CoProcessContext, out: Collector<O>): void;
}

/** Both inputs keyed by the same key type; state and timers are the current key's. */
export interface KeyedCoProcessFunction<K extends Key, I1, I2, O> {
  open?(ctx: FunctionRuntimeContext): void;
  processElement1(value: I1, ctx: KeyedProcessContext<K>, out: Collector<O>): void;
  processElement2(value: I2, ctx: KeyedProcessContext<K>, out: Collector<O>): void;
  onTimer?(timestampMs: number, ctx: OnTimerContext<K>, out: Collector<O>): void;
}

/** Flink's ReadOnlyBroadcastState: what the non-broadcast side may do with broadcast state. */
export interface ReadOnlyBroadcastState<K extends Key, V> {
  get(key: K): V | undefined;
  contains(key: K): boolean;
  /** Entries in insertion order (the same in every subtask that saw the same broadcast elements). */
  entries(): IterableIterator<[K, V]>;
  keys(): IterableIterator<K>;
  readonly size: number;
}

/** Flink's BroadcastState (a MapState every parallel instance keeps an identical copy of). */
export interface BroadcastState<K extends Key, V> extends ReadOnlyBroadcastState<K, V> {
  put(key: K, value: V): void;
  remove(key: K): void;
  clear(): void;
}

/** The broadcast side's context: read-write broadcast state. */
export interface BroadcastContext {
  readonly timestampMs: number;
  currentWatermark(): number;
  currentProcessingTimeMs(): number;
  getBroadcastState<K extends Key, V>(name: string): BroadcastState<K, V>;
  output(tag: string, value: unknown): void;
}

/** The non-broadcast side's context of a non-keyed BroadcastProcessFunction. */
export interface ReadOnlyBroadcastContext {
  readonly timestampMs: number;
  currentWatermark(): number;
  currentProcessingTimeMs(): number;
  getBroadcastState<K extends Key, V>(name: string): ReadOnlyBroadcastState<K, V>;
  output(tag: string, value: unknown): void;
}

export interface BroadcastProcessFunction<I, B, O> {
  open?(ctx: FunctionRuntimeContext): void;
  processElement(value: I, ctx: ReadOnlyBroadcastContext, out: Collector<O>): void;
  processBroadcastElement(value: B, ctx: BroadcastContext, out: Collector<O>): void;
}

/** The keyed side's context: the key's state and timers, broadcast state read-only. */
export interface KeyedReadOnlyBroadcastContext<K extends Key> extends KeyedProcessContext<K> {
  getBroadcastState<KB extends Key, V>(name: string): ReadOnlyBroadcastState<KB, V>;
}

export interface KeyedBroadcastOnTimerContext<K extends Key> extends OnTimerContext<K> {
  getBroadcastState<KB extends Key, V>(name: string): ReadOnlyBroadcastState<KB, V>;
}

/** The broadcast side's context of a KeyedBroadcastProcessFunction. */
export interface KeyedBroadcastContext<K extends Key> extends BroadcastContext {
  /**
   * Flink's applyToKeyedState: `visit` runs for every key of this subtask that holds keyed
   * state `name`, with that key's state (value, list or map by name) — e.g. to reset or
   * migrate every key's state when a rule changes. Only keys with state are visited; in
   * BATCH the broadcast input comes before any key, so there are none yet (as in Flink).
   */
  applyToKeyedState(name: string, visit: (key: K, state: KeyedStateStore) => void): void;
}

export interface KeyedBroadcastProcessFunction<K extends Key, I, B, O> {
  open?(ctx: FunctionRuntimeContext): void;
  processElement(value: I, ctx: KeyedReadOnlyBroadcastContext<K>, out: Collector<O>): void;
  /** No current key here: keyed state and timers are not accessible (as in Flink), except through applyToKeyedState. */
  processBroadcastElement(value: B, ctx: KeyedBroadcastContext<K>, out: Collector<O>): void;
  onTimer?(timestampMs: number, ctx: KeyedBroadcastOnTimerContext<K>, out: Collector<O>): void;
}

/** Flink's KeyedStream's join function: one output per pair of elements of a key and window. */
export type JoinFunction<L, R, O> = (left: L, right: R) => O;

export type { TimerService };
