/**
 * JobManager high availability for one job: which JobManager process leads it, and what
 * happens when that process dies (Flink's HighAvailabilityServices with leader election
 * and leader retrieval, reduced to what a single-job cluster needs).
 *
 * Model (documented simplification): the JobManager runs on the host "jm". Its host
 * crashing kills the process: the leader is lost, with its write buffer of job events and
 * its in-memory scheduler state. A new leader is the JobManager process started when the
 * host comes back (a Kubernetes or YARN supervisor restarting the JobManager; a standby
 * JobManager taking over after the leader lease expires is the same model with `restartAfter`
 * as the lease duration) — the election itself is instantaneous. Leader retrieval tells
 * every TaskManager of the new leader at once: each fails the tasks it ran for the old one,
 * keeps its finished partitions only with batch job recovery, and registers with the new
 * leader. Before that, a TaskManager notices a dead JobManager only by heartbeat timeout
 * (engine/cluster/task-manager.ts). No leader ever comes back if the host stays down: the
 * job ends FAILED at the end of the run.
 *
 * The new leader (FLIP-383): with `execution.batch.job-recovery.enabled` on a job that
 * supports it (BATCH, every exchange BLOCKING — the Netty shuffle's local partitions) and
 * events in the log, it recovers the job (engine/scheduler/adaptive/batch-job-recovery.ts);
 * otherwise it runs the job from scratch.
 *
 * HA services (`high-availability.type` ZOOKEEPER or KUBERNETES): the crashed leader still
 * holds its lease — the Kubernetes leader-election lease, or the ZooKeeper session that owns
 * the leader node — until it expires (`…kubernetes.leader-election.lease-duration`, or
 * `…zookeeper.client.session-timeout`, counted from the crash: the leader renewed just
 * before). The restarted JobManager process becomes leader at the later of its start and
 * that expiry. A checkpointing STREAMING job keeps its completed checkpoint store and
 * checkpoint ID counter in HA storage (engine/checkpoint/completed-checkpoint-store.ts): the
 * new leader restores the latest completed checkpoint (recovery "checkpoint"), or, if none
 * completed, starts the job with no state. Without HA services (NONE, Flink's default) a
 * restarted JobManager knows nothing of the job's checkpoints: it runs the job from scratch
 * (Flink's application mode resubmitting the job; in a session cluster the job would be lost),
 * while what the old run committed stays committed.
 *
 * Invariants: at most one live leader at a time; leader epochs count up from 0; a new
 * leader's attempt numbers are above every earlier leader's (JobManagerLeadership.attemptBase).
 */
import type { World } from "../../sim/world";
import type { Trace } from "../../sim/trace/recorder";
import type { KernelEvents } from "../../sim/trace/events";
import type { EngineEvents, JobStatus } from "../trace-events";
import { hasJobEvents } from "./job-event-store";
import type { BatchJobRecoverySettings } from "../scheduler/adaptive/batch-job-recovery";
import type { JobManager, JobManagerLeadership } from "./job-manager";
import type { CompletedCheckpointStore } from "../checkpoint/completed-checkpoint-store";
import { formatDuration } from "../../sim/time";

export interface JobManagerHaOptions {
  host: string;
  /** Builds a leader (a fresh execution graph and scheduler for the job). */
  create: (leadership: JobManagerLeadership) => JobManager;
  /** Batch job recovery settings, when enabled and the job supports it. */
  recovery: BatchJobRecoverySettings | undefined;
  /** Why recovery is off for this job (option off, or a job it cannot recover). */
  recoveryOffReason: string;
  /** HA services: how long a crashed leader's lease outlives it (undefined: high-availability.type NONE). */
  leaseNs: number | undefined;
  /** HA services with a checkpointing job: the completed checkpoint store in HA storage. */
  checkpointStore: CompletedCheckpointStore | undefined;
  /** Wires a new leader into the run (terminal listener, TaskManager-lost listener, ...). */
  onLeader: (jm: JobManager) => void;
  /** Leader retrieval: tell every TaskManager of the new leader. */
  notifyTaskManagers: () => void;
}

/** One JobManager failover, for the run's summary. */
export interface JobManagerFailoverRecord {
  /** When the leader was lost (its host crashed). */
  lostNs: number;
  /** Subtasks FINISHED when the leader was lost. */
  finishedAtLoss: string[];
  /** The lost leader's latest completed checkpoint (with HA services: durable in the store). */
  latestCheckpointAtLoss: number | undefined;
  /** When the next leader was elected, and how it took over. */
  electedNs: number | undefined;
  recovery: "none" | "from-scratch" | "event-log" | "checkpoint" | undefined;
  /** The checkpoint the new leader restored (recovery "checkpoint"). */
  restoredCheckpoint: number | undefined;
  /** When the job was RUNNING again under the next leader (recovery done). */
  runningNs: number | undefined;
}

export class JobManagerHa {
  readonly leaders: JobManager[] = [];
  readonly failovers: JobManagerFailoverRecord[] = [];
  /** The election waiting for the lost leader's lease to expire (HA services), or -1. */
  private leaseTimer = -1;

  constructor(
    private readonly world: World,
    private readonly trace: Trace<EngineEvents & KernelEvents>,
    private readonly options: JobManagerHaOptions,
  ) {
    const host = world.host(options.host);
    host.onCrash(() => this.onLeaderLost());
    host.onRestart(() => this.onProcessRestarted());
  }

