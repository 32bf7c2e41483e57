/**
 * Every engine option, by its exact Apache Flink name, with Flink's default (1.19–2.0) and
 * validation; the typed, immutable EngineConfig built from a scenario's `config` and the
 * CLI's `--set key=value`; and the derived quantities the runtime needs (network memory,
 * buffers per TaskManager, default max parallelism).
 *
 * Invariants:
 * - Stored values are canonical: durations are integer ns, memory sizes integer bytes,
 *   enum values spelled as registered; an EngineConfig never holds an unvalidated value.
 * - Input follows Flink's syntax: a duration is a number and a unit (ns, us, ms, s, min,
 *   h, d, and Flink's long names) and a bare number is milliseconds, as in Flink's
 *   TimeUtils; a memory size is an integer and an optional binary unit (b, kb, mb, gb,
 *   tb; Flink's MemorySize) and a bare number is bytes.
 * - Every option is "modelled" (setting it changes some scenario's run) or carries the
 *   reason it has no effect yet (DESIGN, style rule 10); `optionsWithoutEffect()` lists them.
 * - Iteration is in key order (sorted by code unit), never in insertion order of input.
 */
import { InputError, assert, closestName } from "../sim/errors";
import { BATCH_SHUFFLE_MODES } from "./graph/job-graph";
import { HYBRID_CONSUME_CONSTRAINTS, type HybridConsumeConstraint } from "./graph/result-partition-type";
import { NS_PER_MS, NS_PER_S, NS_PER_MIN, NS_PER_H, describe, parseDuration } from "../sim/time";

export type OptionType = "duration" | "int" | "number" | "boolean" | "enum" | "memory" | "string";

/** "modelled": the engine reads it; otherwise why it does not (yet) change a run. */
export type OptionEffect = "modelled" | { readonly noEffectYet: string };

export interface OptionDefinition {
  /** Flink's option name, exactly. */
  readonly key: string;
  readonly type: OptionType;
  /**
   * Flink's default, in canonical units (ns for durations, bytes for memory sizes);
   * null when Flink has no default and the option is unset unless given.
   */
  readonly default: number | boolean | string | null;
  /** One line, in our own words. */
  readonly description: string;
  /** Enum options: the allowed values, canonical spelling. */
  readonly values?: readonly string[];
  /** Enum options: other spellings Flink accepts, mapped to the canonical value. */
  readonly valueAliases?: Readonly<Record<string, string>>;
  /** Numeric bounds in canonical units, inclusive unless marked exclusive. */
  readonly min?: number;
  readonly max?: number;
  readonly minExclusive?: boolean;
  readonly maxExclusive?: boolean;
  /** A further check on the canonical value; returns the problem, if any. */
  readonly check?: (value: number) => string | undefined;
  /** Other keys Flink accepts for this option (deprecated or renamed ones). */
  readonly aliases?: readonly string[];
  readonly effect: OptionEffect;
}

const KIB = 1024;
const MIB = 1024 * KIB;
const GIB = 1024 * MIB;

/** Java's Integer.MAX_VALUE: Flink's int options are 32-bit. */
const JAVA_INT_MAX = 2_147_483_647;
const JAVA_INT_MIN = -2_147_483_648;

/**
 * Stands for Flink's MemorySize.MAX_VALUE (Long.MAX_VALUE bytes, shown as "infinite"),
 * which a JS number cannot hold exactly; sizes at or above it parse to it.
 */
export const UNBOUNDED_MEMORY_BYTES = Number.MAX_SAFE_INTEGER;

/** KeyGroupRangeAssignment: bounds of the derived default max parallelism. */
export const DEFAULT_LOWER_BOUND_MAX_PARALLELISM = 128;
export const UPPER_BOUND_MAX_PARALLELISM = 32_768;

/** CheckpointConfig.MINIMAL_CHECKPOINT_TIME: interval and timeout must be at least this. */
const MINIMAL_CHECKPOINT_TIME_NS = 10 * NS_PER_MS;

/** flowsim's limit on spare TaskManagers (Flink takes any int; each one here is a host). */
export const MAX_REDUNDANT_TASK_MANAGERS = 1000;

/** MemoryManager.MIN_PAGE_SIZE: the smallest allowed memory segment. */
const MIN_PAGE_SIZE_BYTES = 4 * KIB;


/**
 * The registry. Order here is for reading (grouped by subsystem); the API iterates in key
 * order. Sources: apache/flink `*Options.java` of 1.19 and the 1.19 configuration docs;
 * reference/flink-mechanics.md §1, §4, §5, §8, §9.
 */
