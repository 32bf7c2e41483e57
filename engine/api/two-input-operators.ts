/**
 * Two-input operators (Flink's TwoInputStreamOperator): elements of the first input arrive
 * through processElement, those of the second through processElement2. The runtime combines
 * the watermarks of both inputs (the minimum) before processWatermark, as Flink's
 * AbstractStreamOperator does with input1Watermark / input2Watermark.
 *
 * - CoMap / CoFlatMap / CoProcess: non-keyed; no state, no timers.
 * - KeyedCoProcess: both inputs keyed (connect(...).keyBy(k1, k2) or keyed.connect(keyed));
 *   the runtime sets the current key from keySelector / keySelector2.
 * - Co-Process-Broadcast(-Keyed): the second input is a BroadcastStream; every subtask gets
 *   every broadcast element and keeps an identical copy of the broadcast state (one map per
 *   name declared in broadcast(...)), checkpointed as operator state.
 */
import { InputError } from "../../sim/errors";
import type {
  BroadcastContext,
  BroadcastProcessFunction,
  BroadcastState,
  CoFlatMapFunction,
  CoMapFunction,
  CoProcessContext,
  CoProcessFunction,
  KeyedBroadcastContext,
  KeyedBroadcastProcessFunction,
  KeyedCoProcessFunction,
  ReadOnlyBroadcastContext,
  ReadOnlyBroadcastState,
} from "./co-functions";
import type { Collector, FunctionRuntimeContext, KeyedStateStore } from "./functions";
import { KeyedStateViews } from "./state-views";
import { cloneState } from "../checkpoint/snapshot";
import { checkKey } from "./key-groups";
import { BaseOperator, ProcessContext, TimestampedCollector, fireKeyedTimer, runtimeContextOf } from "./operators";
import type { Key, OperatorContext, Output, StreamOperator } from "./types";

/** A two-input operator: the runtime calls processElement2 for the second input. */
abstract class TwoInputOperator extends BaseOperator implements StreamOperator {
  abstract processElement2(value: unknown, timestampMs: number): void;
}

export class CoMapOperator extends TwoInputOperator {
  constructor(private readonly fn: CoMapFunction<any, any, unknown>) {
    super();
  }
  processElement(value: unknown, timestampMs: number): void {
    this.out.collect(this.fn.map1(value), timestampMs);
  }
  processElement2(value: unknown, timestampMs: number): void {
    this.out.collect(this.fn.map2(value), timestampMs);
  }
}

export class CoFlatMapOperator extends TwoInputOperator {
  private collector!: TimestampedCollector;
  constructor(private readonly fn: CoFlatMapFunction<any, any, unknown>) {
    super();
  }
  override open(ctx: OperatorContext, out: Output): void {
    super.open(ctx, out);
    this.collector = new TimestampedCollector(out);
  }
  processElement(value: unknown, timestampMs: number): void {
    this.collector.timestampMs = timestampMs;
    this.fn.flatMap1(value, this.collector);
  }
  processElement2(value: unknown, timestampMs: number): void {
    this.collector.timestampMs = timestampMs;
    this.fn.flatMap2(value, this.collector);
  }
}

/** Timestamp, watermark and side outputs of the element being processed (one object per operator, reused). */
class SimpleContext implements CoProcessContext {
  timestampMs = NaN;
  constructor(
    protected readonly ctx: OperatorContext,
    protected readonly out: Output,
  ) {}
  currentWatermark(): number {
    return this.ctx.timers.currentWatermark();
  }
  currentProcessingTimeMs(): number {
    return this.ctx.timers.currentProcessingTimeMs();
  }
  output(tag: string, value: unknown): void {
    this.out.collectSide(tag, value, this.timestampMs);
  }
}

export class CoProcessOperator extends TwoInputOperator {
  private pctx!: SimpleContext;
  private collector!: TimestampedCollector;
  constructor(private readonly fn: CoProcessFunction<any, any, unknown>) {
    super();
  }
  override open(ctx: OperatorContext, out: Output): void {
    super.open(ctx, out);
    this.pctx = new SimpleContext(ctx, out);
    this.collector = new TimestampedCollector(out);
    this.fn.open?.(runtimeContextOf(ctx));
  }
  processElement(value: unknown, timestampMs: number): void {
    this.pctx.timestampMs = this.collector.timestampMs = timestampMs;
    this.fn.processElement1(value, this.pctx, this.collector);
  }
  processElement2(value: unknown, timestampMs: number): void {
    this.pctx.timestampMs = this.collector.timestampMs = timestampMs;
    this.fn.processElement2(value, this.pctx, this.collector);
  }
}

/**
 * Flink's KeyedCoProcessOperator: like KeyedProcessOperator with two element callbacks.
 * Output of event-time timers carries the timer's timestamp; of processing-time timers none.
 */
