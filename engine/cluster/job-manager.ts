/**
 * The JobManager: JobMaster, scheduler, slot pool and source coordinators in one, on its
 * own host, talking to TaskManagers only through RPC over the simulated network.
 *
 * Scheduling follows Flink's pipelined-region strategy (engine/graph/regions.ts): STREAMING
 * jobs are one big set of pipelined regions deployed at once; BATCH jobs deploy a region
 * when its blocking inputs are finished. A region's slots are allocated in bulk (all or
 * nothing); a request that cannot be served waits for slots to free, and fails the job
 * after `slot.request.timeout`. Slot sharing: every (slot sharing group, subtask index)
 * pair of a region shares one slot, as Flink's LocalInputPreferredSlotSharingStrategy
 * does for equal parallelism. TaskManager loss is detected by heartbeat timeout (or a
 * re-registration); listeners (the resource manager) hear of each loss.
 *
 * Invariants: each region is deployed at most once (the scheduling state machine asserts);
 * a slot hosts one sharing-group instance at a time; the job reaches exactly one terminal
 * status, after which nothing is deployed.
 */
import { InvariantError, assert } from "../../sim/errors";
import type { Connection, EndpointHandler, Endpoint } from "../../sim/network";
import type { Rng } from "../../sim/rng";
import type { World } from "../../sim/world";
import { sideOutputTagOf } from "../api/environment";
import { sourceRng } from "../api/job-rng";
import { assignSplits } from "../api/sources";
import { DEFAULT_RECORD_BYTES, type SourceSplit } from "../api/types";
import { effectiveHybridConsumeConstraint, type EngineConfig } from "../config";
import type { ExecutionGraph, ExecutionVertex, ExecutionVertexId, PartitionId } from "../graph/execution-graph";
import type { JobGraph } from "../graph/job-graph";
import { PipelinedRegionScheduling, regionOfVertexMap, type PipelinedRegion, type RegionId } from "../graph/regions";
import { isHybrid, isReconsumable, type HybridConsumeConstraint } from "../graph/result-partition-type";
import { createFailoverStrategy, type FailoverContext, type FailoverStrategy } from "../failover/failover-strategy";
import { createRestartStrategy, type RestartBackoffTimeStrategy } from "../failover/restart-strategy";
import type { EngineEvents, ExecutionState, JobStatus } from "../trace-events";
import { CheckpointCoordinator, checkpointSettings, type CompletedCheckpoint } from "../checkpoint/coordinator";
import type { BlobError } from "../../sim/blob-store";
import type { AdaptiveBatchPlanner } from "../scheduler/adaptive/adaptive-batch-planner";
import { describeRanges } from "../scheduler/adaptive/parallelism-decider";
import { appendSingletonRegions } from "../graph/regions";
import type { TaskDeployment } from "./deployment";
import type { StateHandle } from "../checkpoint/snapshot";
import type { SavepointOptions } from "../checkpoint/savepoint";
import { messageBytes, type JmToTm, type TmToJm } from "./rpc";
import { createSpeculation } from "./speculation-hooks";
import type { Attempt, SpeculationHost, SpeculativeExecutionHandler } from "../scheduler/speculative/speculative-execution";
import type { Trace } from "../../sim/trace/recorder";
import type { KernelEvents } from "../../sim/trace/events";
import { BatchJobRecoveryHandler, type BatchJobRecoveryContext, type BatchJobRecoverySettings } from "../scheduler/adaptive/batch-job-recovery";
import type { ExecutionVertexFinishedEvent } from "./job-event-store";
import type { SubtaskInputRange } from "../graph/dynamic-execution-graph";
import type { CompletedCheckpointStore } from "../checkpoint/completed-checkpoint-store";

/**
 * One JobManager leader's place in a run with JobManager failovers (engine/cluster/job-manager-ha.ts).
 */
export interface JobManagerLeadership {
  /** 0 for the first leader, then one more per failover. */
  epoch: number;
  /**
   * First attempt number of this leader's attempts, above every attempt an earlier leader
   * ran: flowsim names result partitions by (partition, attempt number) where Flink's
   * ExecutionAttemptID is a fresh random id, so a new leader must not reuse one a
   * TaskManager may still hold.
   */
  attemptBase: number;
  /** Batch job recovery (execution.batch.job-recovery.enabled on a job it supports). */
  recovery?: BatchJobRecoverySettings;
  /** Recover from the event log (it has events) instead of starting the job. */
  recover: boolean;
  /** Recovery failed: the HA services start a fresh leader that runs the job from scratch. */
  restartFromScratch: (cause: string) => void;
  /**
   * JobManager HA of a checkpointing job: the completed checkpoint store and ID counter in
   * HA storage, shared by every leader (engine/checkpoint/completed-checkpoint-store.ts).
   */
  checkpointStore?: CompletedCheckpointStore;
  /** A new leader restores the latest completed checkpoint in `checkpointStore` before it schedules. */
  recoverCheckpoint?: boolean;
}

/** A new leader's failed reads of the HA checkpoint store are retried this often, this far apart, then the job fails. */
export const CHECKPOINT_STORE_READ_ATTEMPTS = 10;
export const CHECKPOINT_STORE_RETRY_DELAY_NS = 1e9;

interface TaskManagerInfo {
  name: string;
  slots: number;
  endpoint: Endpoint | undefined;
  freeSlots: number[];
  lastHeardNs: number;
  alive: boolean;
}

/** The current execution attempt of a subtask (speculative attempts have the same shape). */
type ExecutionInfo = Attempt;

interface SlotGroup {
  request: number;
  allocatedNs: number;
  vertices: ExecutionVertexId[];
  host: string | undefined;
  slot: number;
}

/** `processRestarted`: noticed by the TaskManager's re-registration (a new process already runs there). */
export type TaskManagerLostListener = (host: string, cause: string, processRestarted: boolean) => void;


export class JobManager {
  status: JobStatus = "CREATED";
  failureCause: string | undefined;
  private readonly taskManagers = new Map<string, TaskManagerInfo>();
  private readonly executions = new Map<ExecutionVertexId, ExecutionInfo>();
  private readonly byAttempt = new Map<string, ExecutionInfo>();
  private readonly scheduling: PipelinedRegionScheduling;
  private readonly hybridConstraint: HybridConsumeConstraint;
  /** Regions waiting for slots, in the order they became schedulable. */
  private readonly pendingRegions: { regions: RegionId[]; sinceNs: number; timer: number }[] = [];
  /** Shared slots held now, by "slot sharing group index/subtask index". */
  private readonly liveGroups = new Map<string, SlotGroup>();
  private readonly slotGroupOf = new Map<ExecutionVertexId, SlotGroup>();
  private readonly splitAssignment = new Map<number, SourceSplit[][]>();
  private nextSlotRequest = 0;
  private heartbeatSeq = 0;
  private finishedCount = 0;
  private readonly terminalListeners: ((status: JobStatus) => void)[] = [];
  private readonly statusListeners: ((status: JobStatus) => void)[] = [];
  private readonly taskManagerLostListeners: TaskManagerLostListener[] = [];
  /** Ranks TaskManagers for slot allocation (lower first); unset: registration order only. */
  private slotPreference: ((host: string) => number) | undefined;
  readonly startedNs: number;
  finishedNs: number | undefined;
  private readonly restartStrategy: RestartBackoffTimeStrategy;
  private readonly failoverStrategy: FailoverStrategy;
  private readonly regionOf: Map<ExecutionVertexId, RegionId>;
  /** Partitions a consumer could not read (PartitionNotFound): their producers must rerun. */
  private readonly failedPartitions = new Set<PartitionId>();
  /** Subtasks cancelled by a failover and waiting for their back-off to end. */
  private readonly pendingRestart = new Set<ExecutionVertexId>();
  private restartTimer = -1;
  private restartAtNs = 0;
  /** Restarts so far (each failover that restarted tasks). */
  restarts = 0;
  /** Task attempts restarted in total. */
  restartedTasks = 0;
  /** Slot time held by the job: Σ over slots of allocation to release, ns (slots still held are not counted). */
  slotNs = 0;
  /** Allocation time of the slots speculative attempts hold, by "host/slot". */
  private readonly speculativeSlotSince = new Map<string, number>();
  /** The subtask of every restarted attempt, in restart order (restartedTasks of them). */
  readonly restartedVertices: ExecutionVertexId[] = [];
  /** The checkpoint coordinator, when checkpointing is on (STREAMING with an interval). */
  readonly checkpoints: CheckpointCoordinator | undefined;
  /** Speculative execution, when on (BATCH with execution.batch.speculative.enabled). */
  readonly speculation: SpeculativeExecutionHandler | undefined;
  /** Batch job recovery's log writer and recovery handler (engine/scheduler/adaptive/batch-job-recovery.ts). */
  readonly recovery: BatchJobRecoveryHandler | undefined;
  /** The process died with its host (a JobManager failover): it does nothing more. */
  private halted = false;
  /** While reconciling: TaskManagers that register are asked for their partitions. */
  private requestingPartitions = false;
  private readonly attemptBase: number;
  /** Highest attempt number that ever changed state here (speculative attempts included). */
  private maxAttemptSeen = 0;
  /** A job started from a savepoint: each subtask's restore plan, used until a checkpoint of this job completes. */
  private initialRestore: ReadonlyMap<ExecutionVertexId, StateHandle> | undefined;