const OPTION_LIST = [
  // ---- execution (§8) ----------------------------------------------------------------
  {
    key: "execution.runtime-mode",
    type: "enum",
    values: ["STREAMING", "BATCH", "AUTOMATIC"],
    default: "STREAMING",
    description: "Run as an unbounded stream, as a batch job, or batch exactly when every source is bounded (AUTOMATIC).",
    effect: "modelled",
  },
  {
    key: "execution.batch-shuffle-mode",
    type: "enum",
    values: BATCH_SHUFFLE_MODES,
    default: "ALL_EXCHANGES_BLOCKING",
    description:
      "Exchange type of non-chained edges in BATCH mode; FORWARD_/POINTWISE_EDGES_PIPELINED are Flink-internal GlobalStreamExchangeMode values that flowsim also accepts here.",
    effect: "modelled",
  },
  {
    key: "execution.sorted-inputs.enabled",
    type: "boolean",
    default: true,
    description: "In BATCH mode, sort keyed inputs by key so each key is processed in one run.",
    effect: "modelled",
  },
  {
    key: "execution.batch-state-backend.enabled",
    type: "boolean",
    default: true,
    description: "In BATCH mode, replace the state backend by one holding only the current key's state.",
    effect: "modelled",
  },
  {
    key: "execution.buffer-timeout.enabled",
    type: "boolean",
    default: true,
    description: "Flush partly filled output buffers periodically; when off they leave only when full.",
    effect: "modelled",
  },
  {
    key: "execution.buffer-timeout.interval",
    type: "duration",
    default: 100 * NS_PER_MS,
    min: 0,
    aliases: ["execution.buffer-timeout"],
    description: "Longest time a partly filled output buffer waits before it is flushed (0 = after every record).",
    effect: "modelled",
  },
  // ---- adaptive batch scheduler (§2) -----------------------------------------------------
  // Flink's BatchExecutionOptions (1.17–1.19 defaults). flowsim uses the adaptive batch
  // scheduler for BATCH jobs whose exchanges are all blocking or hybrid, as Flink's
  // jobmanager.scheduler does by default; see engine/scheduler/adaptive/.
  {
    key: "execution.batch.adaptive.auto-parallelism.enabled",
    type: "boolean",
    default: true,
    description:
      "In BATCH mode, decide the parallelism of vertices the user left unset from the bytes their inputs produced (vertices are initialized when their inputs are finished).",
    effect: "modelled",
  },
  {
    key: "execution.batch.adaptive.auto-parallelism.min-parallelism",
    type: "int",
    default: 1,
    min: 1,
    max: UPPER_BOUND_MAX_PARALLELISM,
    aliases: ["jobmanager.adaptive-batch-scheduler.min-parallelism"],
    description: "Lower bound of a parallelism the adaptive batch scheduler decides.",
    effect: "modelled",
  },
  {
    key: "execution.batch.adaptive.auto-parallelism.max-parallelism",
    type: "int",
    default: 128,
    min: 1,
    max: UPPER_BOUND_MAX_PARALLELISM,
    aliases: ["jobmanager.adaptive-batch-scheduler.max-parallelism"],
    description:
      "Upper bound of a decided parallelism; also the max parallelism (subpartitions written for it) of an undecided vertex when pipeline.max-parallelism is unset.",
    effect: "modelled",
  },
  {
    key: "execution.batch.adaptive.auto-parallelism.avg-data-volume-per-task",
    type: "memory",
    default: 16 * MIB,
    min: 1,
    aliases: ["jobmanager.adaptive-batch-scheduler.avg-data-volume-per-task"],
    description: "Bytes of input each decided subtask should read; skew or the max bound can make some read far more.",
    effect: "modelled",
  },
  {
    key: "execution.batch.adaptive.auto-parallelism.default-source-parallelism",
    type: "int",
    default: 1,
    min: 1,
    max: UPPER_BOUND_MAX_PARALLELISM,
    aliases: ["jobmanager.adaptive-batch-scheduler.default-source-parallelism"],
    description: "Parallelism of source vertices the user left unset, under the adaptive batch scheduler.",
    effect: "modelled",
  },
  // ---- speculative execution (§3; FLIP-168/224) ---------------------------------------
  {
    key: "execution.batch.speculative.enabled",
    type: "boolean",
    default: false,
    description: "In BATCH mode, run extra attempts of slow subtasks on other hosts; the first to finish wins.",
    effect: "modelled",
  },
  {
    key: "execution.batch.speculative.max-concurrent-executions",
    type: "int",
    default: 2,
    min: 1,
    max: JAVA_INT_MAX,
    description: "Most attempts of one subtask that run at the same time (the original included).",
    effect: "modelled",
  },
  {
    key: "execution.batch.speculative.block-slow-node-duration",
    type: "duration",
    default: NS_PER_MIN,
    min: 0,
    description: "How long a host running a slow attempt gets no new slots (0: hosts are never blocked).",
    effect: "modelled",
  },
  {
    key: "slow-task-detector.check-interval",
    type: "duration",
    default: NS_PER_S,
    min: NS_PER_MS,
    description: "How often the slow-task detector looks for slow subtasks.",
    effect: "modelled",
  },
  {
    key: "slow-task-detector.execution-time.baseline-lower-bound",
    type: "duration",
    default: NS_PER_MIN,
    min: 0,
    description: "An attempt that has run less than this is never slow, whatever the baseline.",
    effect: "modelled",
  },
  {
    key: "slow-task-detector.execution-time.baseline-ratio",
    type: "number",
    default: 0.75,
    min: 0,
    max: 1,
    maxExclusive: true,
    description: "Fraction of a vertex's subtasks that must have finished before its slow ones are looked for; the fastest this fraction set the baseline.",
    effect: "modelled",
  },
  {
    key: "slow-task-detector.execution-time.baseline-multiplier",
    type: "number",
    default: 1.5,
    min: 0,
    minExclusive: true,
    description: "Baseline = the median (weighted) execution time of the first finished subtasks times this.",
    effect: "modelled",
  },
  // ---- JobManager high availability (HighAvailabilityOptions, Kubernetes/ZooKeeper HA) ----
  {
    key: "high-availability.type",
    type: "enum",
    values: ["NONE", "ZOOKEEPER", "KUBERNETES"],
    default: "NONE",
    aliases: ["high-availability"],
    description:
      "HA services: with ZOOKEEPER or KUBERNETES a new JobManager leader takes over after the old leader's lease expires and restores a STREAMING job from the latest completed checkpoint in HA storage; NONE reruns the job from scratch.",
    effect: "modelled",
  },
  {
    key: "high-availability.kubernetes.leader-election.lease-duration",
    type: "duration",
    default: 15 * NS_PER_S,
    min: 0,
    description: "Kubernetes HA: a crashed leader's lease stays valid this long; no new leader is elected before it expires.",
    effect: "modelled",
  },
  {
    key: "high-availability.zookeeper.client.session-timeout",
    type: "duration",
    default: 60 * NS_PER_S,
    min: 0,
    aliases: ["recovery.zookeeper.client.session-timeout"],
    description: "ZooKeeper HA: a crashed leader's session (and its leader node) expires after this; no new leader is elected before.",
    effect: "modelled",
  },
  // ---- batch job recovery after a JobManager failover (§6; FLIP-383, 1.20) ----------------
  {
    key: "execution.batch.job-recovery.enabled",
    type: "boolean",
    default: false,
    description: "In BATCH mode, a new JobManager leader replays the job event log and reuses the finished tasks whose partitions survived, instead of rerunning the job.",
    effect: "modelled",
  },
  {
    key: "execution.batch.job-recovery.previous-worker.recovery.timeout",
    type: "duration",
    default: 30 * NS_PER_S,
    min: 0,
    description: "How long a recovering JobManager waits for the previous TaskManagers to re-register and report their partitions.",
    effect: "modelled",
  },
  {
    key: "execution.batch.job-recovery.snapshot.min-pause",
    type: "duration",
    default: 3 * NS_PER_MIN,
    min: 0,
    description: "Least time between two coordinator/shuffle-master snapshots in the event log (a job vertex finishing always takes one).",
    effect: "modelled",
  },
  {
    key: "job-event.store.write-buffer.size",
    type: "memory",
    default: MIB,
    min: 1,
    description: "Write buffer of the job event store on HA storage: full, it is flushed.",
    effect: "modelled",
  },
  {
    key: "job-event.store.write-buffer.flush-interval",
    type: "duration",
    default: NS_PER_S,
    min: NS_PER_MS,
    description: "Period at which the job event store flushes its write buffer to HA storage.",
    effect: "modelled",
  },
  // ---- pipeline --------------------------------------------------------------------------
  {
    key: "parallelism.default",
    type: "int",
    default: 1,
    min: 1,
    max: UPPER_BOUND_MAX_PARALLELISM,
    description: "Parallelism of operators that do not set their own.",
    effect: "modelled",
  },
  {
    key: "pipeline.max-parallelism",
    type: "int",
    default: -1,
    min: -1,
    max: UPPER_BOUND_MAX_PARALLELISM,
    check: (v: number) => (v === 0 ? "must be -1 (derived from the parallelism) or ≥ 1, got 0" : undefined),
    description: "Number of key groups (upper bound of rescaling); -1 derives it from the parallelism, at least 128.",
    effect: "modelled",
  },
  {
    key: "pipeline.operator-chaining.enabled",
    type: "boolean",
    default: true,
    aliases: ["pipeline.operator-chaining"],
    description: "Fuse forward-connected operators of equal parallelism into one task.",
    effect: "modelled",
  },
  {
    key: "pipeline.auto-watermark-interval",
    type: "duration",
    default: 200 * NS_PER_MS,
    min: 0,
    description: "Period at which sources emit generated watermarks (0 turns periodic emission off).",
    effect: "modelled",
  },
  {
    key: "metrics.latency.interval",
    type: "duration",
    default: 0,
    min: 0,
    description: "Period at which sources emit latency markers (0 disables latency tracking, as in Flink).",
    effect: "modelled",
  },
  // ---- cluster ---------------------------------------------------------------------------
  {
    key: "taskmanager.numberOfTaskSlots",
    type: "int",
    default: 1,
    min: 1,
    description: "Slots each TaskManager offers.",
    effect: "modelled",
  },
  {
    key: "heartbeat.interval",
    type: "duration",
    default: 10 * NS_PER_S,
    min: NS_PER_MS,
    description: "Period of heartbeat requests between JobManager, ResourceManager and TaskManagers.",
    effect: "modelled",
  },
  {
    key: "heartbeat.timeout",
    type: "duration",
    default: 50 * NS_PER_S,
    min: NS_PER_MS,
    description: "Silence after which a heartbeat target is considered lost.",
    effect: "modelled",
  },
  {
    key: "slot.request.timeout",
    type: "duration",
    default: 5 * NS_PER_MIN,
    min: NS_PER_MS,
    description: "How long the scheduler waits for requested slots before failing the request.",
    effect: "modelled",
  },
  {
    key: "slotmanager.redundant-taskmanager-num",
    type: "int",
    default: 0,
    min: 0,
    // Each one is a simulated host; a limit keeps a typo from building a huge world.
    max: MAX_REDUNDANT_TASK_MANAGERS,
    description:
      "Extra TaskManagers kept registered and idle so that recovery after a TaskManager loss finds free slots at once (in Flink only on active deployments; flowsim starts them with the cluster).",
    effect: "modelled",
  },
  // ---- network stack and memory (§4) -----------------------------------------------------
  {
    key: "taskmanager.memory.segment-size",
    type: "memory",
    default: 32 * KIB,
    min: MIN_PAGE_SIZE_BYTES,
    max: GIB,
    check: (v: number) => (isPowerOfTwo(v) ? undefined : `must be a power of two, got ${formatMemory(v)}`),
    description: "Size of one network buffer (memory segment).",
    effect: "modelled",
  },
  {
    key: "taskmanager.memory.min-segment-size",
    type: "memory",
    default: 256,
    min: 1,
    max: GIB,
    description: "Smallest buffer size buffer debloating may announce.",
    effect: "modelled",
  },
  {
    key: "taskmanager.network.memory.buffers-per-channel",
    type: "int",
    default: 2,
    min: 0,
    description: "Exclusive buffers (credits) of each input channel and output subpartition.",
    effect: "modelled",
  },
  {
    key: "taskmanager.network.memory.floating-buffers-per-gate",
    type: "int",
    default: 8,
    min: 0,
    description: "Buffers shared by the channels of one input gate or result partition, granted by backlog.",
    effect: "modelled",
  },
  {
    key: "taskmanager.network.memory.max-buffers-per-channel",
    type: "int",
    default: 10,
    // flowsim's limit: with 1, the partly filled buffer alone uses the quota and the
    // producer can never finish it (the network stack would deadlock).
    min: 2,
    description: "Most buffers one output subpartition may hold before its producer is backpressured.",
    effect: "modelled",
  },
  {
    key: "taskmanager.network.memory.max-overdraft-buffers-per-gate",
    type: "int",
    default: 5,
    min: 0,
    description: "Extra buffers a backpressured producer may take to finish the record it is writing.",
    effect: "modelled",
  },
  {
    // Flink 1.17+ (FLIP-266): no default; 1000 for blocking and hybrid gates, unlimited for pipelined ones.
    key: "taskmanager.network.memory.read-buffer.required-per-gate.max",
    type: "int",
    default: null,
    min: 1,
    max: JAVA_INT_MAX,
    description:
      "Most buffers an input gate requires; above it exclusive buffers shrink (to none) and floating ones make up the rest. Unset: 1000 for blocking and hybrid gates, unlimited for pipelined ones.",
    effect: "modelled",
  },
  {
    key: "taskmanager.memory.network.fraction",
    type: "number",
    default: 0.1,
    min: 0,
    max: 1,
    maxExclusive: true,
    aliases: ["taskmanager.network.memory.fraction"],
    description: "Share of total Flink memory given to network buffers, before the min/max clamp.",
    effect: "modelled",
  },
  {
    key: "taskmanager.memory.network.min",
    type: "memory",
    default: 64 * MIB,
    min: 0,
    aliases: ["taskmanager.network.memory.min"],
    description: "Lower bound of a TaskManager's network memory.",
    effect: "modelled",
  },
  {
    // Flink 1.19 (since 1.17, FLINK-30472 / FLIP-266): MemorySize.MAX_VALUE, "infinite".
    // Before 1.17 it was 1 GiB; set "1gb" to model older clusters.
    key: "taskmanager.memory.network.max",
    type: "memory",
    default: UNBOUNDED_MEMORY_BYTES,
    min: 0,
    aliases: ["taskmanager.network.memory.max"],
    description: "Upper bound of a TaskManager's network memory (unbounded since Flink 1.17; 1gb before).",
    effect: "modelled",
  },
  {
    // Flink has no default for this option. Its shipped config sets
    // taskmanager.memory.process.size: 1728m; minus JVM metaspace (256m) and JVM overhead
    // (0.1 × 1728m = 172.8m, raised to the 192m minimum) that leaves 1280m of Flink memory,
    // so the network fraction gives 128 MiB = 4096 buffers of 32 KiB.
    key: "taskmanager.memory.flink.size",
    type: "memory",
    default: 1280 * MIB,
    min: 1,
    description: "Total Flink memory of a TaskManager (Flink's default 1728m process size minus JVM metaspace and overhead).",
    effect: "modelled",
  },
  // ---- shuffle (§4) ----------------------------------------------------------------------
  {
    key: "taskmanager.network.sort-shuffle.min-parallelism",
    type: "int",
    default: 1,
    min: 1,
    description: "Consumer parallelism from which blocking results use sort-merge files instead of one file per subpartition.",
    effect: "modelled",
  },
  {
    key: "taskmanager.network.blocking-shuffle.compression.enabled",
    type: "boolean",
    default: true,
    aliases: ["taskmanager.network.batch-shuffle.compression.enabled"],
    description: "LZ4-compress blocking (and hybrid) shuffle data per buffer.",
    effect: "modelled",
  },
  // ---- state (§5, §8) --------------------------------------------------------------------
  {
    key: "state.backend.type",
    type: "enum",
    values: ["hashmap", "rocksdb"],
    default: "hashmap",
    aliases: ["state.backend"],
    description: "Keyed state backend: objects on the heap, or an LSM tree of serialized bytes.",
    effect: "modelled",
  },
  {
    key: "state.backend.incremental",
    type: "boolean",
    default: false,
    description: "RocksDB checkpoints upload only SST files that are new since the last confirmed checkpoint.",
    effect: "modelled",
  },
  // RocksDBConfigurableOptions. Flink 1.19 gives these RocksDB's own defaults; flowsim applies
  // them per keyed operator instance, as with state.backend.rocksdb.memory.managed: false
  // (with managed memory, Flink sizes the cache and write buffers from the slot's share).
  {
    key: "state.backend.rocksdb.writebuffer.size",
    type: "memory",
    default: 64 * MIB,
    min: 64 * KIB,
    description: "Size of a memtable: when full it is flushed to a new L0 SST file on the local disk.",
    effect: "modelled",
  },
  {
    // RocksDB raises a max_write_buffer_number below 2 to 2.
    key: "state.backend.rocksdb.writebuffer.count",
    type: "int",
    default: 2,
    min: 2,
    max: 64,
    description: "Memtables (active and being flushed) before writes stall until a flush completes.",
    effect: "modelled",
  },
  {
    key: "state.backend.rocksdb.compaction.level.max-size-level-base",
    type: "memory",
    default: 256 * MIB,
    min: 64 * KIB,
    description: "Target size of L1; each further level's target is 10 times the previous one.",
    effect: "modelled",
  },
  {
    key: "state.backend.rocksdb.compaction.level.target-file-size-base",
    type: "memory",
    default: 64 * MIB,
    min: 64 * KIB,
    description: "Size at which compaction cuts its output into SST files.",
    effect: "modelled",
  },
  {
    key: "state.backend.rocksdb.block.cache-size",
    type: "memory",
    default: 8 * MIB,
    min: 0,
    description: "Block cache per RocksDB instance: a read of a block not in it reads the local disk.",
    effect: "modelled",
  },
  {
    key: "state.backend.rocksdb.block.blocksize",
    type: "memory",
    default: 4 * KIB,
    min: 256,
    max: 4 * MIB,
    description: "Bytes of data per SST block: the unit of cache entries and disk reads.",
    effect: "modelled",
  },
  // Changelog state backend (FLIP-158): StateChangelogOptions and FsStateChangelogOptions;
  // Flink 2.x spells the DSTL options state.changelog.dstl.dfs.* (dstl.dfs.* before).
  {
    key: "state.changelog.enabled",
    type: "boolean",
    default: false,
    aliases: ["state.backend.changelog.enabled"],
    description: "Keyed state changes also go to a durable log (DSTL) uploaded continuously; checkpoints only flush its tail.",
    effect: "modelled",
  },
  {
    key: "state.changelog.periodic-materialize.enabled",
    type: "boolean",
    default: true,
    aliases: ["state.backend.changelog.periodic-materialize.enabled"],
    description: "Materialize the wrapped backend periodically so the log can be truncated; off, the log grows forever.",
    effect: "modelled",
  },
  {
    key: "state.changelog.periodic-materialize.interval",
    type: "duration",
    default: 10 * NS_PER_MIN,
    min: 1 * NS_PER_MS,
    aliases: ["state.backend.changelog.periodic-materialize.interval"],
    description: "Time between the end of one materialization and the start of the next.",
    effect: "modelled",
  },
  {
    key: "state.changelog.max-failures-allowed",
    type: "int",
    default: 3,
    min: 0,
    aliases: ["state.backend.changelog.max-failures-allowed"],
    description: "Consecutive materialization failures tolerated before the task fails.",
    effect: "modelled",
  },
  {
    key: "state.changelog.dstl.dfs.preemptive-persist-threshold",
    type: "memory",
    default: 5 * MIB,
    min: 1,
    aliases: ["dstl.dfs.preemptive-persist-threshold"],
    description: "Unrequested log bytes of one operator beyond which they are uploaded without waiting for a checkpoint.",
    effect: "modelled",
  },
  {
    key: "state.changelog.dstl.dfs.batch.persist-delay",
    type: "duration",
    default: 10 * NS_PER_MS,
    min: 0,
    aliases: ["dstl.dfs.batch.persist-delay"],
    description: "Wait after a persist request for more requests to batch into one upload.",
    effect: "modelled",
  },
  {
    key: "state.changelog.dstl.dfs.batch.persist-size-threshold",
    type: "memory",
    default: 10 * MIB,
    min: 1,
    aliases: ["dstl.dfs.batch.persist-size-threshold"],
    description: "Requested log bytes waiting for the persist delay beyond which they are uploaded at once.",
    effect: "modelled",
  },
  {
    key: "state.changelog.dstl.dfs.upload.timeout",
    type: "duration",
    default: 1 * NS_PER_S,
    min: 1 * NS_PER_MS,
    aliases: ["dstl.dfs.upload.timeout"],
    description: "An upload unanswered this long gets a new attempt (the first to succeed wins).",
    effect: "modelled",
  },
  {
    key: "state.changelog.dstl.dfs.upload.max-attempts",
    type: "int",
    default: 3,
    min: 1,
    aliases: ["dstl.dfs.upload.max-attempts"],
    description: "Attempts per log upload, the first included.",
    effect: "modelled",
  },
  {
    key: "state.changelog.dstl.dfs.upload.next-attempt-delay",
    type: "duration",
    default: 500 * NS_PER_MS,
    min: 0,
    aliases: ["dstl.dfs.upload.next-attempt-delay"],
    description: "Wait before the next attempt of a log upload that failed (not timed out).",
    effect: "modelled",
  },
  {
    key: "state.checkpoints.num-retained",
    type: "int",
    default: 1,
    min: 1,
    description: "Completed checkpoints kept for recovery.",
    effect: "modelled",
  },
  // ---- savepoints and restore (§5 "Savepoints / claim modes", FLIP-193) -----------------
  {
    key: "execution.state-recovery.path",
    type: "string",
    default: null,
    description: "Start the job from this savepoint (its directory in the blob store, e.g. savepoints/sp-7), redistributing its state to the job's parallelism.",
    aliases: ["execution.savepoint.path"],
    effect: "modelled",
  },
  {
    key: "execution.state-recovery.claim-mode",
    type: "enum",
    values: ["CLAIM", "NO_CLAIM"],
    default: "NO_CLAIM",
    description: "Who owns the restored snapshot's files: CLAIM, the job (deleted once no retained checkpoint references them); NO_CLAIM, the user (never touched; the first checkpoint is full).",
    aliases: ["execution.savepoint-restore-mode"],
    effect: "modelled",
  },
  // ---- checkpointing (§5) ----------------------------------------------------------------
  {
    key: "execution.checkpointing.interval",
    type: "duration",
    default: null,
    min: MINIMAL_CHECKPOINT_TIME_NS,
    description: "Period of checkpoint triggers; unset means checkpointing is off.",
    effect: "modelled",
  },
  {
    key: "execution.checkpointing.mode",
    type: "enum",
    values: ["EXACTLY_ONCE", "AT_LEAST_ONCE"],
    default: "EXACTLY_ONCE",
    description: "EXACTLY_ONCE aligns barriers; AT_LEAST_ONCE lets records overtake them.",
    effect: "modelled",
  },
  {
    key: "execution.checkpointing.timeout",
    type: "duration",
    default: 10 * NS_PER_MIN,
    min: MINIMAL_CHECKPOINT_TIME_NS,
    description: "A checkpoint not completed within this time is aborted.",
    effect: "modelled",
  },
  {
    key: "execution.checkpointing.min-pause",
    type: "duration",
    default: 0,
    min: 0,
    description: "Least time between the completion of one checkpoint and the trigger of the next.",
    effect: "modelled",
  },
  {
    key: "execution.checkpointing.max-concurrent-checkpoints",
    type: "int",
    default: 1,
    min: 1,
    description: "Most checkpoints in progress at once.",
    effect: "modelled",
  },
  {
    // Flink declares no default; unset behaves as 0 (CheckpointConfig).
    key: "execution.checkpointing.tolerable-failed-checkpoints",
    type: "int",
    default: 0,
    min: 0,
    description: "Consecutive checkpoint failures tolerated before the job fails over.",
    effect: "modelled",
  },
  {
    key: "execution.checkpointing.unaligned.enabled",
    type: "boolean",
    default: false,
    aliases: ["execution.checkpointing.unaligned"],
    description: "Barriers overtake in-flight buffers, which are stored as channel state (EXACTLY_ONCE only).",
    effect: "modelled",
  },
  {
    key: "execution.checkpointing.aligned-checkpoint-timeout",
    type: "duration",
    default: 0,
    min: 0,
    aliases: ["execution.checkpointing.alignment-timeout"],
    description: "With unaligned checkpoints on: start aligned and switch to unaligned after this long (0 = unaligned from the start).",
    effect: "modelled",
  },
  {
    // No default in Flink: AdaptiveBatchSchedulerFactory picks UNFINISHED_PRODUCERS, or
    // ONLY_FINISHED_PRODUCERS when speculative execution is on (and rejects
    // UNFINISHED_PRODUCERS with it). effectiveHybridConsumeConstraint() resolves it.
    key: "jobmanager.partition.hybrid.partition-data-consume-constraint",
    type: "enum",
    values: HYBRID_CONSUME_CONSTRAINTS,
    default: null,
    description:
      "When a consumer of a hybrid partition may start: once its producers are scheduled (UNFINISHED_PRODUCERS), once one of them finished, reading only finished ones (ONLY_FINISHED_PRODUCERS), or once all finished (ALL_PRODUCERS_FINISHED).",
    effect: "modelled",
  },
  // ---- failover (§1) ---------------------------------------------------------------------
  {
    key: "jobmanager.execution.failover-strategy",
    type: "enum",
    values: ["region", "full"],
    default: "region",
    description: "Restart only the pipelined regions a failure touches, or the whole job.",
    effect: "modelled",
  },
  {
    // No default in Flink: "none" without checkpointing, "exponential-delay" with it
    // (since 1.19, FLIP-364; before: fixed-delay with Integer.MAX_VALUE attempts).
    // effectiveRestartStrategy() resolves it.
    key: "restart-strategy.type",
    type: "enum",
    values: ["none", "fixed-delay", "failure-rate", "exponential-delay"],
    valueAliases: {
      off: "none",
      disable: "none",
      fixeddelay: "fixed-delay",
      failurerate: "failure-rate",
      exponentialdelay: "exponential-delay",
    },
    default: null,
    aliases: ["restart-strategy"],
    description: "How failed jobs restart; unset means none without checkpointing and exponential-delay with it.",
    effect: "modelled",
  },
  {
    key: "restart-strategy.fixed-delay.attempts",
    type: "int",
    default: 1,
    min: 0,
    description: "fixed-delay: restarts allowed before the job fails.",
    effect: "modelled",
  },
  {
    key: "restart-strategy.fixed-delay.delay",
    type: "duration",
    default: NS_PER_S,
    min: 0,
    description: "fixed-delay: pause before each restart.",
    effect: "modelled",
  },
  {
    key: "restart-strategy.failure-rate.max-failures-per-interval",
    type: "int",
    default: 1,
    min: 1,
    description: "failure-rate: failures allowed within one interval before the job fails.",
    effect: "modelled",
  },
  {
    key: "restart-strategy.failure-rate.failure-rate-interval",
    type: "duration",
    default: NS_PER_MIN,
    min: NS_PER_MS,
    description: "failure-rate: the sliding window over which failures are counted.",
    effect: "modelled",
  },
  {
    key: "restart-strategy.failure-rate.delay",
    type: "duration",
    default: NS_PER_S,
    min: 0,
    description: "failure-rate: pause before each restart.",
    effect: "modelled",
  },
  {
    key: "restart-strategy.exponential-delay.initial-backoff",
    type: "duration",
    default: NS_PER_S,
    min: NS_PER_MS,
    description: "exponential-delay: the first back-off.",
    effect: "modelled",
  },
  {
    // 1 min since 1.19 (FLIP-364); 5 min before.
    key: "restart-strategy.exponential-delay.max-backoff",
    type: "duration",
    default: NS_PER_MIN,
    min: NS_PER_MS,
    description: "exponential-delay: the back-off stops growing here.",
    effect: "modelled",
  },
  {
    // 1.5 since 1.19 (FLIP-364); 2.0 before.
    key: "restart-strategy.exponential-delay.backoff-multiplier",
    type: "number",
    default: 1.5,
    min: 1,
    description: "exponential-delay: factor applied to the back-off after each failure.",
    effect: "modelled",
  },
  {
    key: "restart-strategy.exponential-delay.reset-backoff-threshold",
    type: "duration",
    default: NS_PER_H,
    min: NS_PER_MS,
    description: "exponential-delay: failure-free running time after which the back-off resets.",
    effect: "modelled",
  },
  {
    key: "restart-strategy.exponential-delay.jitter-factor",
    type: "number",
    default: 0.1,
    min: 0,
    max: 1,
    description: "exponential-delay: random spread of each back-off, as a fraction of it (seeded).",
    effect: "modelled",
  },
  {
    // New in 1.19; Integer.MAX_VALUE, documented as "infinite".
    key: "restart-strategy.exponential-delay.attempts-before-reset-backoff",
    type: "int",
    default: JAVA_INT_MAX,
    min: 1,
    description: "exponential-delay: restarts allowed before the job fails, counted since the last back-off reset.",
    effect: "modelled",
  },
  // ---- buffer debloating (§4) ------------------------------------------------------------
  {
    key: "taskmanager.network.memory.buffer-debloat.enabled",
    type: "boolean",
    default: false,
    description: "Shrink buffers so in-flight data matches the target time of consumer work.",
    effect: "modelled",
  },
  {
    key: "taskmanager.network.memory.buffer-debloat.period",
    type: "duration",
    default: 200 * NS_PER_MS,
    min: NS_PER_MS,
    description: "How often each input gate recomputes its buffer size.",
    effect: "modelled",
  },
  {
    key: "taskmanager.network.memory.buffer-debloat.target",
    type: "duration",
    default: NS_PER_S,
    min: NS_PER_MS,
    description: "Time the in-flight data of a gate should take to consume.",
    effect: "modelled",
  },
  {
    key: "taskmanager.network.memory.buffer-debloat.samples",
    type: "int",
    default: 20,
    min: 1,
    description: "Throughput samples averaged into the new buffer size.",
    effect: "modelled",
  },
  {
    key: "taskmanager.network.memory.buffer-debloat.threshold-percentages",
    type: "int",
    default: 25,
    min: 0,
    max: 100,
    description: "Size changes smaller than this percentage are not announced.",
    effect: "modelled",
  },
] as const satisfies readonly OptionDefinition[];

