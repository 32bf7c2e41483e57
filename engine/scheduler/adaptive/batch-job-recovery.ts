/**
 * Batch job recovery after a JobManager failover (Flink 1.20's DefaultBatchJobRecoveryHandler,
 * FLIP-383 "JM failover based on operation log"), against a small context the JobManager
 * implements (Flink's BatchJobRecoveryContext).
 *
 * While the job runs, the handler writes the operation log (engine/cluster/job-event-store.ts):
 * a vertex initialized with its decision, a subtask finished (with a snapshot when its job
 * vertex finished or `snapshot.min-pause` has passed since the last one), subtasks reset.
 *
 * A new leader that finds events recovers in RECONCILING:
 * 1. reads the log from HA storage and replays it: initialized vertices are re-initialized
 *    with the logged parallelism and input ranges (never re-decided); a reset drops the
 *    subtasks' finished events;
 * 2. drops trailing finished events that carry no snapshot (Flink's tail trim: their
 *    coordinator state was never saved), and recovers the rest as FINISHED;
 * 3. sorts the partitions as Flink's getPartitionReservationStatus does — RELEASE (producer
 *    not finished), RESERVE (a consumer vertex not initialized or a consumer not finished),
 *    OPTIONAL (every consumer finished) — and asks the TaskManagers that re-register for
 *    their partitions, waiting until every RESERVE partition is found or
 *    `previous-worker.recovery.timeout` has passed;
 * 4. releases partitions nobody needs, resets the producers of missing RESERVE partitions
 *    with the region-failover rule (their consumer regions go too), and enters RUNNING.
 * If reading the log fails, it clears the log and the job starts over.
 *
 * flowsim's sources assign their splits statically at initialization (the same splits for
 * every attempt), and its shuffle master keeps no state, so the "snapshots" carry nothing:
 * restoring them is a no-op, and no source vertex needs Flink's "reset all on rerun" rule.
 *
 * Invariants: the log is written only while RUNNING; after recovery every execution is
 * CREATED or FINISHED (Flink's checkExecutionGraphState, asserted by the JobManager).
 */
import { assert } from "../../../sim/errors";
import type { BlobStore } from "../../../sim/blob-store";
import type { Host } from "../../../sim/host";
import type { Kernel } from "../../../sim/kernel";
import type { Ns } from "../../../sim/time";
import type { SubtaskInputRange } from "../../graph/dynamic-execution-graph";
import type { ExecutionGraph, ExecutionVertexId, PartitionId } from "../../graph/execution-graph";
import type { JobGraph } from "../../graph/job-graph";
import type { ExecutionState } from "../../trace-events";
import { JobEventStore, clearJobEvents, readJobEvents, type ExecutionVertexFinishedEvent, type FlushReason, type JobEvent } from "../../cluster/job-event-store";

export interface BatchJobRecoverySettings {
  previousWorkerRecoveryTimeoutNs: Ns;
  snapshotMinPauseNs: Ns;
  writeBufferBytes: number;
  flushIntervalNs: Ns;
  /** Blob key prefix of the job's event log. */
  logPrefix: string;
}