  constructor(
    private readonly world: World,
    private readonly trace: Trace<EngineEvents & KernelEvents>,
    readonly host: string,
    private readonly config: EngineConfig,
    readonly jobGraph: JobGraph,
    readonly executionGraph: ExecutionGraph,
    readonly regions: readonly PipelinedRegion[],
    private readonly jobRng: Rng,
    /**
     * The adaptive batch scheduler's planner: the execution graph (its dynamic graph) starts
     * empty and `regions` (a mutable array) grows as job vertices are initialized.
     */
    private readonly adaptive?: AdaptiveBatchPlanner,
    readonly leadership: JobManagerLeadership = { epoch: 0, attemptBase: 0, recover: false, restartFromScratch: () => {} },
  ) {
    this.attemptBase = leadership.attemptBase;
    this.maxAttemptSeen = leadership.attemptBase;
    assert(adaptive === undefined || (adaptive.graph === executionGraph && regions.length === 0), "adaptive scheduling needs its own empty graph");
    this.hybridConstraint = effectiveHybridConsumeConstraint(config);
    this.scheduling = new PipelinedRegionScheduling(executionGraph, regions, this.hybridConstraint);
    for (const v of executionGraph.vertices) {
      const info: ExecutionInfo = { vertex: v, attemptNumber: this.attemptBase, attemptId: `${v.id}#${this.attemptBase}`, state: "CREATED", host: undefined, slot: -1 };
      this.executions.set(v.id, info);
      this.byAttempt.set(info.attemptId, info);
    }
    this.startedNs = world.now;
    this.regionOf = regionOfVertexMap(regions);
    const settings = checkpointSettings(config, jobGraph.runtimeMode);
    this.checkpoints = settings === undefined ? undefined : new CheckpointCoordinator(settings, this.coordinatorContext(jobRng));
    // restart-strategy.type unset: "none" without checkpointing, exponential-delay with it (Flink ≥ 1.19).
    this.restartStrategy = createRestartStrategy(config, jobRng.child("failover/restart-backoff"), settings !== undefined);
    this.failoverStrategy = createFailoverStrategy(config.get("jobmanager.execution.failover-strategy"));
    this.speculation = createSpeculation(config, jobGraph, executionGraph, this.speculationHost());
    this.recovery = leadership.recovery === undefined ? undefined : new BatchJobRecoveryHandler(this.recoveryContext(), leadership.recovery);
    this.scheduleHeartbeats();
  }

  /** The job starts from a savepoint (engine/cluster/savepoint-ops.ts): set before submit. */
  setInitialRestore(handles: ReadonlyMap<ExecutionVertexId, StateHandle>): void {
    assert(this.status === "CREATED", "a restore plan set after submission");
    this.initialRestore = handles;
  }

  onTerminal(listener: (status: JobStatus) => void): void {
    this.terminalListeners.push(listener);
  }

  /** Told of every status change (the HA services time a recovery by it). */
  onStatus(listener: (status: JobStatus) => void): void {
    this.statusListeners.push(listener);
  }

  /** A lost leader nobody replaced: the run ends with the job FAILED. */
  abandon(cause: string): void {
    if (this.jobTerminal) return;
    this.status = "FAILED";
    this.failureCause = cause;
    this.finishedNs = this.world.now;
    this.trace.emit("JobStatusChanged", { job: this.jobGraph.jobName, status: "FAILED", cause });
  }

  /** Told of every TaskManager loss, after its subtasks failed over (the resource manager listens). */
  addTaskManagerLostListener(listener: TaskManagerLostListener): void {
    this.taskManagerLostListeners.push(listener);
  }

  /** Fill TaskManagers of lower rank first, registration order within a rank (spares rank last). */
  setSlotPreference(rank: (host: string) => number): void {
    this.slotPreference = rank;
  }

  /**
   * The JobManager's side of a TaskManager's connection. Each connection answers on itself:
   * a restarted TaskManager's new connection must not be confused with its dead one.
   */
  endpointFor(taskManager: string, connection: () => Connection): EndpointHandler {
    return {
      onMessage: (payload) => this.onMessage(taskManager, payload as TmToJm, connection().b),
      onClose: () => {
        const tm = this.taskManagers.get(taskManager);
        if (tm !== undefined && tm.endpoint === connection().b) tm.endpoint = undefined;
      },
    };
  }

  /** Submits the job: splits, JobSubmitted, then the first regions once TaskManagers registered. */
  submit(): void {
    assert(this.status === "CREATED", "job submitted twice");
    const jg = this.jobGraph;
    if (this.adaptive === undefined) for (const jv of jg.vertices) this.assignSourceSplits(jv.index, jv.parallelism);
    if (this.leadership.recover) {
      // A new leader recovering a batch job: RECONCILING until the log is replayed and the partitions reconciled.
      this.setStatus("RECONCILING");
      this.recovery!.startRecovering();
      return;
    }
    this.recovery?.startWriting(0);
    // A later leader runs the same JobGraph: it was submitted once.
    if (this.leadership.epoch === 0) this.trace.emit("JobSubmitted", {
      job: jg.jobName,
      runtimeMode: jg.runtimeMode,
      vertices: jg.vertices.map((v) => ({
        id: vertexId(v.index),
        name: v.name,
        // Flink's −1: decided when the vertex is initialized (VertexParallelismDecided).
        parallelism: this.adaptive === undefined ? v.parallelism : (this.adaptive.graph.parallelism(v.index) ?? -1),
        maxParallelism: v.maxParallelism,
        chain: v.nodes.map((n) => n.name),
      })),
      edges: jg.edges.map((e) => ({
        source: vertexId(e.sourceVertex),
        target: vertexId(e.targetVertex),
        input: e.typeNumber,
        distribution: e.distribution,
        partitioner: e.partitioner,
        partitionType: e.partitionType,
      })),
      regions: this.regions.map((r) => ({ id: r.id, subtasks: [...r.vertexIds] })),
    });
    if (this.leadership.recoverCheckpoint === true && this.checkpoints !== undefined && this.leadership.checkpointStore !== undefined) {
      // A new leader of a checkpointing job: the latest completed checkpoint first (read from HA storage).
      this.recoverCheckpointStore(this.leadership.checkpointStore, 1);
      return;
    }
    this.startScheduling();
  }

  private startScheduling(): void {
    this.setStatus("RUNNING");
    this.checkpoints?.start();
    this.speculation?.start();
    this.requestRegions(this.scheduling.start());
    this.advanceAdaptive();
  }

