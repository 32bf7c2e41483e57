/**
 * The cost model: how much virtual CPU time processing takes. The runtime runs the real
 * user functions on real records and charges the host the time computed here, never wall
 * time (DESIGN, "The engine"), so a run is a pure function of its inputs and a slower host
 * (speed < 1) or a costlier operator shows up as backpressure and latency.
 *
 * Invariants:
 * - Every field is a finite, non-negative number of ns at host speed 1 per the unit named
 *   last in the field (per record, per byte, per buffer, per access, per comparison).
 * - Functions return real numbers of ns (not rounded): the host rounds a work item's
 *   completion up to a whole ns once, so summing fractional costs loses nothing.
 * - Pure arithmetic: no state, no randomness; the same inputs always cost the same.
 *
 * Sources. Numbers are from the Flink project's JMH benchmarks (apache/flink-benchmarks,
 * results posted in Flink pull requests), other published measurements, or engineering
 * estimates where no measurement exists; each field says which. JMH results are Java on a
 * 2019–2021 x86 server or laptop core; the model treats that core as speed 1.
 */
import { InputError, closestName } from "../sim/errors";
import { describe } from "../sim/time";
import type { OperatorCost } from "./api/types";

export interface CostModel {
  /**
   * A FLIP-27 source reader hands one record to its output (SourceOperator.emitNext ->
   * ReaderOutput.collect, timestamp assignment). Estimate: a few virtual calls and a field
   * write, ~30 ns; consistent with the end-to-end check below.
   */
  readonly sourceEmitNsPerRecord: number;
  /**
   * One chained operator invocation for map / filter / flatMap / process (ChainingOutput
   * -> processElement, record counters), besides the user function itself. Estimate ~15 ns.
   * End-to-end check: flink-benchmarks InputBenchmark.mapRebalanceMapSink ran at
   * ≈10,180 records/ms ≈ 98 ns/record (apache/flink#12267, benchmark build #157, 2020);
   * with these defaults the producing task of that job costs ≈ 30 + 15 + 33 (serialize
   * 8 + 5 bytes) + 0.8 (a buffer per ≈2,500 records) ≈ 79 ns/record — the same order.
   */
  readonly chainedCallNsPerRecord: number;
  /**
   * Keyed input: key selector, murmur hash of the key to its key group, setCurrentKey on
   * the backend. Estimate ~40 ns (two hash computations and a few calls).
   */
  readonly keyContextNsPerRecord: number;
  /**
   * A sink writer takes one record into its open transaction's batch (SinkWriter.write),
   * besides any user cost. Estimate ~100 ns: a client-side append with a size check; a
   * scenario adds its external system's cost through the operator's cpuNsPerRecord.
   */
  readonly sinkWriteNsPerRecord: number;
  /**
   * Record writer, per record: channel selection, length prefix, serializer dispatch.
   * Published: the read of a 1-character string took ≈18.5 ns in the FLINK-15171 JMH
   * benchmark (apache/flink#10529, StringValue.readString); the write side is assumed
   * symmetric. 20 ns.
   */
  readonly serializeNsPerRecord: number;
  /**
   * Serialization, per byte of the record. Published (same FLINK-15171 benchmark): string
   * reads of 128 and 256 chars took ≈148 and ≈287 ns, a slope of ≈1.1 ns/byte; writes are
   * assumed slightly cheaper (no bounds checks on the target segment). 1.0 ns/byte.
   */
  readonly serializeNsPerByte: number;
  /** SpillingAdaptiveSpanningRecordDeserializer, per record (FLINK-15171: ≈18.5 ns). 20 ns. */
  readonly deserializeNsPerRecord: number;
  /** Deserialization, per byte (FLINK-15171 slope ≈1.1 ns/byte). */
  readonly deserializeNsPerByte: number;
  /**
   * Network stack, sending one buffer: finish the BufferBuilder, enqueue it on the
   * subpartition, credit bookkeeping, hand-off to the Netty event loop and the write.
   * Estimate ~2 µs (a thread hand-off and a channel write per buffer). Amortized over a
   * full 32 KiB buffer it is < 1 ns/record; with buffer-timeout 0 (a buffer per record) it
   * dominates, which is why Flink documents low timeouts as costly for throughput.
   */
  readonly bufferSendNsPerBuffer: number;
  /**
   * Network stack, receiving one buffer: Netty decode into a pooled buffer, enqueue on the
   * input channel, notify the gate, recycle after reading, credit announcement. Estimate
   * ~2 µs, symmetric to sending.
   */
  readonly bufferReceiveNsPerBuffer: number;
  /**
   * One keyed state access on the hashmap (heap) backend. flink-benchmarks, HEAP, in
   * apache/flink#15119 (2021): MapStateBenchmark.mapGet ≈3,506 ops/ms (≈285 ns),
   * mapAdd ≈4,429 ops/ms (≈226 ns), ListStateBenchmark.listGet ≈4,404 ops/ms (≈227 ns).
   * 250 ns.
   */
  readonly heapStateNsPerAccess: number;
  /**
   * One keyed state access on the rocksdb backend (key and value serialized, JNI, memtable
   * or block cache). flink-benchmarks ListStateBenchmark.listAppend ROCKSDB ≈315 ops/ms
   * (≈3.2 µs) vs HEAP ≈3,024 ops/ms, in flink-benchmarks PR #48 (2019). 3 µs: the fixed
   * part of an access (JNI call, small key and value serialization, memtable skip list or
   * cached block). The LSM model (engine/state/rocksdb-backend.ts) adds, per access, the
   * (de)serialization of the entry's bytes at serializeNsPerByte / deserializeNsPerByte,
   * and per block-cache miss the local disk's read time and the block's decompression.
   */
  readonly rocksdbStateNsPerAccess: number;
  /**
   * RocksDB block compression, per uncompressed byte (flushes, compaction output, and the
   * task thread when a checkpoint flushes the memtable). RocksDB compresses with Snappy by
   * default and Flink's default options keep it; Snappy's README: "compresses at about
   * 250 MB/sec or more" on one Core i7 core. 4 ns/byte.
   */
  readonly rocksdbCompressNsPerByte: number;
  /**
   * RocksDB block decompression, per uncompressed byte (compaction input, and a block read
   * from disk on a cache miss). Snappy's README: "decompresses at about 500 MB/sec or
   * more". 2 ns/byte.
   */
  readonly rocksdbDecompressNsPerByte: number;
  /**
   * One state access on BATCH mode's single-key backend: a field of the current key, no
   * hashing or map lookup. Estimate ~10 ns.
   */
  readonly batchStateNsPerAccess: number;
  /**
   * Registering one timer on the heap timer service (InternalTimerServiceImpl ->
   * HeapPriorityQueueSet: a dedup hash lookup and a heap sift-up). Estimate ~100 ns.
   */
  readonly timerRegisterNsPerTimer: number;
  /** Firing one timer (heap poll and onTimer dispatch), besides the user function. Estimate ~100 ns. */
  readonly timerFireNsPerTimer: number;
  /** Processing one watermark through an operator (min-combine, forward). Estimate ~50 ns. */
  readonly watermarkNsPerWatermark: number;
  /**
   * Window assignment of one record (WindowAssigner.assignWindows: compute the start,
   * allocate the window; WindowOperator lateness check and trigger onElement). Estimate ~50 ns.
   */
  readonly windowAssignNsPerRecord: number;
  /**
   * One comparison in BATCH mode's sort of keyed input (normalized-key prefix compare and
   * swap in memory segments, as in Flink's sorter). Estimate ~10 ns; sortNs charges
   * n·log2(n) of them.
   */
  readonly sortNsPerComparison: number;
  /**
   * Writing one record to a blocking sort-merge result (sort buffer append, spill
   * bookkeeping), besides serialization and the disk I/O time the simulated disk charges.
   * Derived: flink-benchmarks BlockingPartitionBenchmark.uncompressedFilePartition ran at
   * ≈8,050 records/ms (≈124 ns write + read, apache/flink#12267); minus ≈67 ns of
   * (de)serialization of its 8-byte records at the rates above leaves ≈57 ns, split evenly.
   * 30 ns.
   */
  readonly sortMergeWriteNsPerRecord: number;
  /** Reading one record back from a sort-merge file (same derivation). 30 ns. */
  readonly sortMergeReadNsPerRecord: number;
  /**
   * LZ4 compression of blocking-shuffle buffers, per uncompressed byte. Published: LZ4
   * 1.9.0 compresses at 780 MB/s on one Core i7-9700K core (lz4 README, lzbench, Silesia
   * corpus): 1.28 ns/byte.
   */
  readonly compressNsPerByte: number;
  /** LZ4 decompression per uncompressed byte: 4,970 MB/s in the same benchmark, 0.2 ns/byte. */
  readonly decompressNsPerByte: number;
  /**
   * The fixed part of a subtask's synchronous checkpoint phase: the barrier's mailbox
   * action, snapshot calls on every chained operator, the barrier broadcast. Estimate
   * ~200 µs: Flink's web UI reports sync durations of "0 ms"–"a few ms" for small heap
   * state (docs: ops/monitoring/checkpoint_monitoring), so well under a millisecond.
   */
  readonly snapshotSyncNsPerCheckpoint: number;
  /**
   * The heap backend's synchronous snapshot, per state entry or timer: the copy-on-write
   * state map copies its bucket array and pins entry versions (CopyOnWriteStateMap
   * .stateSnapshot), a pointer copy per entry. Estimate 10 ns. The entries are serialized
   * in the asynchronous phase at serializeNsPerByte, restored at deserializeNsPerByte.
   */
  readonly snapshotNsPerEntry: number;
  /**
   * Starting a deployed task, before it reads or restores anything: the TaskManager
   * deserializes the deployment descriptor, instantiates and opens the operator chain, and
   * sets up its result partitions and input gates (Task.doRun up to invoke). Charged as CPU
   * on the task's host. No benchmark isolates it; Flink's web UI timelines of short batch
   * tasks show tens of milliseconds between DEPLOYING and RUNNING once classes are loaded,
   * and scenarios about per-task overhead set ~20 ms (adaptive-parallelism). Default 0:
   * the other scenarios and the timing-sensitive regression cases were calibrated without
   * it; turning it on everywhere means recalibrating them.
   */
  readonly taskStartupNsPerTask: number;
}

