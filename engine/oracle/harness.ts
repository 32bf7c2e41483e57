/**
 * A plain in-memory driver for one operator instance, like Flink's
 * OneInputStreamOperatorTestHarness: it sets the current key from the key selector, keeps
 * keyed state in a Map per key, keeps event- and processing-time timers per (key, ts)
 * (deduplicated) and fires them on watermarks / processing-time advances, and captures
 * main output, side outputs and watermarks. The oracle runs every node through one; the
 * operator tests use it directly.
 *
 * Semantics it fixes (the runtime must match them for outputs to agree):
 * - timers fire in (timestamp, key by compareKeys, registration) order; timers registered
 *   while firing fire in the same advance if due;
 * - during an advance to watermark w, timers.currentWatermark() is w;
 * - BATCH keyed input (processBatchKeyed): records sorted by (key, timestamp, arrival),
 *   one key at a time; at the end of a key all its event-time, then processing-time,
 *   timers fire with currentWatermark() = +∞; then the key's state is dropped (single-key
 *   backend) and the watermark is −∞ again;
 * - STREAMING: processing-time timers still pending at end of input are dropped (Flink
 *   quiesces the processing-time service when the input ends).
 */
import { assert } from "../../sim/errors";
import { MinHeap } from "../../sim/min-heap";
import { Rng } from "../../sim/rng";
import { checkKey, compareKeys } from "../api/key-groups";
import {
  MAX_WATERMARK,
  MIN_WATERMARK,
  type ExternalStoreApi,
  type Key,
  type KeySelector,
  type KeyedState,
  type OperatorContext,
  type Output,
  type RuntimeMode,
  type StreamOperator,
  type TimerService,
} from "../api/types";
import { ExternalStore } from "../external-store";

export interface HarnessOptions {
  runtimeMode?: RuntimeMode;
  /** Makes the operator keyed: the key of each input record. */
  keySelector?: KeySelector;
  /** Two-input keyed operators: the key of each second-input record (none: a broadcast input). */
  keySelector2?: KeySelector;
  operatorName?: string;
  subtaskIndex?: number;
  parallelism?: number;
  maxParallelism?: number;
  attemptNumber?: number;
  /** OperatorContext.checkpointingEnabled (default false). */
  checkpointingEnabled?: boolean;
  external?: ExternalStoreApi;
  rng?: Rng;
}

export interface TimestampedValue {
  readonly value: unknown;
  readonly timestampMs: number;
}

interface TimerEntry {
  readonly ts: number;
  readonly key: Key;
  readonly seq: number;
}

/** Per-key timers deduplicated by (key, ts), fired in (ts, key, registration) order. */
class TimerQueue {
  private readonly heap = new MinHeap<TimerEntry>(
    (a, b) => a.ts < b.ts || (a.ts === b.ts && (compareKeys(a.key, b.key) < 0 || (compareKeys(a.key, b.key) === 0 && a.seq < b.seq))),
  );
  private readonly live = new Map<Key, Set<number>>();
  private seq = 0;

  register(key: Key, ts: number): void {
    let set = this.live.get(key);
    if (set === undefined) {
      set = new Set();
      this.live.set(key, set);
    }
    if (set.has(ts)) return;
    set.add(ts);
    this.heap.push({ ts, key, seq: this.seq++ });
  }

  delete(key: Key, ts: number): void {
    this.live.get(key)?.delete(ts); // the heap entry goes stale and is skipped
  }

  /** Removes and returns the earliest live timer with ts ≤ upTo, if any. */
  pollDue(upTo: number): TimerEntry | undefined {
    for (;;) {
      const top = this.heap.peek();
      if (top === undefined || top.ts > upTo) return undefined;
      this.heap.pop();
      const set = this.live.get(top.key);
      if (set === undefined || !set.has(top.ts)) continue;
      set.delete(top.ts);
      if (set.size === 0) this.live.delete(top.key);
      return top;
    }
  }

  /** Live timers, in firing order. */
  pending(): { key: Key; timestampMs: number }[] {
    const out: { key: Key; timestampMs: number }[] = [];
    for (const [key, set] of this.live) for (const ts of set) out.push({ key, timestampMs: ts });
    return out.sort((a, b) => a.timestampMs - b.timestampMs || compareKeys(a.key, b.key));
  }

  clear(): void {
    this.heap.clear();
    this.live.clear();
  }
}

export class OperatorHarness {
  readonly output: TimestampedValue[] = [];
  readonly sideOutputs = new Map<string, TimestampedValue[]>();
  /** Coverage marks the operator recorded (ctx.mark). */
  readonly marks: string[] = [];
  readonly watermarks: number[] = [];
  readonly external: ExternalStoreApi;

  private readonly states = new Map<Key, Map<string, unknown>>();
  private readonly eventTimers = new TimerQueue();
  private readonly processingTimers = new TimerQueue();
  private key: Key | undefined = undefined;
  private watermarkMs = MIN_WATERMARK;
  private processingTimeMs = 0;
  private opened = false;
  private readonly mode: RuntimeMode;
  private readonly keySelector: KeySelector | undefined;
  private readonly keySelector2: KeySelector | undefined;