  /**
   * Flink's scheduler restores the latest completed checkpoint from the completed checkpoint
   * store when it is created (CheckpointCoordinator.restoreInitialCheckpointIfPresent): every
   * subtask's first attempt under this leader restores its handle — sources seek to the
   * checkpointed split offsets, committers re-commit what the checkpoint holds, writers
   * abort the transactions of later (incomplete) checkpoints — the same path as a restart.
   */
  private recoverCheckpointStore(store: CompletedCheckpointStore, attempt: number): void {
    store.recover(this.world.host(this.host), this.world.kernel, (err, recovery) => {
      if (this.isTerminal) return;
      if (err !== undefined || recovery === undefined) {
        const cause = `could not read the completed checkpoint store: ${err?.message ?? "no result"}`;
        if (attempt >= CHECKPOINT_STORE_READ_ATTEMPTS) {
          this.failJob(`JobInitializationException: ${cause} (${attempt} attempts)`);
          return;
        }
        this.world.kernel.after(CHECKPOINT_STORE_RETRY_DELAY_NS, () => !this.isTerminal && this.recoverCheckpointStore(store, attempt + 1));
        return;
      }
      this.checkpoints!.restoreCompleted(recovery.checkpoints);
      const latest = this.checkpoints!.latest;
      this.trace.emit("CheckpointStoreRecovered", {
        checkpoints: recovery.checkpoints.map((c) => c.id),
        bytes: recovery.bytes,
        readNs: recovery.readNs,
        attempts: attempt,
        nextCheckpointId: store.nextCheckpointId,
      });
      if (latest !== undefined) this.trace.emit("CheckpointRestored", { checkpoint: latest.id, subtasks: [...this.executions.keys()].filter((v) => latest.handles.has(v)) });
      this.startScheduling();
    });
  }

  private assignSourceSplits(vertexIndex: number, parallelism: number): void {
    const head = this.jobGraph.vertices[vertexIndex]!.nodes[0]!;
    if (head.kind !== "source") return;
    const splits = head.source!.createSplits(parallelism, sourceRng(this.jobRng, head.name));
    this.splitAssignment.set(vertexIndex, assignSplits(splits, parallelism));
  }

  /** The parallelism a job vertex runs with (decided at initialization under the adaptive scheduler). */
  private parallelismOf(vertexIndex: number): number {
    if (this.adaptive === undefined) return this.jobGraph.vertices[vertexIndex]!.parallelism;
    const p = this.adaptive.graph.parallelism(vertexIndex);
    assert(p !== undefined, `job vertex ${vertexIndex} runs before its parallelism is decided`);
    return p;
  }

  /**
   * Adaptive batch scheduling: decide and initialize the job vertices that can be, attach
   * their subtasks and regions, and schedule those whose inputs are ready.
   */
  private advanceAdaptive(): void {
    const planner = this.adaptive;
    if (planner === undefined || this.isTerminal) return;
    const step = planner.advance((v) => this.executionGraph.verticesOfJobVertex[v]!.every((id) => this.executions.get(id)?.state === "FINISHED"));
    for (const d of step.decisions) {
      const firstData = d.record.inputs.findIndex((i) => !i.broadcast);
      this.trace.emit("VertexParallelismDecided", {
        vertex: vertexId(d.vertexIndex),
        name: this.jobGraph.vertices[d.vertexIndex]!.name,
        parallelism: d.record.parallelism,
        path: d.record.path,
        inputBytes: d.record.nonBroadcastBytes,
        inputs: d.record.inputs.map((i) => ({ name: i.name, pattern: i.pattern, broadcast: i.broadcast, partitions: i.numPartitions, subpartitions: i.numSubpartitions, bytes: i.totalBytes })),
        ...(firstData >= 0 ? { ranges: describeRanges(d.ranges[firstData]!) } : {}),
        summary: d.record.summary,
      });
    }
    if (step.initialized.length === 0) return;
    step.initializedJobVertices.forEach((jvIndex, i) => this.recovery?.onExecutionJobVertexInitialized(jvIndex, this.parallelismOf(jvIndex), step.initializedRanges[i]!));
    this.attachInitialized(step.initialized, step.initializedJobVertices);
  }

  /** Executions, splits and regions of newly initialized job vertices; schedules what can run. */
  private attachInitialized(initialized: readonly ExecutionVertex[], jobVertices: readonly number[]): void {
    for (const v of initialized) {
      const info: ExecutionInfo = { vertex: v, attemptNumber: this.attemptBase, attemptId: `${v.id}#${this.attemptBase}`, state: "CREATED", host: undefined, slot: -1 };
      this.executions.set(v.id, info);
      this.byAttempt.set(info.attemptId, info);
    }
    for (const jvIndex of jobVertices) {
      const parallelism = this.parallelismOf(jvIndex);
      this.assignSourceSplits(jvIndex, parallelism);
      this.trace.emit("VertexInitialized", { vertex: vertexId(jvIndex), parallelism, subtasks: [...this.executionGraph.verticesOfJobVertex[jvIndex]!] });
    }
    const added = appendSingletonRegions(this.executionGraph, this.regions as PipelinedRegion[], initialized.map((v) => v.id), this.regionOf);
    this.requestRegions(this.scheduling.addRegions(added));
  }

  // ---- batch job recovery (engine/scheduler/adaptive/batch-job-recovery.ts) ----

  /** The JobManager as the batch job recovery handler sees it (Flink's BatchJobRecoveryContext). */
  private recoveryContext(): BatchJobRecoveryContext {
    const jm = this;
    const trace = this.trace;
    return {
      kernel: this.world.kernel,
      blob: this.world.blobStore,
      host: this.world.host(this.host),
      jobGraph: this.jobGraph,
      executionGraph: this.executionGraph,
      state: (v) => this.executions.get(v)!.state,
      attemptNumber: (v) => this.executions.get(v)!.attemptNumber,
      isJobVertexInitialized: (i) => this.adaptive === undefined || this.adaptive.graph.isInitialized(i),
      initializeJobVertex: (vertexIndex, parallelism, inputRanges) => this.replayInitialization(vertexIndex, parallelism, inputRanges),
      recoverFinished: (event) => this.recoverFinished(event),
      tasksNeedingRestart: (v) => this.failoverStrategy.verticesToRestart(v, this.failoverContext),
      markPartitionMissing: (pid) => this.failedPartitions.add(pid),
      partitionFound: (pid, host) => {
        const producer = this.executions.get(this.executionGraph.partitionById.get(pid)!.producer)!;
        producer.host = host;
      },
      resetVertices: (vertices) => this.resetInRecovering(vertices),
      requestPartitions: () => {
        this.requestingPartitions = true;
        for (const tm of this.taskManagers.values()) if (tm.alive) this.send(tm, { type: "RequestPartitions" });
      },
      stopRequesting: () => {
        this.requestingPartitions = false;
      },
      releasePartitions: (byHost) => {
        for (const [host, partitionIds] of byHost) {
          const tm = this.taskManagers.get(host);
          if (tm !== undefined && tm.alive) this.send(tm, { type: "ReleasePartitions", partitionIds });
        }
      },
      recoveringFinished: () => this.onRecoveringFinished(),
      recoveringFailed: (cause) => {
        if (!jm.isTerminal) jm.leadership.restartFromScratch(cause);
      },
      emit: {
        replayed: (e) => trace.emit("JobEventsReplayed", e),
        reconciled: (e) => trace.emit("PartitionsReconciled", e),
        reset: (vertices, cause) => trace.emit("RecoveryVerticesReset", { vertices, cause }),
        finished: (e) => trace.emit("JobRecoveryFinished", e),
        flushed: (segment, events, bytes, reason) => trace.emit("JobEventsFlushed", { segment, events, bytes, reason }),
      },
    };
  }

  /** Replay: a job vertex initialized with its logged decision (parallelism and input ranges, not decided again). */
  private replayInitialization(vertexIndex: number, parallelism: number, inputRanges: readonly (readonly SubtaskInputRange[])[]): void {
    assert(this.adaptive !== undefined, `initialization event for v${vertexIndex} in a job without the adaptive batch scheduler`);
    const initialized = this.adaptive.replayInitialization(vertexIndex, parallelism, inputRanges);
    this.attachInitialized(initialized, [vertexIndex]);
  }

  /** Replay: a subtask finished before the failover; its partitions are where the log says until the reconcile. */
  private recoverFinished(event: ExecutionVertexFinishedEvent): void {
    const e = this.executions.get(event.vertex);
    assert(e !== undefined && e.state === "CREATED", `recovered finished ${event.vertex} is not a created subtask`);
    this.byAttempt.delete(e.attemptId);
    e.attemptNumber = event.attemptNumber;
    e.attemptId = `${e.vertex.id}#${event.attemptNumber}`;
    e.host = event.host;
    e.slot = -1;
    e.state = "FINISHED";
    this.byAttempt.set(e.attemptId, e);
    this.finishedCount++;
    if (event.producedBytes !== undefined) this.adaptive?.recordProducedBytes(e.vertex, event.producedBytes.map((row) => [...row]));
  }

