/**
 * The DataStream API: DataStream (a stream plus the partitioner of its next edge),
 * SingleOutputStream (a transformation's output; configures its node), KeyedStream,
 * WindowedStream and DataStreamSink, shaped like Flink's.
 *
 * Each transformation adds one StreamNode (names and chaining strategies as Flink: sources
 * HEAD, operators and sinks ALWAYS) and one edge from its input. A keyed operator's node and
 * its incoming hash edge both carry the keyBy's key selector. Partitioning methods (keyBy,
 * rebalance, ...) add no node; they set the partitioner of the next edge. With none set,
 * the edge is "unset" (see environment.ts, resolvePartitioners).
 */
import { InputError } from "../../sim/errors";
import type { Key, KeySelector, OperatorCost, OperatorFactory, PartitionerKind } from "./types";
import type { StreamNode } from "../graph/stream-graph";
import type { EdgeInit, NodeInit, StreamExecutionEnvironment } from "./environment";
import type {
  AggregateFunction,
  FilterFunction,
  FlatMapFunction,
  KeyedProcessFunction,
  MapFunction,
  ProcessWindowFunction,
  ReduceFunction,
  WindowResultFunction,
} from "./functions";
import { checkKey } from "./key-groups";
import {
  CollectSinkWriter,
  DiscardingSinkWriter,
  FilterOperator,
  FlatMapOperator,
  KeyedProcessOperator,
  LATE_TAG,
  MapOperator,
  RollingAggregateOperator,
  SinkCommitterOperator,
  TransactionalSinkWriter,
  SessionWindowOperator,
  WindowOperator,
  mergingWindowAggregate,
  mergingWindowReduce,
  reduceAggregation,
  sumFieldAggregation,
  sumSelectorAggregation,
  windowAggregate,
  windowElements,
  windowReduce,
  type MergingWindowAggregation,
  type WindowAggregation,
  type WindowFunction,
} from "./operators";
import type { SinkSpec } from "./sinks";
import { EventTimeSessionWindows, type EventTimeWindowAssigner } from "./windows";
import { BroadcastConnectedStream, BroadcastStream, ConnectedStreams } from "./connected-streams";
import { TwoStreams } from "./joined-streams";

export class DataStream<T> {
  constructor(
    protected readonly env: StreamExecutionEnvironment,
    /** The node whose output this stream is. */
    readonly nodeId: number,
    /** Partitioner of the next edge; undefined = unset. */
    protected readonly partitioner: PartitionerKind | undefined = undefined,
    /** The producer's side output this stream reads, or undefined for its main output. */
    protected readonly sideOutputTag: string | undefined = undefined,
    protected readonly keySelector: KeySelector | undefined = undefined,
    /** A union's inputs (Flink's UnionTransformation: no node, one edge per input). */
    protected readonly unionInputs: readonly EdgeInit[] | undefined = undefined,
  ) {}

  get node(): StreamNode {
    return this.env.graph.nodes[this.nodeId]!;
  }

  get environment(): StreamExecutionEnvironment {
    return this.env;
  }

  map<R>(fn: MapFunction<T, R>, name = "Map"): SingleOutputStream<R> {
    return this.transform<R>({ name, operator: () => new MapOperator(fn) });
  }

  filter(fn: FilterFunction<T>, name = "Filter"): SingleOutputStream<T> {
    return this.transform<T>({ name, operator: () => new FilterOperator(fn) });
  }

  flatMap<R>(fn: FlatMapFunction<T, R>, name = "Flat Map"): SingleOutputStream<R> {
    return this.transform<R>({ name, operator: () => new FlatMapOperator(fn as FlatMapFunction<any, unknown>) });
  }

  /**
   * Hash-partitions by key (key group = murmur(hashCode(key)) mod maxParallelism). Keys
   * must be strings, numbers or booleans; the selector is checked on every call.
   */
  keyBy<K extends Key>(keySelector: (value: T) => K): KeyedStream<T, K> {
    const checked: KeySelector = (value) => checkKey(keySelector(value), "keyBy");
    return new KeyedStream<T, K>(this.env, this.nodeId, "hash", this.sideOutputTag, checked, this.unionInputs);
  }

  /**
   * Flink's union: one stream of the elements of all, with no node of its own — the next
   * operator gets one input edge per stream (never chained, as it has several). A
   * partitioner set on the union (e.g. keyBy) applies to every edge; otherwise each keeps its own.
   */
  union(...others: DataStream<T>[]): DataStream<T> {
    if (others.length === 0) throw new InputError("union", "needs at least one other stream");
    const inputs: EdgeInit[] = [...this.edgeInits()];
    for (const other of others) {
      if (other.env !== this.env) throw new InputError("union", "streams of different environments cannot be unioned");
      inputs.push(...other.edgeInits());
    }
    return new DataStream<T>(this.env, this.nodeId, undefined, undefined, undefined, inputs);
  }