type Definitions = (typeof OPTION_LIST)[number];

/** The name of a registered option (a string literal union derived from the registry). */
export type OptionKey = Definitions["key"];

type DefinitionOf<K extends OptionKey> = Extract<Definitions, { readonly key: K }>;

type BaseValue<D> = D extends { readonly type: "enum"; readonly values: readonly (infer V)[] }
  ? V
  : D extends { readonly type: "boolean" }
    ? boolean
    : D extends { readonly type: "string" }
      ? string
      : number;

/**
 * The effective value type of option K: ns for durations, bytes for memory sizes, the
 * enum union for enums; `| undefined` when Flink has no default and it may be unset.
 */
export type ValueOf<K extends OptionKey> =
  DefinitionOf<K> extends infer D ? BaseValue<D> | (D extends { readonly default: null } ? undefined : never) : never;

export type OptionValue = number | boolean | string;

/** The registry, in key order. */
export const OPTIONS: readonly OptionDefinition[] = [...(OPTION_LIST as readonly OptionDefinition[])].sort((a, b) =>
  compareKeys(a.key, b.key),
);

/** Options by canonical key. */
export const OPTION_BY_KEY: ReadonlyMap<OptionKey, OptionDefinition> = new Map(
  OPTIONS.map((d) => [d.key as OptionKey, d]),
);