  /** Recovery resets recovered subtasks (Flink's resetVerticesInRecovering): CREATED with a fresh attempt, no back-off. */
  private resetInRecovering(vertices: readonly ExecutionVertexId[]): void {
    for (const vid of vertices) {
      const e = this.executions.get(vid)!;
      assert(e.state === "FINISHED", `recovery resets ${vid} in state ${e.state}`);
      this.finishedCount--;
      this.byAttempt.delete(e.attemptId);
      e.attemptNumber = Math.max(e.attemptNumber + 1, this.attemptBase);
      e.attemptId = `${vid}#${e.attemptNumber}`;
      this.byAttempt.set(e.attemptId, e);
      e.host = undefined;
      e.slot = -1;
      e.state = "CREATED";
      for (const pid of e.vertex.producedPartitions) this.failedPartitions.delete(pid);
    }
  }

  /** RECONCILING → RUNNING: regions of recovered subtasks count as finished; scheduling goes on from there. */
  private onRecoveringFinished(): void {
    if (this.isTerminal) return;
    for (const e of this.executions.values()) assert(e.state === "CREATED" || e.state === "FINISHED", `${e.vertex.id} is ${e.state} after recovery`);
    this.setStatus("RUNNING");
    this.speculation?.start();
    const finished = [...this.executions.values()].filter((e) => e.state === "FINISHED").map((e) => e.vertex.id);
    if (this.finishedCount === this.executions.size && (this.adaptive?.allInitialized ?? true)) {
      this.setStatus("FINISHED");
      return;
    }
    this.requestRegions(this.scheduling.startRecovered(finished));
    this.advanceAdaptive();
  }

  // ---- checkpoints ----

  private coordinatorContext(jobRng: Rng) {
    const eg = this.executionGraph;
    const store = this.leadership.checkpointStore;
    return {
      kernel: this.world.kernel,
      trace: this.trace,
      rng: jobRng.child("checkpoint/initial-delay"),
      subtasks: () =>
        [...this.executions.values()].map((e) => ({
          vertex: e.vertex.id,
          attemptId: e.attemptId,
          state: e.state,
          noRunningProducers: e.vertex.inputGates.every((g) => g.channels.every((c) => this.executions.get(eg.partitionById.get(c.partitionId)!.producer)!.state === "FINISHED")),
        })),
      trigger: (vertex: ExecutionVertexId, attemptId: string, checkpointId: number, timestampNs: number, savepoint?: SavepointOptions) =>
        this.sendToAttempt(vertex, attemptId, { type: "TriggerCheckpoint", attemptId, checkpointId, timestampNs, ...(savepoint !== undefined ? { savepoint } : {}) }),
      notifyComplete: (vertex: ExecutionVertexId, attemptId: string, checkpointId: number) => this.sendToAttempt(vertex, attemptId, { type: "NotifyCheckpointComplete", attemptId, checkpointId }),
      notifyAborted: (vertex: ExecutionVertexId, attemptId: string, checkpointId: number) => this.sendToAttempt(vertex, attemptId, { type: "NotifyCheckpointAborted", attemptId, checkpointId }),
      failJobOver: (cause: string) => this.handleFailure(undefined, cause),
      deleteBlob: (key: string) => this.world.blobStore.delete(this.world.host(this.host), key, () => {}),
      ...(store !== undefined
        ? {
            ha: {
              nextCheckpointId: () => store.getAndIncrement(),
              add: (cp: CompletedCheckpoint, stillWanted: () => boolean, done: (err?: BlobError) => void) => store.add(this.world.host(this.host), cp, stillWanted, done),
              remove: (id: number) => store.remove(this.world.host(this.host), id),
            },
          }
        : {}),
    };
  }

  private sendToAttempt(vertex: ExecutionVertexId, attemptId: string, message: JmToTm): void {
    const e = this.executions.get(vertex);
    if (e === undefined || e.attemptId !== attemptId || e.host === undefined) return;
    const tm = this.taskManagers.get(e.host);
    if (tm !== undefined && tm.alive) this.send(tm, message);
  }

  /** The execution a message claims to come from, or undefined (and a fencing mark) for a stale attempt. */
  private currentAttempt(attemptId: string): ExecutionInfo | undefined {
    const e = this.byAttempt.get(attemptId);
    if (e === undefined) return undefined;
    if (e.attemptId !== attemptId) {
      this.trace.emit("Mark", { name: "fencing.staleAttemptDropped" });
      return undefined;
    }
    return e;
  }

  /** Cancels every running task and ends the job as CANCELED (end of a scenario's time). */
  cancel(cause: string): void {
    if (this.isTerminal) return;
    this.cancelAll();
    this.setStatus("CANCELED", cause);
  }

  /** Terminal, or dead with its host: either way it schedules nothing more. */
  get isTerminal(): boolean {
    return this.halted || this.status === "FINISHED" || this.status === "FAILED" || this.status === "CANCELED";
  }

  /** The job reached a terminal status (a halted leader's job goes on under the next one). */
  get jobTerminal(): boolean {
    return this.status === "FINISHED" || this.status === "FAILED" || this.status === "CANCELED";
  }

  get isHalted(): boolean {
    return this.halted;
  }

  /** Highest attempt number this leader used (the next leader numbers its attempts above). */
  get maxAttemptNumber(): number {
    return this.maxAttemptSeen;
  }

  /**
   * The JobManager process died with its host: timers and callbacks find it terminal and
   * stop, the log writer drops its buffer, slots held so far are accounted. Its job's
   * status is left as it was: a new leader takes the job over.
   */
  halt(): void {
    if (this.halted) return;
    for (const g of new Set(this.slotGroupOf.values())) if (g.host !== undefined) this.slotNs += this.world.now - g.allocatedNs;
    this.halted = true;
    this.recovery?.stop();
    // Pending checkpoints die with the process (their metadata never reaches the HA store).
    this.checkpoints?.stop();
    this.speculation?.stop();
    for (const p of this.pendingRegions) this.world.kernel.cancel(p.timer);
    this.pendingRegions.length = 0;
    if (this.restartTimer >= 0) this.world.kernel.cancel(this.restartTimer);
    this.restartTimer = -1;
  }

  /** One subtask's current attempt, or undefined if it does not exist (yet) here. */
  placementOf(vertex: ExecutionVertexId): { attemptNumber: number; state: ExecutionState; host: string | undefined } | undefined {
    const e = this.executions.get(vertex);
    return e === undefined ? undefined : { attemptNumber: e.attemptNumber, state: e.state, host: e.host };
  }

  /** Where each subtask runs (for summaries and tests). */
  placement(): { vertex: ExecutionVertexId; host: string | undefined; slot: number; state: ExecutionState }[] {
    return [...this.executions.values()].map((e) => ({ vertex: e.vertex.id, host: e.host, slot: e.slot, state: e.state }));
  }

  // ---- RPC ----

  private send(tm: TaskManagerInfo, message: JmToTm): void {
    tm.endpoint?.send(message, messageBytes(message));
  }

  private onMessage(from: string, message: TmToJm, endpoint: Endpoint): void {
    switch (message.type) {
      case "RegisterTaskManager":
        return this.onRegister(from, message.slots, endpoint);
      case "HeartbeatResponse": {
        const tm = this.taskManagers.get(from);
        if (tm !== undefined) tm.lastHeardNs = this.world.now;
        return;
      }
      case "ReaderRegistered":
        return this.onReaderRegistered(message.attemptId);
      case "PartitionsReport":
        return this.recovery?.onPartitionsReported(from, message.partitions.map((p) => p.partitionId));
      case "TaskStateUpdate":
        if (message.failedPartition !== undefined) this.onPartitionFailed(message.failedPartition);
        return this.onTaskState(message.attemptId, message.state, message.cause, message.failedPartition !== undefined, message.producedBytes);
      case "AcknowledgeCheckpoint": {
        const e = this.currentAttempt(message.attemptId);
        if (e !== undefined && !this.isTerminal) this.checkpoints?.acknowledge(e.vertex.id, message.attemptId, message.checkpointId, message.handle, message.stats, from);
        return;
      }
      case "DeclineCheckpoint": {
        const e = this.currentAttempt(message.attemptId);
        if (e !== undefined && !this.isTerminal) this.checkpoints?.decline(e.vertex.id, message.attemptId, message.checkpointId, message.reason, message.counts);
        return;
      }
    }
  }

