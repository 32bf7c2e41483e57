/**
 * The oracle: the expected output of a bounded job, computed by running the same program
 * plainly in memory — no simulation, no faults, parallelism 1 per node.
 *
 * How (and why it matches a correct simulated run):
 * - sources are read completely with the same split and record generation as the runtime:
 *   createSplits(1, sourceRng(jobRng(root), node.name)) and readers from
 *   createReader(0, readerRng(jobRng(root), node.name, 0)) — record data depends only on the
 *   split streams, never on parallelism (sources.ts, job-rng.ts);
 * - nodes run in id order (topological) through an OperatorHarness each, with the same
 *   operator factories as the runtime, so the user functions are the real ones;
 * - keyed nodes keep state per key; STREAMING gets a single final MAX watermark after all
 *   input (so every window and event-time timer fires at the end — for event-time jobs
 *   whose disorder is within the watermark bound this equals the simulated output);
 *   BATCH sorts keyed input by key and ends each key with its timers, as §8 says;
 * - sinks write into an in-memory ExternalStore; the output of a sink is what it committed.
 * Every node sees all its input before the final watermark and endInput, in that order, as
 * a Flink task does at end of input.
 */
import { InputError, InvariantError, assert } from "../../sim/errors";
import { Rng, type Seed } from "../../sim/rng";
import { sideOutputTagOf } from "../api/environment";
import { jobRng, operatorRng, readerRng, sourceRng } from "../api/job-rng";
import { assignSplits } from "../api/sources";
import { MAX_WATERMARK, type RuntimeMode } from "../api/types";
import type { StreamEdge, StreamGraph, StreamNode } from "../graph/stream-graph";
import { ExternalStore } from "../external-store";
import { OperatorHarness, type TimestampedValue } from "./harness";

export { compareWithOracle, type CompareMode, type CompareOptions, type CompareResult, type Discrepancy } from "./compare";

export interface OracleOptions {
  runtimeMode: RuntimeMode;
  /** The run's root Rng (world.rng), or its seed (Rng.root(seed)); the job's streams hang off jobRng(root). */
  seed: Rng | Seed;
  /** Limit on records read from all sources (default MAX_ORACLE_RECORDS). */
  maxRecords?: number;
}

/** A limit on everything (DESIGN style 3): the oracle is for test-sized inputs. */
export const MAX_ORACLE_RECORDS = 10_000_000;

/** Records per poll when draining a reader. */
const POLL_BATCH = 4096;

export interface OracleRun {
  /** Committed output per sink name (every sink of the graph, possibly empty). */
  readonly outputs: Map<string, unknown[]>;
  readonly store: ExternalStore;
  /** Records read from all sources. */
  readonly recordsRead: number;
  /** Side-output records no edge consumed, per tag (e.g. late data without a late sink). */
  readonly unconsumedSideOutputs: Map<string, number>;
}

/** Expected committed output per sink. */
export function runOracle(graph: StreamGraph, opts: OracleOptions): Map<string, unknown[]> {
  return runOracleDetailed(graph, opts).outputs;
}

