/**
 * A TaskManager: a host with `taskmanager.numberOfTaskSlots` slots, a shuffle environment
 * (network buffers, result partitions, input gates) and the tasks deployed into its slots.
 * It registers with the JobManager over the simulated network, answers heartbeats, runs
 * deployed tasks and reports their state changes. A crash of its host kills every task
 * silently (nothing is reported: the JobManager must find out).
 *
 * Invariant: a slot runs tasks of at most one slot-sharing group instance at a time (the
 * JobManager's allocation guarantees it; asserted on deployment).
 */
import { assert } from "../../sim/errors";
import type { Host } from "../../sim/host";
import type { Connection, EndpointHandler } from "../../sim/network";
import type { Rng } from "../../sim/rng";
import type { World } from "../../sim/world";
import { operatorRng, readerRng } from "../api/job-rng";
import type { ExternalStoreApi } from "../api/types";
import type { CostModel } from "../costs";
import type { LatencyTracker } from "../runtime/latency-tracker";
import { InsufficientNetworkBuffersError } from "../runtime/network/buffer-pool";
import { Task } from "../runtime/task";
import type { InputGate } from "../runtime/network/input-gate";
import type { TaskSettings } from "../runtime/task-io";
import type { RocksDbStats } from "../state/rocksdb-backend";
import type { ChangelogStats } from "../state/changelog-backend";

/** One task attempt's restore of checkpointed state (the StateRestored trace event). */
export interface RestoreRecord {
  vertex: string;
  subtask: number;
  attempt: number;
  checkpointId: number;
  /** From deployment (INITIALIZING) to the restored state being in place (RUNNING next). */
  durationNs: number;
  stateBytes: number;
  replayedChanges: number;
  replayedBytes: number;
}
import type { EngineEvents, ExecutionState } from "../trace-events";
import type { TaskDeployment } from "./deployment";
import { messageBytes, type JmToTm, type TmToJm } from "./rpc";
import { ShuffleAdapter } from "./shuffle-adapter";
import type { Trace } from "../../sim/trace/recorder";

export interface TaskManagerContext {
  world: World;
  jobManagerHost: string;
  settings: TaskSettings;
  costs: CostModel;
  jobRng: Rng;
  external: ExternalStoreApi;
  shuffle: (host: string) => ShuffleAdapter;
  latency: LatencyTracker;
  /** The JobManager's side of a TaskManager's RPC connection (it knows its own connection). */
  jobManagerEndpoint: (taskManager: string, connection: () => Connection) => EndpointHandler;
  /** heartbeat.interval / heartbeat.timeout: the TaskManager watches the JobManager too. */
  heartbeatIntervalNs: number;
  heartbeatTimeoutNs: number;
  /** Told when the JobManager accepted a registration (the resource manager listens). */
  onRegistered?: (taskManager: string) => void;
  /** Counters of the run's rocksdb backends. */
  rocksDbStats?: RocksDbStats;
  /** Counters of the run's changelog backends. */
  changelogStats?: ChangelogStats;
  /** Every restore of checkpointed state by a task attempt (JobRunResult.restores). */
  restores?: RestoreRecord[];
  /**
   * Keep finished result partitions when the JobManager is lost (Flink's TaskExecutor
   * shouldRetainPartitionsOnJobManagerConnectionLost: execution.batch.job-recovery.enabled
   * with the Netty shuffle); otherwise they are released with the connection.
   */
  retainPartitionsOnJobManagerLoss?: boolean;
}

export class TaskManager {
  readonly host: Host;
  private connection: Connection | undefined;
  private readonly tasks = new Map<string, Task>();
  /** Each running task's input gates (for UpdatePartitionInfo). */
  private readonly gatesOf = new WeakMap<Task, readonly InputGate[]>();
  /** When the JobManager was last heard from (its heartbeat requests). */
  private lastJobManagerNs = 0;
  private watchTimer = -1;
  /** Every task ever deployed here, for end-of-run statistics. */
  readonly allTasks: Task[] = [];
  private shuffle: ShuffleAdapter;
  /** Result partitions of tasks that finished here, with their bytes per subpartition (PartitionWithMetrics). */
  private readonly finishedPartitions = new Map<string, number[]>();

