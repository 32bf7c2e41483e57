/**
 * Settings of one TaskManager's shuffle environment, by the meaning of Flink's options
 * (the engine config maps option names onto these), plus the model's named constants:
 * wire and file header sizes, the LZ4 ratio, read-ahead and the limits on queues.
 *
 * Invariant: a ResolvedShuffleParams has every field set and validated; all sizes are
 * whole bytes, all times whole ns.
 */
import { InputError } from "../../../sim/errors";
import { NS_PER_MS, NS_PER_S, describe, type Ns } from "../../../sim/time";
import { DEFAULT_BUFFER_SIZE_BYTES } from "../buffer";

export interface ShuffleParams {
  /** taskmanager.memory.segment-size (32 KiB). */
  bufferSizeBytes: number;
  /** taskmanager.network.memory.buffers-per-channel (2): exclusive credits of a remote input channel. */
  exclusiveBuffersPerChannel: number;
  /** taskmanager.network.memory.floating-buffers-per-gate (8). */
  floatingBuffersPerGate: number;
  /** taskmanager.network.memory.max-buffers-per-channel (10): a subpartition holding this many makes its pool unavailable (≥ 2). */
  maxBuffersPerChannel: number;
  /** taskmanager.network.memory.max-overdraft-buffers-per-gate (5). */
  maxOverdraftBuffersPerGate: number;
  /** The TaskManager's network memory; buffers = floor(networkMemoryBytes / bufferSizeBytes). */
  networkMemoryBytes: number;
  /** execution.buffer-timeout: > 0 flush on that grid, 0 flush after every record, −1 / undefined never. */
  bufferTimeoutNs?: number;
  /** taskmanager.network.blocking-shuffle.compression.enabled (true in Flink; applies to BLOCKING and HYBRID only). */
  compression?: boolean;
  /** taskmanager.network.sort-shuffle.min-buffers (512): buffers a sort-merge partition reserves. */
  sortShuffleMinBuffers?: number;
  /** taskmanager.network.sort-shuffle.min-parallelism (1): BLOCKING results with fewer subpartitions use the hash layout. */
  sortShuffleMinParallelism?: number;
  /** taskmanager.network.request-backoff.initial (100 ms): first retry of a partition request that found nothing. */
  requestBackoffInitialNs?: number;
  /** taskmanager.network.request-backoff.max (10 s): the retries stop once the backoff reached it. */
  requestBackoffMaxNs?: number;
  /**
   * taskmanager.network.memory.read-buffer.required-per-gate.max (no default: 1000 for
   * blocking and hybrid gates, unlimited for pipelined ones).
   */
  readBufferRequiredPerGateMax?: number;
}

export interface ResolvedShuffleParams {
  readonly bufferSizeBytes: number;
  readonly exclusiveBuffersPerChannel: number;
  readonly floatingBuffersPerGate: number;
  readonly maxBuffersPerChannel: number;
  readonly maxOverdraftBuffersPerGate: number;
  readonly networkMemoryBytes: number;
  /** −1 when disabled. */
  readonly bufferTimeoutNs: number;
  readonly compression: boolean;
  readonly sortShuffleMinBuffers: number;
  readonly sortShuffleMinParallelism: number;
  readonly requestBackoffInitialNs: Ns;
  readonly requestBackoffMaxNs: Ns;
  /** undefined: Flink's per-type default (gateBuffersSpec). */
  readonly readBufferRequiredPerGateMax: number | undefined;
  /** floor(networkMemoryBytes / bufferSizeBytes). */
  readonly totalBuffers: number;
}

export const DEFAULT_BUFFER_TIMEOUT_NS = 100 * NS_PER_MS;
export const DEFAULT_SORT_SHUFFLE_MIN_BUFFERS = 512;
export const DEFAULT_REQUEST_BACKOFF_INITIAL_NS = 100 * NS_PER_MS;
export const DEFAULT_REQUEST_BACKOFF_MAX_NS = 10 * NS_PER_S;

/** Flink's defaults around a given network memory size. */
export function defaultShuffleParams(networkMemoryBytes: number): ShuffleParams {
  return {
    bufferSizeBytes: DEFAULT_BUFFER_SIZE_BYTES,
    exclusiveBuffersPerChannel: 2,
    floatingBuffersPerGate: 8,
    maxBuffersPerChannel: 10,
    maxOverdraftBuffersPerGate: 5,
    networkMemoryBytes,
    bufferTimeoutNs: DEFAULT_BUFFER_TIMEOUT_NS,
    compression: true,
    sortShuffleMinBuffers: DEFAULT_SORT_SHUFFLE_MIN_BUFFERS,
    requestBackoffInitialNs: DEFAULT_REQUEST_BACKOFF_INITIAL_NS,
    requestBackoffMaxNs: DEFAULT_REQUEST_BACKOFF_MAX_NS,
  };
}

