/**
 * Adaptive batch scheduling: deciding a job vertex's parallelism, and which
 * (partitionRange, subpartitionRange) each consumer subtask reads, once all its inputs are
 * fully produced — Flink's DefaultVertexParallelismAndInputInfosDecider, as a pure function
 * behind a small interface so another decider can be plugged in and compared.
 *
 * Invariants of every decision: parallelism ≥ 1; for every non-broadcast input the
 * consumers' ranges are contiguous and together read every (partition, subpartition) pair
 * exactly once; a broadcast input is read as subpartition [0,0] of every partition by every
 * subtask (each of its subpartitions is a full copy). Ranges are inclusive, as Flink's
 * IndexRange. Bytes are integers (JS numbers, exact below 2^53).
 */
import { InputError, InvariantError } from "../../../sim/errors";
import type { IndexRange, SubtaskInputRange } from "../../graph/dynamic-execution-graph";

export type { IndexRange, SubtaskInputRange };

/**
 * A consumer subtask reads at most this many subpartitions of one result — Flink's
 * MAX_NUM_SUBPARTITIONS_PER_TASK_CONSUME, a limit on channels per input gate.
 */
export const MAX_SUBPARTITIONS_PER_TASK = 32768;

/** Bisection over byte limits runs at most this many steps (limits are < 2^53). */
const MAX_BISECTION_STEPS = 64;


/** One consumed blocking result, fully produced. */
export interface DeciderInput {
  /** The result's name, for the decision record. */
  readonly name: string;
  readonly pattern: "ALL_TO_ALL" | "POINTWISE";
  readonly broadcast: boolean;
  readonly numPartitions: number;
  /** Subpartitions in each producer partition (the consumer's max parallelism, or 1 for broadcast). */
  readonly numSubpartitions: number;
  /** `subpartitionBytes[partition][subpartition]`: bytes each producer wrote. */
  readonly subpartitionBytes: readonly (readonly number[])[];
}

/** The `execution.batch.adaptive.auto-parallelism.*` options. */
export interface DeciderOptions {
  /** `.min-parallelism`, Flink default 1. */
  readonly minParallelism: number;
  /** `.max-parallelism`. */
  readonly maxParallelism: number;
  /** `.avg-data-volume-per-task`, Flink default 16 MiB. */
  readonly avgDataVolumePerTaskBytes: number;
  /** `.default-source-parallelism`, Flink default 1. */
  readonly defaultSourceParallelism: number;
}

export const DEFAULT_DECIDER_OPTIONS: DeciderOptions = {
  minParallelism: 1,
  maxParallelism: 128,
  avgDataVolumePerTaskBytes: 16 * 1024 * 1024,
  defaultSourceParallelism: 1,
};

/** The job vertex whose parallelism is to be decided. */
export interface VertexToDecide {
  readonly name: string;
  /** No inputs: a source. */
  readonly inputs: readonly DeciderInput[];
  /** Parallelism the user set on the vertex; undefined = decide it (Flink's −1). */
  readonly userParallelism?: number;
  /** The vertex's max parallelism (= subpartitions its producers wrote for it). */
  readonly maxParallelism: number;
  /** A source's own estimate (DynamicParallelismInference, FLIP-379), already within default-source-parallelism. */
  readonly inferredSourceParallelism?: number;
}


/** How the parallelism was reached. */
export type DecisionPath =
  | "source-user" // a source with user parallelism
  | "source-default" // a source: default-source-parallelism, capped by the vertex max
  | "source-inferred" // a source that inferred its parallelism from its data, capped by the vertex max
  | "user-parallelism" // user parallelism; subpartitions split evenly
  | "even-data" // greedy packing by bytes, count already legal
  | "even-data-bisected" // greedy packing with a bisected volume limit
  | "even-subpartitions" // ceil(bytes / avg), clamped; subpartitions split evenly
  | "even-subpartitions-fallback"; // even-data found no legal count