  constructor(
    readonly name: string,
    readonly slots: number,
    private readonly ctx: TaskManagerContext,
  ) {
    this.host = ctx.world.host(name);
    this.shuffle = ctx.shuffle(name);
    this.host.onCrash(() => this.onCrash());
    // The TaskManager process comes back with its host (as a supervisor would restart it),
    // with a fresh shuffle environment: what the old one held died with the host.
    this.host.onRestart(() => {
      this.finishedPartitions.clear();
      this.shuffle = this.ctx.shuffle(this.name);
      this.start();
    });
  }

  /** Connects to the JobManager and registers (TaskExecutor → ResourceManager registration). */
  start(): void {
    if (!this.host.up) return;
    const incarnation = this.host.incarnation;
    let connection: Connection | undefined = undefined;
    connection = this.ctx.world.network.connect(
      this.name,
      this.ctx.jobManagerHost,
      "rpc",
      {
        onMessage: (payload) => {
          if (this.host.incarnation === incarnation) this.onMessage(payload as JmToTm);
        },
        onClose: () => {
          this.connection = undefined;
        },
      },
      this.ctx.jobManagerEndpoint(this.name, () => connection!),
    );
    this.connection = connection;
    this.lastJobManagerNs = this.ctx.world.now;
    this.send({ type: "RegisterTaskManager", host: this.name, slots: this.slots });
    this.watchJobManager(incarnation);
  }

  /**
   * Flink's TaskExecutor watches the JobManager's heartbeats too: after heartbeat.timeout
   * of silence it fails its tasks (no zombies run on) and registers again.
   */
  private watchJobManager(incarnation: number): void {
    const kernel = this.ctx.world.kernel;
    if (this.watchTimer >= 0) kernel.cancel(this.watchTimer);
    const check = () => {
      this.watchTimer = -1;
      if (!this.host.up || this.host.incarnation !== incarnation) return;
      if (kernel.now - this.lastJobManagerNs > this.ctx.heartbeatTimeoutNs) {
        for (const task of this.tasks.values()) task.cancel();
        this.tasks.clear();
        if (this.connection?.open) this.connection.close();
        this.ctx.world.trace.emit("Mark", { name: "taskmanager.jobManagerLost", host: this.name });
        this.start();
        return;
      }
      this.watchTimer = kernel.scheduleDaemon(kernel.now + this.ctx.heartbeatIntervalNs, check);
    };
    this.watchTimer = kernel.scheduleDaemon(kernel.now + this.ctx.heartbeatIntervalNs, check);
  }

  /**
   * HA leader retrieval told this TaskManager of a new JobManager leader (after a
   * JobManager failover): the old JobManager is gone, so its tasks are failed (Flink's
   * disconnectJobManagerConnection), the finished partitions kept only with batch job
   * recovery, and the TaskManager registers with the new leader.
   */
  jobManagerLeaderChanged(): void {
    if (!this.host.up) return;
    for (const task of this.tasks.values()) task.cancel();
    this.tasks.clear();
    if (this.ctx.retainPartitionsOnJobManagerLoss !== true) {
      for (const id of this.finishedPartitions.keys()) this.shuffle.environment.releasePartition(id);
      this.finishedPartitions.clear();
    }
    if (this.connection?.open) this.connection.close();
    this.connection = undefined;
    this.start();
  }

  get runningTasks(): readonly Task[] {
    return [...this.tasks.values()];
  }

  private send(message: TmToJm): void {
    this.connection?.a.send(message, messageBytes(message));
  }