export const DEFAULT_COSTS: CostModel = Object.freeze({
  sourceEmitNsPerRecord: 30,
  chainedCallNsPerRecord: 15,
  keyContextNsPerRecord: 40,
  sinkWriteNsPerRecord: 100,
  serializeNsPerRecord: 20,
  serializeNsPerByte: 1.0,
  deserializeNsPerRecord: 20,
  deserializeNsPerByte: 1.1,
  bufferSendNsPerBuffer: 2_000,
  bufferReceiveNsPerBuffer: 2_000,
  heapStateNsPerAccess: 250,
  rocksdbStateNsPerAccess: 3_000,
  rocksdbCompressNsPerByte: 4,
  rocksdbDecompressNsPerByte: 2,
  batchStateNsPerAccess: 10,
  timerRegisterNsPerTimer: 100,
  timerFireNsPerTimer: 100,
  watermarkNsPerWatermark: 50,
  windowAssignNsPerRecord: 50,
  sortNsPerComparison: 10,
  sortMergeWriteNsPerRecord: 30,
  sortMergeReadNsPerRecord: 30,
  compressNsPerByte: 1.28,
  decompressNsPerByte: 0.2,
  snapshotSyncNsPerCheckpoint: 200_000,
  snapshotNsPerEntry: 10,
  taskStartupNsPerTask: 0,
});

