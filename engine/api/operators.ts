/**
 * StreamOperator implementations behind the DataStream API, written only against
 * OperatorContext and Output (engine/api/types.ts), so the task runtime, the oracle and the
 * test harness drive them alike.
 *
 * How the runtime drives them (the contract's order, plus what these operators rely on):
 * - keyed operators: the runtime sets the current key (ctx.currentKey(), ctx.state) before
 *   processElement and before each timer callback;
 * - event-time timers ≤ a watermark fire before processWatermark(watermark) is called;
 *   processWatermark only forwards (no operator here keeps its own watermark);
 * - BATCH (§8): keyed input arrives sorted by key with a single-key state backend, and the
 *   end of a key is signalled by firing all of that key's timers as if the watermark were
 *   +∞ (then it drops back to −∞ for the next key). There is no end-of-key callback: an
 *   operator that must emit once per key registers an event-time timer at END_OF_KEY_MS on
 *   the key's first element, exactly like Flink's BatchGroupedReduceOperator (Long.MAX_VALUE).
 * - sources: the runtime drives the SourceReader and feeds what it emits into the source
 *   node's operator (SourceOperator, a pass-through) with processElement, and its
 *   watermarks with processWatermark, so the chain after it sees one uniform operator.
 *
 * Operators always `set` state after changing it (also when the value is the same mutated
 * object), so a backend that copies, serializes or logs changes sees every update.
 * Hot paths allocate nothing per record beyond what user functions return: collectors and
 * contexts are one object per operator, reused.
 */
import { InputError, InvariantError, assert } from "../../sim/errors";
import type {
  AggregateFunction,
  Collector,
  FilterFunction,
  FlatMapFunction,
  FunctionRuntimeContext,
  KeyedProcessFunction,
  KeyedStateStore,
  ListState,
  MapFunction,
  MapState,
  OnTimerContext,
  ProcessWindowContext,
  ProcessWindowFunction,
  ReduceFunction,
  TimeWindow,
  ValueStates,
  WindowResultFunction,
} from "./functions";
import { KeyedStateViews } from "./state-views";
import type { Key, KeyedState, OperatorContext, Output, StreamOperator, TimerService, TransactionId } from "./types";
import type { EventTimeWindowAssigner } from "./windows";

/** The event-time timer an operator registers to act at the end of a key in BATCH (Flink: Long.MAX_VALUE). */
export const END_OF_KEY_MS = Number.MAX_SAFE_INTEGER;

/** The checkpoint id of committables emitted at end of input (Flink's EOI = Long.MAX_VALUE). */
export const END_OF_INPUT_CHECKPOINT_ID = Number.MAX_SAFE_INTEGER;

/** The side output late window records go to unless sideOutputLateData names another. */
export const LATE_TAG = "late";

/** Common lifecycle: holds ctx/out, forwards watermarks, ignores what it does not use. */
export abstract class BaseOperator implements StreamOperator {
  protected ctx!: OperatorContext;
  protected out!: Output;

  open(ctx: OperatorContext, out: Output): void {
    this.ctx = ctx;
    this.out = out;
  }

  abstract processElement(value: unknown, timestampMs: number): void;

  processWatermark(watermarkMs: number): void {
    this.out.emitWatermark(watermarkMs);
  }

  onEventTimer(_timestampMs: number): void {}

  onProcessingTimer(_timestampMs: number): void {}

  endInput(): void {}

  close(): void {}
}

/** Flink's TimestampedCollector: user emissions carry the timestamp of what is being processed. */
export class TimestampedCollector implements Collector<unknown> {
  timestampMs = NaN;
  constructor(private readonly out: Output) {}
  collect(value: unknown): void {
    this.out.collect(value, this.timestampMs);
  }
}

// ---------------------------------------------------------------------------------------
// Stateless

/** The source node's operator: records and watermarks from the runtime's reader pass through. */
export class SourceOperator extends BaseOperator {
  processElement(value: unknown, timestampMs: number): void {
    this.out.collect(value, timestampMs);
  }
}

export class MapOperator extends BaseOperator {
  private runtime!: FunctionRuntimeContext;
  constructor(private readonly fn: MapFunction<any, unknown>) {
    super();
  }
  override open(ctx: OperatorContext, out: Output): void {
    super.open(ctx, out);
    this.runtime = runtimeContextOf(ctx);
  }
  processElement(value: unknown, timestampMs: number): void {
    this.out.collect(this.fn(value, this.runtime), timestampMs);
  }
}

export function runtimeContextOf(ctx: OperatorContext): FunctionRuntimeContext {
  return { operatorName: ctx.operatorName, subtaskIndex: ctx.subtaskIndex, parallelism: ctx.parallelism, attemptNumber: ctx.attemptNumber, rng: ctx.rng };
}