/**
 * LZ4's compression ratio: the lz4 README benchmark (lz4 1.9, default level, Silesia
 * corpus) gives 2.101 : 1. Flink compresses each shuffle buffer on its own and keeps it
 * uncompressed when that is not smaller; with one fixed ratio that never happens except
 * for buffers of a few bytes. A constant, because records carry only declared sizes.
 */
export const LZ4_COMPRESSION_RATIO = 1 / 2.101;

/** Per-buffer header in a sort-merge data file (BufferReaderWriterUtil.HEADER_LENGTH: flags + size). */
export const FILE_BUFFER_HEADER_BYTES = 8;
/** One index entry per (region, subpartition): file offset (long) + number of buffers (int). */
export const INDEX_ENTRY_BYTES = 12;
/**
 * Buffers a blocking-partition reader keeps read ahead (queued or held by the consumer)
 * before it reads the next region chunk: 1 MiB at 32 KiB, about what Flink's read
 * scheduler hands one reader per round from the 64 MiB batch-shuffle read pool.
 */
export const READ_AHEAD_BUFFERS = 32;
/**
 * Hybrid shuffle spilling, Flink 1.16 defaults (HybridShuffleConfiguration): the full
 * strategy spills once 10 finished buffers are unspilled; both strategies act when the
 * buffers in memory reach 70 % of the pool, then release (FULL) or spill and release
 * (SELECTIVE) 40 % of the pool.
 */
export const HYBRID_FULL_SPILL_TRIGGER_BUFFERS = 10;
export const HYBRID_MEMORY_THRESHOLD_RATIO = 0.7;
export const HYBRID_RELEASE_RATIO = 0.4;
/** Flink's DEFAULT_HYBRID_SHUFFLE_MIN_BUFFERS: a hybrid pool needs min(8, n + 1). */
export const HYBRID_MIN_BUFFERS = 8;

/** InputGateSpecUtils.DEFAULT_MAX_REQUIRED_BUFFERS_PER_GATE_FOR_BATCH (FLIP-266). */
export const DEFAULT_MAX_REQUIRED_BUFFERS_PER_GATE_BATCH = 1000;

/** An input gate's buffers (Flink's GateBuffersSpec). */
export interface GateBuffersSpec {
  /** Exclusive buffers of each remote channel. */
  readonly exclusivePerChannel: number;
  /** The floating pool's guaranteed size. */
  readonly requiredFloating: number;
  /** The floating pool's largest size. */
  readonly totalFloating: number;
}

/**
 * Flink's InputGateSpecUtils.createGateBuffersSpec (FLIP-266, 1.17+): a gate wants
 * `channels × buffers-per-channel + 1` required buffers; if that exceeds the gate's limit
 * (read-buffer.required-per-gate.max: 1000 for blocking and hybrid gates unless set,
 * unlimited for pipelined ones), exclusive buffers shrink — to 0 once there are more
 * channels than the limit — and the floating pool makes up the rest. Small gates keep
 * `buffers-per-channel` exclusive each and 1..floating-per-gate floating, as before. Without
 * it, a consumer reading thousands of subpartitions (the adaptive batch scheduler's ranges)
 * could never reserve its exclusive buffers.
 */
export function gateBuffersSpec(numChannels: number, params: ResolvedShuffleParams, blocking: boolean): GateBuffersSpec {
  const per = params.exclusiveBuffersPerChannel;
  const limit = params.readBufferRequiredPerGateMax ?? (blocking ? DEFAULT_MAX_REQUIRED_BUFFERS_PER_GATE_BATCH : Number.POSITIVE_INFINITY);
  const targetRequired = numChannels * per + 1;
  const targetTotal = numChannels * per + params.floatingBuffersPerGate;
  const required = Math.min(limit, targetRequired);
  const exclusivePerChannel = required < numChannels ? 0 : Math.min(per, Math.floor((required - 1) / numChannels));
  const exclusive = numChannels * exclusivePerChannel;
  return { exclusivePerChannel, requiredFloating: Math.max(1, required - exclusive), totalFloating: Math.max(1, targetTotal - exclusive) };
}