  private onRegister(name: string, slots: number, endpoint: Endpoint): void {
    const existing = this.taskManagers.get(name);
    if (existing !== undefined && existing.alive) {
      // A new TaskManager process on the same host: the old one is gone, whatever the
      // heartbeats say yet (faster detection than the heartbeat timeout).
      this.onTaskManagerLost(existing, `TaskManager ${name} registered again after a restart`, true);
      if (this.isTerminal) return;
    }
    const tm: TaskManagerInfo = {
      name,
      slots,
      endpoint,
      freeSlots: Array.from({ length: slots }, (_, i) => i),
      lastHeardNs: this.world.now,
      alive: true,
    };
    this.taskManagers.set(name, tm);
    this.trace.emit("TaskManagerRegistered", { host: name, slots });
    this.send(tm, { type: "RegistrationAccepted" });
    if (this.requestingPartitions) this.send(tm, { type: "RequestPartitions" });
    this.tryPendingRegions();
  }

  private onReaderRegistered(attemptId: string): void {
    // Speculative source attempts replay the subtask's splits.
    const e = this.byAttempt.get(attemptId) ?? this.speculation?.attempt(attemptId);
    if (e === undefined || this.isTerminal) return;
    const splits = this.splitAssignment.get(e.vertex.vertexIndex)?.[e.vertex.subtaskIndex] ?? [];
    this.trace.emit("SplitsAssigned", { vertex: vertexId(e.vertex.vertexIndex), subtask: e.vertex.subtaskIndex, splits: splits.map((s) => s.splitId) });
    const tm = this.taskManagers.get(e.host!);
    if (tm !== undefined) this.send(tm, { type: "AddSplits", attemptId, splits, noMoreSplits: true });
  }

  private onTaskState(attemptId: string, state: ExecutionState, cause?: string, partitionError = false, producedBytes?: number[][]): void {
    // Not a current attempt: a speculative one; one that finished first becomes current.
    const e = this.byAttempt.get(attemptId) ?? this.speculation?.onAttemptState(attemptId, state, cause, partitionError);
    if (e === undefined) return;
    if (e.attemptId !== attemptId) {
      // A zombie of an earlier attempt (e.g. behind a partition): fenced off.
      this.trace.emit("Mark", { name: "fencing.staleAttemptDropped" });
      return;
    }
    if (e.state === "FINISHED" || e.state === "FAILED" || e.state === "CANCELED") return;
    this.setExecutionState(e, state, cause);
    // Fault plans may trigger on engine events ("when subtask 1 of v0 finishes").
    this.world.signal(`task.${state.toLowerCase()}`, { vertex: vertexId(e.vertex.vertexIndex), subtask: e.vertex.subtaskIndex, attempt: e.attemptNumber, host: e.host ?? "" });
    if (state === "FINISHED") {
      this.speculation?.onSubtaskFinished(e, producedBytes);
      this.finishedCount++;
      if (producedBytes !== undefined) this.adaptive?.recordProducedBytes(e.vertex, producedBytes);
      if (this.recovery !== undefined) {
        const jobVertexFinished = this.executionGraph.verticesOfJobVertex[e.vertex.vertexIndex]!.every((v) => this.executions.get(v)!.state === "FINISHED");
        this.recovery.onExecutionFinished(e.vertex.id, e.attemptNumber, e.host!, producedBytes, jobVertexFinished);
      }
      this.releaseSlotIfDone(e);
      this.checkpoints?.onSubtaskFinished(e.vertex.id);
      if (this.finishedCount === this.executions.size && (this.adaptive?.allInitialized ?? true)) {
        this.setStatus("FINISHED");
        return;
      }
      this.updateUnknownConsumers(e);
      if (!this.isTerminal) this.requestRegions(this.scheduling.onVertexFinished(e.vertex.id));
      this.advanceAdaptive();
    } else if (state === "FAILED") {
      this.releaseSlotIfDone(e);
      // Another attempt that can still finish takes over: no failover (Flink archives the failed one).
      if (!partitionError && this.speculation?.promoteAfterFailure(e) === true) return;
      this.handleFailure(e, `${vertexLabel(this.jobGraph, e)} failed: ${cause ?? "unknown cause"}`);
    }
  }

  // ---- failover ----

  private get failoverContext(): FailoverContext {
    return {
      executionGraph: this.executionGraph,
      regions: this.regions,
      regionOf: (vid) => this.regionOf.get(vid)!,
      isPartitionAvailable: (pid) => this.isPartitionAvailable(pid),
    };
  }

  /**
   * A consumer could not read a partition (PartitionNotFound, or its producer's host is
   * unreachable): Flink's PartitionException marks it failed, so failover reruns its producer.
   */
  private onPartitionFailed(attemptPartition: string): void {
    const pid = attemptPartition.replace(/@\d+$/, "") as PartitionId;
    if (!this.executionGraph.partitionById.has(pid)) return;
    this.failedPartitions.add(pid);
    this.trace.emit("Mark", { name: "failover.partitionNotFound" });
  }

  /** Can a consumer read this partition again without rerunning its producer? */
  private isPartitionAvailable(pid: PartitionId): boolean {
    const p = this.executionGraph.partitionById.get(pid)!;
    if (!isReconsumable(p.partitionType) || this.failedPartitions.has(pid)) return false;
    const producer = this.executions.get(p.producer)!;
    // Flink tracks a scheduler-released partition from its producer's deployment, so a
    // HYBRID_FULL partition is readable again from its start while the producer still runs
    // (everything is spilled); a restarted consumer does not rerun it.
    const producing = isHybrid(p.partitionType) && (producer.state === "DEPLOYING" || producer.state === "INITIALIZING" || producer.state === "RUNNING");
    if ((producer.state !== "FINISHED" && !producing) || producer.host === undefined) return false;
    return this.taskManagers.get(producer.host)?.alive === true;
  }

  /**
   * A subtask failed (or, with `e` undefined, the whole job: a global failover): ask the
   * restart strategy, pick the subtasks to restart with the failover strategy, cancel
   * them, and redeploy them after the back-off. Pending checkpoints are aborted.
   */
  private handleFailure(e: ExecutionInfo | undefined, cause: string): void {
    if (this.isTerminal) return;
    const now = this.world.now;
    this.checkpoints?.abortAll(`failover: ${cause}`);
    this.restartStrategy.notifyFailure(now, cause);
    if (!this.restartStrategy.canRestart()) {
      this.failJob(`Recovery is suppressed by ${this.restartStrategy.name}: ${cause}`);
      return;
    }
    const backoffNs = this.restartStrategy.getBackoffTimeNs();
    const vertices = e === undefined ? [...this.executions.keys()] : this.failoverStrategy.verticesToRestart(e.vertex.id, this.failoverContext);
    const regions = [...new Set(vertices.map((v) => this.regionOf.get(v)!))].sort((a, b) => a - b);
    this.trace.emit("FailoverTriggered", {
      cause,
      failed: e?.vertex.id ?? "(global)",
      failoverStrategy: e === undefined ? "global" : this.failoverStrategy.name,
      restartStrategy: this.restartStrategy.name,
      vertices: [...vertices],
      regions,
      backoffNs,
      merged: this.restartStrategy.lastFailureMerged === true,
    });
    if (e !== undefined && this.failoverStrategy.name === "region" && vertices.length < this.executions.size) {
      this.trace.emit("Mark", { name: "failover.region" });
    }
    for (const vid of vertices) this.cancelForRestart(this.executions.get(vid)!);
    // Regions waiting for slots are rescheduled with the restart.
    for (let i = this.pendingRegions.length - 1; i >= 0; i--) {
      const entry = this.pendingRegions[i]!;
      if (entry.regions.some((r) => regions.includes(r))) {
        this.world.kernel.cancel(entry.timer);
        this.pendingRegions.splice(i, 1);
      }
    }
    for (const vid of vertices) this.pendingRestart.add(vid);
    const at = now + backoffNs;
    if (this.restartTimer < 0 || at > this.restartAtNs) {
      if (this.restartTimer >= 0) this.world.kernel.cancel(this.restartTimer);
      this.restartAtNs = at;
      this.restartTimer = this.world.kernel.schedule(at, () => this.restartPending());
    }
  }