/** Canonical key for every accepted spelling of a key (canonical and aliases). */
const KEY_BY_NAME: ReadonlyMap<string, OptionKey> = buildKeyIndex();

export const OPTION_KEYS: readonly OptionKey[] = OPTIONS.map((d) => d.key as OptionKey);

/** The options that have no effect yet, with the reason each one waits for. */
export function optionsWithoutEffect(): { key: OptionKey; reason: string }[] {
  const out: { key: OptionKey; reason: string }[] = [];
  for (const d of OPTIONS) {
    if (d.effect !== "modelled") out.push({ key: d.key as OptionKey, reason: d.effect.noEffectYet });
  }
  return out;
}

/** A partial config as input: option names (or Flink's aliases) to typed or string values. */
export type ConfigInput = Readonly<Record<string, unknown>>;

/** Limit on the number of entries in one config input (style rule 3). */
export const MAX_CONFIG_ENTRIES = 10_000;

/**
 * An immutable, validated engine configuration: the explicitly set options over Flink's
 * defaults.
 */
export class EngineConfig {
  /** Explicitly set options, canonical key → canonical value. */
  private readonly explicit: ReadonlyMap<OptionKey, OptionValue>;

  private constructor(explicit: ReadonlyMap<OptionKey, OptionValue>) {
    this.explicit = explicit;
  }