  constructor(
    readonly operator: StreamOperator,
    options: HarnessOptions = {},
  ) {
    this.mode = options.runtimeMode ?? "STREAMING";
    this.keySelector = options.keySelector;
    this.keySelector2 = options.keySelector2;
    this.external = options.external ?? new ExternalStore();
    const harness = this;
    const name = options.operatorName ?? "operator";
    const keyed = options.keySelector !== undefined;
    const requireKey = (what: string): Key => {
      assert(keyed, `${name}: ${what} on a non-keyed operator`);
      assert(harness.key !== undefined, `${name}: ${what} without a current key`);
      return harness.key;
    };
    const state: KeyedState = {
      get(stateName) {
        return harness.states.get(requireKey("state access"))?.get(stateName);
      },
      set(stateName, value) {
        const k = requireKey("state access");
        assert(value !== undefined, `${name}: state "${stateName}" set to undefined (use clear)`);
        let m = harness.states.get(k);
        if (m === undefined) {
          m = new Map();
          harness.states.set(k, m);
        }
        m.set(stateName, value);
      },
      clear(stateName) {
        const k = requireKey("state access");
        const m = harness.states.get(k);
        if (m === undefined) return;
        m.delete(stateName);
        if (m.size === 0) harness.states.delete(k);
      },
      addToList(stateName, element) {
        const list = state.get(stateName) as unknown[] | undefined;
        assert(list === undefined || Array.isArray(list), `${name}: state "${stateName}" is not a list`);
        state.set(stateName, list === undefined ? [element] : [...list, element]);
      },
      getMapEntry(stateName, userKey) {
        return (state.get(stateName) as Map<Key, unknown> | undefined)?.get(userKey);
      },
      putMapEntry(stateName, userKey, value) {
        const map = state.get(stateName) as Map<Key, unknown> | undefined;
        assert(map === undefined || map instanceof Map, `${name}: state "${stateName}" is not a map`);
        state.set(stateName, new Map(map).set(userKey, value));
      },
      forEachKeyWith(stateName, visit) {
        const previous = harness.key;
        // Deleting the visited key (its last state cleared) while iterating a Map is safe.
        for (const [k, m] of harness.states) {
          if (!m.has(stateName)) continue;
          harness.key = k;
          visit(k);
        }
        harness.key = previous;
      },
      removeMapEntry(stateName, userKey) {
        const map = state.get(stateName) as Map<Key, unknown> | undefined;
        if (map === undefined || !map.has(userKey)) return;
        const rest = new Map(map);
        rest.delete(userKey);
        if (rest.size === 0) state.clear(stateName);
        else state.set(stateName, rest);
      },
    };
    const timers: TimerService = {
      currentWatermark: () => harness.watermarkMs,
      currentProcessingTimeMs: () => harness.processingTimeMs,
      registerEventTimeTimer: (ts) => harness.eventTimers.register(requireKey("timer registration"), ts),
      registerProcessingTimeTimer: (ts) => harness.processingTimers.register(requireKey("timer registration"), ts),
      deleteEventTimeTimer: (ts) => harness.eventTimers.delete(requireKey("timer deletion"), ts),
    };
    const ctx: OperatorContext = {
      operatorName: name,
      subtaskIndex: options.subtaskIndex ?? 0,
      parallelism: options.parallelism ?? 1,
      maxParallelism: options.maxParallelism ?? 128,
      runtimeMode: this.mode,
      state,
      timers,
      currentKey: () => harness.key,
      rng: options.rng ?? Rng.root(0).child(`harness/${name}`),
      external: this.external,
      attemptNumber: options.attemptNumber ?? 0,
      checkpointingEnabled: options.checkpointingEnabled ?? false,
      mark: (markName) => harness.marks.push(markName),
    };
    const out: Output = {
      collect: (value, timestampMs) => harness.output.push({ value, timestampMs }),
      emitWatermark: (watermarkMs) => harness.watermarks.push(watermarkMs),
      collectSide: (tag, value, timestampMs) => {
        let list = harness.sideOutputs.get(tag);
        if (list === undefined) {
          list = [];
          harness.sideOutputs.set(tag, list);
        }
        list.push({ value, timestampMs });
      },
    };
    this.ctx = ctx;
    this.out = out;
  }

  private readonly ctx: OperatorContext;
  private readonly out: Output;

  open(): this {
    assert(!this.opened, "harness: opened twice");
    this.opened = true;
    this.operator.open(this.ctx, this.out);
    return this;
  }

  get currentWatermark(): number {
    return this.watermarkMs;
  }

  /** One record; a keyed operator gets its key set first. */
  processElement(value: unknown, timestampMs = NaN): void {
    this.checkOpen();
    if (this.keySelector !== undefined) this.key = checkKey(this.keySelector(value), `${this.ctx.operatorName} key selector`);
    this.operator.processElement(value, timestampMs);
  }