  private cancelForRestart(e: ExecutionInfo): void {
    this.speculation?.cancelSubtask(e.vertex.id);
    // A finished subtask stays FINISHED until the restart resets it, so a second failover
    // within the back-off that includes it again (its partition lost to another consumer)
    // must not count it out twice: the job would then never reach FINISHED.
    if (e.state === "FINISHED" && !this.pendingRestart.has(e.vertex.id)) this.finishedCount--;
    if (e.state !== "CREATED" && e.state !== "FINISHED" && e.state !== "FAILED" && e.state !== "CANCELED") {
      const tm = e.host === undefined ? undefined : this.taskManagers.get(e.host);
      if (tm !== undefined && tm.alive) this.send(tm, { type: "CancelTask", attemptId: e.attemptId });
      this.setExecutionState(e, "CANCELED");
    }
    this.releaseSlotIfDone(e);
  }

  /** The back-off ended: new attempts for every pending subtask, their regions rescheduled. */
  private restartPending(): void {
    this.restartTimer = -1;
    if (this.isTerminal || this.pendingRestart.size === 0) return;
    const vertices = [...this.pendingRestart].sort((a, b) => this.executions.get(a)!.vertex.topoIndex - this.executions.get(b)!.vertex.topoIndex);
    this.pendingRestart.clear();
    for (const vid of vertices) {
      const e = this.executions.get(vid)!;
      // Make sure nothing still runs under the old attempt before the new one exists.
      if (e.state !== "CREATED" && e.state !== "FINISHED" && e.state !== "FAILED" && e.state !== "CANCELED") this.cancelForRestart(e);
      // Above every attempt an earlier JobManager leader ran (see JobManagerLeadership.attemptBase).
      e.attemptNumber = Math.max(this.speculation?.nextAttemptNumber(vid, e.attemptNumber) ?? e.attemptNumber + 1, this.attemptBase);
      e.attemptId = `${vid}#${e.attemptNumber}`;
      this.byAttempt.set(e.attemptId, e);
      e.host = undefined;
      e.slot = -1;
      e.state = "CREATED";
      this.slotGroupOf.delete(vid);
      for (const pid of e.vertex.producedPartitions) this.failedPartitions.delete(pid);
    }
    this.recovery?.onExecutionVertexReset(vertices);
    this.restarts++;
    this.restartedTasks += vertices.length;
    this.restartedVertices.push(...vertices);
    this.trace.emit("TasksRestarted", { vertices });
    const restoring = this.checkpoints?.latest;
    if (restoring !== undefined) this.trace.emit("CheckpointRestored", { checkpoint: restoring.id, subtasks: vertices.filter((v) => restoring.handles.has(v)) });
    const regions = [...new Set(vertices.map((v) => this.regionOf.get(v)!))].sort((a, b) => a - b);
    this.requestRegions(this.scheduling.reset(regions));
  }

  // ---- slots and deployment ----

  /** Each region asks for its slots in bulk on its own (Flink allocates per region), in order. */
  private requestRegions(regionIds: RegionId[]): void {
    for (const regionId of regionIds) {
      // A region waiting out a failover's back-off (it can become schedulable meanwhile, e.g.
      // a hybrid input finishing) is deployed by the restart (scheduling.reset), not now:
      // deploying it early would run an attempt the restart then replaces.
      if (this.regions[regionId]!.vertexIds.some((v) => this.pendingRestart.has(v))) continue;
      this.requestRegion(regionId);
    }
  }

  private requestRegion(regionId: RegionId): void {
    if (this.isTerminal) return;
    const timeoutNs = this.config.get("slot.request.timeout");
    const entry = { regions: [regionId], sinceNs: this.world.now, timer: -1 };
    entry.timer = this.world.kernel.after(timeoutNs, () => {
      const i = this.pendingRegions.indexOf(entry);
      if (i < 0 || this.isTerminal) return;
      const request = this.nextSlotRequest;
      this.trace.emit("SlotRequestTimedOut", { request, timeoutNs });
      this.failJob(
        `NoResourceAvailableException: could not acquire the slots for ${plural(this.slotsNeeded(entry.regions), "slot-sharing group")} ` +
          `within slot.request.timeout (${timeoutNs / 1e9} s); the cluster has ${plural(this.totalSlots(), "slot")}`,
      );
    });
    // Served in topological (region id) order, not arrival order: a hybrid consumer that
    // became schedulable early must not take the slot its still-unscheduled producer needs
    // (with too few slots that deadlocks: it waits for data the producer never writes).
    let at = this.pendingRegions.length;
    while (at > 0 && this.pendingRegions[at - 1]!.regions[0]! > regionId) at--;
    this.pendingRegions.splice(at, 0, entry);
    this.tryPendingRegions();
  }

  private tryPendingRegions(): void {
    while (this.pendingRegions.length > 0 && !this.isTerminal) {
      const entry = this.pendingRegions[0]!;
      if (!this.allocateRegions(entry.regions)) return;
      this.pendingRegions.shift();
      this.world.kernel.cancel(entry.timer);
      for (const regionId of entry.regions) this.deployRegion(this.regions[regionId]!);
    }
  }

  private groupKey(vid: ExecutionVertexId): string {
    const v = this.executions.get(vid)!.vertex;
    return `${this.jobGraph.vertices[v.vertexIndex]!.slotSharingGroupIndex}/${v.subtaskIndex}`;
  }

  /**
   * Flink's execution slot sharing groups: one shared slot per (slot sharing group, subtask
   * index), reused by later regions while it is held. A region's new slots are allocated
   * in bulk (all or nothing).
   */
  private allocateRegions(regionIds: RegionId[]): boolean {
    const fresh = new Map<string, SlotGroup>();
    const placements: [ExecutionVertexId, string][] = [];
    for (const regionId of regionIds) {
      for (const vid of this.regions[regionId]!.vertexIds) {
        const key = this.groupKey(vid);
        placements.push([vid, key]);
        if (!this.liveGroups.has(key) && !fresh.has(key)) fresh.set(key, { request: -1, allocatedNs: this.world.now, vertices: [], host: undefined, slot: -1 });
      }
    }
    if (!this.allocate([...fresh.values()])) return false;
    for (const [key, g] of fresh) this.liveGroups.set(key, g);
    for (const [vid, key] of placements) {
      const g = this.liveGroups.get(key)!;
      g.vertices.push(vid);
      this.slotGroupOf.set(vid, g);
    }
    for (const [key, g] of fresh) {
      this.trace.emit("SlotRequested", { request: g.request, group: key, vertices: [...g.vertices] });
      this.trace.emit("SlotAllocated", { request: g.request, host: g.host!, slot: g.slot });
    }
    return true;
  }

  /** Slots a set of regions needs beyond the shared slots already held. */
  private slotsNeeded(regionIds: RegionId[]): number {
    const keys = new Set<string>();
    for (const regionId of regionIds) {
      for (const vid of this.regions[regionId]!.vertexIds) {
        const key = this.groupKey(vid);
        if (!this.liveGroups.has(key)) keys.add(key);
      }
    }
    return keys.size;
  }

  private totalSlots(): number {
    let n = 0;
    for (const tm of this.taskManagers.values()) if (tm.alive) n += tm.slots;
    return n;
  }

  /** Bulk allocation: every group gets a slot or none does. Fills TaskManagers in registration order. */
  private allocate(groups: SlotGroup[]): boolean {
    const free: { tm: TaskManagerInfo; slot: number }[] = [];
    for (const tm of this.taskManagers.values()) {
      if (!tm.alive || this.speculation?.isBlocked(tm.name) === true) continue;
      for (const slot of tm.freeSlots) free.push({ tm, slot });
    }
    const rank = this.slotPreference;
    if (rank !== undefined) free.sort((a, b) => rank(a.tm.name) - rank(b.tm.name)); // stable: registration order within a rank
    if (free.length < groups.length) return false;
    groups.forEach((g, i) => {
      const { tm, slot } = free[i]!;
      tm.freeSlots.splice(tm.freeSlots.indexOf(slot), 1);
      g.request = this.nextSlotRequest++;
      g.host = tm.name;
      g.slot = slot;
    });
    return true;
  }