  /** Flink's defaults, nothing set. */
  static defaults(): EngineConfig {
    return new EngineConfig(new Map());
  }

  /**
   * Parses a config object (scenario `config`, or `--set key=value` pairs as strings).
   * Throws an InputError naming `field."key"` for an unknown option, a value of the wrong
   * type or out of range, a bad enum value, or an alias set together with its option.
   * A null value leaves the option unset.
   */
  static parse(input: unknown, field = "config"): EngineConfig {
    return EngineConfig.defaults().withOverrides(input, field);
  }

  /**
   * A new config with `partial` applied on top of this one; same input forms as parse (a
   * bare number for a duration is milliseconds, as in Flink). Null unsets an option.
   */
  withOverrides(partial: unknown, field = "config"): EngineConfig {
    if (typeof partial !== "object" || partial === null || Array.isArray(partial)) {
      throw new InputError(field, `expected an object of Flink option names to values, got ${describe(partial)}`);
    }
    const names = Object.keys(partial);
    if (names.length > MAX_CONFIG_ENTRIES) {
      throw new InputError(field, `too many options (${names.length}; limit ${MAX_CONFIG_ENTRIES})`);
    }
    const next = new Map(this.explicit);
    const writtenAs = new Map<OptionKey, string>();
    // Sorted so the first error reported does not depend on the input's property order.
    for (const name of [...names].sort(compareKeys)) {
      const key = KEY_BY_NAME.get(name);
      const where = `${field}.${JSON.stringify(name)}`;
      if (key === undefined) throw new InputError(where, unknownOptionProblem(name));
      const earlier = writtenAs.get(key);
      if (earlier !== undefined) {
        throw new InputError(where, `set together with ${JSON.stringify(earlier)}, another name of ${JSON.stringify(key)}`);
      }
      writtenAs.set(key, name);
      const raw = (partial as Record<string, unknown>)[name];
      if (raw === null || raw === undefined) next.delete(key);
      else next.set(key, parseOptionValue(OPTION_BY_KEY.get(key)!, raw, where));
    }
    const config = new EngineConfig(next);
    config.checkCrossOptionRules(field, writtenAs);
    return config;
  }