/** What the handler needs from the JobManager (Flink's BatchJobRecoveryContext). */
export interface BatchJobRecoveryContext {
  readonly kernel: Kernel;
  readonly blob: BlobStore;
  readonly host: Host;
  readonly jobGraph: JobGraph;
  readonly executionGraph: ExecutionGraph;
  state(vertex: ExecutionVertexId): ExecutionState;
  attemptNumber(vertex: ExecutionVertexId): number;
  isJobVertexInitialized(vertexIndex: number): boolean;
  /** Re-initializes a job vertex with a logged decision (adaptive graphs only). */
  initializeJobVertex(vertexIndex: number, parallelism: number, inputRanges: readonly (readonly SubtaskInputRange[])[]): void;
  /** Marks a subtask FINISHED with its logged attempt, location and produced bytes. */
  recoverFinished(event: ExecutionVertexFinishedEvent): void;
  /** The subtasks the region-failover rule restarts with `vertex` (partition availability as now tracked). */
  tasksNeedingRestart(vertex: ExecutionVertexId): readonly ExecutionVertexId[];
  /** A partition the scheduler no longer tracks (missing after the reconcile). */
  markPartitionMissing(partition: PartitionId): void;
  /** A recovered producer's partition was reported by `host`. */
  partitionFound(partition: PartitionId, host: string): void;
  /** Resets recovered subtasks to CREATED with fresh attempts, without a back-off. */
  resetVertices(vertices: readonly ExecutionVertexId[]): void;
  /** Asks every registered TaskManager, and every one registering until `stopRequesting`, for its partitions. */
  requestPartitions(): void;
  stopRequesting(): void;
  releasePartitions(byHost: ReadonlyMap<string, string[]>): void;
  /** Recovery ended: RUNNING, scheduling goes on from the recovered state. */
  recoveringFinished(): void;
  /** Recovery failed: the log is cleared, start the job from scratch. */
  recoveringFailed(cause: string): void;
  emit: {
    replayed(e: { events: number; segments: number; readNs: number; initialized: string[]; finished: string[]; trimmed: string[] }): void;
    reconciled(e: { expected: number; found: number; missing: string[]; released: number; waitedNs: number; timedOut: boolean }): void;
    reset(vertices: string[], cause: string): void;
    finished(e: { succeeded: boolean; recoveredFinished: number; reset: number; durationNs: number; cause?: string }): void;
    flushed(segment: number, events: number, bytes: number, reason: FlushReason): void;
  };
}

type Reservation = "RELEASE" | "RESERVE" | "OPTIONAL";

export class BatchJobRecoveryHandler {
  private store: JobEventStore | undefined;
  private lastSnapshotNs: Ns;
  private recovering = false;
  private startedNs = 0;
  /** Partitions reported during the reconcile, attempt partition id → host. */
  private readonly reported = new Map<string, string>();
  private expected = new Set<string>();
  private reconcileTimer = -1;
  private reconcileStartNs = 0;
  private recoveredFinished = 0;
  private stopped = false;

  constructor(
    private readonly ctx: BatchJobRecoveryContext,
    private readonly settings: BatchJobRecoverySettings,
  ) {
    // Flink measures the pause from the handler's clock start.
    this.lastSnapshotNs = ctx.kernel.now;
  }

  get isRecovering(): boolean {
    return this.recovering;
  }

  /** Starts writing the log (after segments already there). */
  startWriting(firstSegment: number): void {
    if (this.stopped) return;
    this.store = new JobEventStore(this.ctx.kernel, this.ctx.blob, this.ctx.host, {
      writeBufferBytes: this.settings.writeBufferBytes,
      flushIntervalNs: this.settings.flushIntervalNs,
      prefix: this.settings.logPrefix,
      onFlushed: (segment, events, bytes, reason) => this.ctx.emit.flushed(segment, events, bytes, reason),
    }, firstSegment);
  }

  /** The JobManager died or the job ended: nothing more is written. */
  stop(): void {
    this.stopped = true;
    this.store?.stop();
    if (this.reconcileTimer >= 0) this.ctx.kernel.cancel(this.reconcileTimer);
    this.reconcileTimer = -1;
  }

  // ---- the log while running ----

  onExecutionJobVertexInitialized(vertexIndex: number, parallelism: number, inputRanges: readonly (readonly SubtaskInputRange[])[]): void {
    assert(!this.recovering, "job event written while recovering");
    this.store?.write({ type: "ExecutionJobVertexInitialized", vertexIndex, parallelism, inputRanges }, false);
  }

  onExecutionFinished(vertex: ExecutionVertexId, attemptNumber: number, host: string, producedBytes: readonly (readonly number[])[] | undefined, jobVertexFinished: boolean): void {
    assert(!this.recovering, "job event written while recovering");
    const now = this.ctx.kernel.now;
    // Snapshots (coordinators + shuffle master) when the job vertex finished or the pause has passed.
    const snapshot = jobVertexFinished || now - this.lastSnapshotNs >= this.settings.snapshotMinPauseNs;
    if (snapshot) this.lastSnapshotNs = now;
    this.store?.write({ type: "ExecutionVertexFinished", vertex, attemptNumber, host, producedBytes, snapshot }, jobVertexFinished);
  }