  /** A window join with `other` (Flink's JoinedStreams): `.where(k1).equalTo(k2).window(assigner).apply(fn)`. */
  join<T2>(other: DataStream<T2>): TwoStreams<T, T2, "join"> {
    if (other.env !== this.env) throw new InputError("join", "streams of different environments cannot be joined");
    return new TwoStreams<T, T2, "join">(this, other, "join");
  }

  /** A window co-group with `other` (Flink's CoGroupedStreams): both sides' elements per key and window. */
  coGroup<T2>(other: DataStream<T2>): TwoStreams<T, T2, "coGroup"> {
    if (other.env !== this.env) throw new InputError("coGroup", "streams of different environments cannot be co-grouped");
    return new TwoStreams<T, T2, "coGroup">(this, other, "coGroup");
  }

  /** Connects two streams for a two-input operator (CoMap, CoFlatMap, CoProcess; keyed or broadcast). */
  connect<T2>(other: BroadcastStream<T2>): BroadcastConnectedStream<T, T2>;
  connect<T2>(other: DataStream<T2>): ConnectedStreams<T, T2>;
  connect<T2>(other: DataStream<T2> | BroadcastStream<T2>): ConnectedStreams<T, T2> | BroadcastConnectedStream<T, T2> {
    if (other instanceof BroadcastStream) return new BroadcastConnectedStream<T, T2>(this, other);
    if (other.env !== this.env) throw new InputError("connect", "streams of different environments cannot be connected");
    return new ConnectedStreams<T, T2>(this, other);
  }

  /** @internal The edges a consumer of this stream gets (several for a union). */
  edgeInits(): EdgeInit[] {
    if (this.unionInputs === undefined) return [this.edgeInit()];
    return this.unionInputs.map((u) => ({
      ...u,
      partitioner: this.partitioner ?? u.partitioner,
      ...(this.keySelector !== undefined ? { keySelector: this.keySelector } : {}),
    }));
  }

  /** @internal The key of this stream's records when it is keyed (only keyBy sets one), else undefined. */
  get keySelectorOrUndefined(): KeySelector | undefined {
    return this.keySelector;
  }

  rebalance(): DataStream<T> {
    return this.partitionBy("rebalance");
  }
  rescale(): DataStream<T> {
    return this.partitionBy("rescale");
  }
  /** Flink requires equal parallelism on a forward edge (checked by resolvePartitioners). */
  forward(): DataStream<T> {
    return this.partitionBy("forward");
  }
  /**
   * No names: every record goes to every consumer subtask (the broadcast partitioner). With
   * names: a BroadcastStream for the broadcast state pattern, declaring the broadcast states
   * (Flink's MapStateDescriptors) its connected operator keeps.
   */
  broadcast(): DataStream<T>;
  broadcast(...stateNames: string[]): BroadcastStream<T>;
  broadcast(...stateNames: string[]): DataStream<T> | BroadcastStream<T> {
    if (stateNames.length === 0) return this.partitionBy("broadcast");
    for (const name of stateNames) {
      if (typeof name !== "string" || name.length === 0) throw new InputError("broadcast.stateNames", "must be non-empty strings");
    }
    if (new Set(stateNames).size !== stateNames.length) throw new InputError("broadcast.stateNames", `duplicate name in ${stateNames.join(", ")}`);
    return new BroadcastStream<T>(this.env, this.partitionBy("broadcast").edgeInits(), stateNames);
  }
  global(): DataStream<T> {
    return this.partitionBy("global");
  }

  /**
   * Writes the stream to a sink. Collect: one writer node "<name>: Writer". Transactional:
   * a writer and a committer node "<name>: Committer", joined by a forward edge.
   */
  sinkTo(sink: SinkSpec): DataStreamSink {
    this.env.claimSinkName(sink.sinkName);
    const writer = this.env.addNode(
      {
        name: `${sink.sinkName}: Writer`,
        kind: "sink",
        chainingStrategy: "ALWAYS",
        sinkName: sink.sinkName,
        operator:
          sink.kind === "collect"
            ? () => new CollectSinkWriter(sink.sinkName)
            : sink.kind === "discard"
              ? () => new DiscardingSinkWriter()
              : () => new TransactionalSinkWriter(sink.sinkName, sink.fencing ?? true),
      },
      this.edgeInits(),
    );
    if (sink.kind !== "transactional") return new DataStreamSink(this.env, sink.sinkName, [writer.id]);
    const committer = this.env.addNode(
      {
        name: `${sink.sinkName}: Committer`,
        kind: "sink",
        chainingStrategy: "ALWAYS",
        sinkName: sink.sinkName,
        operator: () => new SinkCommitterOperator(sink.sinkName),
      },
      [{ from: writer.id, partitioner: "forward" }],
    );
    return new DataStreamSink(this.env, sink.sinkName, [writer.id, committer.id]);
  }

