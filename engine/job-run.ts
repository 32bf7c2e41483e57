/**
 * Runs one DataStream job on a simulated cluster: builds the world (a JobManager host and
 * TaskManager hosts, spares included), compiles the program (StreamGraph → JobGraph →
 * ExecutionGraph → regions), starts the TaskManagers (through the resource manager, which
 * also replaces lost ones if the cluster shape asks) and the JobManager, runs the kernel
 * until the job ends (or the time limit cancels it), and returns what happened. Pure: the
 * caller owns files.
 */
import { InputError } from "../sim/errors";
import { formatDuration, type Ns } from "../sim/time";
import type { TraceOptions, Trace } from "../sim/trace/recorder";
import { World, type ClusterSpec } from "../sim/world";
import type { DiskSpec } from "../sim/disk";
import type { NetworkSpec } from "../sim/network";
import type { BlobStoreSpec } from "../sim/blob-store";
import { StreamExecutionEnvironment, resolvePartitioners } from "./api/environment";
import { jobRng as jobRngOf } from "./api/job-rng";
import type { RuntimeMode } from "./api/types";
import { EngineConfig, effectiveMaxParallelism, networkMemoryBytes } from "./config";
import { DEFAULT_COSTS, type CostModel } from "./costs";
import { ExternalStore } from "./external-store";
import { LatencyTracker } from "./runtime/latency-tracker";
import { buildExecutionGraph } from "./graph/execution-graph";
import { compileJobGraph } from "./graph/job-graph";
import { computeRegions } from "./graph/regions";
import { createAdaptivePlanner, usesAdaptiveBatchScheduler } from "./scheduler/adaptive/adaptive-batch-scheduler";
import { JobManager, type JobManagerLeadership } from "./cluster/job-manager";
import { JobManagerHa, type JobManagerFailoverRecord } from "./cluster/job-manager-ha";
import type { BatchJobRecoverySettings } from "./scheduler/adaptive/batch-job-recovery";
import type { JobGraph } from "./graph/job-graph";
import type { ExecutionVertexId } from "./graph/execution-graph";
import { checkpointSettings, type CompletedAck } from "./checkpoint/coordinator";
import { TaskManager } from "./cluster/task-manager";
import { CompletedCheckpointStore } from "./checkpoint/completed-checkpoint-store";
import { ResourceManager, parseReplacement, taskManagerName, type ReplacementSpec } from "./cluster/resource-manager";
import { ShuffleAdapter } from "./cluster/shuffle-adapter";
import { emptyRocksDbStats, type RocksDbStats } from "./state/rocksdb-backend";
import { emptyChangelogStats, type ChangelogSettings, type ChangelogStats } from "./state/changelog-backend";
import type { RestoreRecord } from "./cluster/task-manager";
import type { SpeculationStats } from "./scheduler/speculative/speculative-execution";
import { ENGINE_KIND_LEVELS, type EngineEvents, type JobStatus } from "./trace-events";
import type { KernelEvents } from "../sim/trace/events";
import type { BlobObject } from "../sim/blob-store";
import { SavepointOps, type SavepointRequest, type SavepointRunInfo } from "./cluster/savepoint-ops";

export interface ClusterShape {
  taskManagers: number;
  coresPerTaskManager?: number;
  jobManagerCores?: number;
  /**
   * Speed factor per TaskManager host by number (index 0 = tm-1, then spares and
   * replacements in the order they are named); stragglers have < 1.
   */
  speeds?: number[];
  /** Cores per TaskManager host by number, as `speeds` (heterogeneous hosts); unset entries: coresPerTaskManager. */
  cores?: number[];
  /**
   * An active resource manager (Kubernetes, YARN) replaces a lost TaskManager by a new one
   * on a new host, which starts after `startDelay` (a duration or a distribution, drawn
   * per replacement). Absent or false: standalone, a lost TaskManager is back only if its
   * host restarts. See engine/cluster/resource-manager.ts.
   */
  replacement?: ReplacementSpec;
  network?: NetworkSpec;
  disk?: DiskSpec;
  blobStore?: BlobStoreSpec;
}