  /** The restarted process is elected at once without HA services, else once the lost leader's lease expired. */
  private onProcessRestarted(): void {
    const reason = "the JobManager process restarted with its host";
    const lease = this.options.leaseNs;
    const lost = this.failovers[this.failovers.length - 1];
    if (lease === undefined || lost === undefined) {
      this.elect("event-log", reason);
      return;
    }
    const expiresNs = lost.lostNs + lease;
    const incarnation = this.world.host(this.options.host).incarnation;
    const elect = () => {
      this.leaseTimer = -1;
      const host = this.world.host(this.options.host);
      if (!host.up || host.incarnation !== incarnation) return;
      this.elect("event-log", expiresNs > lost.lostNs ? `${reason}; the lost leader's lease expired ${formatDuration(lease)} after the crash` : reason);
    };
    if (this.leaseTimer >= 0) this.world.kernel.cancel(this.leaseTimer);
    if (expiresNs <= this.world.now) elect();
    else this.leaseTimer = this.world.kernel.schedule(expiresNs, elect);
  }

  get current(): JobManager {
    return this.leaders[this.leaders.length - 1]!;
  }

  /** The job reached a terminal status under its current leader. */
  get jobTerminal(): boolean {
    return this.leaders.length > 0 && this.current.jobTerminal;
  }

  /** The first leader, which submits the job. */
  start(): JobManager {
    const jm = this.options.create({ epoch: 0, attemptBase: 0, recover: false, restartFromScratch: (cause) => this.restartFromScratch(cause), ...this.recoverySettings(), ...this.storeSettings(false) });
    this.leaders.push(jm);
    // Epoch 0 is the leader every run has: traced only from the first failover on (JobManagerLeaderElected).
    this.options.onLeader(jm);
    jm.submit();
    return jm;
  }

  /** The status the run ends with: a lost leader nobody replaced fails the job. */
  finish(): void {
    const jm = this.current;
    if (jm.isHalted && !jm.jobTerminal) jm.abandon("the JobManager was lost and no new leader took over before the run ended");
  }

  private recoverySettings(): { recovery?: BatchJobRecoverySettings } {
    return this.options.recovery === undefined ? {} : { recovery: this.options.recovery };
  }

  private storeSettings(recover: boolean): { checkpointStore?: CompletedCheckpointStore; recoverCheckpoint?: boolean } {
    const store = this.options.checkpointStore;
    return store === undefined ? {} : { checkpointStore: store, recoverCheckpoint: recover };
  }

  private onLeaderLost(): void {
    const jm = this.current;
    if (jm === undefined || jm.isHalted || jm.jobTerminal) return;
    const finishedAtLoss = jm.placement().filter((p) => p.state === "FINISHED").map((p) => p.vertex);
    jm.halt();
    this.failovers.push({ lostNs: this.world.now, finishedAtLoss, latestCheckpointAtLoss: jm.checkpoints?.latest?.id, electedNs: undefined, recovery: undefined, restoredCheckpoint: undefined, runningNs: undefined });
    this.trace.emit("JobManagerLost", { host: this.options.host, epoch: this.leaders.length - 1, cause: `host ${this.options.host} crashed` });
  }

  /** A new leader: recovers from the log when it can, else runs the job from scratch. */
  private elect(wanted: "event-log" | "from-scratch", reason: string): void {
    const old = this.current;
    if (!old.isHalted || old.jobTerminal) return;
    const epoch = this.leaders.length;
    const attemptBase = Math.max(...this.leaders.map((l) => l.maxAttemptNumber)) + 1;
    const settings = this.options.recovery;
    const recover = wanted === "event-log" && settings !== undefined && hasJobEvents(this.world.blobStore, settings.logPrefix);
    // A checkpointing job under HA services: the latest completed checkpoint in the store, if any.
    const store = this.options.checkpointStore;
    const retained = store?.retainedIds ?? [];
    const fromCheckpoint = wanted === "event-log" && retained.length > 0;
    const recovery = recover ? "event-log" : fromCheckpoint ? "checkpoint" : "from-scratch";
    const why =
      recover ? reason
      : fromCheckpoint ? `${reason}; restores checkpoint ${retained[retained.length - 1]} from the completed checkpoint store`
      : wanted === "from-scratch" ? reason
      : store !== undefined ? `${reason}; no completed checkpoint in the HA store: the job starts with no state`
      : this.options.leaseNs === undefined && settings === undefined ? `${reason}; no HA services (high-availability.type NONE): nothing of the job survived the JobManager`
      : settings === undefined && this.leaders[0]!.jobGraph.runtimeMode === "STREAMING" ? `${reason}; the job does not checkpoint: no state to restore`
      : settings === undefined ? `${reason}; ${this.options.recoveryOffReason}`
      : `${reason}; the job event log is empty`;
    const jm = this.options.create({
      epoch,
      attemptBase,
      recover,
      restartFromScratch: (cause) => this.restartFromScratch(cause),
      ...this.recoverySettings(),
      ...this.storeSettings(wanted === "event-log"),
    });
    this.leaders.push(jm);
    const record = this.failovers[this.failovers.length - 1];
    if (record !== undefined && record.runningNs === undefined) {
      record.electedNs ??= this.world.now;
      record.recovery = recovery;
      if (fromCheckpoint) record.restoredCheckpoint = retained[retained.length - 1];
      jm.onStatus((status: JobStatus) => {
        if (status === "RUNNING" && record.runningNs === undefined) record.runningNs = this.world.now;
      });
    }
    this.trace.emit("JobManagerLeaderElected", { host: this.options.host, epoch, recovery, reason: why });
    this.options.onLeader(jm);
    jm.submit();
    this.options.notifyTaskManagers();
  }

  /** Recovery failed (the log could not be read): the same process starts the job anew. */
  private restartFromScratch(cause: string): void {
    this.current.halt();
    this.elect("from-scratch", `batch job recovery failed, the job runs from scratch: ${cause}`);
  }
}