export class FilterOperator extends BaseOperator {
  constructor(private readonly fn: FilterFunction<any>) {
    super();
  }
  processElement(value: unknown, timestampMs: number): void {
    if (this.fn(value)) this.out.collect(value, timestampMs);
  }
}

export class FlatMapOperator extends BaseOperator {
  private collector!: TimestampedCollector;
  constructor(private readonly fn: FlatMapFunction<any, unknown>) {
    super();
  }
  override open(ctx: OperatorContext, out: Output): void {
    super.open(ctx, out);
    this.collector = new TimestampedCollector(out);
  }
  processElement(value: unknown, timestampMs: number): void {
    this.collector.timestampMs = timestampMs;
    this.fn(value, this.collector);
  }
}

// ---------------------------------------------------------------------------------------
// Rolling aggregation (KeyedStream.reduce / sum)

/** A rolling aggregation: folds a key's values into one state value; `result` shapes what is emitted. */
export interface RollingAggregation {
  /** `acc` is undefined for the key's first value. Must not return undefined. */
  add(acc: unknown, value: unknown, key: Key): unknown;
  result(acc: unknown, key: Key): unknown;
}

export function reduceAggregation(fn: ReduceFunction<any>): RollingAggregation {
  return { add: (acc, value) => (acc === undefined ? value : fn(acc, value)), result: (acc) => acc };
}

/**
 * Flink's sum(field) on a POJO/tuple: the emitted record is the key's first record with
 * `field` replaced by the running sum (the other fields keep the first record's values).
 */
export function sumFieldAggregation(field: string, where: string): RollingAggregation {
  const numberOf = (value: unknown): number => {
    const n = value !== null && typeof value === "object" ? (value as Record<string, unknown>)[field] : undefined;
    if (typeof n !== "number") throw new InputError(where, `field "${field}" is not a number in ${safeJson(value)}`);
    return n;
  };
  return {
    add: (acc, value) => {
      const n = numberOf(value);
      if (acc === undefined) return value;
      // A copy with the field replaced, as Flink's SumAggregator copies the record. Spread,
      // not Object.assign({}, acc): V8 clones the shape at once (it runs once per record).
      const copy = { ...(acc as Record<string, number>) };
      copy[field] = copy[field]! + n;
      return copy;
    },
    result: (acc) => acc,
  };
}

/** sum(selector): the running sum of `selector(value)`, emitted as `{ key, sum }`. */
export function sumSelectorAggregation(selector: (value: any) => number, where: string): RollingAggregation {
  return {
    add: (acc, value) => {
      const n = selector(value);
      if (typeof n !== "number") throw new InputError(where, `selector returned ${safeJson(n)}, not a number`);
      return ((acc as number | undefined) ?? 0) + n;
    },
    result: (acc, key) => ({ key, sum: acc }),
  };
}

const ROLLING_STATE = "rolling";

/**
 * Keyed rolling aggregation. STREAMING emits the updated value for every input record
 * (with that record's timestamp); BATCH emits only the key's final value, from the
 * END_OF_KEY_MS timer registered on its first record, with timestamp END_OF_KEY_MS.
 */
export class RollingAggregateOperator extends BaseOperator {
  private batch = false;
  constructor(private readonly agg: RollingAggregation) {
    super();
  }
  override open(ctx: OperatorContext, out: Output): void {
    super.open(ctx, out);
    this.batch = ctx.runtimeMode === "BATCH";
  }
  processElement(value: unknown, timestampMs: number): void {
    const key = currentKey(this.ctx);
    const state = this.ctx.state;
    const acc = state.get(ROLLING_STATE);
    const next = this.agg.add(acc, value, key);
    state.set(ROLLING_STATE, next);
    if (!this.batch) this.out.collect(this.agg.result(next, key), timestampMs);
    else if (acc === undefined) this.ctx.timers.registerEventTimeTimer(END_OF_KEY_MS);
  }
  override onEventTimer(timestampMs: number): void {
    if (!this.batch || timestampMs !== END_OF_KEY_MS) return;
    const acc = this.ctx.state.get(ROLLING_STATE);
    if (acc === undefined) return;
    this.ctx.state.clear(ROLLING_STATE);
    this.out.collect(this.agg.result(acc, currentKey(this.ctx)), END_OF_KEY_MS);
  }
}

// ---------------------------------------------------------------------------------------
// Windows

/** A window's fold: reduce and aggregate both become this. */
export interface WindowAggregation {
  add(acc: unknown, value: unknown): unknown;
  result(acc: unknown): unknown;
  /**
   * The window keeps its elements (a ProcessWindowFunction without pre-aggregation, Flink's
   * ListState window contents): the operator appends each to list state, and the result is
   * the list.
   */
  readonly keepsElements?: boolean;
}

export function windowReduce(fn: ReduceFunction<any>): WindowAggregation {
  return { add: (acc, value) => (acc === undefined ? value : fn(acc, value)), result: (acc) => acc };
}