  onExecutionVertexReset(vertices: readonly ExecutionVertexId[]): void {
    assert(!this.recovering, "job event written while recovering");
    if (vertices.length > 0) this.store?.write({ type: "ExecutionVertexReset", vertices: [...vertices] }, false);
  }

  // ---- recovery ----

  /** RECONCILING: read, replay, reconcile partitions, then RUNNING (or start over). */
  startRecovering(): void {
    this.recovering = true;
    this.startedNs = this.ctx.kernel.now;
    this.ctx.requestPartitions();
    readJobEvents(this.ctx.blob, this.ctx.host, this.settings.logPrefix, (err, log) => {
      if (this.stopped) return;
      if (err !== undefined) {
        this.recoverFailed(`reading the job event log failed: ${err.message}`);
        return;
      }
      let problem: string | undefined;
      try {
        this.replay(log!.events, log!.segments);
      } catch (e) {
        // A log that does not fit the job (e.g. decisions for vertices that cannot be initialized): Flink starts over too.
        problem = e instanceof Error ? e.message : String(e);
      }
      if (problem !== undefined) {
        this.recoverFailed(`replaying the job event log failed: ${problem}`);
        return;
      }
      this.startWriting(log!.segments);
      this.reconcilePartitions();
    });
  }

  private replay(events: readonly JobEvent[], segments: number): void {
    const readNs = this.ctx.kernel.now - this.startedNs;
    // Java's LinkedHashMap: a key put again keeps its place; a reset removes it.
    const finished = new Map<ExecutionVertexId, ExecutionVertexFinishedEvent>();
    const initialized: { vertexIndex: number; parallelism: number; inputRanges: readonly (readonly SubtaskInputRange[])[] }[] = [];
    for (const e of events) {
      if (e.type === "ExecutionVertexFinished") finished.set(e.vertex, e);
      else if (e.type === "ExecutionVertexReset") for (const v of e.vertices) finished.delete(v);
      else initialized.push(e);
    }
    for (const e of initialized) this.ctx.initializeJobVertex(e.vertexIndex, e.parallelism, e.inputRanges);
    const kept = [...finished.values()];
    const trimmed: string[] = [];
    while (kept.length > 0 && !kept[kept.length - 1]!.snapshot) trimmed.unshift(kept.pop()!.vertex);
    for (const e of kept) {
      assert(this.ctx.executionGraph.vertexById.has(e.vertex), `finished event for ${e.vertex}, which is not initialized`);
      this.ctx.recoverFinished(e);
    }
    this.recoveredFinished = kept.length;
    this.ctx.emit.replayed({
      events: events.length,
      segments,
      readNs,
      initialized: initialized.map((e) => `v${e.vertexIndex}`),
      finished: kept.map((e) => e.vertex),
      trimmed,
    });
  }

  private reservation(partition: PartitionId): Reservation {
    const eg = this.ctx.executionGraph;
    const p = eg.partitionById.get(partition)!;
    if (this.ctx.state(p.producer) !== "FINISHED") return "RELEASE";
    const edge = this.ctx.jobGraph.edges[p.edgeIndex]!;
    if (!this.ctx.isJobVertexInitialized(edge.targetVertex)) return "RESERVE";
    const consumers = p.subpartitionConsumers.filter((c): c is ExecutionVertexId => c !== undefined);
    return consumers.some((c) => this.ctx.state(c) !== "FINISHED") ? "RESERVE" : "OPTIONAL";
  }

  private attemptPartition(partition: PartitionId): string {
    return `${partition}@${this.ctx.attemptNumber(this.ctx.executionGraph.partitionById.get(partition)!.producer)}`;
  }