/** The decision's inputs and outcome, for the trace. */
export interface DecisionRecord {
  readonly vertex: string;
  readonly path: DecisionPath;
  readonly userParallelism: number | undefined;
  readonly vertexMaxParallelism: number;
  /** The bounds actually applied (the options', narrowed by the vertex max). */
  readonly minParallelism: number;
  readonly maxParallelism: number;
  readonly avgDataVolumePerTaskBytes: number;
  readonly inputs: readonly {
    readonly name: string;
    readonly pattern: "ALL_TO_ALL" | "POINTWISE";
    readonly broadcast: boolean;
    readonly numPartitions: number;
    readonly numSubpartitions: number;
    readonly totalBytes: number;
  }[];
  /** Σ bytes of non-broadcast inputs. */
  readonly nonBroadcastBytes: number;
  /** Greedy range count at the configured volume (even-data paths only). */
  readonly greedyParallelism?: number;
  /** The volume limit bisection settled on (even-data-bisected only). */
  readonly adjustedVolumeLimitBytes?: number;
  readonly parallelism: number;
  /** One line for people. */
  readonly summary: string;
}

export interface ParallelismDecision {
  readonly parallelism: number;
  /** `inputRanges[input][subtask]`, inputs in the order given. */
  readonly inputRanges: readonly (readonly SubtaskInputRange[])[];
  readonly record: DecisionRecord;
}

/** A pluggable decider (DESIGN style rule 6). */
export interface ParallelismDecider {
  readonly name: string;
  decide(vertex: VertexToDecide): ParallelismDecision;
}

// ---------------------------------------------------------------------------------------
// Validation

function checkPositiveInt(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InputError(field, `must be a positive integer, got ${value}`);
  }
}

export function validateDeciderOptions(options: DeciderOptions): void {
  const p = "execution.batch.adaptive.auto-parallelism";
  checkPositiveInt(`${p}.min-parallelism`, options.minParallelism);
  checkPositiveInt(`${p}.max-parallelism`, options.maxParallelism);
  checkPositiveInt(`${p}.avg-data-volume-per-task`, options.avgDataVolumePerTaskBytes);
  checkPositiveInt(`${p}.default-source-parallelism`, options.defaultSourceParallelism);
  if (options.maxParallelism < options.minParallelism) {
    throw new InputError(
      `${p}.max-parallelism`,
      `must be ≥ min-parallelism (${options.minParallelism}), got ${options.maxParallelism}`,
    );
  }
}

function validateVertex(vertex: VertexToDecide): void {
  const v = `vertex "${vertex.name}"`;
  checkPositiveInt(`${v}.maxParallelism`, vertex.maxParallelism);
  if (vertex.userParallelism !== undefined) {
    checkPositiveInt(`${v}.userParallelism`, vertex.userParallelism);
    if (vertex.userParallelism > vertex.maxParallelism) {
      throw new InputError(
        `${v}.userParallelism`,
        `${vertex.userParallelism} exceeds the vertex max parallelism ${vertex.maxParallelism}`,
      );
    }
  }
  for (const input of vertex.inputs) {
    const f = `${v} input "${input.name}"`;
    checkPositiveInt(`${f}.numPartitions`, input.numPartitions);
    checkPositiveInt(`${f}.numSubpartitions`, input.numSubpartitions);
    if (input.subpartitionBytes.length !== input.numPartitions) {
      throw new InputError(
        `${f}.subpartitionBytes`,
        `has ${input.subpartitionBytes.length} partitions, expected ${input.numPartitions}`,
      );
    }
    input.subpartitionBytes.forEach((row, p) => {
      if (row.length !== input.numSubpartitions) {
        throw new InputError(
          `${f}.subpartitionBytes[${p}]`,
          `has ${row.length} subpartitions, expected ${input.numSubpartitions}`,
        );
      }
      for (const b of row) {
        if (!Number.isSafeInteger(b) || b < 0) {
          throw new InputError(`${f}.subpartitionBytes[${p}]`, `bytes must be non-negative integers, got ${b}`);
        }
      }
    });
  }
}

