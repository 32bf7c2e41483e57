/**
 * The shape of a library job: a DataStream program `(env, params) => void` with metadata
 * the scenario runner and fuzzer need — whether its output is timing-independent, how to
 * compare it with the oracle, and its parameters (validated with zod, errors as one
 * InputError naming `params.<field>`).
 */
import { z } from "zod";
import { InputError, unknownNameProblem } from "../../sim/errors";
import type { StreamExecutionEnvironment } from "../../engine/api/environment";
import type { DataStream, DataStreamSink, SingleOutputStream } from "../../engine/api/datastream";
import { CollectSink, DiscardingSink, TransactionalSink } from "../../engine/api/sinks";
import { GeneratorSource, type GeneratorSourceOptions } from "../../engine/api/sources";
import type { Rng } from "../../sim/rng";
import type { CompareMode, CompareOptions } from "../../engine/oracle/compare";

export interface JobDefinition<P = any> {
  readonly name: string;
  readonly description: string;
  /** True when a correct run's output cannot depend on timing (exact oracle comparison holds). */
  readonly deterministic: boolean;
  readonly compare: CompareMode;
  /** keyOf / countOf for the comparison, given the job's params. */
  compareOptions?(params: P): CompareOptions;
  readonly defaultParams: P;
  /**
   * Validates `input` (partial params; unset fields take defaults). Throws an InputError on
   * `<field>.<param>`, `field` defaulting to "params" (a scenario passes "scenario.params").
   */
  parseParams(input: unknown, field?: string): P;
  /** Adds the job's sources, transformations and sinks to `env`. */
  build(env: StreamExecutionEnvironment, params: P): void;
}

/** Defines a job whose params are a zod object schema with a default for every field. */
export function defineJob<S extends z.ZodObject>(def: {
  name: string;
  description: string;
  deterministic: boolean;
  compare: CompareMode;
  params: S;
  compareOptions?: (params: z.output<S>) => CompareOptions;
  build: (env: StreamExecutionEnvironment, params: z.output<S>) => void;
}): JobDefinition<z.output<S>> {
  const schema = def.params.strict();
  const parseParams = (input: unknown, field = "params"): z.output<S> => {
    const result = schema.safeParse(input ?? {});
    if (result.success) return result.data as z.output<S>;
    const issue = result.error.issues[0]!;
    const path = [field, ...issue.path.map(String)].join(".");
    if (issue.code === "unrecognized_keys") {
      const key = issue.keys[0]!;
      throw new InputError(`${field}.${key}`, unknownNameProblem(`parameter of job "${def.name}"`, key, Object.keys(def.params.shape)));
    }
    throw new InputError(path, issue.message);
  };
  return {
    name: def.name,
    description: def.description,
    deterministic: def.deterministic,
    compare: def.compare,
    ...(def.compareOptions !== undefined ? { compareOptions: def.compareOptions } : {}),
    defaultParams: parseParams({}),
    parseParams,
    build: def.build,
  };
}

// Parameters most jobs share. Data never depends on parallelism: splits is its own knob.
export const records = (d: number) => z.number().int().min(0).max(10_000_000).default(d);
export const positiveInt = (d: number, max = 1_000_000) => z.number().int().min(1).max(max).default(d);
/** A job's parallelism, or "auto": left unset, for the adaptive batch scheduler to decide (BATCH) or parallelism.default. */
export const parallelism = (d: number) => z.union([z.number().int().min(1).max(4096), z.literal("auto")]).default(d);

/** Sets the environment's parallelism unless the job's param is "auto". */
export function applyParallelism(env: StreamExecutionEnvironment, parallelism: number | "auto"): void {
  if (parallelism !== "auto") env.setParallelism(parallelism);
}
/** 0 = uniform keys; > 0 = zipf with that exponent. */
export const skew = (d: number) => z.number().min(0).max(10).default(d);
/** "discard" keeps nothing (benchmarks); the oracle then has nothing to compare. */
export const sinkKind = () => z.enum(["transactional", "collect", "discard"]).default("transactional");
export const optionalRate = () => z.number().positive().optional();