export function windowAggregate(fn: AggregateFunction<any, any, unknown>): WindowAggregation {
  return {
    add: (acc, value) => fn.add(value, acc === undefined ? fn.createAccumulator() : acc),
    result: (acc) => fn.getResult(acc),
  };
}

/** A merging window's fold: also combines two accumulators when sessions merge. */
export interface MergingWindowAggregation extends WindowAggregation {
  merge(a: unknown, b: unknown): unknown;
}

export function mergingWindowReduce(fn: ReduceFunction<any>): MergingWindowAggregation {
  return { ...windowReduce(fn), merge: (a, b) => fn(a, b) };
}

/** A window's elements as they are, for a ProcessWindowFunction (merging windows concatenate them). */
export const windowElements: MergingWindowAggregation = {
  keepsElements: true,
  add: (acc, value) => {
    if (acc === undefined) return [value];
    (acc as unknown[]).push(value);
    return acc;
  },
  result: (acc) => acc,
  merge: (a, b) => (a as unknown[]).concat(b as unknown[]),
};

export function mergingWindowAggregate(fn: AggregateFunction<any, any, unknown>, where: string): MergingWindowAggregation {
  const merge = fn.merge;
  if (merge === undefined) throw new InputError(where, "session (merging) windows need the AggregateFunction's merge(a, b)");
  return { ...windowAggregate(fn), merge: (a, b) => merge.call(fn, a, b) };
}

/** What shapes a fired window's output: a one-output WindowResultFunction or a ProcessWindowFunction. */
export type WindowFunction = WindowResultFunction<any, any, unknown> | ProcessWindowFunction<any, unknown, any>;

/** Keyed state under a name prefix: a ProcessWindowFunction's window and global state live apart from the operator's. */
class NamespacedState implements KeyedState {
  namespace: string;
  constructor(
    private readonly inner: KeyedState,
    namespace: string,
  ) {
    this.namespace = namespace;
  }
  get(name: string): unknown {
    return this.inner.get(this.namespace + name);
  }
  set(name: string, value: unknown): void {
    this.inner.set(this.namespace + name, value);
  }
  clear(name: string): void {
    this.inner.clear(this.namespace + name);
  }
  addToList(name: string, element: unknown): void {
    this.inner.addToList(this.namespace + name, element);
  }
  getMapEntry(name: string, userKey: Key): unknown {
    return this.inner.getMapEntry(this.namespace + name, userKey);
  }
  putMapEntry(name: string, userKey: Key, value: unknown): void {
    this.inner.putMapEntry(this.namespace + name, userKey, value);
  }
  removeMapEntry(name: string, userKey: Key): void {
    this.inner.removeMapEntry(this.namespace + name, userKey);
  }
  forEachKeyWith(name: string, visit: (key: Key) => void): void {
    this.inner.forEachKeyWith(this.namespace + name, visit);
  }
}

/**
 * How a fired window's result leaves a window operator (Flink's InternalWindowFunction
 * variants): as it is, shaped by a WindowResultFunction, or through a ProcessWindowFunction
 * with its elements (or the one aggregate) and a context. One per operator, reused: it is
 * the ProcessWindowContext too. Output carries the window's maxTimestamp.
 */
class WindowEmitter implements ProcessWindowContext {
  window: TimeWindow = { startMs: 0, endMs: 0 };
  private ctx!: OperatorContext;
  private out!: Output;
  private collector!: TimestampedCollector;
  private windowNamespace!: NamespacedState;
  private windowViews!: KeyedStateViews;
  private globalViews!: KeyedStateViews;

  constructor(
    private readonly fn: WindowFunction | undefined,
    private readonly merging: boolean,
  ) {}

  open(ctx: OperatorContext, out: Output): void {
    this.ctx = ctx;
    this.out = out;
    const fn = this.fn;
    if (fn === undefined || typeof fn === "function") return;
    this.collector = new TimestampedCollector(out);
    this.windowNamespace = new NamespacedState(ctx.state, "");
    this.windowViews = new KeyedStateViews(this.windowNamespace, `${ctx.operatorName} windowState`);
    this.globalViews = new KeyedStateViews(new NamespacedState(ctx.state, "global/"), `${ctx.operatorName} globalState`);
    fn.open?.(runtimeContextOf(ctx));
  }

  /** Window [startMs, endMs) fires: `result` is its elements (`isElements`) or its aggregate. */
  fire(startMs: number, endMs: number, result: unknown, isElements: boolean): void {
    const fn = this.fn;
    if (fn === undefined) {
      this.out.collect(result, endMs - 1);
      return;
    }
    if (typeof fn === "function") {
      this.out.collect(fn(currentKey(this.ctx), { startMs, endMs } satisfies TimeWindow, result), endMs - 1);
      return;
    }
    this.setWindow(startMs, endMs);
    this.collector.timestampMs = endMs - 1;
    fn.process(currentKey(this.ctx), this, isElements ? (result as unknown[]) : [result], this.collector);
  }