  private reconcilePartitions(): void {
    this.expected = new Set();
    for (const p of this.ctx.executionGraph.partitions) if (this.reservation(p.id) === "RESERVE") this.expected.add(this.attemptPartition(p.id));
    this.reconcileStartNs = this.ctx.kernel.now;
    if (this.allExpectedFound()) {
      this.reconcileDone(false);
      return;
    }
    this.reconcileTimer = this.ctx.kernel.after(this.settings.previousWorkerRecoveryTimeoutNs, () => {
      this.reconcileTimer = -1;
      this.reconcileDone(true);
    });
  }

  private allExpectedFound(): boolean {
    for (const p of this.expected) if (!this.reported.has(p)) return false;
    return true;
  }

  /** A TaskManager answered RequestPartitions. */
  onPartitionsReported(host: string, partitionIds: readonly string[]): void {
    if (!this.recovering || this.stopped) return;
    for (const id of partitionIds) this.reported.set(id, host);
    // Still reading the log: the check happens once the expected set is known.
    if (this.reconcileTimer >= 0 && this.allExpectedFound()) {
      this.ctx.kernel.cancel(this.reconcileTimer);
      this.reconcileTimer = -1;
      this.reconcileDone(false);
    }
  }

  private reconcileDone(timedOut: boolean): void {
    if (this.stopped) return;
    this.ctx.stopRequesting();
    const eg = this.ctx.executionGraph;
    const keep = new Set<string>();
    const missingProducers: ExecutionVertexId[] = [];
    const missing: string[] = [];
    for (const p of eg.partitions) {
      const status = this.reservation(p.id);
      if (status === "RELEASE") continue;
      const id = this.attemptPartition(p.id);
      const host = this.reported.get(id);
      if (host !== undefined) {
        keep.add(id);
        this.ctx.partitionFound(p.id, host);
        continue;
      }
      // Untracked from now on: a later failover that needs it reruns its producer.
      this.ctx.markPartitionMissing(p.id);
      if (status === "RESERVE") {
        missing.push(p.id);
        if (!missingProducers.includes(p.producer)) missingProducers.push(p.producer);
      }
    }
    // Everything else reported (unfinished producers, older attempts) is released.
    const release = new Map<string, string[]>();
    let released = 0;
    for (const [id, host] of this.reported) {
      if (keep.has(id)) continue;
      let list = release.get(host);
      if (list === undefined) release.set(host, (list = []));
      list.push(id);
      released++;
    }
    this.ctx.releasePartitions(release);
    this.ctx.emit.reconciled({ expected: this.expected.size, found: keep.size, missing, released, waitedNs: this.ctx.kernel.now - this.reconcileStartNs, timedOut });
    // Region failover from every producer of a missing partition; only recovered (non-CREATED) subtasks are reset.
    const restart = new Set<ExecutionVertexId>();
    for (const v of missingProducers) if (!restart.has(v)) for (const r of this.ctx.tasksNeedingRestart(v)) restart.add(r);
    const reset = [...restart].filter((v) => this.ctx.state(v) !== "CREATED").sort((a, b) => eg.vertexById.get(a)!.topoIndex - eg.vertexById.get(b)!.topoIndex);
    if (reset.length > 0) {
      this.ctx.emit.reset(reset, `partitions missing after the JobManager failover: ${missing.join(", ")}`);
      this.ctx.resetVertices(reset);
    }
    this.recovering = false;
    this.ctx.emit.finished({ succeeded: true, recoveredFinished: this.recoveredFinished - reset.length, reset: reset.length, durationNs: this.ctx.kernel.now - this.startedNs });
    this.ctx.recoveringFinished();
  }

  private recoverFailed(cause: string): void {
    this.ctx.stopRequesting();
    this.recovering = false;
    this.ctx.emit.finished({ succeeded: false, recoveredFinished: 0, reset: 0, durationNs: this.ctx.kernel.now - this.startedNs, cause });
    // Flink: clear the log, restart the event manager, and run the job as a new one.
    clearJobEvents(this.ctx.blob, this.ctx.host, this.settings.logPrefix, () => {
      if (this.stopped) return;
      this.startWriting(0);
      this.ctx.recoveringFailed(cause);
    });
  }
}