  /** The effective value: the set one, else Flink's default. */
  get<K extends OptionKey>(key: K): ValueOf<K> {
    const set = this.explicit.get(key);
    if (set !== undefined) return set as ValueOf<K>;
    const d = OPTION_BY_KEY.get(key);
    if (d === undefined) throw new InputError("config", unknownOptionProblem(key));
    return (d.default ?? undefined) as ValueOf<K>;
  }

  /** True when the option was given explicitly (even if equal to the default). */
  isSet(key: OptionKey): boolean {
    return this.explicit.has(key);
  }

  /** Effective values of every option, in key order (unset options without a default: undefined). */
  entries(): [OptionKey, OptionValue | undefined][] {
    return OPTION_KEYS.map((k) => [k, this.get(k) as OptionValue | undefined]);
  }

  /** Only the explicitly set options, in key order, canonical values. */
  explicitEntries(): [OptionKey, OptionValue][] {
    return OPTION_KEYS.filter((k) => this.explicit.has(k)).map((k) => [k, this.explicit.get(k)!]);
  }

  /**
   * Every effective value in key order, in Flink's input syntax ("100ms", "32kb"), so
   * `EngineConfig.parse(config.toJSON())` gives an equal config of effective values;
   * null for an unset option without a default.
   */
  toJSON(): Record<string, string | number | boolean | null> {
    const out: Record<string, string | number | boolean | null> = {};
    for (const key of OPTION_KEYS) {
      const value = this.get(key) as OptionValue | undefined;
      out[key] = value === undefined ? null : formatOptionValue(OPTION_BY_KEY.get(key)!, value);
    }
    return out;
  }

  /** Rules between options, as Flink checks them when it builds the cluster or job. */
  private checkCrossOptionRules(field: string, writtenAs: ReadonlyMap<OptionKey, string>): void {
    const pair = (low: OptionKey, high: OptionKey, format: (v: number) => string) => {
      const lowValue = this.get(low) as number | undefined;
      const highValue = this.get(high) as number | undefined;
      if (lowValue === undefined || highValue === undefined || lowValue <= highValue) return;
      // Blame the option the input named (the lower one if both or neither).
      const blameHigh = writtenAs.has(high) && !writtenAs.has(low);
      const [key, other, rel, value, otherValue] = blameHigh
        ? [high, low, "≥", highValue, lowValue]
        : [low, high, "≤", lowValue, highValue];
      const name = writtenAs.get(key) ?? key;
      throw new InputError(
        `${field}.${JSON.stringify(name)}`,
        `must be ${rel} "${other}" (${format(otherValue)}), got ${format(value)}`,
      );
    };
    pair("taskmanager.memory.network.min", "taskmanager.memory.network.max", formatMemory);
    pair("heartbeat.interval", "heartbeat.timeout", formatFlinkDuration);
    pair("execution.batch.adaptive.auto-parallelism.min-parallelism", "execution.batch.adaptive.auto-parallelism.max-parallelism", String);
    pair(
      "restart-strategy.exponential-delay.initial-backoff",
      "restart-strategy.exponential-delay.max-backoff",
      formatFlinkDuration,
    );
    if (this.get("pipeline.max-parallelism") !== -1) {
      pair("parallelism.default", "pipeline.max-parallelism", String);
    }
    const exclusive = "taskmanager.network.memory.buffers-per-channel";
    const floating = "taskmanager.network.memory.floating-buffers-per-gate";
    if (this.get(exclusive) === 0 && this.get(floating) === 0) {
      const key = writtenAs.has(floating) && !writtenAs.has(exclusive) ? floating : exclusive;
      throw new InputError(`${field}.${JSON.stringify(writtenAs.get(key) ?? key)}`, `an input channel needs a buffer: "${exclusive}" and "${floating}" cannot both be 0`);
    }
    const constraint = "jobmanager.partition.hybrid.partition-data-consume-constraint";
    if (this.get("execution.batch.speculative.enabled") && this.get(constraint) === "UNFINISHED_PRODUCERS") {
      // Flink's AdaptiveBatchSchedulerFactory: "For speculative execution, only supports consume finished partition now."
      throw new InputError(
        `${field}.${JSON.stringify(writtenAs.get(constraint) ?? constraint)}`,
        'UNFINISHED_PRODUCERS cannot be used with "execution.batch.speculative.enabled": speculative execution only supports consuming finished partitions (use ONLY_FINISHED_PRODUCERS or ALL_PRODUCERS_FINISHED, or leave it unset)',
      );
    }
    if (this.get("execution.batch-state-backend.enabled") && !this.get("execution.sorted-inputs.enabled")) {
      // Flink's StreamGraphGenerator: "Batch state backend requires the sorted inputs to be enabled!"
      const key = writtenAs.has("execution.sorted-inputs.enabled") ? "execution.sorted-inputs.enabled" : "execution.batch-state-backend.enabled";
      throw new InputError(
        `${field}.${JSON.stringify(writtenAs.get(key) ?? key)}`,
        'the batch state backend requires sorted inputs: set both "execution.sorted-inputs.enabled" and "execution.batch-state-backend.enabled" to false, or neither',
      );
    }
  }
}

