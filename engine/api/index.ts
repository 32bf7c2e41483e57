/**
 * The DataStream API in one import, for job code (scenarios/jobs) and scenario scripts:
 * `import { StreamExecutionEnvironment, GeneratorSource, TransactionalSink } from "../engine/api"`.
 * Runtime-facing pieces (operators, key groups, job-rng) are imported from their modules.
 */
export { StreamExecutionEnvironment, resolvePartitioners, sideOutputTagOf, isPartitionerUnset } from "./environment";
export { DataStream, SingleOutputStream, KeyedStream, WindowedStream, DataStreamSink } from "./datastream";
export type {
  AggregateFunction,
  Collector,
  FilterFunction,
  FlatMapFunction,
  KeyedProcessContext,
  KeyedProcessFunction,
  MapFunction,
  OnTimerContext,
  ReduceFunction,
  TimeWindow,
  ValueStates,
  ListState,
  MapState,
  KeyedStateStore,
  ProcessWindowContext,
  ProcessWindowFunction,
  WindowResultFunction,
} from "./functions";
export { GeneratorSource, PartitionedLogSource, assignSplits } from "./sources";
export type { GeneratorSourceOptions, PartitionedLogSourceOptions } from "./sources";
export { CollectSink, TransactionalSink, type SinkSpec } from "./sinks";
export { EventTimeSessionWindows, SlidingEventTimeWindows, TumblingEventTimeWindows, type EventTimeWindowAssigner } from "./windows";
export { LATE_TAG } from "./operators";
export type { CoGroupFunction, FlatJoinFunction, JoinFunction } from "./joined-streams";
