/**
 * Window joins and co-groups (Flink's JoinedStreams and CoGroupedStreams), built the way
 * Flink builds them, from operators that exist anyway:
 *   a.map(tag 1) ∪ b.map(tag 2) → keyBy(the side's key) → window(assigner) → apply
 * The taggers are plain "Map" operators with their input's parallelism (so they chain to
 * it); the window keeps every tagged element in list state, and at each fire a
 * CoGroupWindowFunction (a ProcessWindowFunction) splits them by tag and calls the user's
 * coGroup — or, for a join, calls join for every (left, right) pair of the window, nested
 * loops in arrival order, as Flink's JoinCoGroupFunction does. An inner join emits nothing
 * for a window where one side is empty; a coGroup is called whenever either side has data.
 *
 * `a.join(b).where(k1).equalTo(k2).window(TumblingEventTimeWindows.of(ms)).apply(fn)`.
 */
import { InputError } from "../../sim/errors";
import type { Collector, ProcessWindowFunction } from "./functions";
import type { DataStream, SingleOutputStream } from "./datastream";
import type { Key, KeySelector } from "./types";
import type { EventTimeSessionWindows, EventTimeWindowAssigner } from "./windows";

/** Flink's JoinFunction: one output per matching (left, right) pair of a window. */
export type JoinFunction<T1, T2, O> = (left: T1, right: T2) => O;

/** Flink's FlatJoinFunction: any number of outputs per pair. */
export type FlatJoinFunction<T1, T2, O> = (left: T1, right: T2, out: Collector<O>) => void;

/** Flink's CoGroupFunction: both sides' elements of one key and window (either may be empty). */
export type CoGroupFunction<T1, T2, O> = (left: readonly T1[], right: readonly T2[], out: Collector<O>) => void;

/** An element of the union, tagged with its side (Flink's TaggedUnion). */
interface Tagged {
  readonly one?: unknown;
  readonly two?: unknown;
  readonly input: 1 | 2;
}

/** CoGroupWindowFunction: splits a window's tagged elements by side and calls coGroup. */
function coGroupWindowFunction(fn: CoGroupFunction<unknown, unknown, unknown>): ProcessWindowFunction<Tagged, unknown, Key> {
  return {
    process(_key, _ctx, elements, out) {
      const left: unknown[] = [];
      const right: unknown[] = [];
      for (const e of elements) {
        if (e.input === 1) left.push(e.one);
        else right.push(e.two);
      }
      fn(left, right, out);
    },
  };
}

type Assigner = EventTimeWindowAssigner | EventTimeSessionWindows;
type Kind = "join" | "coGroup";
/** What apply takes: a JoinFunction for a join, a CoGroupFunction for a coGroup. */
type ApplyFunction<Kd extends Kind, T1, T2, O> = Kd extends "join" ? JoinFunction<T1, T2, O> : CoGroupFunction<T1, T2, O>;

function checkKeySelector(selector: unknown, where: string): void {
  if (typeof selector !== "function") throw new InputError(where, "must be a key selector function");
}

/**
 * What a join or coGroup has collected so far. Key selectors are stored as KeySelector (any
 * input): a field typed (value: T1) => K would make the stream types invariant in T1, and
 * DataStream<X> no longer a DataStream<unknown>.
 */
interface TwoStreamsSpec<Kd extends Kind> {
  readonly first: DataStream<unknown>;
  readonly second: DataStream<unknown>;
  readonly kind: Kd;
  readonly key1?: KeySelector;
  readonly key2?: KeySelector;
}

/** `a.join(b)` / `a.coGroup(b)`: pick the left side's key with where(...). */
export class TwoStreams<T1, T2, Kd extends Kind> {
  private readonly spec: TwoStreamsSpec<Kd>;
  constructor(first: DataStream<T1>, second: DataStream<T2>, kind: Kd) {
    this.spec = { first, second, kind };
  }

  where<K extends Key>(keySelector1: (value: T1) => K): TwoStreamsWhere<T1, T2, K, Kd> {
    checkKeySelector(keySelector1, `${this.spec.kind}.where`);
    return new TwoStreamsWhere({ ...this.spec, key1: keySelector1 });
  }
}