// ---- derived quantities used by the runtime -----------------------------------------------

/**
 * Flink's KeyGroupRangeAssignment.computeDefaultMaxParallelism: the next power of two of
 * p + p/2 (integer division), clamped to [128, 32768].
 */
export function computeDefaultMaxParallelism(parallelism: number): number {
  if (!Number.isSafeInteger(parallelism) || parallelism < 1) {
    throw new InputError("parallelism", `must be an integer ≥ 1, got ${parallelism}`);
  }
  const wanted = roundUpToPowerOfTwo(parallelism + Math.floor(parallelism / 2));
  return Math.min(Math.max(wanted, DEFAULT_LOWER_BOUND_MAX_PARALLELISM), UPPER_BOUND_MAX_PARALLELISM);
}

/** The runtime's name for computeDefaultMaxParallelism. */
export const defaultMaxParallelism = computeDefaultMaxParallelism;

/** Max parallelism of an operator of `parallelism`: the configured one, else derived. */
export function effectiveMaxParallelism(config: EngineConfig, parallelism: number): number {
  const configured = config.get("pipeline.max-parallelism");
  return configured === -1 ? computeDefaultMaxParallelism(parallelism) : configured;
}

/**
 * A TaskManager's network memory: fraction × total Flink memory (rounded down, as Flink's
 * MemorySize.multiply), clamped to [min, max].
 */
export function networkMemoryBytes(config: EngineConfig): number {
  const relative = Math.floor(config.get("taskmanager.memory.network.fraction") * config.get("taskmanager.memory.flink.size"));
  const min = config.get("taskmanager.memory.network.min");
  const max = config.get("taskmanager.memory.network.max");
  return Math.min(Math.max(relative, min), max);
}

/** Network buffers of one TaskManager: network memory / segment size, rounded down. */
export function buffersPerTaskManager(config: EngineConfig): number {
  return Math.floor(networkMemoryBytes(config) / config.get("taskmanager.memory.segment-size"));
}

export type RestartStrategy = NonNullable<ValueOf<"restart-strategy.type">>;

/** restart-strategy.type when unset: none without checkpointing, exponential-delay with it (1.19+). */
export function effectiveRestartStrategy(config: EngineConfig): RestartStrategy {
  const set = config.get("restart-strategy.type");
  if (set !== undefined) return set;
  return config.get("execution.checkpointing.interval") === undefined ? "none" : "exponential-delay";
}

/**
 * The hybrid consume constraint in force: the option when set, else Flink's scheduler
 * default (AdaptiveBatchSchedulerFactory.getOrDecideHybridPartitionDataConsumeConstraint):
 * ONLY_FINISHED_PRODUCERS when speculative execution is on — a consumer must never read
 * an unfinished attempt's data, since another attempt may win — else UNFINISHED_PRODUCERS.
 * An explicit UNFINISHED_PRODUCERS together with speculation is rejected when the config
 * is built (checkCrossOptionRules).
 */
export function effectiveHybridConsumeConstraint(config: EngineConfig): HybridConsumeConstraint {
  return config.get("jobmanager.partition.hybrid.partition-data-consume-constraint") ?? (config.get("execution.batch.speculative.enabled") ? "ONLY_FINISHED_PRODUCERS" : "UNFINISHED_PRODUCERS");
}

// ---- parsing ---------------------------------------------------------------------------

/** Flink's TimeUtils unit labels (case-insensitive, plurals too) → sim/time units. */
const DURATION_UNITS: ReadonlyMap<string, string> = new Map([
  ...labels(["ns", "nano", "nanos", "nanosecond", "nanoseconds"], "ns"),
  ...labels(["us", "µs", "micro", "micros", "microsecond", "microseconds"], "us"),
  ...labels(["ms", "milli", "millis", "millisecond", "milliseconds"], "ms"),
  ...labels(["s", "sec", "secs", "second", "seconds"], "s"),
  ...labels(["m", "min", "mins", "minute", "minutes"], "min"),
  ...labels(["h", "hour", "hours"], "h"),
  ...labels(["d", "day", "days"], "d"),
]);

/** Flink's MemorySize unit labels → bytes. */
const MEMORY_UNITS: ReadonlyMap<string, number> = new Map([
  ...labels(["", "b", "bytes"], 1),
  ...labels(["k", "kb", "kibibytes"], KIB),
  ...labels(["m", "mb", "mebibytes"], MIB),
  ...labels(["g", "gb", "gibibytes"], GIB),
  ...labels(["t", "tb", "tebibytes"], 1024 * GIB),
]);

const DURATION_RE = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-zµ]*)\s*$/i;
const MEMORY_RE = /^\s*(\d+)\s*([a-z]*)\s*$/i;
const INT_RE = /^\s*[+-]?\d+\s*$/;
const NUMBER_RE = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;

/** Parses and validates one value of option `d`; `where` names it in errors. */
export function parseOptionValue(d: OptionDefinition, raw: unknown, where: string): OptionValue {
  const value = parseByType(d, raw, where);
  if (typeof value === "number") checkRange(d, value, where);
  return value;
}

function parseByType(d: OptionDefinition, raw: unknown, where: string): OptionValue {
  switch (d.type) {
    case "duration":
      return parseFlinkDuration(raw, where);
    case "memory":
      return parseMemorySize(raw, where);
    case "int": {
      const n = typeof raw === "string" && INT_RE.test(raw) ? Number(raw) : raw;
      if (typeof n !== "number" || !Number.isInteger(n)) {
        throw new InputError(where, `expected an integer, got ${describe(raw)}`);
      }
      if (n < JAVA_INT_MIN || n > JAVA_INT_MAX) {
        throw new InputError(where, `must be a 32-bit integer (at most ${JAVA_INT_MAX}), got ${String(raw).trim()}`);
      }
      return n;
    }
    case "number": {
      const n = typeof raw === "string" && NUMBER_RE.test(raw) ? Number(raw) : raw;
      if (typeof n !== "number" || !Number.isFinite(n)) {
        throw new InputError(where, `expected a number, got ${describe(raw)}`);
      }
      return n;
    }
    case "boolean": {
      if (typeof raw === "boolean") return raw;
      const s = typeof raw === "string" ? raw.trim().toLowerCase() : undefined;
      if (s === "true") return true;
      if (s === "false") return false;
      throw new InputError(where, `expected true or false, got ${describe(raw)}`);
    }
    case "enum": {
      const values = d.values ?? [];
      if (typeof raw !== "string") {
        throw new InputError(where, `expected one of ${values.join(", ")}, got ${describe(raw)}`);
      }
      const wanted = raw.trim().toLowerCase();
      // Flink matches enum constants case-insensitively.
      const found = values.find((v) => v.toLowerCase() === wanted);
      if (found !== undefined) return found;
      for (const [alias, target] of Object.entries(d.valueAliases ?? {})) {
        if (alias.toLowerCase() === wanted) return target;
      }
      const hint = closestName(raw.trim(), values);
      throw new InputError(
        where,
        `bad value ${JSON.stringify(raw)} (expected one of ${values.join(", ")})` +
          (hint !== undefined ? `; did you mean "${hint}"?` : ""),
      );
    }
    case "string":
      if (typeof raw !== "string") throw new InputError(where, `expected a string, got ${describe(raw)}`);
      return raw;
  }
}