// ---------------------------------------------------------------------------------------
// Building blocks (exported for tests and for other deciders)

function sum(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

function inputBytes(input: DeciderInput): number {
  let s = 0;
  for (const row of input.subpartitionBytes) s += sum(row);
  return s;
}

/**
 * Greedy contiguous packing: a range grows while its byte sum stays ≤ `limitBytes` and it
 * holds ≤ `maxRangeSize` subpartitions; a range's first subpartition always fits, so one
 * subpartition larger than the limit forms a range alone.
 */
export function packSubpartitions(bytes: readonly number[], limitBytes: number, maxRangeSize: number): IndexRange[] {
  const ranges: IndexRange[] = [];
  let start = 0;
  let rangeBytes = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const fits = rangeBytes + b <= limitBytes && i - start + 1 <= maxRangeSize;
    if (i === start || fits) {
      rangeBytes += b;
    } else {
      ranges.push({ start, end: i - 1 });
      start = i;
      rangeBytes = b;
    }
  }
  if (bytes.length > 0) ranges.push({ start, end: bytes.length - 1 });
  return ranges;
}

/** Smallest v in [low, high] with `legal(v)`, legal monotone non-decreasing in v; undefined if none. */
function minLegal(legal: (v: number) => boolean, low: number, high: number): number | undefined {
  if (!legal(high)) return undefined;
  let lo = low;
  let hi = high;
  for (let step = 0; lo <= hi; step++) {
    if (step > MAX_BISECTION_STEPS) throw new InvariantError(`bisection exceeded ${MAX_BISECTION_STEPS} steps`);
    const mid = Math.floor((lo + hi) / 2);
    if (legal(mid)) hi = mid - 1;
    else lo = mid + 1;
  }
  return hi + 1;
}

/** Largest v in [low, high] with `legal(v)`, legal monotone non-increasing in v; undefined if none. */
function maxLegal(legal: (v: number) => boolean, low: number, high: number): number | undefined {
  if (!legal(low)) return undefined;
  let lo = low;
  let hi = high;
  for (let step = 0; lo <= hi; step++) {
    if (step > MAX_BISECTION_STEPS) throw new InvariantError(`bisection exceeded ${MAX_BISECTION_STEPS} steps`);
    const mid = Math.floor((lo + hi) / 2);
    if (legal(mid)) lo = mid + 1;
    else hi = mid - 1;
  }
  return lo - 1;
}

/**
 * The volume limit that brings the greedy count into [min, max], closest to the current
 * count; undefined when no limit in [min bytes, Σ bytes] does.
 */
export function bisectVolumeLimit(
  bytes: readonly number[],
  currentLimit: number,
  maxRangeSize: number,
  minParallelism: number,
  maxParallelism: number,
): number | undefined {
  const count = (limit: number): number => packSubpartitions(bytes, limit, maxRangeSize).length;
  const lowLimit = Math.min(...bytes);
  const highLimit = sum(bytes);
  const current = count(currentLimit);
  let limit: number | undefined = currentLimit;
  if (current < minParallelism) {
    // Too few ranges: the largest limit still giving ≥ min ranges, then the smallest limit
    // giving that same count (a smaller limit spreads the bytes more evenly).
    const largest = maxLegal((v) => count(v) >= minParallelism, lowLimit, currentLimit);
    if (largest === undefined) return undefined;
    const target = count(largest);
    limit = minLegal((v) => count(v) === target, lowLimit, largest);
  } else if (current > maxParallelism) {
    // Too many ranges: the smallest limit giving ≤ max ranges.
    limit = minLegal((v) => count(v) <= maxParallelism, currentLimit, highLimit);
  }
  if (limit === undefined) return undefined;
  const p = count(limit);
  return p >= minParallelism && p <= maxParallelism ? limit : undefined;
}