export interface JobRunOptions {
  seed: number;
  scenario: string;
  config?: Record<string, unknown> | EngineConfig;
  costs?: CostModel;
  cluster: ClusterShape;
  /** Builds the program on the environment. */
  job: (env: StreamExecutionEnvironment) => void;
  trace?: TraceOptions;
  /** Stop (and cancel an unbounded job) at this virtual time. */
  timeLimitNs?: Ns;
  /** Interval of sampled TaskMetrics events. */
  metricsIntervalNs?: Ns;
  /** Fault plan (sim/faults.ts specs). */
  faults?: unknown;
  /** A limit on kernel events (DESIGN style rule 3). */
  maxEvents?: number;
  /** Savepoints to take (stop-with-savepoint among them), engine/cluster/savepoint-ops.ts. */
  savepoints?: readonly SavepointRequest[];
  /** Blobs of an earlier run (its savepoints) in the blob store from the start: what execution.state-recovery.path reads. */
  blobObjects?: Iterable<BlobObject>;
  /** The external store of an earlier run, whose committed output this run continues (a job restarted from a savepoint). */
  externalStore?: ExternalStore;
}

export interface VertexStats {
  id: string;
  name: string;
  parallelism: number;
  recordsIn: number;
  recordsOut: number;
  /** Busy time summed over the vertex's subtasks (all attempts), ns. */
  busyNs: number;
  busyRatio: number;
  backpressuredRatio: number;
  idleRatio: number;
}

/** One TaskMetrics sample, kept in memory for expectations and reports. */
export type MetricSample = { tNs: Ns } & Omit<EngineEvents["TaskMetrics"], "host" | "watermarkMs">;

export interface JobRunResult {
  status: JobStatus;
  failureCause: string | undefined;
  runtimeMode: RuntimeMode;
  /** Submission to terminal status, virtual ns. */
  makespanNs: Ns | undefined;
  endNs: Ns;
  outputs: Map<string, readonly unknown[]>;
  /** Per sink, when its first record became visible in this run (virtual ns): how soon results show (e.g. event-time idleness). */
  firstCommitNs: Map<string, Ns>;
  vertices: VertexStats[];
  samples: MetricSample[];
  /** Failovers that restarted tasks, and task attempts restarted in total. */
  restarts: number;
  restartedTasks: number;
  /** Slot-seconds the job held (Σ slot allocation → release), the resource cost of a run. */
  slotSeconds: number;
  /** Coverage marks hit (Mark events), by name. */
  marks: Record<string, number>;
  /** Checkpoint statistics (undefined when checkpointing is off). */
  checkpoints: CheckpointSummary | undefined;
  /** What the rocksdb backends did (undefined unless state.backend.type is rocksdb). */
  rocksdb: RocksDbStats | undefined;
  /** What the changelog backends did (undefined unless state.changelog.enabled with checkpointing). */
  changelog: ChangelogStats | undefined;
  /** Every task attempt's restore of checkpointed state, in the order they completed. */
  restores: readonly RestoreRecord[];
  /** Speculative execution's counters (numEffectiveSpeculativeExecutions, ...); undefined when off. */
  speculation: SpeculationStats | undefined;
  kernelEvents: number;
  /** Latency-marker samples (empty unless metrics.latency.interval > 0), ns. */
  processingLatencyNs: readonly number[];
  visibilityLatencyNs: readonly number[];
  /**
   * JobManager failovers (the "jm" host crashed): when each leader was lost and the next
   * took over, and how; `rerunFinishedTasks` counts subtasks FINISHED when a leader was
   * lost that a later leader ran again (reset by recovery, or the whole job from scratch).
   */
  jobManagerFailovers: readonly (JobManagerFailoverRecord & { rerunFinished: string[] })[];
  /** Savepoints taken and the savepoint restored (undefined when the run did neither). */
  savepoints: SavepointRunInfo | undefined;
  rerunFinishedTasks: number;
  fingerprint: string;
  world: World;
  /** The last JobManager leader (the only one unless the JobManager failed over). */
  jobManager: JobManager;
  store: ExternalStore;
}