export class KeyedCoProcessOperator extends TwoInputOperator {
  private pctx!: ProcessContext;
  constructor(private readonly fn: KeyedCoProcessFunction<any, any, any, unknown>) {
    super();
  }
  override open(ctx: OperatorContext, out: Output): void {
    super.open(ctx, out);
    this.pctx = new ProcessContext(ctx, out);
    this.fn.open?.(runtimeContextOf(ctx));
  }
  processElement(value: unknown, timestampMs: number): void {
    this.pctx.forElement(timestampMs);
    this.fn.processElement1(value, this.pctx, this.pctx.collector);
  }
  processElement2(value: unknown, timestampMs: number): void {
    this.pctx.forElement(timestampMs);
    this.fn.processElement2(value, this.pctx, this.pctx.collector);
  }
  override onEventTimer(timestampMs: number): void {
    fireKeyedTimer(this.fn, this.pctx, timestampMs, "EVENT_TIME");
  }
  override onProcessingTimer(timestampMs: number): void {
    fireKeyedTimer(this.fn, this.pctx, timestampMs, "PROCESSING_TIME");
  }
}

// ---------------------------------------------------------------------------------------
// Broadcast state

/** The snapshot of a broadcast operator's state: per declared name, its entries in insertion order. */
export interface BroadcastStateSnapshot {
  readonly broadcast: [string, [Key, unknown][]][];
}

/** One broadcast state: a map with a read-only view for the non-broadcast side. */
class BroadcastMap implements BroadcastState<Key, unknown> {
  readonly map = new Map<Key, unknown>();
  readonly readOnly: ReadOnlyBroadcastState<Key, unknown>;
  constructor(readonly name: string) {
    const map = this.map;
    // A separate object without put/remove/clear: the non-broadcast side must not diverge the
    // copies (Flink hands it a ReadOnlyBroadcastState for the same reason).
    this.readOnly = {
      get: (k) => map.get(k),
      contains: (k) => map.has(k),
      entries: () => map.entries(),
      keys: () => map.keys(),
      get size() {
        return map.size;
      },
    };
  }
  get(key: Key): unknown {
    return this.map.get(key);
  }
  contains(key: Key): boolean {
    return this.map.has(key);
  }
  entries(): IterableIterator<[Key, unknown]> {
    return this.map.entries();
  }
  keys(): IterableIterator<Key> {
    return this.map.keys();
  }
  get size(): number {
    return this.map.size;
  }
  put(key: Key, value: unknown): void {
    checkKey(key, `broadcast state "${this.name}" key`);
    if (value === undefined) throw new InputError(`broadcast state "${this.name}"`, "value must not be undefined (use remove)");
    this.map.set(key, value);
  }
  remove(key: Key): void {
    this.map.delete(key);
  }
  clear(): void {
    this.map.clear();
  }
}

/** The broadcast states an operator declared, by name. */
class BroadcastStates {
  private readonly byName = new Map<string, BroadcastMap>();
  constructor(private readonly names: readonly string[]) {
    for (const name of names) this.byName.set(name, new BroadcastMap(name));
  }
  get(name: string): BroadcastMap {
    const state = this.byName.get(name);
    if (state === undefined) {
      throw new InputError(
        `getBroadcastState("${name}")`,
        `no such broadcast state; declare it in broadcast(...) (declared: ${this.names.map((n) => `"${n}"`).join(", ") || "none"})`,
      );
    }
    return state;
  }
  snapshot(): BroadcastStateSnapshot {
    return { broadcast: [...this.byName].map(([name, s]) => [name, [...s.map]]) };
  }
  restore(snapshot: unknown): void {
    const entries = (snapshot as BroadcastStateSnapshot | undefined)?.broadcast ?? [];
    for (const [name, list] of entries) {
      const state = this.byName.get(name);
      if (state === undefined) continue; // a state no longer declared is dropped, as Flink does for unregistered broadcast state
      state.map.clear();
      // A copy: the restored snapshot may be shared with the checkpoint store.
      for (const [k, v] of cloneState(list, `broadcast state "${name}"`)) state.map.set(k, v);
    }
  }
}

class BroadcastSideContext extends SimpleContext implements BroadcastContext {
  constructor(
    ctx: OperatorContext,
    out: Output,
    private readonly states: BroadcastStates,
  ) {
    super(ctx, out);
  }
  getBroadcastState<K extends Key, V>(name: string): BroadcastState<K, V> {
    return this.states.get(name) as unknown as BroadcastState<K, V>;
  }
}

/** The keyed operator's broadcast side: also visits every key's state (applyToKeyedState). */
class KeyedBroadcastSideContext extends BroadcastSideContext implements KeyedBroadcastContext<Key> {
  private readonly store: KeyedStateViews;
  constructor(
    private readonly operatorCtx: OperatorContext,
    out: Output,
    states: BroadcastStates,
  ) {
    super(operatorCtx, out, states);
    this.store = new KeyedStateViews(operatorCtx.state, `${operatorCtx.operatorName} applyToKeyedState`);
  }
  applyToKeyedState(name: string, visit: (key: Key, state: KeyedStateStore) => void): void {
    if (typeof visit !== "function") throw new InputError("applyToKeyedState", "needs a function (key, state) => void");
    this.operatorCtx.state.forEachKeyWith(name, (key) => visit(key, this.store));
  }
}