  /** Window [startMs, endMs)'s state is dropped: the function's clear runs (Flink's InternalWindowFunction.clear). */
  clear(startMs: number, endMs: number): void {
    const fn = this.fn;
    if (fn === undefined || typeof fn === "function" || fn.clear === undefined) return;
    this.setWindow(startMs, endMs);
    fn.clear(this);
  }

  get windowState(): KeyedStateStore {
    if (this.merging) throw new InputError(`${this.ctx.operatorName} windowState`, "per-window state is not allowed with merging (session) windows");
    return this.windowViews;
  }

  get globalState(): KeyedStateStore {
    return this.globalViews;
  }

  currentWatermark(): number {
    return this.ctx.timers.currentWatermark();
  }

  currentProcessingTimeMs(): number {
    return this.ctx.timers.currentProcessingTimeMs();
  }

  output(tag: string, value: unknown): void {
    this.out.collectSide(tag, value, this.window.endMs - 1);
  }

  private setWindow(startMs: number, endMs: number): void {
    if (this.window.startMs !== startMs || this.window.endMs !== endMs) this.window = { startMs, endMs };
    this.windowNamespace.namespace = `window@${startMs},${endMs}/`;
  }
}

/**
 * Flink's WindowOperator with an EventTimeTrigger over fixed-size event-time windows
 * (tumbling or sliding), with allowedLateness L ≥ 0. For window w, maxTimestamp(w) =
 * end − 1 and cleanupTime(w) = maxTimestamp(w) + L.
 * - an element is offered to each of its windows (assigner order). A window is late when
 *   cleanupTime ≤ current watermark (Flink's isWindowLate): the element skips it. Otherwise
 *   the element is added to the window's accumulator (keyed state under a per-window name,
 *   Flink's window namespace) and the trigger's onElement runs: if maxTimestamp ≤ watermark
 *   the window fires at once (the late re-firing of allowedLateness, with the updated
 *   aggregate), else an event-time timer is registered at maxTimestamp; a cleanup timer is
 *   registered at cleanupTime (the same timer when L = 0);
 * - an element no window took (all late) and itself late (ts + L ≤ watermark, Flink's
 *   isElementLate) goes to the side output `lateTag` unchanged, with its timestamp. (With
 *   sliding windows an element can be taken by its later windows and skipped by its earlier
 *   ones; as in Flink it is then not side-output at all.)
 * - a fire emits the result (shaped by the optional window function) with timestamp
 *   maxTimestamp; firing never purges (EventTimeTrigger returns FIRE); the state is cleared
 *   at cleanupTime.
 * The timer service keeps one timer per (key, timestamp), not per window as Flink does, so
 * a timer at t stands for both the window with maxTimestamp t (fire) and the one with
 * cleanupTime t (clear): all windows share one size, so each is found by its start.
 */
export class WindowOperator extends BaseOperator {
  private readonly sizeMs: number;
  private readonly emitter: WindowEmitter;
  // Most records hit the window of the one before: cache its state name.
  private lastStart = NaN;
  private lastName = "";

  constructor(
    private readonly assigner: EventTimeWindowAssigner,
    private readonly agg: WindowAggregation,
    windowFn: WindowFunction | undefined,
    private readonly lateTag: string = LATE_TAG,
    private readonly allowedLatenessMs = 0,
  ) {
    super();
    this.sizeMs = assigner.sizeMs;
    this.emitter = new WindowEmitter(windowFn, false);
    checkAllowedLateness(allowedLatenessMs);
  }

  override open(ctx: OperatorContext, out: Output): void {
    super.open(ctx, out);
    this.emitter.open(ctx, out);
  }

  processElement(value: unknown, timestampMs: number): void {
    checkEventTimestamp(this.ctx.operatorName, timestampMs);
    const timers = this.ctx.timers;
    const watermark = timers.currentWatermark();
    const state = this.ctx.state;
    let skipped = true;
    for (const start of this.assigner.assignWindows(timestampMs)) {
      const maxTimestamp = start + this.sizeMs - 1;
      const cleanupTime = maxTimestamp + this.allowedLatenessMs;
      if (cleanupTime <= watermark) continue;
      skipped = false;
      const name = this.stateName(start);
      if (this.agg.keepsElements) state.addToList(name, value);
      else state.set(name, this.agg.add(state.get(name), value));
      if (maxTimestamp <= watermark) this.fire(start, state.get(name));
      else timers.registerEventTimeTimer(maxTimestamp);
      if (cleanupTime !== maxTimestamp) timers.registerEventTimeTimer(cleanupTime);
    }
    if (skipped && timestampMs + this.allowedLatenessMs <= watermark) this.out.collectSide(this.lateTag, value, timestampMs);
  }