export interface CheckpointSummary {
  triggered: number;
  completed: number;
  aborted: number;
  /** Triggers skipped because not all subtasks were running. */
  skipped: number;
  /** Trigger-to-completion durations of the completed checkpoints, ns, in completion order. */
  durationsNs: number[];
  /** Each subtask's phases in every completed checkpoint. */
  subtasks: readonly CompletedAck[];
}

export const JOB_MANAGER_HOST = "jm";
export const DEFAULT_METRICS_INTERVAL_NS = 1_000_000_000;
export const DEFAULT_MAX_EVENTS = 50_000_000;
export const DEFAULT_TIME_LIMIT_NS = 24 * 3600 * 1e9;

export { taskManagerName };

export function runJob(options: JobRunOptions): JobRunResult {
  const config = options.config instanceof EngineConfig ? options.config : EngineConfig.parse(options.config ?? {});
  const costs = options.costs ?? DEFAULT_COSTS;
  const shape = options.cluster;
  if (!Number.isSafeInteger(shape.taskManagers) || shape.taskManagers < 1) {
    throw new InputError("cluster.taskManagers", `must be a positive integer, got ${shape.taskManagers}`);
  }
  const replacement = parseReplacement(shape.replacement, "cluster.replacement");
  const redundant = config.get("slotmanager.redundant-taskmanager-num");
  const cores = shape.coresPerTaskManager ?? 2;
  if (shape.cores !== undefined) {
    if (!Array.isArray(shape.cores)) throw new InputError("cluster.cores", "must be a list of core counts, one per TaskManager");
    shape.cores.forEach((c, i) => {
      if (!Number.isSafeInteger(c) || c < 1) throw new InputError(`cluster.cores[${i}]`, `must be a positive integer, got ${String(c)}`);
    });
  }
  const taskManagerHost = (i: number) => ({ name: taskManagerName(i), cores: shape.cores?.[i] ?? cores, speed: shape.speeds?.[i] ?? 1 });
  const clusterSpec: ClusterSpec = {
    hosts: [
      { name: JOB_MANAGER_HOST, cores: shape.jobManagerCores ?? 2 },
      // Spares are hosts of the cluster from the start, named after the shape's TaskManagers.
      ...Array.from({ length: shape.taskManagers + redundant }, (_, i) => taskManagerHost(i)),
    ],
    ...(shape.network !== undefined ? { network: shape.network } : {}),
    ...(shape.disk !== undefined ? { disk: shape.disk } : {}),
    ...(shape.blobStore !== undefined ? { blobStore: shape.blobStore } : {}),
  };

  // Build and compile the program before the world exists: bad programs fail fast.
  const env = new StreamExecutionEnvironment();
  options.job(env);
  const streamGraph = env.getStreamGraph();
  if (!streamGraph.nodes.some((n) => n.kind === "sink")) {
    // Flink would run it and discard everything; a simulation of nothing is a mistake.
    throw new InputError("job", "has no sink: add sinkTo(...) so the job's output goes somewhere");
  }
  const runtimeMode = resolveRuntimeMode(config, streamGraph.nodes.every((n) => n.kind !== "source" || n.source!.bounded));
  const defaultParallelism = config.get("parallelism.default");
  resolvePartitioners(streamGraph, defaultParallelism);
  const adaptive = usesAdaptiveBatchScheduler(config, runtimeMode, streamGraph);
  const jobGraph = compileJobGraph(streamGraph, {
    runtimeMode,
    batchShuffleMode: config.get("execution.batch-shuffle-mode"),
    defaultParallelism,
    // An undecided vertex's max parallelism: Flink's AdaptiveBatchScheduler takes the adaptive bound.
    maxParallelism:
      adaptive && config.get("pipeline.max-parallelism") === -1
        ? config.get("execution.batch.adaptive.auto-parallelism.max-parallelism")
        : effectiveMaxParallelism(config, defaultParallelism),
    chainingEnabled: config.get("pipeline.operator-chaining.enabled"),
  });
  const planner = adaptive ? createAdaptivePlanner(config, jobGraph) : undefined;
  const executionGraph = planner?.graph ?? buildExecutionGraph(jobGraph);
  const regions = planner !== undefined ? [] : computeRegions(executionGraph);

  const world = new World(clusterSpec, {
    seed: options.seed,
    scenario: options.scenario,
    config: { ...config.toJSON(), "flowsim.runtime-mode.resolved": runtimeMode },
    ...(options.trace !== undefined ? { trace: options.trace } : {}),
  });
  world.trace.registerKinds(ENGINE_KIND_LEVELS);
  const trace = world.trace as unknown as Trace<EngineEvents & KernelEvents>;
  if (options.faults !== undefined) world.injectFaults(options.faults);
  if (options.blobObjects !== undefined) world.blobStore.preload(options.blobObjects);
  const store = options.externalStore ?? new ExternalStore();
  const transactionalSinks = new Set(streamGraph.nodes.filter((n) => n.kind === "sink" && /: Committer$/.test(n.name)).map((n) => n.sinkName!));
  const latency = new LatencyTracker(transactionalSinks);
  const sinkIds = new Map<string, number>();
  const firstCommitNs = new Map<string, Ns>();
  // A store carried over from an earlier run hears this run only while it runs.
  const unsubscribeCommit = store.onCommit((sink, record, txn) => {
    let sinkId = sinkIds.get(sink);
    if (sinkId === undefined) sinkIds.set(sink, (sinkId = sinkIds.size));
    if (!firstCommitNs.has(sink)) firstCommitNs.set(sink, world.now);
    world.kernel.mixValue(sinkId);
    world.kernel.mixValue(record);
    if (txn !== undefined) latency.committed(store.transaction(txn)!.writerId, world.now);
  });
  const unsubscribeTxn = store.onTransactionCommitted((txn) => trace.emit("SinkCommitted", { sink: txn.sink, txn: txn.id, records: txn.recordCount }));
  const jobRng = jobRngOf(world.rng);

  const checkpoints = checkpointSettings(config, runtimeMode);
  const rocksDbStats = config.get("state.backend.type") === "rocksdb" ? emptyRocksDbStats() : undefined;
  // The changelog needs checkpoints (STREAMING with an interval): it exists for them.
  const changelog: ChangelogSettings | undefined =
    config.get("state.changelog.enabled") && checkpoints !== undefined
      ? {
          materializationEnabled: config.get("state.changelog.periodic-materialize.enabled"),
          materializationIntervalNs: config.get("state.changelog.periodic-materialize.interval"),
          maxMaterializationFailures: config.get("state.changelog.max-failures-allowed"),
          preemptiveThresholdBytes: config.get("state.changelog.dstl.dfs.preemptive-persist-threshold"),
          persistDelayNs: config.get("state.changelog.dstl.dfs.batch.persist-delay"),
          persistSizeThresholdBytes: config.get("state.changelog.dstl.dfs.batch.persist-size-threshold"),
          uploadTimeoutNs: config.get("state.changelog.dstl.dfs.upload.timeout"),
          maxAttempts: config.get("state.changelog.dstl.dfs.upload.max-attempts"),
          nextAttemptDelayNs: config.get("state.changelog.dstl.dfs.upload.next-attempt-delay"),
        }
      : undefined;
  const changelogStats = changelog !== undefined ? emptyChangelogStats() : undefined;
  const restores: RestoreRecord[] = [];
  const recovery = batchJobRecoverySettings(config, jobGraph);
  const restoring = config.isSet("execution.state-recovery.path");
  const savepointOps =
    (options.savepoints?.length ?? 0) > 0 || restoring ? new SavepointOps(world, trace, config, jobGraph, options.savepoints ?? [], config.get("state.backend.type")) : undefined;
  const createLeader = (leadership: JobManagerLeadership): JobManager => {
    // A job started from a savepoint numbers its attempts above the old job's (sink fencing epochs).
    if (leadership.epoch === 0 && savepointOps !== undefined) leadership = { ...leadership, attemptBase: leadership.attemptBase + savepointOps.attemptBase };
    if (leadership.epoch === 0) return new JobManager(world, trace, JOB_MANAGER_HOST, config, jobGraph, executionGraph, regions, jobRng, planner, leadership);
    // A new leader builds the job's execution graph anew (recovery re-initializes it from the log).
    const p = adaptive ? createAdaptivePlanner(config, jobGraph) : undefined;
    const eg = p?.graph ?? buildExecutionGraph(jobGraph);
    return new JobManager(world, trace, JOB_MANAGER_HOST, config, jobGraph, eg, p !== undefined ? [] : computeRegions(eg), jobRng, p, leadership);
  };
  const haServices = highAvailability(config);
  const ha: JobManagerHa = new JobManagerHa(world, trace, {
    host: JOB_MANAGER_HOST,
    create: createLeader,
    recovery: recovery.settings,
    recoveryOffReason: recovery.offReason,
    leaseNs: haServices.leaseNs,
    // Only a checkpointing job has checkpoints to keep in HA storage.
    checkpointStore: haServices.leaseNs !== undefined && checkpoints !== undefined ? new CompletedCheckpointStore(world.blobStore, `ha/${jobGraph.jobName}/checkpoints`) : undefined,
    onLeader: (leader) => {
      if (leader.leadership.epoch === 0) savepointOps?.attach(leader, () => ha.current);
      leader.onTerminal(() => world.kernel.stop());
      leader.addTaskManagerLostListener((host, cause, processRestarted) => resourceManager.taskManagerLost(host, cause, processRestarted));
      if (redundant > 0) leader.setSlotPreference((host) => (resourceManager.isRedundant(host) ? 1 : 0));
    },
    notifyTaskManagers: () => {
      for (const tm of resourceManager.taskManagers) tm.jobManagerLeaderChanged();
    },
  });
  const shuffles = new Map<string, ShuffleAdapter>();
  const bufferTimeoutNs = config.get("execution.buffer-timeout.enabled") && runtimeMode === "STREAMING" ? config.get("execution.buffer-timeout.interval") : -1;
  const createTaskManager = (host: string) =>
    new TaskManager(host, config.get("taskmanager.numberOfTaskSlots"), {
      world,
      jobManagerHost: JOB_MANAGER_HOST,
      settings: {
        runtimeMode,
        sortedInputs: config.get("execution.sorted-inputs.enabled"),
        batchStateBackend: config.get("execution.batch-state-backend.enabled"),
        autoWatermarkIntervalNs: config.get("pipeline.auto-watermark-interval"),
        sourceBatchRecords: 512,
        latencyIntervalNs: config.get("metrics.latency.interval"),
        checkpointing: checkpoints === undefined ? undefined : { mode: checkpoints.mode, unaligned: checkpoints.unaligned, alignedTimeoutNs: checkpoints.alignedTimeoutNs },
        debloat: config.get("taskmanager.network.memory.buffer-debloat.enabled")
          ? {
              periodNs: config.get("taskmanager.network.memory.buffer-debloat.period"),
              targetNs: config.get("taskmanager.network.memory.buffer-debloat.target"),
              samples: config.get("taskmanager.network.memory.buffer-debloat.samples"),
              thresholdPercent: config.get("taskmanager.network.memory.buffer-debloat.threshold-percentages"),
              minBufferBytes: Math.min(config.get("taskmanager.memory.min-segment-size"), config.get("taskmanager.memory.segment-size")),
              maxBufferBytes: config.get("taskmanager.memory.segment-size"),
            }
          : undefined,
        stateBackend: config.get("state.backend.type"),
        ...(changelog !== undefined ? { changelog } : {}),
        rocksdb: {
          incremental: config.get("state.backend.incremental"),
          writeBufferBytes: config.get("state.backend.rocksdb.writebuffer.size"),
          writeBufferCount: config.get("state.backend.rocksdb.writebuffer.count"),
          levelBaseBytes: config.get("state.backend.rocksdb.compaction.level.max-size-level-base"),
          targetFileBytes: config.get("state.backend.rocksdb.compaction.level.target-file-size-base"),
          blockCacheBytes: config.get("state.backend.rocksdb.block.cache-size"),
          blockBytes: config.get("state.backend.rocksdb.block.blocksize"),
        },
      },
      costs,
      jobRng,
      external: store,
      shuffle: (host) => {
        let s = shuffles.get(host);
        if (s === undefined || !s.environment.alive()) {
          s = new ShuffleAdapter(world, host, {
            bufferSizeBytes: config.get("taskmanager.memory.segment-size"),
            exclusiveBuffersPerChannel: config.get("taskmanager.network.memory.buffers-per-channel"),
            floatingBuffersPerGate: config.get("taskmanager.network.memory.floating-buffers-per-gate"),
            maxBuffersPerChannel: config.get("taskmanager.network.memory.max-buffers-per-channel"),
            maxOverdraftBuffersPerGate: config.get("taskmanager.network.memory.max-overdraft-buffers-per-gate"),
            networkMemoryBytes: networkMemoryBytes(config),
            bufferTimeoutNs,
            compression: config.get("taskmanager.network.blocking-shuffle.compression.enabled"),
            sortShuffleMinParallelism: config.get("taskmanager.network.sort-shuffle.min-parallelism"),
            ...(config.isSet("taskmanager.network.memory.read-buffer.required-per-gate.max")
              ? { readBufferRequiredPerGateMax: config.get("taskmanager.network.memory.read-buffer.required-per-gate.max")! }
              : {}),
          });
          shuffles.set(host, s);
        }
        return s;
      },
      jobManagerEndpoint: (tm, connection) => ha.current.endpointFor(tm, connection),
      retainPartitionsOnJobManagerLoss: recovery.settings !== undefined,
      heartbeatIntervalNs: config.get("heartbeat.interval"),
      heartbeatTimeoutNs: config.get("heartbeat.timeout"),
      latency,
      onRegistered: (host) => resourceManager.taskManagerRegistered(host),
      ...(rocksDbStats !== undefined ? { rocksDbStats } : {}),
      ...(changelogStats !== undefined ? { changelogStats } : {}),
      restores,
    });
  const resourceManager = new ResourceManager(world, trace, {
    taskManagers: shape.taskManagers,
    redundant,
    replacement,
    hostSpec: taskManagerHost,
    createTaskManager,
    spareStartFallbackNs: config.get("heartbeat.timeout"),
    jobActive: () => !ha.jobTerminal,
    rng: world.rng,
  });
  // Grows when replacements start: metrics and statistics see every TaskManager.
  const taskManagers = resourceManager.taskManagers;
  const vertexTotals = new Map<string, { recordsIn: number; recordsOut: number; busy: number; bp: number; idle: number }>();
  const samples: MetricSample[] = [];
  sampleMetrics(world, trace, taskManagers, options.metricsIntervalNs ?? DEFAULT_METRICS_INTERVAL_NS, samples, () => ha.jobTerminal);

  ha.start();
  resourceManager.start();

  // A running job heartbeats forever, so every run needs a limit; a day is far beyond any
  // bounded job here, and an unbounded one is given its own.
  const limit = options.timeLimitNs ?? DEFAULT_TIME_LIMIT_NS;
  const maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
  const run = world.run({ untilNs: limit, maxEvents });
  const jm = ha.current;
  if (!jm.isTerminal) {
    const why =
      run.reason === "maxEvents"
        ? `kernel event limit reached (${maxEvents} events)`
        : run.reason === "idle"
          ? "the simulation went idle before the job ended"
          : `time limit reached (${formatDuration(limit)})`;
    jm.cancel(why);
  }
  ha.finish();
  const first = ha.leaders[0]!;
  const failovers = ha.failovers.map((f, i) => {
    // Attempt numbers only grow, and each leader numbers its attempts above the earlier ones'.
    const base = ha.leaders[i + 1]?.leadership.attemptBase ?? Infinity;
    const rerunFinished = f.finishedAtLoss.filter((v) => (jm.placementOf(v as ExecutionVertexId)?.attemptNumber ?? -1) >= base);
    return { ...f, rerunFinished };
  });
  collectFinalStats(taskManagers, vertexTotals);
  const outputs = new Map<string, readonly unknown[]>();
  for (const sink of store.sinks()) outputs.set(sink, store.committed(sink));
  const fingerprint = world.finish(jm.status);
  unsubscribeCommit();
  unsubscribeTxn();
  return {
    status: jm.status,
    failureCause: jm.failureCause,
    runtimeMode,
    makespanNs: jm.finishedNs === undefined ? undefined : jm.finishedNs - first.startedNs,
    endNs: world.now,
    outputs,
    firstCommitNs,
    vertices: jobGraph.vertices.map((v) => {
      const t = vertexTotals.get(`v${v.index}`) ?? { recordsIn: 0, recordsOut: 0, busy: 0, bp: 0, idle: 0 };
      const total = t.busy + t.bp + t.idle || 1;
      return {
        id: `v${v.index}`,
        name: v.name,
        // The subtasks it ran with (0 if the adaptive scheduler never initialized it).
        parallelism: jm.executionGraph.verticesOfJobVertex[v.index]!.length,
        recordsIn: t.recordsIn,
        recordsOut: t.recordsOut,
        busyNs: t.busy,
        busyRatio: t.busy / total,
        backpressuredRatio: t.bp / total,
        idleRatio: t.idle / total,
      };
    }),
    samples,
    restarts: ha.leaders.reduce((n, l) => n + l.restarts, 0),
    restartedTasks: ha.leaders.reduce((n, l) => n + l.restartedTasks, 0),
    slotSeconds: ha.leaders.reduce((n, l) => n + l.slotNs, 0) / 1e9,
    marks: Object.fromEntries(world.trace.marks),
    checkpoints: checkpointSummary(ha.leaders),
    rocksdb: rocksDbStats,
    changelog: changelogStats,
    restores,
    speculation: jm.speculation === undefined ? undefined : { ...jm.speculation.stats },
    kernelEvents: world.kernel.eventsRun,
    processingLatencyNs: latency.processingNs,
    visibilityLatencyNs: latency.visibilityNs,
    jobManagerFailovers: failovers,
    rerunFinishedTasks: failovers.reduce((n, f) => n + f.rerunFinished.length, 0),
    savepoints: savepointOps?.info,
    fingerprint,
    world,
    jobManager: jm,
    store,
  };
}