  private onMessage(message: JmToTm): void {
    switch (message.type) {
      case "RegistrationAccepted":
        this.ctx.onRegistered?.(this.name);
        return;
      case "HeartbeatRequest":
        this.lastJobManagerNs = this.ctx.world.now;
        this.send({ type: "HeartbeatResponse", seq: message.seq, host: this.name });
        return;
      case "SubmitTask":
        this.deploy(message.deployment);
        return;
      case "CancelTask": {
        const task = this.tasks.get(message.attemptId);
        if (task !== undefined) {
          task.cancel();
          this.tasks.delete(message.attemptId);
          this.report(message.attemptId, "CANCELED");
        }
        return;
      }
      case "UpdatePartitionInfo": {
        const task = this.tasks.get(message.attemptId);
        if (task !== undefined) for (const gate of this.gatesOf.get(task) ?? []) gate.updateChannel(message.partitionId, message.producerHost);
        return;
      }
      case "TriggerCheckpoint": {
        const task = this.tasks.get(message.attemptId);
        // A task that finished (or is gone) cannot start it: decline, not counted as a failure.
        if (task === undefined) this.send({ type: "DeclineCheckpoint", attemptId: message.attemptId, checkpointId: message.checkpointId, reason: "task not running", counts: false });
        else task.triggerCheckpoint(message.checkpointId, message.timestampNs, message.savepoint);
        return;
      }
      case "NotifyCheckpointComplete":
        this.tasks.get(message.attemptId)?.notifyCheckpointComplete(message.checkpointId);
        return;
      case "NotifyCheckpointAborted":
        this.tasks.get(message.attemptId)?.notifyCheckpointAborted(message.checkpointId);
        return;
      case "AddSplits":
        this.tasks.get(message.attemptId)?.addSplits(message.splits, message.noMoreSplits);
        return;
      case "FreeSlot":
        return;
      case "RequestPartitions": {
        const partitions: { partitionId: string; bytes: number[] }[] = [];
        for (const [partitionId, bytes] of this.finishedPartitions) {
          if (this.shuffle.environment.hasPartition(partitionId)) partitions.push({ partitionId, bytes });
          else this.finishedPartitions.delete(partitionId);
        }
        this.send({ type: "PartitionsReport", partitions });
        return;
      }
      case "ReleasePartitions":
        for (const id of message.partitionIds) {
          this.shuffle.environment.releasePartition(id);
          this.finishedPartitions.delete(id);
        }
        return;
    }
  }

  private report(attemptId: string, state: ExecutionState, cause?: string): void {
    this.send(cause === undefined ? { type: "TaskStateUpdate", attemptId, state } : { type: "TaskStateUpdate", attemptId, state, cause });
  }