export function runOracleDetailed(graph: StreamGraph, opts: OracleOptions): OracleRun {
  const job = jobRng(opts.seed instanceof Rng ? opts.seed : Rng.root(opts.seed));
  const maxRecords = opts.maxRecords ?? MAX_ORACLE_RECORDS;
  const store = new ExternalStore();
  const outputs = new Map<number, { main: TimestampedValue[]; side: Map<string, TimestampedValue[]> }>();
  const unconsumed = new Map<string, number>();
  let recordsRead = 0;

  graph.nodes.forEach((node, id) => {
    assert(node.id === id, `oracle: node ids must be dense (node at ${id} has id ${node.id})`);
    const harness = new OperatorHarness(node.operator(0), {
      runtimeMode: opts.runtimeMode,
      ...(node.keySelector !== undefined ? { keySelector: node.keySelector } : {}),
      ...(node.keySelector2 !== undefined ? { keySelector2: node.keySelector2 } : {}),
      operatorName: node.name,
      subtaskIndex: 0,
      parallelism: 1,
      maxParallelism: node.maxParallelism ?? 128,
      external: store,
      rng: operatorRng(job, node.name, 0),
    });
    harness.open();

    if (node.kind === "source") {
      recordsRead += readSource(node, job, maxRecords - recordsRead, harness);
    } else {
      const values: unknown[] = [];
      const timestamps: number[] = [];
      const inputs: number[] = [];
      for (const edge of inputOrder(graph.inEdges(id))) {
        const up = outputs.get(edge.sourceId);
        assert(up !== undefined, `oracle: node ${id} consumes node ${edge.sourceId}, which has not run (ids not topological?)`);
        const tag = sideOutputTagOf(edge);
        const input = tag === undefined ? up.main : (up.side.get(tag) ?? []);
        for (const r of input) {
          values.push(r.value);
          timestamps.push(r.timestampMs);
          inputs.push(edge.typeNumber);
        }
      }
      if (opts.runtimeMode === "BATCH" && node.keySelector !== undefined) {
        harness.processBatchKeyed(values, timestamps, inputs);
      } else {
        for (let i = 0; i < values.length; i++) {
          if (inputs[i] === 0) harness.processElement(values[i], timestamps[i]!);
          else harness.processElement2(values[i], timestamps[i]!);
        }
      }
    }
    harness.processWatermark(MAX_WATERMARK);
    harness.endInput();
    harness.close();
    outputs.set(id, { main: harness.output, side: harness.sideOutputs });

    const consumedTags = new Set(graph.outEdges(id).map(sideOutputTagOf));
    for (const [tag, list] of harness.sideOutputs) {
      if (!consumedTags.has(tag)) unconsumed.set(tag, (unconsumed.get(tag) ?? 0) + list.length);
    }
  });

  const result = new Map<string, unknown[]>();
  for (const node of graph.nodes) {
    if (node.sinkName !== undefined && !result.has(node.sinkName)) result.set(node.sinkName, [...store.committed(node.sinkName)]);
  }
  return { outputs: result, store, recordsRead, unconsumedSideOutputs: unconsumed };
}

/**
 * The order the oracle feeds a node's input edges: broadcast edges first (a job whose result
 * depends on it expects its broadcast data — rules, a dimension table — to be there before
 * the data it applies to; Flink's BATCH mode reads broadcast inputs first too), then by
 * input, then by edge (creation order).
 */
function inputOrder(edges: readonly StreamEdge[]): StreamEdge[] {
  const rank = (e: StreamEdge) => (e.partitioner === "broadcast" ? 0 : 1);
  return [...edges].sort((a, b) => rank(a) - rank(b) || a.typeNumber - b.typeNumber || a.id - b.id);
}

function readSource(node: StreamNode, job: Rng, budget: number, harness: OperatorHarness): number {
  const spec = node.source;
  assert(spec !== undefined, `oracle: source node ${node.name} has no SourceSpec`);
  if (!spec.bounded) throw new InputError(`source ${node.name}`, "is unbounded; the oracle needs bounded input");
  const splits = spec.createSplits(1, sourceRng(job, node.name));
  const reader = spec.createReader(0, readerRng(job, node.name, 0));
  for (const split of assignSplits(splits, 1)[0]!) reader.addSplit(split);
  reader.noMoreSplits();
  // Rate-limited readers anchor their schedule at their first look at the clock: anchor
  // at time 0, then everything a bounded source will ever hold is available at the end of time.
  reader.nextAvailableNs(0);
  const nowNs = Number.MAX_SAFE_INTEGER;
  let read = 0;
  const emit = (value: unknown, timestampMs: number) => harness.processElement(value, timestampMs);
  while (!reader.isFinished()) {
    const n = reader.poll(nowNs, POLL_BATCH, emit);
    read += n;
    if (read > budget) throw new InputError(`source ${node.name}`, `more than ${budget} records: too many for the oracle`);
    if (n === 0 && !reader.isFinished()) {
      throw new InvariantError(`oracle: source ${node.name} is neither finished nor has records available at the end of time`);
    }
  }
  return read;
}