/**
 * Batch job recovery's settings, or why it is off: the option, and Flink's requirements as
 * flowsim models them — BATCH mode, and every exchange BLOCKING (partitions on the
 * producers' TaskManagers, which outlive a JobManager; hybrid and pipelined exchanges are
 * not recovered here).
 */
function batchJobRecoverySettings(config: EngineConfig, jobGraph: JobGraph): { settings: BatchJobRecoverySettings | undefined; offReason: string } {
  if (!config.get("execution.batch.job-recovery.enabled")) return { settings: undefined, offReason: "execution.batch.job-recovery.enabled is false" };
  if (jobGraph.runtimeMode !== "BATCH") return { settings: undefined, offReason: "batch job recovery needs execution.runtime-mode BATCH" };
  const notBlocking = jobGraph.edges.find((e) => e.partitionType !== "BLOCKING");
  if (notBlocking !== undefined) return { settings: undefined, offReason: `batch job recovery needs BLOCKING exchanges, the job has a ${notBlocking.partitionType} one` };
  return {
    settings: {
      previousWorkerRecoveryTimeoutNs: config.get("execution.batch.job-recovery.previous-worker.recovery.timeout"),
      snapshotMinPauseNs: config.get("execution.batch.job-recovery.snapshot.min-pause"),
      writeBufferBytes: config.get("job-event.store.write-buffer.size"),
      flushIntervalNs: config.get("job-event.store.write-buffer.flush-interval"),
      logPrefix: `job-events/${jobGraph.jobName}`,
    },
    offReason: "",
  };
}