  private releaseSlotIfDone(e: ExecutionInfo): void {
    const g = this.slotGroupOf.get(e.vertex.id);
    if (g === undefined || g.host === undefined) return;
    // Free when nothing in the slot runs any more (finished, or cancelled by a failover).
    if (!g.vertices.every((v) => this.slotGroupOf.get(v) !== g || isTerminalState(this.executions.get(v)!.state))) return;
    const tm = this.taskManagers.get(g.host)!;
    this.slotNs += this.world.now - g.allocatedNs;
    assert(!tm.freeSlots.includes(g.slot), `slot ${g.host}/${g.slot} released twice (group of ${g.vertices.join(", ")})`);
    tm.freeSlots.push(g.slot);
    tm.freeSlots.sort((a, b) => a - b);
    this.trace.emit("SlotReleased", { host: g.host, slot: g.slot });
    g.host = undefined;
    for (const [key, live] of this.liveGroups) if (live === g) this.liveGroups.delete(key);
    this.world.kernel.after(0, () => this.tryPendingRegions());
  }

  private deployRegion(region: PipelinedRegion): void {
    this.trace.emit("RegionScheduled", { region: region.id, subtasks: [...region.vertexIds] });
    // Place every vertex first, so pipelined inputs know where their producers run.
    for (const vid of region.vertexIds) {
      const e = this.executions.get(vid)!;
      const g = this.slotGroupOf.get(vid)!;
      e.host = g.host;
      e.slot = g.slot;
      this.setExecutionState(e, "SCHEDULED");
    }
    for (const vid of region.vertexIds) {
      const e = this.executions.get(vid)!;
      const tm = this.taskManagers.get(e.host!)!;
      this.setExecutionState(e, "DEPLOYING");
      this.send(tm, { type: "SubmitTask", deployment: this.deploymentFor(e) });
    }
  }

  /**
   * ONLY_FINISHED_PRODUCERS: consumers deployed before this producer finished hold unknown
   * channels for its hybrid partitions; tell them where it is (Flink's updatePartitionInfo).
   */
  private updateUnknownConsumers(producer: ExecutionInfo): void {
    if (this.hybridConstraint !== "ONLY_FINISHED_PRODUCERS") return;
    for (const pid of producer.vertex.producedPartitions) {
      const p = this.executionGraph.partitionById.get(pid)!;
      if (!isHybrid(p.partitionType)) continue;
      const partitionId = attemptPartitionId(pid, producer.attemptNumber);
      for (const cid of p.subpartitionConsumers) {
        const c = this.executions.get(cid)!;
        if (c.state !== "DEPLOYING" && c.state !== "INITIALIZING" && c.state !== "RUNNING") continue;
        this.sendToAttempt(cid, c.attemptId, { type: "UpdatePartitionInfo", attemptId: c.attemptId, partitionId, producerHost: producer.host! });
      }
    }
  }

  private deploymentFor(e: ExecutionInfo): TaskDeployment {
    const eg = this.executionGraph;
    const jv = this.jobGraph.vertices[e.vertex.vertexIndex]!;
    return {
      attemptId: e.attemptId,
      executionVertexId: e.vertex.id,
      vertexId: vertexId(jv.index),
      vertexName: jv.name,
      subtaskIndex: e.vertex.subtaskIndex,
      parallelism: this.parallelismOf(jv.index),
      maxParallelism: jv.maxParallelism,
      attemptNumber: e.attemptNumber,
      slot: e.slot,
      chain: jv.nodes,
      chainedEdges: jv.chainedEdges.map((e) => ({ sourceId: e.sourceId, targetId: e.targetId, sideOutputTag: sideOutputTagOf(e) })),
      inputs: e.vertex.inputGates.map((gate) => ({
        gateId: `${e.attemptId}/gate-${gate.gateIndex}`,
        inputIndex: jv.inputs[gate.gateIndex]!.typeNumber,
        partitionType: gate.partitionType,
        channels: gate.channels.map((c) => {
          const producer = this.executions.get(eg.partitionById.get(c.partitionId)!.producer)!;
          // ONLY_FINISHED_PRODUCERS: read only finished producers; the others stay unknown until they finish.
          if (this.hybridConstraint === "ONLY_FINISHED_PRODUCERS" && isHybrid(gate.partitionType) && producer.state !== "FINISHED") {
            return { partitionId: attemptPartitionId(c.partitionId, producer.attemptNumber), subpartition: c.subpartitionIndex, producerHost: undefined };
          }
          if (producer.host === undefined) throw new InvariantError(`producer of ${c.partitionId} is not placed`);
          return { partitionId: attemptPartitionId(c.partitionId, producer.attemptNumber), subpartition: c.subpartitionIndex, producerHost: producer.host };
        }),
      })),
      // Bytes per subpartition: the adaptive scheduler decides by them, the slow-task detector weighs by them.
      ...(this.adaptive !== undefined || this.speculation !== undefined ? { reportProducedBytes: true } : {}),
      ...this.restoreOf(e),
      outputs: e.vertex.producedPartitions.map((pid, i) => {
        const p = eg.partitionById.get(pid)!;
        const edge = jv.outputs[i]!;
        const consumer = this.jobGraph.vertices[edge.targetVertex]!;
        const fromNode = jv.nodes.find((n) => n.id === edge.sourceNodeId)!;
        return {
          partitionId: attemptPartitionId(pid, e.attemptNumber),
          numSubpartitions: p.numSubpartitions,
          partitionType: p.partitionType,
          partitioner: edge.partitioner,
          keySelector: edge.keySelector,
          fromNodeId: edge.sourceNodeId,
          // A dynamic graph's producer writes for the consumer's max parallelism until it is decided.
          consumerParallelism: this.adaptive === undefined ? consumer.parallelism : p.numSubpartitions,
          consumerMaxParallelism: consumer.maxParallelism,
          recordBytes: fromNode.cost.recordBytes ?? DEFAULT_RECORD_BYTES,
          sideOutputTag: sideOutputTagOf(edge.streamEdge),
        };
      }),
    };
  }

  private setExecutionState(e: ExecutionInfo, state: ExecutionState, cause?: string): void {
    e.state = state;
    this.maxAttemptSeen = Math.max(this.maxAttemptSeen, e.attemptNumber);
    this.speculation?.observe(e, state);
    const jv = this.jobGraph.vertices[e.vertex.vertexIndex]!;
    this.trace.emit("TaskStateChanged", {
      vertex: vertexId(jv.index),
      name: jv.name,
      subtask: e.vertex.subtaskIndex,
      attempt: e.attemptNumber,
      host: e.host ?? "",
      slot: e.slot,
      state,
      ...(cause !== undefined ? { cause } : {}),
      ...(this.speculation?.isSpeculative(e.attemptId) === true ? { speculative: true } : {}),
    });
  }

  // ---- speculative execution (engine/scheduler/speculative) ----