  private deploy(d: TaskDeployment): void {
    assert(!this.tasks.has(d.attemptId), `attempt ${d.attemptId} deployed twice on ${this.name}`);
    assert(d.slot >= 0 && d.slot < this.slots, `slot ${d.slot} does not exist on ${this.name}`);
    const root = this.ctx.jobRng;
    const head = d.chain[0]!;
    let inputs: ReturnType<ShuffleAdapter["createInputGate"]>[];
    let writers: ReturnType<ShuffleAdapter["createResultPartition"]>[];
    try {
      inputs = d.inputs.map((g) => this.shuffle.createInputGate(g, d.attemptId));
      writers = d.outputs.map((o) => this.shuffle.createResultPartition(o, d.attemptId));
    } catch (e) {
      // Flink fails the task during setup (e.g. "Insufficient number of network buffers").
      if (!(e instanceof InsufficientNetworkBuffersError)) throw e;
      this.report(d.attemptId, "INITIALIZING");
      this.report(d.attemptId, "FAILED", `IOException: ${e.message}`);
      return;
    }
    const outputs = d.outputs.map((o, i) => ({
      writer: writers[i]!,
      fromNodeId: o.fromNodeId,
      partitioner: o.partitioner,
      ...(o.keySelector !== undefined ? { keySelector: o.keySelector } : {}),
      consumerParallelism: o.consumerParallelism,
      consumerMaxParallelism: o.consumerMaxParallelism,
      recordBytes: o.recordBytes,
      ...(o.sideOutputTag !== undefined ? { sideOutputTag: o.sideOutputTag } : {}),
    }));
    const attemptId = d.attemptId;
    const task: Task = new Task(this.ctx.world.kernel, this.host, {
      identity: {
        vertexId: d.vertexId,
        vertexName: d.vertexName,
        subtaskIndex: d.subtaskIndex,
        parallelism: d.parallelism,
        maxParallelism: d.maxParallelism,
        attemptNumber: d.attemptNumber,
        host: this.name,
        slot: d.slot,
      },
      chain: [...d.chain],
      chainedEdges: d.chainedEdges,
      inputs,
      inputOfGate: d.inputs.map((g) => g.inputIndex),
      outputs,
      settings: this.ctx.settings,
      costs: this.ctx.costs,
      readerRng: readerRng(root, head.name, d.subtaskIndex),
      operatorRng: (nodeName: string) => operatorRng(root, nodeName, d.subtaskIndex),
      external: this.ctx.external,
      blobStore: this.ctx.world.blobStore,
      ...(d.restore !== undefined ? { restore: d.restore } : {}),
      localDisk: this.ctx.world.disk(this.name),
      ...(this.ctx.rocksDbStats !== undefined ? { rocksDbStats: this.ctx.rocksDbStats } : {}),
      ...(this.ctx.changelogStats !== undefined ? { changelogStats: this.ctx.changelogStats } : {}),
      callbacks: {
        registerReader: () => this.send({ type: "ReaderRegistered", attemptId }),
        running: () => this.report(attemptId, "RUNNING"),
        finished: () => {
          this.tasks.delete(attemptId);
          d.outputs.forEach((o, i) => this.finishedPartitions.set(o.partitionId, writers[i]!.subpartitionBytes()));
          if (d.reportProducedBytes === true) this.send({ type: "TaskStateUpdate", attemptId, state: "FINISHED", producedBytes: writers.map((w) => w.subpartitionBytes()) });
          else this.report(attemptId, "FINISHED");
        },
        failed: (cause, failedPartition) => {
          this.tasks.delete(attemptId);
          this.send({ type: "TaskStateUpdate", attemptId, state: "FAILED", cause, ...(failedPartition !== undefined ? { failedPartition } : {}) });
        },
        acknowledgeCheckpoint: (checkpointId, handle, stats) => this.send({ type: "AcknowledgeCheckpoint", attemptId, checkpointId, handle, stats }),
        declineCheckpoint: (checkpointId, reason, counts) => this.send({ type: "DeclineCheckpoint", attemptId, checkpointId, reason, counts }),
        mark: (name) => this.ctx.world.trace.emit("Mark", { name, host: this.name }),
        bufferSizeAnnounced: (gate, bufferBytes, throughputBytesPerS) =>
          (this.ctx.world.trace as unknown as Trace<EngineEvents>).emit("BufferDebloated", { vertex: d.vertexId, subtask: d.subtaskIndex, gate, bufferBytes, throughputBytesPerS }),
        watermarkStatusChanged: (idle, watermarkMs) =>
          (this.ctx.world.trace as unknown as Trace<EngineEvents>).emit("WatermarkStatusChanged", {
            vertex: d.vertexId,
            subtask: d.subtaskIndex,
            attempt: d.attemptNumber,
            status: idle ? "IDLE" : "ACTIVE",
            watermarkMs: Number.isFinite(watermarkMs) ? watermarkMs : null,
          }),
        latencyMarker: (sink, subtask, originNs) => this.ctx.latency.markerAtSink(sink, subtask, originNs, this.ctx.world.now),
        rocksDbFlushed: (operator, e) => (this.ctx.world.trace as unknown as Trace<EngineEvents>).emit("RocksDbFlush", { vertex: d.vertexId, subtask: d.subtaskIndex, operator, ...e }),
        rocksDbCompacted: (operator, e) => (this.ctx.world.trace as unknown as Trace<EngineEvents>).emit("RocksDbCompaction", { vertex: d.vertexId, subtask: d.subtaskIndex, operator, ...e }),
        changelogUploaded: (operator, e) =>
          (this.ctx.world.trace as unknown as Trace<EngineEvents>).emit("ChangelogUpload", { vertex: d.vertexId, subtask: d.subtaskIndex, operator, bytes: e.bytes, changes: e.changes, preemptive: e.preemptive, attempts: e.attempts }),
        changelogMaterialized: (operator, e) =>
          (this.ctx.world.trace as unknown as Trace<EngineEvents>).emit("ChangelogMaterialized", { vertex: d.vertexId, subtask: d.subtaskIndex, operator, materialization: e.id, bytes: e.bytes, uploadedBytes: e.uploadedBytes }),
        stateRestored: (e) => {
          const record: RestoreRecord = { vertex: d.vertexId, subtask: d.subtaskIndex, attempt: d.attemptNumber, ...e };
          this.ctx.restores?.push(record);
          (this.ctx.world.trace as unknown as Trace<EngineEvents>).emit("StateRestored", record);
        },
      },
    });
    this.tasks.set(attemptId, task);
    this.gatesOf.set(task, inputs);
    this.allTasks.push(task);
    this.report(attemptId, "INITIALIZING");
    task.start();
  }

  private onCrash(): void {
    for (const task of this.tasks.values()) task.cancel();
    this.tasks.clear();
    this.connection = undefined;
  }
}