  protected partitionBy(partitioner: PartitionerKind): DataStream<T> {
    return new DataStream<T>(this.env, this.nodeId, partitioner, this.sideOutputTag, undefined, this.unionInputs);
  }

  protected edgeInit(): EdgeInit {
    return {
      from: this.nodeId,
      partitioner: this.partitioner,
      ...(this.keySelector !== undefined ? { keySelector: this.keySelector } : {}),
      ...(this.sideOutputTag !== undefined ? { sideOutputTag: this.sideOutputTag } : {}),
    };
  }

  protected transform<R>(init: { name: string; operator: OperatorFactory; keyed?: boolean }): SingleOutputStream<R> {
    const nodeInit: NodeInit = {
      name: init.name,
      kind: "operator",
      operator: init.operator,
      chainingStrategy: "ALWAYS",
      ...(init.keyed === true && this.keySelector !== undefined ? { keySelector: this.keySelector } : {}),
    };
    const node = this.env.addNode(nodeInit, this.edgeInits());
    return new SingleOutputStream<R>(this.env, node.id);
  }
}

/** A transformation's output (Flink's SingleOutputStreamOperator): configures its node. */
export class SingleOutputStream<T> extends DataStream<T> {
  setParallelism(parallelism: number): this {
    checkPositiveInt(`${this.node.name}.parallelism`, parallelism);
    checkWithinMax(this.node.name, parallelism, this.node.maxParallelism);
    this.node.parallelism = parallelism;
    return this;
  }

  setMaxParallelism(maxParallelism: number): this {
    checkPositiveInt(`${this.node.name}.maxParallelism`, maxParallelism);
    if (maxParallelism > 32768) throw new InputError(`${this.node.name}.maxParallelism`, `must be ≤ 32768, got ${maxParallelism}`);
    checkWithinMax(this.node.name, this.node.parallelism, maxParallelism);
    this.node.maxParallelism = maxParallelism;
    return this;
  }

  /** Renames the node (Flink's name(); the node keeps its id). */
  name(name: string): this {
    if (typeof name !== "string" || name.length === 0) throw new InputError("name", "must be a non-empty string");
    if (this.node.kind === "source") throw new InputError("name", "name a source in fromSource (its data streams are named after it)");
    this.env.updateNode(this.nodeId, { name });
    return this;
  }

  slotSharingGroup(group: string): this {
    if (typeof group !== "string" || group.length === 0) throw new InputError(`${this.node.name}.slotSharingGroup`, "must be a non-empty string");
    this.node.slotSharingGroup = group;
    return this;
  }

  disableChaining(): this {
    this.node.chainingStrategy = "NEVER";
    return this;
  }

  startNewChain(): this {
    this.node.chainingStrategy = "HEAD";
    return this;
  }

  /** The virtual cost of this operator (merged into what is set already). */
  withCost(cost: OperatorCost): this {
    checkCost(this.node.name, cost);
    this.node.cost = { ...this.node.cost, ...cost };
    return this;
  }

  /** The records this node emitted to side output `tag` (e.g. late window data). */
  getSideOutput<S = unknown>(tag: string): DataStream<S> {
    if (typeof tag !== "string" || tag.length === 0) throw new InputError("getSideOutput.tag", "must be a non-empty string");
    return new DataStream<S>(this.env, this.nodeId, undefined, tag);
  }
}

export class KeyedStream<T, K extends Key> extends DataStream<T> {
  /** Rolling reduce: STREAMING emits every update, BATCH only each key's final value (§8). */
  reduce(fn: ReduceFunction<T>, name = "Keyed Reduce"): SingleOutputStream<T> {
    const agg = reduceAggregation(fn);
    return this.transform<T>({ name, keyed: true, operator: () => new RollingAggregateOperator(agg) });
  }