/** Checkpoint statistics over every JobManager leader (a new leader has its own coordinator). */
function checkpointSummary(leaders: readonly JobManager[]): CheckpointSummary | undefined {
  const coordinators = leaders.flatMap((l) => (l.checkpoints === undefined ? [] : [l.checkpoints]));
  if (coordinators.length === 0) return undefined;
  const sum = (k: "triggered" | "completed" | "aborted" | "skipped") => coordinators.reduce((n, c) => n + c.stats[k], 0);
  return {
    triggered: sum("triggered"),
    completed: sum("completed"),
    aborted: sum("aborted"),
    skipped: sum("skipped"),
    durationsNs: coordinators.flatMap((c) => c.completedDurationsNs()),
    subtasks: coordinators.flatMap((c) => [...c.completedSubtaskStats()]),
  };
}

/**
 * HA services: how long a crashed leader's lease outlives it — the Kubernetes leader-election
 * lease, or the ZooKeeper session (engine/cluster/job-manager-ha.ts); undefined without HA.
 */
function highAvailability(config: EngineConfig): { leaseNs: number | undefined } {
  switch (config.get("high-availability.type")) {
    case "KUBERNETES":
      return { leaseNs: config.get("high-availability.kubernetes.leader-election.lease-duration") };
    case "ZOOKEEPER":
      return { leaseNs: config.get("high-availability.zookeeper.client.session-timeout") };
    default:
      return { leaseNs: undefined };
  }
}