/** The GeneratorSource options of a keyed library job: its records, splits, rate and keys (zipf when skewed). */
export function keyedGeneratorOptions(p: { records: number; splits: number; ratePerSecond?: number | undefined; keys: number; skew: number }): GeneratorSourceOptions {
  return {
    records: p.records,
    splits: p.splits,
    ...(p.ratePerSecond !== undefined ? { ratePerSecond: p.ratePerSecond } : {}),
    keys: p.skew > 0 ? { count: p.keys, distribution: "zipf", exponent: p.skew } : { count: p.keys, distribution: "uniform" },
  };
}

/** A duration param in ms (an event-time step, a disorder, a watermark bound): 0 to 1 h. */
export const msParam = (d: number) => z.number().int().min(0).max(3_600_000).default(d);

/**
 * The params of a keyed event-time job's input, spread into its schema: how many records,
 * over how many keys (zipf when skewed) and splits, at what pace, how far apart in event
 * time and how disordered, and the job's parallelism.
 */
export function keyedEventParams(d: { records: number; keys: number; splits?: number; parallelism?: number; intervalMs: number; maxDisorderMs: number }) {
  return {
    records: records(d.records),
    keys: positiveInt(d.keys),
    skew: skew(0),
    splits: positiveInt(d.splits ?? 4, 10_000),
    parallelism: parallelism(d.parallelism ?? 2),
    ratePerSecond: optionalRate(),
    intervalMs: msParam(d.intervalMs),
    maxDisorderMs: msParam(d.maxDisorderMs),
  };
}

export type KeyedEventSourceParams = Parameters<typeof keyedGeneratorOptions>[0] & { intervalMs: number; maxDisorderMs: number };

/**
 * A keyed event-time source of those params named `name`: record i of a split at
 * i × intervalMs minus up to maxDisorderMs, watermarks bounded by the disorder (nothing is
 * late) unless `outOfOrdernessMs` says otherwise. `records` and `intervalMs` override the
 * params' for a job's second source.
 */
export function keyedEventSource<T>(
  env: StreamExecutionEnvironment,
  name: string,
  p: KeyedEventSourceParams,
  value: (seq: number, key: number, rng: Rng, timestampMs: number) => T,
  o: { records?: number; intervalMs?: number; outOfOrdernessMs?: number } = {},
): SingleOutputStream<T> {
  return env.fromSource<T>(
    GeneratorSource({
      ...keyedGeneratorOptions({ ...p, records: o.records ?? p.records }),
      eventTime: { startMs: 0, intervalMs: o.intervalMs ?? p.intervalMs, maxDisorderMs: p.maxDisorderMs },
      value,
    }),
    { outOfOrdernessMs: o.outOfOrdernessMs ?? p.maxDisorderMs },
    name,
  );
}

/**
 * The event-time step of a job's second source of `n` records, so that it spans the same
 * event time as `spanRecords` records of the first at `intervalMs` (never a smaller step).
 */
export function spreadIntervalMs(intervalMs: number, spanRecords: number, n: number): number {
  return n === 0 ? intervalMs : Math.max(intervalMs, Math.round((intervalMs * spanRecords) / Math.max(1, n)));
}

/** Sinks the stream into a transactional (exactly-once) or collect (at-least-once) sink. */
export function sinkInto(stream: DataStream<unknown>, kind: "transactional" | "collect" | "discard", name: string): DataStreamSink {
  return stream.sinkTo(kind === "transactional" ? TransactionalSink(name) : kind === "discard" ? DiscardingSink(name) : CollectSink(name));
}

/** Inserts `item` into `list`, kept sorted by `by`, after equal ones; scans from the end (input arrives nearly sorted). */
export function insertSortedBy<T>(list: T[], item: T, by: (x: T) => number): void {
  const v = by(item);
  let i = list.length;
  while (i > 0 && by(list[i - 1]!) > v) i--;
  list.splice(i, 0, item);
}