  /**
   * Rolling sum, like Flink's sum(field): with a field name the records must be objects and
   * the output is the key's first record with `field` replaced by the running sum; with a
   * selector the output is `{ key, sum }`. Emission as reduce (every update / BATCH final).
   */
  sum(field: string, name?: string): SingleOutputStream<T>;
  sum(selector: (value: T) => number, name?: string): SingleOutputStream<{ key: K; sum: number }>;
  sum(fieldOrSelector: string | ((value: T) => number), name = "Keyed Aggregation"): SingleOutputStream<any> {
    const agg =
      typeof fieldOrSelector === "string"
        ? sumFieldAggregation(fieldOrSelector, `${name} sum("${fieldOrSelector}")`)
        : sumSelectorAggregation(fieldOrSelector, `${name} sum(selector)`);
    return this.transform({ name, keyed: true, operator: () => new RollingAggregateOperator(agg) });
  }

  process<O>(fn: KeyedProcessFunction<K, T, O>, name = "KeyedProcess"): SingleOutputStream<O> {
    return this.transform<O>({ name, keyed: true, operator: () => new KeyedProcessOperator(fn) });
  }

  window(assigner: EventTimeWindowAssigner | EventTimeSessionWindows): WindowedStream<T, K> {
    return new WindowedStream<T, K>(this, assigner);
  }

  /** @internal For WindowedStream. */
  transformKeyed<R>(name: string, operator: OperatorFactory): SingleOutputStream<R> {
    return this.transform<R>({ name, keyed: true, operator });
  }
}

/** A keyed stream cut into event-time windows (tumbling, sliding or session; allowedLateness default 0, as Flink). */
export class WindowedStream<T, K extends Key> {
  private lateTag = LATE_TAG;
  private allowedLatenessMs = 0;

  constructor(
    private readonly input: KeyedStream<T, K>,
    private readonly assigner: EventTimeWindowAssigner | EventTimeSessionWindows,
  ) {}

  /**
   * Keeps each window's state until the watermark passes its end + `ms`; an element arriving
   * in that time re-fires the window with the updated result (see WindowOperator).
   */
  allowedLateness(ms: number): this {
    if (!Number.isSafeInteger(ms) || ms < 0) throw new InputError("allowedLateness", `must be a non-negative integer number of ms, got ${ms}`);
    this.allowedLatenessMs = ms;
    return this;
  }

  /** Names the side output late records go to (default "late"; read it with getSideOutput). */
  sideOutputLateData(tag: string): this {
    if (typeof tag !== "string" || tag.length === 0) throw new InputError("sideOutputLateData.tag", "must be a non-empty string");
    this.lateTag = tag;
    return this;
  }

  /**
   * Incremental reduce per window; the optional window function shapes each fire's result:
   * a WindowResultFunction (one output) or a ProcessWindowFunction (given the one result).
   */
  reduce(fn: ReduceFunction<T>): SingleOutputStream<T>;
  reduce<O>(fn: ReduceFunction<T>, windowFn: WindowResultFunction<K, T, O> | ProcessWindowFunction<T, O, K>): SingleOutputStream<O>;
  reduce(fn: ReduceFunction<T>, windowFn?: WindowResultFunction<any, any, any> | ProcessWindowFunction<any, any, any>): SingleOutputStream<unknown> {
    checkWindowFunction(windowFn, "WindowedStream.reduce");
    const merging = this.assigner instanceof EventTimeSessionWindows;
    return this.windowOperator(merging ? mergingWindowReduce(fn) : windowReduce(fn), windowFn, this.nodeName("ReduceFunction", windowFn));
  }

  aggregate<ACC, R>(fn: AggregateFunction<T, ACC, R>): SingleOutputStream<R>;
  aggregate<ACC, R, O>(fn: AggregateFunction<T, ACC, R>, windowFn: WindowResultFunction<K, R, O> | ProcessWindowFunction<R, O, K>): SingleOutputStream<O>;
  aggregate(fn: AggregateFunction<T, unknown, unknown>, windowFn?: WindowResultFunction<any, any, any> | ProcessWindowFunction<any, any, any>): SingleOutputStream<unknown> {
    checkWindowFunction(windowFn, "WindowedStream.aggregate");
    const merging = this.assigner instanceof EventTimeSessionWindows;
    const agg = merging ? mergingWindowAggregate(fn, "WindowedStream.aggregate") : windowAggregate(fn);
    return this.windowOperator(agg, windowFn, this.nodeName("AggregateFunction", windowFn));
  }

  /**
   * Flink's WindowedStream.process: the window keeps all its elements (list state) and the
   * ProcessWindowFunction gets them at each fire.
   */
  process<O>(fn: ProcessWindowFunction<T, O, K>, functionName = "ProcessWindowFunction"): SingleOutputStream<O> {
    if (typeof fn !== "object" || fn === null || typeof fn.process !== "function") {
      throw new InputError("WindowedStream.process", "needs a ProcessWindowFunction: an object with process(key, context, elements, out)");
    }
    return this.windowOperator(windowElements, fn, this.nodeName(functionName));
  }