function resolveRuntimeMode(config: EngineConfig, allBounded: boolean): RuntimeMode {
  const mode = config.get("execution.runtime-mode");
  if (mode === "AUTOMATIC") return allBounded ? "BATCH" : "STREAMING";
  return mode;
}

type Totals = Map<string, { recordsIn: number; recordsOut: number; busy: number; bp: number; idle: number }>;

/** Samples every running task into TaskMetrics events, and keeps per-vertex totals. */
function sampleMetrics(
  world: World,
  trace: Trace<EngineEvents & KernelEvents>,
  taskManagers: TaskManager[],
  intervalNs: Ns,
  samples: MetricSample[],
  done: () => boolean,
): void {
  const last = new Map<object, { busy: number; backpressured: number; idle: number; recordsIn: number; recordsOut: number }>();
  const sample = () => {
    for (const tm of taskManagers) {
      for (const task of tm.runningTasks) {
        const now = task.timeSnapshot();
        const prev = last.get(task) ?? { busy: 0, backpressured: 0, idle: 0, recordsIn: 0, recordsOut: 0 };
        const span = now.busy + now.backpressured + now.idle - (prev.busy + prev.backpressured + prev.idle) || 1;
        const sample: MetricSample = {
          tNs: world.now,
          vertex: task.id.vertexId,
          subtask: task.id.subtaskIndex,
          busy: round3((now.busy - prev.busy) / span),
          backpressured: round3((now.backpressured - prev.backpressured) / span),
          idle: round3((now.idle - prev.idle) / span),
          recordsIn: task.recordsIn - prev.recordsIn,
          recordsOut: task.recordsOut - prev.recordsOut,
          inputQueueBuffers: task.queuedInputBuffers(),
          outputQueueBuffers: task.queuedOutputBuffers(),
        };
        samples.push(sample);
        trace.emit("TaskMetrics", {
          vertex: sample.vertex,
          subtask: sample.subtask,
          host: task.id.host,
          busy: sample.busy,
          backpressured: sample.backpressured,
          idle: sample.idle,
          recordsIn: sample.recordsIn,
          recordsOut: sample.recordsOut,
          inputQueueBuffers: sample.inputQueueBuffers,
          outputQueueBuffers: sample.outputQueueBuffers,
          watermarkMs: Number.isFinite(task.currentWatermark) ? task.currentWatermark : null,
        });
        last.set(task, { ...now, recordsIn: task.recordsIn, recordsOut: task.recordsOut });
      }
    }
    if (!done()) world.kernel.scheduleDaemon(world.now + intervalNs, sample);
  };
  world.kernel.scheduleDaemon(intervalNs, sample);
}

function collectFinalStats(taskManagers: TaskManager[], totals: Totals): void {
  for (const tm of taskManagers) {
    for (const task of tm.allTasks) {
      const t = task.timeSnapshot();
      const v = totals.get(task.id.vertexId) ?? { recordsIn: 0, recordsOut: 0, busy: 0, bp: 0, idle: 0 };
      v.recordsIn += task.recordsIn;
      v.recordsOut += task.recordsOut;
      v.busy += t.busy;
      v.bp += t.backpressured;
      v.idle += t.idle;
      totals.set(task.id.vertexId, v);
    }
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
