/**
 * The two-input side of the DataStream API, shaped like Flink's: ConnectedStreams
 * (connect, then CoMap / CoFlatMap / CoProcess, keyed with keyBy(k1, k2) or by connecting
 * two KeyedStreams) and the broadcast state pattern (BroadcastStream from
 * broadcast(...names), connected to a keyed or non-keyed stream, processed by a
 * (Keyed)BroadcastProcessFunction).
 *
 * A two-input node gets its first stream's edges as input 0 and the second's as input 1
 * (StreamEdge.typeNumber); a keyed node carries both key selectors (keySelector,
 * keySelector2). Node names are Flink's: "Co-Map", "Co-Flat Map", "Co-Process",
 * "KeyedCoProcess", "Co-Process-Broadcast", "Co-Process-Broadcast-Keyed".
 */
import { InputError } from "../../sim/errors";
import type { StreamExecutionEnvironment, EdgeInit } from "./environment";
import type { BroadcastProcessFunction, CoFlatMapFunction, CoMapFunction, CoProcessFunction, KeyedBroadcastProcessFunction, KeyedCoProcessFunction } from "./co-functions";
import { type DataStream, KeyedStream, SingleOutputStream } from "./datastream";
import {
  CoBroadcastWithKeyedOperator,
  CoBroadcastWithNonKeyedOperator,
  CoFlatMapOperator,
  CoMapOperator,
  CoProcessOperator,
  KeyedCoProcessOperator,
} from "./two-input-operators";
import type { Key, KeySelector, OperatorFactory } from "./types";

/** Adds a two-input node fed by `first` (input 0) and `second` (input 1). */
function addTwoInputNode<R>(
  env: StreamExecutionEnvironment,
  name: string,
  operator: OperatorFactory,
  first: readonly EdgeInit[],
  second: readonly EdgeInit[],
  keys: { keySelector?: KeySelector | undefined; keySelector2?: KeySelector | undefined },
): SingleOutputStream<R> {
  const node = env.addNode(
    {
      name,
      kind: "operator",
      operator,
      chainingStrategy: "ALWAYS",
      ...(keys.keySelector !== undefined ? { keySelector: keys.keySelector } : {}),
      ...(keys.keySelector2 !== undefined ? { keySelector2: keys.keySelector2 } : {}),
    },
    [...first, ...second.map((e) => ({ ...e, input: 1 }))],
  );
  return new SingleOutputStream<R>(env, node.id);
}

export class ConnectedStreams<I1, I2> {
  constructor(
    readonly first: DataStream<I1>,
    readonly second: DataStream<I2>,
  ) {}

  /** Both inputs keyed: state and timers per key (a KeyedCoProcessFunction). */
  get isKeyed(): boolean {
    return this.first instanceof KeyedStream && this.second instanceof KeyedStream;
  }

  /** Keys both inputs (Flink's ConnectedStreams.keyBy(keySelector1, keySelector2)): equal keys meet in one subtask. */
  keyBy<K extends Key>(key1: (value: I1) => K, key2: (value: I2) => K): ConnectedStreams<I1, I2> {
    return new ConnectedStreams<I1, I2>(this.first.keyBy(key1), this.second.keyBy(key2));
  }

  map<R>(fn: CoMapFunction<I1, I2, R>, name = "Co-Map"): SingleOutputStream<R> {
    checkMethods("map", fn, ["map1", "map2"]);
    return this.add<R>(name, () => new CoMapOperator(fn), false);
  }

  flatMap<R>(fn: CoFlatMapFunction<I1, I2, R>, name = "Co-Flat Map"): SingleOutputStream<R> {
    checkMethods("flatMap", fn, ["flatMap1", "flatMap2"]);
    return this.add<R>(name, () => new CoFlatMapOperator(fn), false);
  }

  /**
   * Keyed inputs: a KeyedCoProcessFunction ("KeyedCoProcess") with the key's state and
   * timers; otherwise a CoProcessFunction ("Co-Process") without either.
   */
  process<R>(fn: CoProcessFunction<I1, I2, R> | KeyedCoProcessFunction<any, I1, I2, R>, name?: string): SingleOutputStream<R> {
    checkMethods("process", fn, ["processElement1", "processElement2"]);
    if (this.isKeyed) return this.add<R>(name ?? "KeyedCoProcess", () => new KeyedCoProcessOperator(fn as KeyedCoProcessFunction<any, I1, I2, R>), true);
    if ((fn as KeyedCoProcessFunction<any, I1, I2, R>).onTimer !== undefined) {
      throw new InputError("process", "timers need keyed inputs: key both streams (connect(...).keyBy(k1, k2)) to use onTimer");
    }
    return this.add<R>(name ?? "Co-Process", () => new CoProcessOperator(fn as CoProcessFunction<I1, I2, R>), false);
  }

  private add<R>(name: string, operator: OperatorFactory, keyed: boolean): SingleOutputStream<R> {
    const keys = keyed ? { keySelector: this.first.keySelectorOrUndefined, keySelector2: this.second.keySelectorOrUndefined } : {};
    return addTwoInputNode<R>(this.first.environment, name, operator, this.first.edgeInits(), this.second.edgeInits(), keys);
  }
}

/** A stream broadcast to every subtask of the operator it connects to, with the broadcast states that operator keeps. */
export class BroadcastStream<T> {
  /** Phantom: the element type. */
  declare readonly __element?: T;
  constructor(
    readonly env: StreamExecutionEnvironment,
    /** @internal Its edges (broadcast partitioner). */
    readonly edges: readonly EdgeInit[],
    readonly stateNames: readonly string[],
  ) {}
}

export class BroadcastConnectedStream<I, B> {
  constructor(
    readonly input: DataStream<I>,
    readonly broadcastInput: BroadcastStream<B>,
  ) {
    if (broadcastInput.env !== input.environment) throw new InputError("connect", "streams of different environments cannot be connected");
  }

  /** Keyed input: a KeyedBroadcastProcessFunction ("Co-Process-Broadcast-Keyed"); else a BroadcastProcessFunction ("Co-Process-Broadcast"). */
  process<R>(fn: BroadcastProcessFunction<I, B, R> | KeyedBroadcastProcessFunction<any, I, B, R>, name?: string): SingleOutputStream<R> {
    checkMethods("process", fn, ["processElement", "processBroadcastElement"]);
    const names = this.broadcastInput.stateNames;
    const env = this.input.environment;
    if (this.input instanceof KeyedStream) {
      const op = fn as KeyedBroadcastProcessFunction<any, I, B, R>;
      return addTwoInputNode<R>(env, name ?? "Co-Process-Broadcast-Keyed", () => new CoBroadcastWithKeyedOperator(op, names), this.input.edgeInits(), this.broadcastInput.edges, {
        keySelector: this.input.keySelectorOrUndefined,
      });
    }
    if ((fn as KeyedBroadcastProcessFunction<any, I, B, R>).onTimer !== undefined) {
      throw new InputError("process", "timers need a keyed input: key the non-broadcast stream to use onTimer");
    }
    const op = fn as BroadcastProcessFunction<I, B, R>;
    return addTwoInputNode<R>(env, name ?? "Co-Process-Broadcast", () => new CoBroadcastWithNonKeyedOperator(op, names), this.input.edgeInits(), this.broadcastInput.edges, {});
  }
}

function checkMethods(where: string, fn: unknown, methods: readonly string[]): void {
  for (const m of methods) {
    if (typeof (fn as Record<string, unknown> | null)?.[m] !== "function") throw new InputError(where, `the function must have a ${m} method`);
  }
}