export type CostField = keyof CostModel;

/** The field names, in declaration order (deterministic iteration for validation and display). */
export const COST_FIELDS: readonly CostField[] = Object.keys(DEFAULT_COSTS) as CostField[];

/** What an operator does to a record, which decides the framework's share of its cost. */
export type RecordKind = "source" | "map" | "filter" | "flatMap" | "process" | "keyed" | "window" | "sink";

export const RECORD_KINDS: readonly RecordKind[] = ["source", "map", "filter", "flatMap", "process", "keyed", "window", "sink"];

/** Which backend serves keyed state accesses: hashmap, rocksdb, or BATCH's single-key backend. */
export type StateBackendKind = "hashmap" | "rocksdb" | "batch";

/**
 * State accesses per record when the operator does not declare them: a keyed reduce reads
 * and writes its value (StreamGroupedReduceOperator: value() then update()); a window
 * operator adds the record to the window's state once (AppendingState.add).
 */
export const DEFAULT_STATE_ACCESSES_PER_RECORD: Readonly<Record<RecordKind, number>> = Object.freeze({
  source: 0,
  map: 0,
  filter: 0,
  flatMap: 0,
  process: 0,
  keyed: 2,
  window: 1,
  sink: 0,
});

/**
 * CPU ns (host speed 1) to process one record in an operator of `kind`: the framework's
 * per-record share, the user function's declared cost, and its keyed state accesses.
 * (De)serialization and network buffers depend on bytes and are charged where records
 * cross a network or file boundary (serializationNs, deserializationNs, buffer fields).
 */