  /** One record of a two-input operator's second input; keyed by keySelector2, if any. */
  processElement2(value: unknown, timestampMs = NaN): void {
    this.checkOpen();
    assert(this.operator.processElement2 !== undefined, `${this.ctx.operatorName}: a second-input record for a one-input operator`);
    // A broadcast input has no key: Flink's broadcast side sees no current key.
    this.key = this.keySelector2 === undefined ? undefined : checkKey(this.keySelector2(value), `${this.ctx.operatorName} key selector 2`);
    this.operator.processElement2(value, timestampMs);
  }

  /** Fires due event-time timers, then hands the watermark to the operator (which forwards it). */
  processWatermark(watermarkMs: number): void {
    this.checkOpen();
    if (watermarkMs > this.watermarkMs) this.watermarkMs = watermarkMs;
    this.fireEventTimers(this.watermarkMs);
    this.operator.processWatermark(watermarkMs);
  }

  /** Advances processing time and fires due processing-time timers. */
  setProcessingTime(timeMs: number): void {
    this.checkOpen();
    this.processingTimeMs = timeMs;
    for (let t = this.processingTimers.pollDue(timeMs); t !== undefined; t = this.processingTimers.pollDue(timeMs)) {
      this.key = t.key;
      this.operator.onProcessingTimer(t.ts);
    }
  }

  /**
   * BATCH sorted keyed input (§8): sorts by (key, input, timestamp, arrival) and runs one key
   * at a time, ending each key by firing all its timers at watermark +∞ and dropping its
   * state. `inputs` (default all 0) gives each record's input; a non-keyed (broadcast)
   * second input is processed whole first, as Flink's BATCH mode does.
   */
  processBatchKeyed(values: readonly unknown[], timestampsMs: readonly number[], inputs?: readonly number[]): void {
    this.checkOpen();
    const selector = this.keySelector;
    assert(selector !== undefined, "harness: processBatchKeyed needs a keyed operator");
    assert(values.length === timestampsMs.length, "harness: values and timestamps differ in length");
    const inputOf = (i: number) => inputs?.[i] ?? 0;
    const keyed: number[] = [];
    for (let i = 0; i < values.length; i++) {
      if (inputOf(i) === 1 && this.keySelector2 === undefined) this.processElement2(values[i], timestampsMs[i]!);
      else keyed.push(i);
    }
    const keys = values.map((v, i) =>
      inputOf(i) === 0 ? checkKey(selector(v), `${this.ctx.operatorName} key selector`) : this.keySelector2 === undefined ? undefined : checkKey(this.keySelector2(v), `${this.ctx.operatorName} key selector 2`),
    );
    // Same comparator as the runtime's sorted input: key, then input, then timestamp, then arrival.
    keyed.sort((a, b) => compareKeys(keys[a]!, keys[b]!) || inputOf(a) - inputOf(b) || timestampsMs[a]! - timestampsMs[b]! || a - b);
    let i = 0;
    while (i < keyed.length) {
      const key = keys[keyed[i]!]!;
      this.watermarkMs = MIN_WATERMARK;
      for (; i < keyed.length && compareKeys(keys[keyed[i]!]!, key) === 0; i++) {
        const r = keyed[i]!;
        this.key = key;
        if (inputOf(r) === 0) this.operator.processElement(values[r], timestampsMs[r]!);
        else this.operator.processElement2!(values[r], timestampsMs[r]!);
      }
      this.endKey(key);
    }
    this.watermarkMs = MIN_WATERMARK;
  }

  endInput(): void {
    this.checkOpen();
    if (this.mode === "STREAMING") this.processingTimers.clear();
    this.operator.endInput();
  }

  close(): void {
    this.checkOpen();
    this.operator.close();
  }

  /** The state of `key` (a copy), or undefined when it has none. */
  stateOf(key: Key): ReadonlyMap<string, unknown> | undefined {
    const m = this.states.get(key);
    return m === undefined ? undefined : new Map(m);
  }

  /** Keys that hold state. */
  keysWithState(): Key[] {
    return [...this.states.keys()].sort(compareKeys);
  }

  pendingEventTimers(): { key: Key; timestampMs: number }[] {
    return this.eventTimers.pending();
  }

  pendingProcessingTimers(): { key: Key; timestampMs: number }[] {
    return this.processingTimers.pending();
  }

  /** Main output values (without timestamps). */
  values(): unknown[] {
    return this.output.map((r) => r.value);
  }

  side(tag: string): unknown[] {
    return (this.sideOutputs.get(tag) ?? []).map((r) => r.value);
  }

  private endKey(key: Key): void {
    this.watermarkMs = MAX_WATERMARK;
    this.fireEventTimers(MAX_WATERMARK);
    for (let t = this.processingTimers.pollDue(Infinity); t !== undefined; t = this.processingTimers.pollDue(Infinity)) {
      this.key = t.key;
      this.operator.onProcessingTimer(t.ts);
      this.fireEventTimers(MAX_WATERMARK);
    }
    this.states.delete(key);
    this.key = undefined;
  }

  private fireEventTimers(upTo: number): void {
    for (let t = this.eventTimers.pollDue(upTo); t !== undefined; t = this.eventTimers.pollDue(upTo)) {
      this.key = t.key;
      this.operator.onEventTimer(t.ts);
    }
  }

  private checkOpen(): void {
    assert(this.opened, "harness: call open() first");
  }
}