/** Limits (DESIGN style rule 3). */
export const MAX_SUBPARTITIONS = 32_768;
export const MAX_CHANNELS_PER_GATE = 32_768;
/** Output elements a writer may hold while it waits for a buffer mid-record. */
export const MAX_BLOCKED_ELEMENTS = 1_000_000;
/** Buffers queued in one subpartition or one input channel. */
export const MAX_QUEUED_BUFFERS = 1_000_000;

function checkInt(value: unknown, field: string, min: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new InputError(field, `must be an integer ≥ ${min}, got ${describe(value)}`);
  }
  return value;
}

/** Validates params (errors name `field`.<key>) and fills in Flink's defaults. */
export function resolveShuffleParams(p: ShuffleParams, field = "shuffle"): ResolvedShuffleParams {
  if (p === null || typeof p !== "object") throw new InputError(field, `expected an object, got ${describe(p)}`);
  const bufferSizeBytes = checkInt(p.bufferSizeBytes, `${field}.bufferSizeBytes`, 64);
  const exclusiveBuffersPerChannel = checkInt(p.exclusiveBuffersPerChannel, `${field}.exclusiveBuffersPerChannel`, 0);
  const floatingBuffersPerGate = checkInt(p.floatingBuffersPerGate, `${field}.floatingBuffersPerGate`, 0);
  if (exclusiveBuffersPerChannel + floatingBuffersPerGate === 0) {
    throw new InputError(`${field}.floatingBuffersPerGate`, "must be ≥ 1 when exclusiveBuffersPerChannel is 0, or no channel could ever receive");
  }
  const maxBuffersPerChannel = checkInt(p.maxBuffersPerChannel, `${field}.maxBuffersPerChannel`, 1);
  if (maxBuffersPerChannel < 2) {
    // Flink's LocalBufferPool counts the open (partly filled) buffer against the quota, so
    // with 1 a subpartition's unfinished buffer alone makes the producer unavailable and it
    // can never fill that buffer: a deadlock in Flink too.
    throw new InputError(`${field}.maxBuffersPerChannel`, "must be ≥ 2: with 1 the partly filled buffer alone holds the quota and the producer can never continue");
  }
  const maxOverdraftBuffersPerGate = checkInt(p.maxOverdraftBuffersPerGate, `${field}.maxOverdraftBuffersPerGate`, 0);
  const networkMemoryBytes = checkInt(p.networkMemoryBytes, `${field}.networkMemoryBytes`, 0);
  let bufferTimeoutNs = p.bufferTimeoutNs ?? -1;
  if (bufferTimeoutNs !== -1) bufferTimeoutNs = checkInt(bufferTimeoutNs, `${field}.bufferTimeoutNs`, 0);
  if (p.compression !== undefined && typeof p.compression !== "boolean") {
    throw new InputError(`${field}.compression`, `must be a boolean, got ${describe(p.compression)}`);
  }
  const sortShuffleMinBuffers = checkInt(p.sortShuffleMinBuffers ?? DEFAULT_SORT_SHUFFLE_MIN_BUFFERS, `${field}.sortShuffleMinBuffers`, 2);
  const sortShuffleMinParallelism = checkInt(p.sortShuffleMinParallelism ?? 1, `${field}.sortShuffleMinParallelism`, 1);
  const requestBackoffInitialNs = checkInt(p.requestBackoffInitialNs ?? DEFAULT_REQUEST_BACKOFF_INITIAL_NS, `${field}.requestBackoffInitialNs`, 0);
  const requestBackoffMaxNs = checkInt(p.requestBackoffMaxNs ?? DEFAULT_REQUEST_BACKOFF_MAX_NS, `${field}.requestBackoffMaxNs`, 0);
  const readBufferRequiredPerGateMax = p.readBufferRequiredPerGateMax === undefined ? undefined : checkInt(p.readBufferRequiredPerGateMax, `${field}.readBufferRequiredPerGateMax`, 1);
  return {
    bufferSizeBytes,
    exclusiveBuffersPerChannel,
    floatingBuffersPerGate,
    maxBuffersPerChannel,
    maxOverdraftBuffersPerGate,
    networkMemoryBytes,
    bufferTimeoutNs,
    compression: p.compression ?? true,
    sortShuffleMinBuffers,
    sortShuffleMinParallelism,
    requestBackoffInitialNs,
    requestBackoffMaxNs,
    readBufferRequiredPerGateMax,
    totalBuffers: Math.floor(networkMemoryBytes / bufferSizeBytes),
  };
}

/** Bytes a buffer's payload takes compressed (never more than uncompressed). */
export function compressedSize(sizeBytes: number): number {
  return Math.min(sizeBytes, Math.ceil(sizeBytes * LZ4_COMPRESSION_RATIO));
}