  override onEventTimer(timestampMs: number): void {
    const state = this.ctx.state;
    // The window whose maxTimestamp this is fires (and, with L = 0, is also due for cleanup).
    const fireStart = timestampMs - this.sizeMs + 1;
    const fireName = this.stateName(fireStart);
    const acc = state.get(fireName);
    if (acc !== undefined) {
      this.fire(fireStart, acc);
      if (this.allowedLatenessMs === 0) this.clearWindow(fireStart, fireName);
    }
    if (this.allowedLatenessMs > 0) {
      // The window whose cleanupTime this is: its lateness is over; later elements are late.
      const start = timestampMs - this.allowedLatenessMs - this.sizeMs + 1;
      const name = this.stateName(start);
      if (state.get(name) !== undefined) this.clearWindow(start, name);
    }
  }

  private fire(start: number, acc: unknown): void {
    const keeps = this.agg.keepsElements === true;
    this.emitter.fire(start, start + this.sizeMs, keeps ? acc : this.agg.result(acc), keeps);
  }

  private clearWindow(start: number, name: string): void {
    this.ctx.state.clear(name);
    this.emitter.clear(start, start + this.sizeMs);
  }

  private stateName(start: number): string {
    if (start !== this.lastStart) {
      this.lastStart = start;
      this.lastName = `window@${start}`;
    }
    return this.lastName;
  }
}

/** One session of a key: the window [startMs, endMs) and its accumulator. */
interface Session {
  readonly startMs: number;
  readonly endMs: number;
  readonly acc: unknown;
}

/** The keyed state holding a key's live sessions, sorted by start, pairwise non-intersecting. */
const SESSIONS_STATE = "sessions";

/**
 * Flink's WindowOperator over EventTimeSessionWindows (merging windows, MergingWindowSet)
 * with an EventTimeTrigger and allowedLateness L ≥ 0:
 * - an element's window [ts, ts + gap) merges with every live session of its key it
 *   intersects (touching counts, TimeWindow.intersects) into their cover, their
 *   accumulators combined with the aggregation's merge (the reduce function, or
 *   AggregateFunction.merge, as Flink's mergeNamespaces);
 * - the resulting window is late when maxTimestamp + L ≤ watermark (only possible when the
 *   element's own window merged with nothing): the element skips it and, itself late
 *   (ts + L ≤ watermark), goes to the side output;
 * - otherwise it is added; the trigger fires at once if maxTimestamp ≤ watermark (a late
 *   re-fire, or a merge into an already-fired session within the lateness), else a timer
 *   is registered at maxTimestamp; a cleanup timer at maxTimestamp + L removes the session.
 * Timers of sessions merged away stay registered (the timer service keeps one timer per
 * (key, timestamp) and does not know windows); when one goes off it matches no session's
 * maxTimestamp or cleanup time and does nothing — a live session with that maxTimestamp is
 * due then anyway.
 */
export class SessionWindowOperator extends BaseOperator {
  private readonly emitter: WindowEmitter;
  constructor(
    private readonly gapMs: number,
    private readonly agg: MergingWindowAggregation,
    windowFn: WindowFunction | undefined,
    private readonly lateTag: string = LATE_TAG,
    private readonly allowedLatenessMs = 0,
  ) {
    super();
    this.emitter = new WindowEmitter(windowFn, true);
    checkAllowedLateness(allowedLatenessMs);
  }

  override open(ctx: OperatorContext, out: Output): void {
    super.open(ctx, out);
    this.emitter.open(ctx, out);
  }

  processElement(value: unknown, timestampMs: number): void {
    checkEventTimestamp(this.ctx.operatorName, timestampMs);
    const timers = this.ctx.timers;
    const watermark = timers.currentWatermark();
    const state = this.ctx.state;
    const sessions = (state.get(SESSIONS_STATE) as Session[] | undefined) ?? [];
    let startMs = timestampMs;
    let endMs = timestampMs + this.gapMs;
    let acc: unknown = undefined;
    const kept: Session[] = [];
    for (const s of sessions) {
      if (s.startMs <= endMs && s.endMs >= startMs) {
        startMs = Math.min(startMs, s.startMs);
        endMs = Math.max(endMs, s.endMs);
        acc = acc === undefined ? s.acc : this.agg.merge(acc, s.acc);
      } else kept.push(s);
    }
    const maxTimestamp = endMs - 1;
    const cleanupTime = maxTimestamp + this.allowedLatenessMs;
    if (cleanupTime <= watermark) {
      // Only a window that merged with nothing can be late (live sessions clean up after
      // the watermark), so nothing changed: the element is skipped.
      if (timestampMs + this.allowedLatenessMs <= watermark) this.out.collectSide(this.lateTag, value, timestampMs);
      return;
    }
    const merged: Session = { startMs, endMs, acc: this.agg.add(acc, value) };
    kept.push(merged);
    kept.sort((a, b) => a.startMs - b.startMs);
    state.set(SESSIONS_STATE, kept);
    if (maxTimestamp <= watermark) this.fire(merged);
    else timers.registerEventTimeTimer(maxTimestamp);
    if (cleanupTime !== maxTimestamp) timers.registerEventTimeTimer(cleanupTime);
  }