/**
 * Flink duration syntax into ns: a number and a unit, or a bare number of milliseconds
 * (a JS number or a numeric string), as Flink's TimeUtils.parseDuration reads it.
 */
export function parseFlinkDuration(raw: unknown, where: string): number {
  let text: string;
  if (typeof raw === "number") {
    if (!Number.isFinite(raw) || raw < 0) {
      throw new InputError(where, `a duration must be ≥ 0, got ${raw}`);
    }
    const exact = raw * NS_PER_MS;
    const ns = Math.round(exact);
    if (Math.abs(exact - ns) > 1e-6 * Math.max(1, ns)) {
      throw new InputError(where, `bad duration ${raw} ms: not a whole number of nanoseconds`);
    }
    if (!Number.isSafeInteger(ns)) {
      throw new InputError(where, `bad duration ${raw} ms: too long (limit about 104 days)`);
    }
    return ns;
  } else if (typeof raw === "string") {
    const match = DURATION_RE.exec(raw);
    if (match === null) {
      throw new InputError(
        where,
        `bad duration ${JSON.stringify(raw)} (expected a number and a unit such as "100 ms", "10 s", "1 min"; a bare number is milliseconds)`,
      );
    }
    const unitLabel = match[2]!.toLowerCase();
    const unit = unitLabel === "" ? "ms" : DURATION_UNITS.get(unitLabel);
    if (unit === undefined) {
      throw new InputError(where, `bad duration ${JSON.stringify(raw)}: unknown unit "${match[2]}" (use ns, us, ms, s, min, h, d)`);
    }
    text = `${match[1]}${unit}`;
  } else {
    throw new InputError(where, `expected a duration such as "100 ms" or "10 s", got ${describe(raw)}`);
  }
  try {
    return parseDuration(text, where);
  } catch (e) {
    // sim/time words its own messages for its own syntax; say it in terms of the input.
    if (e instanceof InputError) {
      throw new InputError(where, `bad duration ${JSON.stringify(raw)}: ${e.problem.replace(/^bad duration "[^"]*":\s*/, "")}`);
    }
    throw e;
  }
}

/**
 * Flink MemorySize syntax into bytes: an integer and an optional binary unit (a bare
 * number is bytes). Sizes at or above 2^53 bytes become UNBOUNDED_MEMORY_BYTES.
 */
export function parseMemorySize(raw: unknown, where: string): number {
  if (typeof raw === "number") {
    if (!Number.isInteger(raw) || raw < 0) {
      throw new InputError(where, `a memory size in bytes must be a non-negative integer, got ${raw}`);
    }
    return Math.min(raw, UNBOUNDED_MEMORY_BYTES);
  }
  if (typeof raw !== "string") {
    throw new InputError(where, `expected a memory size such as "64mb" or "32kb", got ${describe(raw)}`);
  }
  const match = MEMORY_RE.exec(raw);
  if (match === null) {
    throw new InputError(
      where,
      `bad memory size ${JSON.stringify(raw)} (expected an integer and a unit: b, kb, mb, gb, tb; a bare number is bytes)`,
    );
  }
  const unit = MEMORY_UNITS.get(match[2]!.toLowerCase());
  if (unit === undefined) {
    throw new InputError(where, `bad memory size ${JSON.stringify(raw)}: unknown unit "${match[2]}" (use b, kb, mb, gb, tb)`);
  }
  return Math.min(Number(match[1]) * unit, UNBOUNDED_MEMORY_BYTES);
}

function checkRange(d: OptionDefinition, value: number, where: string): void {
  const format = (v: number) => formatNumberOf(d, v);
  if (d.min !== undefined && (d.minExclusive === true ? value <= d.min : value < d.min)) {
    throw new InputError(where, `must be ${d.minExclusive === true ? ">" : "≥"} ${format(d.min)}, got ${format(value)}`);
  }
  if (d.max !== undefined && (d.maxExclusive === true ? value >= d.max : value > d.max)) {
    throw new InputError(where, `must be ${d.maxExclusive === true ? "<" : "≤"} ${format(d.max)}, got ${format(value)}`);
  }
  const problem = d.check?.(value);
  if (problem !== undefined) throw new InputError(where, problem);
}

// ---- formatting ----------------------------------------------------------------------------

const DURATION_FORMAT_UNITS: readonly [string, number][] = [
  ["d", 24 * NS_PER_H],
  ["h", NS_PER_H],
  ["min", NS_PER_MIN],
  ["s", NS_PER_S],
  ["ms", NS_PER_MS],
  ["us", 1_000],
];

/** ns in Flink syntax with the largest unit that keeps it exact ("100ms", "1min"). */
export function formatFlinkDuration(ns: number): string {
  if (ns === 0) return "0ms";
  for (const [unit, size] of DURATION_FORMAT_UNITS) {
    if (ns % size === 0) return `${ns / size}${unit}`;
  }
  return `${ns}ns`;
}

const MEMORY_FORMAT_UNITS: readonly [string, number][] = [
  ["tb", 1024 * GIB],
  ["gb", GIB],
  ["mb", MIB],
  ["kb", KIB],
];

/** Bytes in Flink MemorySize syntax with the largest exact binary unit ("32kb", "1280mb"). */
export function formatMemory(bytes: number): string {
  if (bytes === 0) return "0b";
  for (const [unit, size] of MEMORY_FORMAT_UNITS) {
    if (bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}b`;
}

function formatOptionValue(d: OptionDefinition, value: OptionValue): string | number | boolean {
  if (typeof value !== "number") return value;
  if (d.type === "duration") return formatFlinkDuration(value);
  if (d.type === "memory") return formatMemory(value);
  return value;
}

function formatNumberOf(d: OptionDefinition, v: number): string {
  if (d.type === "duration") return formatFlinkDuration(v);
  if (d.type === "memory") return formatMemory(v);
  return String(v);
}

// ---- helpers -------------------------------------------------------------------------------

function unknownOptionProblem(name: string): string {
  const hint = closestName(name, [...KEY_BY_NAME.keys()]);
  const suggestion = hint === undefined ? undefined : KEY_BY_NAME.get(hint);
  return "unknown option" + (suggestion !== undefined ? ` (did you mean "${suggestion}"?)` : "");
}

function buildKeyIndex(): Map<string, OptionKey> {
  const index = new Map<string, OptionKey>();
  for (const d of OPTIONS) {
    for (const name of [d.key, ...(d.aliases ?? [])]) {
      // A name claimed twice would make input ambiguous: a registry bug.
      assert(!index.has(name), `config registry: "${name}" is registered twice`);
      index.set(name, d.key as OptionKey);
    }
  }
  return index;
}

function labels<T>(names: readonly string[], value: T): [string, T][] {
  return names.map((n) => [n, value]);
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && roundUpToPowerOfTwo(n) === n;
}

/** Flink's MathUtils.roundUpToPowerOfTwo for positive safe integers (at most 53 steps). */
function roundUpToPowerOfTwo(n: number): number {
  let power = 1;
  while (power < n) power *= 2;
  return power;
}