  /** The JobManager as the speculative execution handler sees it. */
  private speculationHost(): SpeculationHost {
    const kernel = this.world.kernel;
    const jm = this;
    const emitTrace = this.trace;
    return {
      now: () => this.world.now,
      after: (delayNs, fn) => kernel.after(delayNs, fn),
      schedule: (atNs, fn) => kernel.schedule(atNs, fn),
      cancelTimer: (timer) => kernel.cancel(timer),
      get jobTerminal() {
        return jm.isTerminal;
      },
      current: (vid) => this.executions.get(vid)!,
      regionsWaiting: () => this.pendingRegions.length > 0,
      takeSlot: (attemptId, vid) => {
        const g: SlotGroup = { request: -1, allocatedNs: this.world.now, vertices: [vid], host: undefined, slot: -1 };
        if (!this.allocate([g])) return undefined;
        this.speculativeSlotSince.set(`${g.host!}/${g.slot}`, this.world.now);
        this.trace.emit("SlotRequested", { request: g.request, group: `speculative/${attemptId}`, vertices: [vid] });
        this.trace.emit("SlotAllocated", { request: g.request, host: g.host!, slot: g.slot });
        return { host: g.host!, slot: g.slot };
      },
      releaseSlot: (host, slot) => {
        const since = this.speculativeSlotSince.get(`${host}/${slot}`);
        if (since !== undefined) this.slotNs += this.world.now - since;
        this.speculativeSlotSince.delete(`${host}/${slot}`);
        const tm = this.taskManagers.get(host);
        if (tm === undefined || !tm.alive) return; // its slots went with it
        assert(!tm.freeSlots.includes(slot), `slot ${host}/${slot} released twice (a speculative attempt's)`);
        tm.freeSlots.push(slot);
        tm.freeSlots.sort((a, b) => a - b);
        this.trace.emit("SlotReleased", { host, slot });
        kernel.after(0, () => this.tryPendingRegions());
      },
      setState: (a, state, cause) => this.setExecutionState(a, state, cause),
      deploy: (a) => {
        this.send(this.taskManagers.get(a.host!)!, { type: "SubmitTask", deployment: this.deploymentFor(a) });
        // Fault plans may hit speculative attempts: "crash the host of the 2nd speculative attempt" (target "$host").
        const current = this.executions.get(a.vertex.id)!;
        this.world.signal("speculation.deployed", { vertex: vertexId(a.vertex.vertexIndex), subtask: a.vertex.subtaskIndex, attempt: a.attemptNumber, host: a.host!, originalHost: current.host ?? "" });
      },
      sendCancel: (a) => {
        const tm = a.host === undefined ? undefined : this.taskManagers.get(a.host);
        if (tm !== undefined && tm.alive) this.send(tm, { type: "CancelTask", attemptId: a.attemptId });
      },
      adopt: (current, a) => {
        const e = current as ExecutionInfo;
        if (e.state === "SCHEDULED" || e.state === "DEPLOYING" || e.state === "INITIALIZING" || e.state === "RUNNING") {
          const tm = e.host === undefined ? undefined : this.taskManagers.get(e.host);
          if (tm !== undefined && tm.alive) this.send(tm, { type: "CancelTask", attemptId: e.attemptId });
          this.setExecutionState(e, "CANCELED", `attempt ${a.attemptNumber} finished first`);
        }
        // Reports of the replaced attempt are late from now on: the handler ignores them.
        this.byAttempt.delete(e.attemptId);
        e.attemptNumber = a.attemptNumber;
        e.attemptId = a.attemptId;
        e.host = a.host;
        e.slot = a.slot;
        e.state = a.state;
        this.byAttempt.set(e.attemptId, e);
      },
      failover: (current, cause) => this.handleFailure(current as ExecutionInfo, cause),
      hostsUnblocked: () => kernel.after(0, () => this.tryPendingRegions()),
      launched: (a, slowAttempts) => {
        const jv = this.jobGraph.vertices[a.vertex.vertexIndex]!;
        emitTrace.emit("SpeculativeAttemptLaunched", { vertex: vertexId(jv.index), name: jv.name, subtask: a.vertex.subtaskIndex, attempt: a.attemptNumber, host: a.host!, slot: a.slot, slowAttempts });
      },
      finished: (vid, winner, speculativeWin, cancelled) => {
        const v = this.executions.get(vid)!.vertex;
        emitTrace.emit("SpeculativeExecutionFinished", { vertex: vertexId(v.vertexIndex), subtask: v.subtaskIndex, winner, speculativeWin, cancelled });
      },
      blocked: (host, untilNs, cause, extended) => {
        emitTrace.emit("NodeBlocked", { host, untilNs, cause, extended });
        if (!extended) emitTrace.emit("Mark", { name: "blocklist.added" });
      },
      unblocked: (host) => emitTrace.emit("NodeUnblocked", { host }),
      mark: (name) => emitTrace.emit("Mark", { name }),
    };
  }

  // ---- failure and heartbeats ----

  private failJob(cause: string): void {
    if (this.isTerminal) return;
    this.cancelAll();
    this.setStatus("FAILED", cause);
  }

  private cancelAll(): void {
    this.speculation?.cancelAll();
    for (const e of this.executions.values()) {
      if (e.state === "FINISHED" || e.state === "FAILED" || e.state === "CANCELED" || e.state === "CREATED") continue;
      const tm = e.host === undefined ? undefined : this.taskManagers.get(e.host);
      if (tm !== undefined) this.send(tm, { type: "CancelTask", attemptId: e.attemptId });
      this.setExecutionState(e, "CANCELED");
    }
    for (const p of this.pendingRegions) this.world.kernel.cancel(p.timer);
    this.pendingRegions.length = 0;
  }

  /** A TaskManager is gone: its slots and partitions with it; its subtasks fail over. */
  private onTaskManagerLost(tm: TaskManagerInfo, cause: string, processRestarted = false): void {
    tm.alive = false;
    tm.freeSlots = [];
    this.trace.emit("TaskManagerLost", { host: tm.name, cause });
    this.speculation?.onHostLost(tm.name);
    for (const e of [...this.executions.values()]) {
      if (e.host !== tm.name || this.pendingRestart.has(e.vertex.id)) continue;
      if (e.state === "CREATED" || e.state === "CANCELED" || e.state === "FAILED") continue;
      if (e.state === "FINISHED") continue; // its lost partitions make consumers' failovers include it
      this.setExecutionState(e, "FAILED", `TaskManager ${tm.name} lost`);
      // Give up the lost slot now, as a failed report does: a surviving attempt adopted
      // below runs in its own slot, and releasing this one when it finishes would hand a
      // slot of the host's next TaskManager process out twice.
      this.releaseSlotIfDone(e);
      if (this.speculation?.promoteAfterFailure(e) === true) continue;
      this.handleFailure(e, `TaskManager ${tm.name} lost: ${cause}`);
      if (this.isTerminal) break;
    }
    for (const listener of this.taskManagerLostListeners) listener(tm.name, cause, processRestarted);
  }

  /**
   * Heartbeats (JobManager → TaskManager requests, as Flink's HeartbeatManager) keep the
   * simulation running while the job runs: a job waiting to notice a dead TaskManager is
   * not idle. They stop when the job ends.
   */
  private scheduleHeartbeats(): void {
    const intervalNs = this.config.get("heartbeat.interval");
    const timeoutNs = this.config.get("heartbeat.timeout");
    const beat = () => {
      if (this.isTerminal) return;
      const seq = this.heartbeatSeq++;
      for (const tm of [...this.taskManagers.values()]) {
        if (!tm.alive) continue;
        if (this.world.now - tm.lastHeardNs > timeoutNs) {
          this.onTaskManagerLost(tm, `heartbeat of ${tm.name} timed out after ${timeoutNs / 1e9} s`);
          if (this.isTerminal) return;
          continue;
        }
        this.send(tm, { type: "HeartbeatRequest", seq });
      }
      this.world.kernel.after(intervalNs, beat);
    };
    this.world.kernel.after(intervalNs, beat);
  }

  /** A restarted attempt restores the latest completed checkpoint; before any, a savepoint-started job its restore plan. */
  private restoreOf(e: ExecutionInfo): { restore?: StateHandle } {
    const h = (e.attemptNumber > 0 ? this.checkpoints?.restoreHandle(e.vertex.id) : undefined) ?? this.initialRestore?.get(e.vertex.id);
    return h !== undefined ? { restore: h } : {};
  }

  private setStatus(status: JobStatus, cause?: string): void {
    this.status = status;
    if (cause !== undefined) this.failureCause = cause;
    this.trace.emit("JobStatusChanged", { job: this.jobGraph.jobName, status, ...(cause !== undefined ? { cause } : {}) });
    for (const l of this.statusListeners) l(status);
    if (this.isTerminal) {
      this.recovery?.stop();
      this.checkpoints?.stop();
      this.speculation?.stop();
      this.finishedNs = this.world.now;
      for (const l of this.terminalListeners) l(status);
    }
  }
}

/** Flink's ResultPartitionID: the partition of one producer attempt. */
export function attemptPartitionId(partition: string, attemptNumber: number): string {
  return `${partition}@${attemptNumber}`;
}

function isTerminalState(state: ExecutionState): boolean {
  return state === "FINISHED" || state === "CANCELED" || state === "FAILED" || state === "CREATED";
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

export function vertexId(index: number): string {
  return `v${index}`;
}

function vertexLabel(jg: JobGraph, e: ExecutionInfo): string {
  const jv = jg.vertices[e.vertex.vertexIndex]!;
  return `${jv.name} (${e.vertex.subtaskIndex + 1}/${jv.parallelism})`;
}