  override onEventTimer(timestampMs: number): void {
    const state = this.ctx.state;
    const sessions = state.get(SESSIONS_STATE) as Session[] | undefined;
    if (sessions === undefined) return;
    const kept: Session[] = [];
    for (const s of sessions) {
      const maxTimestamp = s.endMs - 1;
      if (maxTimestamp === timestampMs) this.fire(s);
      if (maxTimestamp + this.allowedLatenessMs !== timestampMs) kept.push(s);
      else this.emitter.clear(s.startMs, s.endMs);
    }
    if (kept.length === sessions.length) return;
    if (kept.length === 0) state.clear(SESSIONS_STATE);
    else state.set(SESSIONS_STATE, kept);
  }

  private fire(s: Session): void {
    const keeps = this.agg.keepsElements === true;
    this.emitter.fire(s.startMs, s.endMs, keeps ? s.acc : this.agg.result(s.acc), keeps);
  }
}

// ---------------------------------------------------------------------------------------
// Keyed process function

/**
 * One reusable context object per operator (no allocation per record), with the collector
 * the function emits through; set up for each element (forElement) or timer (forTimer).
 */
export class ProcessContext implements OnTimerContext<Key> {
  timestampMs = NaN;
  key: Key = "";
  timeDomain: "EVENT_TIME" | "PROCESSING_TIME" = "EVENT_TIME";
  readonly collector: TimestampedCollector;
  private readonly store: KeyedStateViews;
  constructor(
    private readonly ctx: OperatorContext,
    private readonly out: Output,
  ) {
    this.collector = new TimestampedCollector(out);
    this.store = new KeyedStateViews(ctx.state, ctx.operatorName);
  }
  get state(): ValueStates {
    return this.store.state;
  }
  listState<T>(name: string): ListState<T> {
    return this.store.listState(name);
  }
  mapState<UK extends Key, V>(name: string): MapState<UK, V> {
    return this.store.mapState(name);
  }
  get timerService(): TimerService {
    return this.ctx.timers;
  }
  output(tag: string, value: unknown): void {
    this.out.collectSide(tag, value, this.timestampMs);
  }
  /** An element of the current key: its output carries the element's timestamp. */
  forElement(timestampMs: number): void {
    this.timestampMs = this.collector.timestampMs = timestampMs;
    this.key = currentKey(this.ctx);
  }
  /** A timer of the current key: output of event-time timers carries the timer's time, of processing-time timers none (NaN), as in Flink. */
  forTimer(timestampMs: number, domain: "EVENT_TIME" | "PROCESSING_TIME"): void {
    this.timestampMs = this.collector.timestampMs = domain === "EVENT_TIME" ? timestampMs : NaN;
    this.key = currentKey(this.ctx);
    this.timeDomain = domain;
  }
}

/** Calls a keyed function's onTimer, if it has one, with `pctx` set up for the timer. */
export function fireKeyedTimer<C extends ProcessContext>(
  fn: { onTimer?(timestampMs: number, ctx: C, out: Collector<any>): void },
  pctx: C,
  timestampMs: number,
  domain: "EVENT_TIME" | "PROCESSING_TIME",
): void {
  if (fn.onTimer === undefined) return;
  pctx.forTimer(timestampMs, domain);
  fn.onTimer(timestampMs, pctx, pctx.collector);
}

/**
 * Flink's KeyedProcessOperator: calls processElement with the element's timestamp and key,
 * and onTimer for both timer domains. Output of event-time timers carries the timer's
 * timestamp; output of processing-time timers carries none (NaN), as in Flink.
 */
export class KeyedProcessOperator extends BaseOperator {
  private pctx!: ProcessContext;
  constructor(private readonly fn: KeyedProcessFunction<any, any, unknown>) {
    super();
  }
  override open(ctx: OperatorContext, out: Output): void {
    super.open(ctx, out);
    this.pctx = new ProcessContext(ctx, out);
    this.fn.open?.(runtimeContextOf(ctx));
  }
  processElement(value: unknown, timestampMs: number): void {
    this.pctx.forElement(timestampMs);
    this.fn.processElement(value, this.pctx, this.pctx.collector);
  }
  override onEventTimer(timestampMs: number): void {
    fireKeyedTimer(this.fn, this.pctx, timestampMs, "EVENT_TIME");
  }
  override onProcessingTimer(timestampMs: number): void {
    fireKeyedTimer(this.fn, this.pctx, timestampMs, "PROCESSING_TIME");
  }
}