class ReadOnlySideContext extends SimpleContext implements ReadOnlyBroadcastContext {
  constructor(
    ctx: OperatorContext,
    out: Output,
    private readonly states: BroadcastStates,
  ) {
    super(ctx, out);
  }
  getBroadcastState<K extends Key, V>(name: string): ReadOnlyBroadcastState<K, V> {
    return this.states.get(name).readOnly as unknown as ReadOnlyBroadcastState<K, V>;
  }
}

/** A ProcessContext (key, keyed state, timers) that also reads broadcast state. */
class KeyedReadOnlySideContext extends ProcessContext {
  constructor(
    ctx: OperatorContext,
    out: Output,
    private readonly states: BroadcastStates,
  ) {
    super(ctx, out);
  }
  getBroadcastState<K extends Key, V>(name: string): ReadOnlyBroadcastState<K, V> {
    return this.states.get(name).readOnly as unknown as ReadOnlyBroadcastState<K, V>;
  }
}

/** What both broadcast functions share: open and the broadcast side's callback. */
interface BroadcastSideFunction {
  open?(ctx: FunctionRuntimeContext): void;
  // The keyed function takes a KeyedBroadcastContext, which extends this (method parameters are bivariant).
  processBroadcastElement(value: unknown, ctx: BroadcastContext, out: Collector<unknown>): void;
}

/** Shared by both broadcast operators: the states, their snapshot and the broadcast side (the second input). */
abstract class BroadcastOperatorBase extends TwoInputOperator {
  protected states!: BroadcastStates;
  protected collector!: TimestampedCollector;
  private bctx!: BroadcastSideContext;
  private restored: unknown;
  constructor(
    private readonly broadcastFn: BroadcastSideFunction,
    private readonly stateNames: readonly string[],
  ) {
    super();
  }
  initializeState(_ctx: OperatorContext, state: unknown): void {
    this.restored = state;
  }
  override open(ctx: OperatorContext, out: Output): void {
    super.open(ctx, out);
    this.states = new BroadcastStates(this.stateNames);
    if (this.restored !== undefined) this.states.restore(this.restored);
    this.restored = undefined;
    this.bctx = this.broadcastSideContext(ctx, out);
    this.collector = new TimestampedCollector(out);
    this.broadcastFn.open?.(runtimeContextOf(ctx));
  }
  /** The broadcast side's context (the keyed operator's also visits keyed state). */
  protected broadcastSideContext(ctx: OperatorContext, out: Output): BroadcastSideContext {
    return new BroadcastSideContext(ctx, out, this.states);
  }
  processElement2(value: unknown, timestampMs: number): void {
    this.bctx.timestampMs = this.collector.timestampMs = timestampMs;
    this.broadcastFn.processBroadcastElement(value, this.bctx, this.collector);
  }
  snapshotState(): BroadcastStateSnapshot {
    return this.states.snapshot();
  }
}

/** Flink's CoBroadcastWithNonKeyedOperator ("Co-Process-Broadcast"). */
export class CoBroadcastWithNonKeyedOperator extends BroadcastOperatorBase {
  private rctx!: ReadOnlySideContext;
  constructor(
    private readonly fn: BroadcastProcessFunction<any, any, unknown>,
    stateNames: readonly string[],
  ) {
    super(fn, stateNames);
  }
  override open(ctx: OperatorContext, out: Output): void {
    super.open(ctx, out);
    this.rctx = new ReadOnlySideContext(ctx, out, this.states);
  }
  processElement(value: unknown, timestampMs: number): void {
    this.rctx.timestampMs = this.collector.timestampMs = timestampMs;
    this.fn.processElement(value, this.rctx, this.collector);
  }
}

/** Flink's CoBroadcastWithKeyedOperator ("Co-Process-Broadcast-Keyed"): keyed first input, broadcast second. */
export class CoBroadcastWithKeyedOperator extends BroadcastOperatorBase {
  private kctx!: KeyedReadOnlySideContext;
  constructor(
    private readonly fn: KeyedBroadcastProcessFunction<any, any, any, unknown>,
    stateNames: readonly string[],
  ) {
    super(fn, stateNames);
  }
  override open(ctx: OperatorContext, out: Output): void {
    super.open(ctx, out);
    this.kctx = new KeyedReadOnlySideContext(ctx, out, this.states);
  }
  protected override broadcastSideContext(ctx: OperatorContext, out: Output): BroadcastSideContext {
    return new KeyedBroadcastSideContext(ctx, out, this.states);
  }
  processElement(value: unknown, timestampMs: number): void {
    this.kctx.forElement(timestampMs);
    this.fn.processElement(value, this.kctx, this.kctx.collector);
  }
  override onEventTimer(timestampMs: number): void {
    fireKeyedTimer<KeyedReadOnlySideContext>(this.fn, this.kctx, timestampMs, "EVENT_TIME");
  }
  override onProcessingTimer(timestampMs: number): void {
    fireKeyedTimer<KeyedReadOnlySideContext>(this.fn, this.kctx, timestampMs, "PROCESSING_TIME");
  }
}