export class TwoStreamsWhere<T1, T2, K extends Key, Kd extends Kind> {
  constructor(private readonly spec: TwoStreamsSpec<Kd>) {}

  equalTo(keySelector2: (value: T2) => K): TwoStreamsEqualTo<T1, T2, Kd> {
    checkKeySelector(keySelector2, `${this.spec.kind}.equalTo`);
    return new TwoStreamsEqualTo({ ...this.spec, key2: keySelector2 });
  }
}

export class TwoStreamsEqualTo<T1, T2, Kd extends Kind> {
  constructor(private readonly spec: TwoStreamsSpec<Kd>) {}

  window(assigner: Assigner): WindowedTwoStreams<T1, T2, Kd> {
    return new WindowedTwoStreams(this.spec, assigner);
  }
}

/** A join or coGroup with its window; allowedLateness as on a WindowedStream. */
export class WindowedTwoStreams<T1, T2, Kd extends Kind> {
  private allowedLatenessMs = 0;
  private readonly kind: Kd;

  constructor(
    private readonly spec: TwoStreamsSpec<Kd>,
    private readonly assigner: Assigner,
  ) {
    this.kind = spec.kind;
  }

  allowedLateness(ms: number): this {
    if (!Number.isSafeInteger(ms) || ms < 0) throw new InputError(`${this.kind}.allowedLateness`, `must be a non-negative integer number of ms, got ${ms}`);
    this.allowedLatenessMs = ms;
    return this;
  }

  /** join: a JoinFunction per matching pair; coGroup: a CoGroupFunction per key and window. */
  apply<O>(fn: ApplyFunction<Kd, T1, T2, O>): SingleOutputStream<O> {
    if (typeof fn !== "function") throw new InputError(`${this.kind}.apply`, `must be a ${this.kind === "join" ? "JoinFunction (left, right) => output" : "CoGroupFunction (left[], right[], out) => void"}`);
    if (this.kind === "coGroup") return this.build(fn as CoGroupFunction<unknown, unknown, unknown>);
    const join = fn as JoinFunction<unknown, unknown, unknown>;
    return this.build((left, right, out) => {
      for (const l of left) for (const r of right) out.collect(join(l, r));
    });
  }

  /** join only: a FlatJoinFunction, any number of outputs per pair. */
  flatApply<O>(fn: FlatJoinFunction<T1, T2, O>): SingleOutputStream<O> {
    if (this.kind !== "join") throw new InputError("coGroup.flatApply", "flatApply is for joins; a coGroup's apply already takes a collector");
    if (typeof fn !== "function") throw new InputError("join.flatApply", "must be a FlatJoinFunction (left, right, out) => void");
    const join = fn as FlatJoinFunction<unknown, unknown, unknown>;
    return this.build((left, right, out) => {
      for (const l of left) for (const r of right) join(l, r, out);
    });
  }

  private build<O>(coGroup: CoGroupFunction<unknown, unknown, unknown>): SingleOutputStream<O> {
    const tag1 = tagger(this.spec.first, (value): Tagged => ({ one: value, input: 1 }));
    const tag2 = tagger(this.spec.second, (value): Tagged => ({ two: value, input: 2 }));
    const key1 = this.spec.key1!;
    const key2 = this.spec.key2!;
    return tag1
      .union(tag2)
      .keyBy((t) => (t.input === 1 ? key1(t.one) : key2(t.two)))
      .window(this.assigner)
      .allowedLateness(this.allowedLatenessMs)
      .process(coGroupWindowFunction(coGroup), "CoGroupWindowFunction") as SingleOutputStream<O>;
  }
}

/** Flink's Input1Tagger/Input2Tagger: a "Map" with its input's parallelism, so it chains to it. */
function tagger<T>(input: DataStream<T>, tag: (value: T) => Tagged): DataStream<Tagged> {
  const tagged = input.map(tag);
  const p = input.node.parallelism;
  if (p !== undefined) tagged.setParallelism(p);
  return tagged;
}