  private windowOperator<R>(agg: WindowAggregation | MergingWindowAggregation, windowFn: WindowFunction | undefined, name: string): SingleOutputStream<R> {
    const { assigner, lateTag, allowedLatenessMs } = this;
    if (assigner instanceof EventTimeSessionWindows) {
      const merging = agg as MergingWindowAggregation;
      return this.input.transformKeyed(name, () => new SessionWindowOperator(assigner.gapMs, merging, windowFn, lateTag, allowedLatenessMs));
    }
    return this.input.transformKeyed(name, () => new WindowOperator(assigner, agg, windowFn, lateTag, allowedLatenessMs));
  }

  private nodeName(fn: string, windowFn?: WindowFunction): string {
    const withProcess = windowFn !== undefined && typeof windowFn !== "function" ? `${fn}, ProcessWindowFunction` : fn;
    return `Window(${this.assigner.toString()}, EventTimeTrigger, ${withProcess})`;
  }
}

/** A window function is a function (WindowResultFunction) or an object with process (ProcessWindowFunction). */
function checkWindowFunction(windowFn: unknown, where: string): void {
  if (windowFn === undefined || typeof windowFn === "function") return;
  if (typeof windowFn !== "object" || windowFn === null || typeof (windowFn as { process?: unknown }).process !== "function") {
    throw new InputError(`${where} windowFn`, "must be a function (key, window, result) => output or a ProcessWindowFunction with process(key, context, elements, out)");
  }
}

/** The result of sinkTo: configures the sink's writer (and committer) together, as Flink does. */
export class DataStreamSink {
  constructor(
    private readonly env: StreamExecutionEnvironment,
    readonly sinkName: string,
    /** Writer, then committer (transactional sinks). */
    readonly nodeIds: readonly number[],
  ) {}

  setParallelism(parallelism: number): this {
    checkPositiveInt(`${this.sinkName}.parallelism`, parallelism);
    for (const id of this.nodeIds) {
      checkWithinMax(this.env.graph.nodes[id]!.name, parallelism, this.env.graph.nodes[id]!.maxParallelism);
      this.env.graph.nodes[id]!.parallelism = parallelism;
    }
    return this;
  }

  setMaxParallelism(maxParallelism: number): this {
    checkPositiveInt(`${this.sinkName}.maxParallelism`, maxParallelism);
    for (const id of this.nodeIds) this.env.graph.nodes[id]!.maxParallelism = maxParallelism;
    return this;
  }

  /** Renames the nodes "<name>: Writer" / "<name>: Committer" (the store name stays). */
  name(name: string): this {
    if (typeof name !== "string" || name.length === 0) throw new InputError("name", "must be a non-empty string");
    const [writer, committer] = this.nodeIds;
    this.env.updateNode(writer!, { name: `${name}: Writer` });
    if (committer !== undefined) this.env.updateNode(committer, { name: `${name}: Committer` });
    return this;
  }

  slotSharingGroup(group: string): this {
    for (const id of this.nodeIds) this.env.graph.nodes[id]!.slotSharingGroup = group;
    return this;
  }

  /** Stops the writer chaining to its input (the committer stays chained to the writer). */
  disableChaining(): this {
    this.env.graph.nodes[this.nodeIds[0]!]!.chainingStrategy = "NEVER";
    return this;
  }

  /** Cost of the writer (the committer's per-committable cost is the runtime's). */
  withCost(cost: OperatorCost): this {
    const writer = this.env.graph.nodes[this.nodeIds[0]!]!;
    checkCost(writer.name, cost);
    writer.cost = { ...writer.cost, ...cost };
    return this;
  }
}

function checkPositiveInt(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) throw new InputError(field, `must be a positive integer, got ${value}`);
}

function checkWithinMax(name: string, parallelism: number | undefined, maxParallelism: number | undefined): void {
  if (parallelism !== undefined && maxParallelism !== undefined && parallelism > maxParallelism) {
    throw new InputError(`${name}.parallelism`, `${parallelism} exceeds the max parallelism ${maxParallelism}`);
  }
}

function checkCost(name: string, cost: OperatorCost): void {
  for (const [field, value] of Object.entries(cost)) {
    if (!["cpuNsPerRecord", "recordBytes", "stateAccessesPerRecord"].includes(field)) {
      throw new InputError(`${name}.withCost.${field}`, "unknown cost field (cpuNsPerRecord, recordBytes, stateAccessesPerRecord)");
    }
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new InputError(`${name}.withCost.${field}`, `must be a non-negative number, got ${String(value)}`);
    }
  }
}