export function recordCpuNs(
  cost: OperatorCost | undefined,
  kind: RecordKind,
  costs: CostModel = DEFAULT_COSTS,
  backend: StateBackendKind = "hashmap",
): number {
  let frameworkNs: number;
  switch (kind) {
    case "source":
      frameworkNs = costs.sourceEmitNsPerRecord;
      break;
    case "map":
    case "filter":
    case "flatMap":
    case "process":
      frameworkNs = costs.chainedCallNsPerRecord;
      break;
    case "keyed":
      frameworkNs = costs.chainedCallNsPerRecord + costs.keyContextNsPerRecord;
      break;
    case "window":
      // Each record re-registers its window's end timer (deduplicated by the timer set).
      frameworkNs =
        costs.chainedCallNsPerRecord +
        costs.keyContextNsPerRecord +
        costs.windowAssignNsPerRecord +
        costs.timerRegisterNsPerTimer;
      break;
    case "sink":
      frameworkNs = costs.sinkWriteNsPerRecord;
      break;
  }
  const accesses = cost?.stateAccessesPerRecord ?? DEFAULT_STATE_ACCESSES_PER_RECORD[kind];
  return frameworkNs + (cost?.cpuNsPerRecord ?? 0) + accesses * stateAccessNs(backend, costs);
}

/** CPU ns of one keyed state access on `backend`. */
export function stateAccessNs(backend: StateBackendKind, costs: CostModel = DEFAULT_COSTS): number {
  switch (backend) {
    case "hashmap":
      return costs.heapStateNsPerAccess;
    case "rocksdb":
      return costs.rocksdbStateNsPerAccess;
    case "batch":
      return costs.batchStateNsPerAccess;
  }
}

/** CPU ns to serialize `records` records totalling `bytes` bytes into network or file buffers. */
export function serializationNs(bytes: number, records = 1, costs: CostModel = DEFAULT_COSTS): number {
  return records * costs.serializeNsPerRecord + bytes * costs.serializeNsPerByte;
}

/** CPU ns to deserialize `records` records totalling `bytes` bytes from input buffers. */
export function deserializationNs(bytes: number, records = 1, costs: CostModel = DEFAULT_COSTS): number {
  return records * costs.deserializeNsPerRecord + bytes * costs.deserializeNsPerByte;
}

/** CPU ns to LZ4-compress `bytes` bytes of blocking-shuffle data. */
export function compressionNs(bytes: number, costs: CostModel = DEFAULT_COSTS): number {
  return bytes * costs.compressNsPerByte;
}

/** CPU ns to decompress data that was `bytes` bytes before compression. */
export function decompressionNs(bytes: number, costs: CostModel = DEFAULT_COSTS): number {
  return bytes * costs.decompressNsPerByte;
}

/**
 * CPU ns to sort `records` records by key: n·log2(n) comparisons (0 for n < 2), the cost
 * BATCH mode charges for sorted keyed inputs even when it groups by hash internally.
 */
export function sortNs(records: number, costs: CostModel = DEFAULT_COSTS): number {
  if (!Number.isSafeInteger(records) || records < 0) {
    throw new InputError("records", `must be a non-negative integer, got ${records}`);
  }
  if (records < 2) return 0;
  return records * Math.log2(records) * costs.sortNsPerComparison;
}

/**
 * A cost model with some fields overridden (a scenario's `costs`). Throws an InputError
 * naming `field.name` for an unknown field (with a suggestion) or a value that is not a
 * finite number ≥ 0.
 */
export function withCosts(partial: unknown, base: CostModel = DEFAULT_COSTS, field = "costs"): CostModel {
  if (typeof partial !== "object" || partial === null || Array.isArray(partial)) {
    throw new InputError(field, `expected an object of cost fields to ns, got ${describe(partial)}`);
  }
  const overrides = partial as Record<string, unknown>;
  // Sorted so the first error reported does not depend on the input's property order.
  const names = Object.keys(overrides).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const next: Record<string, number> = { ...base };
  for (const name of names) {
    const where = `${field}.${name}`;
    if (!(COST_FIELDS as readonly string[]).includes(name)) {
      const hint = closestName(name, COST_FIELDS);
      throw new InputError(where, "unknown cost field" + (hint !== undefined ? ` (did you mean "${hint}"?)` : ""));
    }
    const value = overrides[name];
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new InputError(where, `expected a number of ns, got ${describe(value)}`);
    }
    if (value < 0) throw new InputError(where, `must be ≥ 0, got ${value}`);
    next[name] = value;
  }
  return Object.freeze(next) as unknown as CostModel;
}

/**
 * Validates an operator's declared cost (the API layer calls it when a job is built):
 * each present field must be a finite number ≥ 0. `field` names the operator.
 */
export function checkOperatorCost(cost: OperatorCost, field: string): void {
  for (const name of ["cpuNsPerRecord", "recordBytes", "stateAccessesPerRecord"] as const) {
    const value: unknown = cost[name];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new InputError(`${field}.${name}`, `expected a number, got ${describe(value)}`);
    }
    if (value < 0) throw new InputError(`${field}.${name}`, `must be ≥ 0, got ${value}`);
  }
}