/** Subtask `index` of `numConsumers` reads this even share of `numSubpartitions`. */
export function evenSubpartitionRange(index: number, numConsumers: number, numSubpartitions: number): IndexRange {
  if (numConsumers > numSubpartitions) {
    throw new InvariantError(`${numConsumers} consumers cannot split ${numSubpartitions} subpartitions evenly`);
  }
  const start = Math.floor((index * numSubpartitions) / numConsumers);
  const next = Math.floor(((index + 1) * numSubpartitions) / numConsumers);
  return { start, end: next - 1 };
}

/** Input ranges when subpartitions (not bytes) are split evenly over `parallelism` subtasks. */
export function evenSubpartitionRanges(parallelism: number, input: DeciderInput): SubtaskInputRange[] {
  const n = input.numPartitions;
  const out: SubtaskInputRange[] = [];
  if (input.broadcast) {
    for (let i = 0; i < parallelism; i++) {
      out.push({ subtask: i, partitionRange: { start: 0, end: n - 1 }, subpartitionRange: { start: 0, end: 0 } });
    }
  } else if (input.pattern === "ALL_TO_ALL") {
    for (let i = 0; i < parallelism; i++) {
      out.push({
        subtask: i,
        partitionRange: { start: 0, end: n - 1 },
        subpartitionRange: evenSubpartitionRange(i, parallelism, input.numSubpartitions),
      });
    }
  } else if (n >= parallelism) {
    // Pointwise, more producers than consumers: each consumer reads a block of whole partitions.
    for (let i = 0; i < parallelism; i++) {
      const start = Math.floor((i * n) / parallelism);
      const end = Math.floor(((i + 1) * n) / parallelism) - 1;
      out.push({
        subtask: i,
        partitionRange: { start, end },
        subpartitionRange: { start: 0, end: input.numSubpartitions - 1 },
      });
    }
  } else {
    // Pointwise, fewer producers: each partition is split among its block of consumers.
    for (let p = 0; p < n; p++) {
      const first = Math.ceil((p * parallelism) / n);
      const next = Math.ceil(((p + 1) * parallelism) / n);
      for (let i = first; i < next; i++) {
        out.push({
          subtask: i,
          partitionRange: { start: p, end: p },
          subpartitionRange: evenSubpartitionRange(i - first, next - first, input.numSubpartitions),
        });
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Flink's default decider

function fmtRange(r: IndexRange): string {
  return `[${r.start},${r.end}]`;
}

export function defaultParallelismDecider(options: DeciderOptions): ParallelismDecider {
  validateDeciderOptions(options);
  return { name: "default", decide: (vertex) => decideDefault(options, vertex) };
}

function decideDefault(options: DeciderOptions, vertex: VertexToDecide): ParallelismDecision {
  validateVertex(vertex);
  const avg = options.avgDataVolumePerTaskBytes;
  const user = vertex.userParallelism;
  const nonBroadcast = vertex.inputs.filter((i) => !i.broadcast);
  const nonBroadcastBytes = sum(nonBroadcast.map(inputBytes));

  // Only an undecided vertex has its bounds narrowed by its own max parallelism.
  const minP = user === undefined ? Math.min(options.minParallelism, vertex.maxParallelism) : options.minParallelism;
  const maxP = user === undefined ? Math.min(options.maxParallelism, vertex.maxParallelism) : options.maxParallelism;

  const finish = (
    path: DecisionPath,
    parallelism: number,
    inputRanges: SubtaskInputRange[][],
    extra: { greedyParallelism?: number; adjustedVolumeLimitBytes?: number } = {},
  ): ParallelismDecision => {
    if (!(Number.isSafeInteger(parallelism) && parallelism >= 1)) {
      throw new InvariantError(`vertex "${vertex.name}": decided parallelism ${parallelism} is not a positive integer`);
    }
    const notes = [
      extra.greedyParallelism !== undefined ? `greedy ${extra.greedyParallelism}` : undefined,
      extra.adjustedVolumeLimitBytes !== undefined ? `volume limit → ${extra.adjustedVolumeLimitBytes} B` : undefined,
    ].filter((s) => s !== undefined);
    const summary =
      `${vertex.name}: parallelism ${parallelism} by ${path}` +
      ` (${vertex.inputs.length} inputs, ${nonBroadcastBytes} non-broadcast B, avg ${avg} B/task,` +
      ` bounds [${minP},${maxP}], vertex max ${vertex.maxParallelism}` +
      (user !== undefined ? `, user ${user}` : "") +
      (notes.length > 0 ? `, ${notes.join(", ")}` : "") +
      ")";
    const record: DecisionRecord = {
      vertex: vertex.name,
      path,
      userParallelism: user,
      vertexMaxParallelism: vertex.maxParallelism,
      minParallelism: minP,
      maxParallelism: maxP,
      avgDataVolumePerTaskBytes: avg,
      inputs: vertex.inputs.map((i) => ({
        name: i.name,
        pattern: i.pattern,
        broadcast: i.broadcast,
        numPartitions: i.numPartitions,
        numSubpartitions: i.numSubpartitions,
        totalBytes: inputBytes(i),
      })),
      nonBroadcastBytes,
      ...extra,
      parallelism,
      summary,
    };
    return { parallelism, inputRanges, record };
  };

  if (vertex.inputs.length === 0) {
    if (user !== undefined) return finish("source-user", user, []);
    if (vertex.inferredSourceParallelism !== undefined) return finish("source-inferred", Math.min(vertex.inferredSourceParallelism, vertex.maxParallelism), []);
    return finish("source-default", Math.min(options.defaultSourceParallelism, vertex.maxParallelism), []);
  }

  const evenSubpartitions = (path: DecisionPath, extra = {}): ParallelismDecision => {
    let p: number;
    if (user !== undefined) {
      p = user;
    } else if (nonBroadcast.length === 0) {
      p = minP;
    } else {
      const maxSubpartitions = Math.max(...nonBroadcast.map((i) => i.numPartitions * i.numSubpartitions));
      p = Math.max(Math.ceil(nonBroadcastBytes / avg), Math.ceil(maxSubpartitions / MAX_SUBPARTITIONS_PER_TASK));
      p = Math.min(Math.max(p, minP), maxP);
    }
    return finish(path, p, vertex.inputs.map((i) => evenSubpartitionRanges(p, i)), extra);
  };

  if (user !== undefined) return evenSubpartitions("user-parallelism");
  const allToAll = vertex.inputs.every((i) => i.pattern === "ALL_TO_ALL");
  if (!allToAll || nonBroadcast.length === 0) return evenSubpartitions("even-subpartitions");

  // Every input all-to-all, some not broadcast: balance bytes.
  const numSubpartitions = nonBroadcast[0]!.numSubpartitions;
  for (const i of nonBroadcast) {
    if (i.numSubpartitions !== numSubpartitions) {
      throw new InputError(
        `vertex "${vertex.name}" input "${i.name}".numSubpartitions`,
        `all-to-all inputs must have equal subpartition counts, got ${i.numSubpartitions} and ${numSubpartitions}`,
      );
    }
  }
  const bytes = new Array<number>(numSubpartitions).fill(0);
  for (const i of nonBroadcast) {
    for (const row of i.subpartitionBytes) row.forEach((b, s) => (bytes[s]! += b));
  }
  const maxNumPartitions = Math.max(...nonBroadcast.map((i) => i.numPartitions));
  const maxRangeSize = Math.floor(MAX_SUBPARTITIONS_PER_TASK / maxNumPartitions);
  let ranges = packSubpartitions(bytes, avg, maxRangeSize);
  const greedyParallelism = ranges.length;
  let path: DecisionPath = "even-data";
  let adjustedVolumeLimitBytes: number | undefined;
  if (greedyParallelism < minP || greedyParallelism > maxP) {
    adjustedVolumeLimitBytes = bisectVolumeLimit(bytes, avg, maxRangeSize, minP, maxP);
    if (adjustedVolumeLimitBytes === undefined) {
      return evenSubpartitions("even-subpartitions-fallback", { greedyParallelism });
    }
    ranges = packSubpartitions(bytes, adjustedVolumeLimitBytes, maxRangeSize);
    path = "even-data-bisected";
  }
  const p = ranges.length;
  if (p < minP || p > maxP) {
    throw new InvariantError(`vertex "${vertex.name}": packed parallelism ${p} outside [${minP},${maxP}]`);
  }
  const inputRanges = vertex.inputs.map((i) =>
    ranges.map((r, subtask) => ({
      subtask,
      partitionRange: { start: 0, end: i.numPartitions - 1 },
      subpartitionRange: i.broadcast ? { start: 0, end: 0 } : r,
    })),
  );
  return finish(path, p, inputRanges, {
    greedyParallelism,
    ...(adjustedVolumeLimitBytes !== undefined ? { adjustedVolumeLimitBytes } : {}),
  });
}

/** "[0,3] [4,4] [5,9]": a compact rendering of one input's subpartition ranges. */
export function describeRanges(ranges: readonly SubtaskInputRange[]): string {
  return ranges.map((r) => fmtRange(r.subpartitionRange)).join(" ");
}

// ---------------------------------------------------------------------------------------
// Forward groups

/** One job vertex of a forward group (vertices joined by forward edges). */
export interface ForwardGroupMember {
  readonly name: string;
  readonly userParallelism?: number;
  readonly maxParallelism: number;
}

export interface ForwardGroupParallelism {
  readonly parallelism: number;
  /** The group's max parallelism: the smallest of its members', so the shared value fits all. */
  readonly maxParallelism: number;
  readonly decidedBy: "user" | "decider";
}

/**
 * Vertices joined by forward edges must run with one parallelism (Flink's ForwardGroup).
 * It is not a max or a min over members: if any member has a user-set parallelism, all
 * user-set values must agree and that value is the group's; otherwise the first member to
 * be decided decides for the group — `decide` is called once, with the group's max
 * parallelism (the smallest member max, as newer Flink's forward groups carry).
 */
export function forwardGroupParallelism(
  members: readonly ForwardGroupMember[],
  decide: (groupMaxParallelism: number) => number,
): ForwardGroupParallelism {
  if (members.length === 0) throw new InputError("forward group", "has no vertices");
  for (const m of members) {
    checkPositiveInt(`forward group vertex "${m.name}".maxParallelism`, m.maxParallelism);
    if (m.userParallelism !== undefined) checkPositiveInt(`forward group vertex "${m.name}".userParallelism`, m.userParallelism);
  }
  const maxParallelism = Math.min(...members.map((m) => m.maxParallelism));
  const set = members.filter((m) => m.userParallelism !== undefined);
  if (set.length > 0) {
    const first = set[0]!;
    for (const m of set) {
      if (m.userParallelism !== first.userParallelism) {
        throw new InputError(
          `forward group vertex "${m.name}".userParallelism`,
          `${m.userParallelism} differs from "${first.name}"'s ${first.userParallelism}; forward-connected vertices share one parallelism`,
        );
      }
    }
    const p = first.userParallelism!;
    if (p > maxParallelism) {
      throw new InputError(`forward group vertex "${first.name}".userParallelism`, `${p} exceeds the group max parallelism ${maxParallelism}`);
    }
    return { parallelism: p, maxParallelism, decidedBy: "user" };
  }
  const p = decide(maxParallelism);
  if (!(Number.isSafeInteger(p) && p >= 1 && p <= maxParallelism)) {
    throw new InvariantError(`forward group: decided parallelism ${p} outside [1,${maxParallelism}]`);
  }
  return { parallelism: p, maxParallelism, decidedBy: "decider" };
}