// ---------------------------------------------------------------------------------------
// Sinks (Sink V2 shape)

/** Flink's CommittableMessage, reduced: one pre-committed transaction to commit. */
export interface SinkCommittable {
  readonly kind: "committable";
  readonly sink: string;
  readonly txnId: TransactionId;
  readonly subtaskIndex: number;
  readonly attemptNumber: number;
  /** The checkpoint it belongs to; END_OF_INPUT_CHECKPOINT_ID at end of input. */
  readonly checkpointId: number;
  readonly recordCount: number;
}

/** Writer ids name (sink, subtask, attempt), so restore can abort a subtask's lingering transactions by prefix. */
export function writerIdOf(sinkName: string, subtaskIndex: number, attemptNumber: number): string {
  return `${writerPrefixOf(sinkName, subtaskIndex)}attempt-${attemptNumber}`;
}

/** Prefix of every writer id of one sink subtask, any attempt (for ExternalStore.abortLingering). */
export function writerPrefixOf(sinkName: string, subtaskIndex: number): string {
  return `${sinkName}-${subtaskIndex}/`;
}

/** Non-transactional sink: each record is appended and visible at once (at-least-once under failover). */
/** Flink's DiscardingSink writer: drops every record (its cost is the sink's declared cost). */
export class DiscardingSinkWriter extends BaseOperator {
  processElement(): void {}
}

export class CollectSinkWriter extends BaseOperator {
  constructor(private readonly sinkName: string) {
    super();
  }
  processElement(value: unknown, _timestampMs: number): void {
    this.ctx.external.append(this.sinkName, value);
  }
}

/**
 * Sink V2 writer with two-phase commit (like a Kafka exactly-once writer): records go into
 * the current store transaction of (subtask, attempt, epoch), begun lazily on the first
 * record after the previous prepareCommit. `prepareCommit` pre-commits it and returns its
 * committable; `emitCommittables` sends that downstream to the committer — before each
 * checkpoint barrier (prepareSnapshotPreBarrier) and at end of input. With fencing, open()
 * announces the attempt (initTransactions), which aborts the lingering transactions of
 * older attempts — after the committer's initializeState re-committed the recovered ones.
 */
export class TransactionalSinkWriter extends BaseOperator {
  private txn: TransactionId | undefined = undefined;
  private txnRecords = 0;
  private writerId = "";
  private fencing: { key: string; epoch: number } | undefined;
  /** The last checkpoint this writer's state belongs to (restored, or snapshotted since). */
  private lastCheckpoint = 0;
  private restoredCheckpoint: number | undefined;
  constructor(
    private readonly sinkName: string,
    private readonly fenced = true,
  ) {
    super();
  }
  override open(ctx: OperatorContext, out: Output): void {
    super.open(ctx, out);
    this.writerId = writerIdOf(this.sinkName, ctx.subtaskIndex, ctx.attemptNumber);
    if (this.fenced) {
      // Kafka's initTransactions at startup: fences every older attempt of this subtask and
      // aborts its lingering transactions — but not those pre-committed in the checkpoint
      // being restored, which the committer commits (with checkpoints: none restored = 0).
      this.fencing = { key: writerPrefixOf(this.sinkName, ctx.subtaskIndex), epoch: ctx.attemptNumber };
      const keep = ctx.checkpointingEnabled ? (this.restoredCheckpoint ?? 0) : undefined;
      ctx.external.initTransactions(this.sinkName, this.fencing.key, this.fencing.epoch, keep);
    }
  }
  processElement(value: unknown, _timestampMs: number): void {
    if (this.txn === undefined) {
      // With checkpoints, a transaction belongs to the next checkpoint (KafkaSink's transactional id).
      this.txn = this.ctx.external.beginTransaction(this.sinkName, this.writerId, this.fencing, this.ctx.checkpointingEnabled ? this.lastCheckpoint + 1 : undefined);
      this.txnRecords = 0;
    }
    this.ctx.external.write(this.txn, value);
    this.txnRecords++;
  }
  /** The current transaction's id, if one is open (for traces and restore). */
  currentTransaction(): TransactionId | undefined {
    return this.txn;
  }
  /** Pre-commits the current transaction; undefined when nothing was written since the last one. */
  prepareCommit(checkpointId: number): SinkCommittable | undefined {
    const txn = this.txn;
    if (txn === undefined) return undefined;
    this.ctx.external.preCommit(txn);
    this.txn = undefined;
    return {
      kind: "committable",
      sink: this.sinkName,
      txnId: txn,
      subtaskIndex: this.ctx.subtaskIndex,
      attemptNumber: this.ctx.attemptNumber,
      checkpointId,
      recordCount: this.txnRecords,
    };
  }
  /** prepareCommit and send the committable (if any) to the committer. */
  emitCommittables(checkpointId: number): void {
    const committable = this.prepareCommit(checkpointId);
    if (committable !== undefined) this.out.collect(committable, NaN);
  }
  /** Restore from checkpoint n: open() must not abort what n pre-committed. */
  initializeState(_ctx: OperatorContext, _state: unknown, checkpointId: number): void {
    this.restoredCheckpoint = checkpointId;
    this.lastCheckpoint = checkpointId;
  }
  /** Sink V2: before barrier n the writer pre-commits and hands its committable downstream. */
  prepareSnapshotPreBarrier(checkpointId: number): void {
    this.emitCommittables(checkpointId);
    this.lastCheckpoint = checkpointId;
  }
  override endInput(): void {
    this.emitCommittables(END_OF_INPUT_CHECKPOINT_ID);
  }
}

/**
 * Sink V2 CommitterOperator: collects committables from its writer (chained, forward) and
 * commits them — at end of input now (BATCH, and bounded STREAMING without checkpoints),
 * later on notifyCheckpointComplete(n) via commitUpTo(n). Commit is idempotent in the store,
 * so re-committing recovered committables is safe.
 */
export class SinkCommitterOperator extends BaseOperator {
  private pending: SinkCommittable[] = [];
  constructor(private readonly sinkName: string) {
    super();
  }
  processElement(value: unknown, _timestampMs: number): void {
    const c = value as SinkCommittable;
    assert(c !== null && typeof c === "object" && c.kind === "committable" && c.sink === this.sinkName, `committer of ${this.sinkName}: not a committable: ${safeJson(value)}`);
    this.pending.push(c);
  }
  /** Commits the given committables in order (the store ignores re-commits). */
  commit(committables: readonly SinkCommittable[]): void {
    for (const c of committables) this.ctx.external.commit(c.txnId);
  }
  /** Commits every pending committable of a checkpoint ≤ checkpointId, in arrival order. */
  commitUpTo(checkpointId: number): void {
    const ready = this.pending.filter((c) => c.checkpointId <= checkpointId);
    if (ready.length === 0) return;
    this.pending = this.pending.filter((c) => c.checkpointId > checkpointId);
    this.commit(ready);
  }
  /** Committables not yet committed (the committer's checkpointed state). */
  pendingCommittables(): readonly SinkCommittable[] {
    return this.pending;
  }
  /** Restores committables from a checkpoint; the caller then commits them (commitUpTo). */
  restoreCommittables(committables: readonly SinkCommittable[]): void {
    this.pending.push(...committables);
  }
  /**
   * Restore: the committables of the restored checkpoint (and older) were pre-committed but
   * maybe never committed — the failure may have come before notifyCheckpointComplete —
   * so they are committed again now; the store ignores those already committed.
   */
  initializeState(ctx: OperatorContext, state: unknown, checkpointId: number): void {
    const restored = (state as SinkCommittable[] | undefined) ?? [];
    if (restored.length === 0) return;
    this.ctx = ctx;
    this.restoreCommittables(restored);
    ctx.mark("sink.recommit");
    this.commitUpTo(checkpointId);
  }
  /** Committables received before barrier n belong to n (also those emitted at end of input). */
  snapshotState(checkpointId: number): SinkCommittable[] {
    for (let i = 0; i < this.pending.length; i++) {
      const c = this.pending[i]!;
      if (c.checkpointId > checkpointId) this.pending[i] = { ...c, checkpointId };
    }
    return [...this.pending];
  }
  notifyCheckpointComplete(checkpointId: number): void {
    this.commitUpTo(checkpointId);
  }
  override endInput(): void {
    // With checkpointing (STREAMING) the final checkpoint commits the rest (FLIP-147);
    // without it (or in BATCH) the end of input is the commit point.
    if (!this.ctx.checkpointingEnabled) this.commitUpTo(END_OF_INPUT_CHECKPOINT_ID);
  }
}

// ---------------------------------------------------------------------------------------

function currentKey(ctx: OperatorContext): Key {
  const key = ctx.currentKey();
  // Not assert(...): its message would be built for every record.
  if (key === undefined) throw new InvariantError(`${ctx.operatorName}: keyed operator called without a current key`);
  return key;
}

function safeJson(value: unknown): string {
  try {
    const s = JSON.stringify(value);
    return s === undefined ? String(value) : s.length > 200 ? `${s.slice(0, 200)}…` : s;
  } catch {
    return String(value);
  }
}


function checkAllowedLateness(ms: number): void {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new InputError("allowedLateness", `must be a non-negative integer number of ms, got ${ms}`);
}

/** Event-time windows need an integral event timestamp on every record. */
function checkEventTimestamp(operatorName: string, timestampMs: number): void {
  if (!Number.isSafeInteger(timestampMs)) {
    throw new InputError(operatorName, `record has no valid event timestamp (${timestampMs}): is the source's watermark strategy "none", or its timestamps not integral ms?`);
  }
}
