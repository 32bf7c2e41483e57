/**
 * The checkpoint coordinator on the JobManager (Flink's CheckpointCoordinator with its
 * periodic scheduler, CheckpointRequestDecider and CheckpointFailureManager).
 *
 * Cycle: a periodic trigger (first after a random delay in [min-pause, interval], as
 * Flink's getRandomInitDelay) → if every subtask is RUNNING or FINISHED, checkpoint n is
 * pending: the subtasks with no running producers (sources, FLIP-147) are triggered and
 * every running subtask must acknowledge → all acknowledged = COMPLETED, subscribers of
 * notifyCheckpointComplete(n) are told, older checkpoints beyond
 * `state.checkpoints.num-retained` are discarded. A checkpoint is aborted by its timeout,
 * a decline, or a failover. More consecutive failures (timeouts, declines) than
 * `execution.checkpointing.tolerable-failed-checkpoints` fail the job over; skipped
 * triggers (not all tasks running) and failover aborts do not count, as in Flink.
 * Triggers respect `max-concurrent-checkpoints` (a trigger that finds too many pending
 * waits for one to end) and `min-pause` (measured from the last completion).
 *
 * Subtasks that finished (FLIP-147) are not triggered or waited for; their last
 * acknowledged state is carried into every later checkpoint, so a restore of the whole
 * job finds it.
 *
 * Blobs are reference-counted per retained checkpoint (shared-state-registry.ts): an
 * incremental snapshot's SST files are shared by every checkpoint that references them,
 * and deleted when the last of those is discarded. A checkpoint whose snapshot references
 * a shared file that is already gone (its task had not yet heard that a newer checkpoint
 * completed, and the older one was discarded meanwhile) is aborted, not completed.
 * Changelog blobs (log segments, materializations) are uploaded and, until a completed
 * checkpoint references them, owned by the task's log: an abort leaves them to it.
 *
 * With JobManager high availability (`ha` in the context, engine/checkpoint/completed-checkpoint-store.ts)
 * ids come from the HA checkpoint ID counter, and a fully acknowledged checkpoint is
 * *finalized* first: its metadata is written to HA storage, and only when that write
 * finished is it completed (and its subscribers told) — so every checkpoint a sink committed
 * for is one a new leader can restore. It stays pending while finalizing (a failover or its
 * timeout aborts it; a failed write aborts it as a failure). A new leader starts from the
 * checkpoints it recovered from the store (`restoreCompleted`).
 *
 * Invariants: checkpoint ids increase by one per trigger; a checkpoint completes or
 * aborts exactly once; a completed checkpoint has a handle for every subtask; pending
 * checkpoints ≤ max-concurrent.
 */
import { InputError, assert } from "../../sim/errors";
import type { Kernel, TimerHandle } from "../../sim/kernel";
import type { Rng } from "../../sim/rng";
import type { Trace } from "../../sim/trace/recorder";
import type { KernelEvents } from "../../sim/trace/events";
import type { RuntimeMode } from "../api/types";
import type { EngineConfig } from "../config";
import type { ExecutionVertexId } from "../graph/execution-graph";
import type { EngineEvents, ExecutionState } from "../trace-events";
import type { CheckpointingMode } from "./barrier-aligner";
import { SharedStateRegistry } from "./shared-state-registry";
import { blobKeysOf, type CheckpointId, type StateHandle, type SubtaskCheckpointStats } from "./snapshot";
import type { BlobError } from "../../sim/blob-store";
import type { ClaimMode, SavepointOptions } from "./savepoint";

export interface CheckpointSettings {
  intervalNs: number;
  mode: CheckpointingMode;
  timeoutNs: number;
  minPauseNs: number;
  maxConcurrent: number;
  tolerableFailures: number;
  retained: number;
  /** execution.checkpointing.unaligned.enabled. */
  unaligned: boolean;
  /** execution.checkpointing.aligned-checkpoint-timeout (0: unaligned from the first barrier). */
  alignedTimeoutNs: number;
}

/** Checkpoint settings from the config, or undefined when checkpointing is off (or the job is BATCH). */
export function checkpointSettings(config: EngineConfig, runtimeMode: RuntimeMode): CheckpointSettings | undefined {
  const intervalNs = config.get("execution.checkpointing.interval");
  if (intervalNs === undefined || intervalNs === null) return undefined;
  if (runtimeMode === "BATCH") return undefined; // BATCH jobs do not checkpoint (§8)
  const mode = config.get("execution.checkpointing.mode") as CheckpointingMode;
  const unaligned = config.get("execution.checkpointing.unaligned.enabled") as boolean;
  if (unaligned && mode !== "EXACTLY_ONCE") {
    // Flink: "Unaligned checkpoints are supported only for exactly-once checkpointing mode."
    throw new InputError("execution.checkpointing.unaligned.enabled", "unaligned checkpoints need execution.checkpointing.mode EXACTLY_ONCE, not AT_LEAST_ONCE");
  }
  return {
    intervalNs: intervalNs as number,
    mode,
    timeoutNs: config.get("execution.checkpointing.timeout") as number,
    minPauseNs: config.get("execution.checkpointing.min-pause") as number,
    maxConcurrent: config.get("execution.checkpointing.max-concurrent-checkpoints") as number,
    tolerableFailures: config.get("execution.checkpointing.tolerable-failed-checkpoints") as number,
    retained: config.get("state.checkpoints.num-retained") as number,
    unaligned,
    alignedTimeoutNs: config.get("execution.checkpointing.aligned-checkpoint-timeout") as number,
  };
}

export interface PlannedSubtask {
  vertex: ExecutionVertexId;
  attemptId: string;
  state: ExecutionState;
  /** True when the subtask reads no input, or all its producers are FINISHED. */
  noRunningProducers: boolean;
}

/** What the coordinator needs from the JobManager. */
export interface CoordinatorContext {
  kernel: Kernel;
  trace: Trace<EngineEvents & KernelEvents>;
  rng: Rng;
  /** Every subtask's current attempt. */
  subtasks(): PlannedSubtask[];
  trigger(vertex: ExecutionVertexId, attemptId: string, checkpointId: CheckpointId, timestampNs: number, savepoint?: SavepointOptions): void;
  notifyComplete(vertex: ExecutionVertexId, attemptId: string, checkpointId: CheckpointId): void;
  notifyAborted(vertex: ExecutionVertexId, attemptId: string, checkpointId: CheckpointId): void;
  /** Too many consecutive checkpoint failures: fail the job over (all subtasks). */
  failJobOver(cause: string): void;
  deleteBlob(key: string): void;
  /** JobManager HA: the checkpoint ID counter and completed checkpoint store in HA storage. */
  ha?: CoordinatorHa;
}

/** The coordinator's view of the HA checkpoint store (engine/checkpoint/completed-checkpoint-store.ts). */
export interface CoordinatorHa {
  nextCheckpointId(): CheckpointId;
  /** Write the metadata; `done` when durable and added (never, if the JobManager died meanwhile). */
  add(cp: CompletedCheckpoint, stillWanted: () => boolean, done: (err?: BlobError) => void): void;
  remove(id: CheckpointId): void;
}

export interface CompletedAck extends SubtaskCheckpointStats {
  checkpoint: CheckpointId;
  subtask: ExecutionVertexId;
}

export interface CompletedCheckpoint {
  id: CheckpointId;
  triggerNs: number;
  completedNs: number;
  handles: ReadonlyMap<ExecutionVertexId, StateHandle>;
}

interface PendingCheckpoint {
  id: CheckpointId;
  triggerNs: number;
  /** Subtask → the attempt that must acknowledge. */
  waiting: Map<ExecutionVertexId, string>;
  /** The subtasks told to start it (their decline aborts it even if they finished meanwhile). */
  triggered: Map<ExecutionVertexId, string>;
  acked: Map<ExecutionVertexId, { attemptId: string; handle: StateHandle; stats: SubtaskCheckpointStats }>;
  timeout: TimerHandle;
  /** HA: every subtask acknowledged and the metadata is being written. */
  finalizing?: boolean;
  /** A savepoint: its options, and who waits for its outcome. */
  savepoint?: { options: SavepointOptions; done: (outcome: SavepointOutcome) => void };
}

/** How a savepoint ended: its handles (every subtask, finished ones included) or why it failed. */
export type SavepointOutcome =
  | {
      ok: true;
      id: CheckpointId;
      triggerNs: number;
      completedNs: number;
      handles: ReadonlyMap<ExecutionVertexId, StateHandle>;
      /** Tells the subtasks it completed: call once the metadata is durable (Flink finalizes _metadata first). */
      notify: () => void;
    }
  | { ok: false; id: CheckpointId | undefined; reason: string };

/** A savepoint trigger that finds subtasks not running retries this often, this many times. */
const SAVEPOINT_RETRY_NS = 100_000_000;
const SAVEPOINT_MAX_RETRIES = 600;

export class CheckpointCoordinator {
  private nextId = 1;
  private readonly pending = new Map<CheckpointId, PendingCheckpoint>();
  private readonly completed: CompletedCheckpoint[] = [];
  /** The last acknowledged state of each subtask (carried forward once it finished). */
  private readonly lastHandle = new Map<ExecutionVertexId, StateHandle>();
  private lastCompletionNs: number | undefined;
  private consecutiveFailures = 0;
  private tickTimer: TimerHandle = -1;
  private waitingForSlot = false;
  private stopped = false;
  private readonly durationsNs: number[] = [];
  /** Every acknowledgement of a checkpoint that completed, in completion order (for summaries). */
  private readonly completedAcks: CompletedAck[] = [];
  /** Counters for summaries. */
  readonly stats = { triggered: 0, completed: 0, aborted: 0, skipped: 0 };
  /** References of retained checkpoints to their blobs. */
  readonly registry = new SharedStateRegistry();
  /** Blobs of the snapshot the job was restored from (CLAIM: owned, deleted once unreferenced), by key → owner label. */
  private readonly restoredBlobs = new Map<string, string>();
  /** Deletions of the restored snapshot's blobs this job requested (CLAIM), in order; the blob store's log has those that completed. */
  readonly restoredBlobsDeleted: { key: string; atNs: number }[] = [];
  /** stop-with-savepoint: no periodic checkpoints any more. */
  private periodicStopped = false;

  constructor(
    readonly settings: CheckpointSettings,
    private readonly ctx: CoordinatorContext,
  ) {}

  /** Starts periodic triggering (when the job starts running). */
  start(): void {
    const s = this.settings;
    const lo = Math.min(s.minPauseNs, s.intervalNs);
    const initialDelay = this.ctx.rng.int(lo, s.intervalNs + 1);
    this.scheduleTick(this.ctx.kernel.now + initialDelay);
  }

  /** The job ended: no more triggers; pending checkpoints are dropped. */
  stop(): void {
    this.stopped = true;
    if (this.tickTimer >= 0) this.ctx.kernel.cancel(this.tickTimer);
    this.tickTimer = -1;
    for (const p of this.pending.values()) this.ctx.kernel.cancel(p.timeout);
    this.pending.clear();
  }

  get latest(): CompletedCheckpoint | undefined {
    return this.completed[this.completed.length - 1];
  }

  get completedCheckpoints(): readonly CompletedCheckpoint[] {
    return this.completed;
  }

  /** Per-subtask statistics of every completed checkpoint. */
  completedSubtaskStats(): readonly CompletedAck[] {
    return this.completedAcks;
  }

  /** Durations of every checkpoint completed so far (also those no longer retained), ns. */
  completedDurationsNs(): number[] {
    return [...this.durationsNs];
  }

  /** The state a restarted subtask restores: its handle in the latest completed checkpoint. */
  restoreHandle(vertex: ExecutionVertexId): StateHandle | undefined {
    return this.latest?.handles.get(vertex);
  }

  /**
   * A new JobManager leader recovered these retained checkpoints (oldest first) from the HA
   * store: the latest is what every subtask restores; all hold their blobs' references
   * (Flink re-registers recovered checkpoints' shared state in a fresh SharedStateRegistry).
   */
  restoreCompleted(checkpoints: readonly CompletedCheckpoint[]): void {
    assert(this.completed.length === 0 && this.pending.size === 0, "checkpoints recovered into a coordinator that already has some");
    for (const cp of checkpoints) {
      this.completed.push(cp);
      this.registry.register(cp.handles.values());
    }
    for (const [vertex, handle] of this.latest?.handles ?? []) this.lastHandle.set(vertex, handle);
  }

  // ---- triggering ----

  private scheduleTick(atNs: number): void {
    if (this.stopped) return;
    if (this.tickTimer >= 0) this.ctx.kernel.cancel(this.tickTimer);
    this.tickTimer = this.ctx.kernel.schedule(atNs, () => {
      this.tickTimer = -1;
      this.tick();
    });
  }

  private tick(): void {
    if (this.stopped || this.periodicStopped) return;
    const now = this.ctx.kernel.now;
    if (this.pending.size >= this.settings.maxConcurrent) {
      this.waitingForSlot = true; // triggered when a pending one ends
      return;
    }
    if (this.lastCompletionNs !== undefined && now < this.lastCompletionNs + this.settings.minPauseNs) {
      this.scheduleTick(this.lastCompletionNs + this.settings.minPauseNs);
      return;
    }
    this.triggerCheckpoint();
    this.scheduleTick(now + this.settings.intervalNs);
  }

  /**
   * Triggers a savepoint (stop-with-savepoint when `options.terminate`: periodic
   * checkpoints stop now, and every task finishes once it completes). Retries while some
   * subtask is not running yet; `done` hears the outcome exactly once.
   */
  triggerSavepoint(options: SavepointOptions, done: (outcome: SavepointOutcome) => void, retries = 0): void {
    if (this.stopped) {
      done({ ok: false, id: undefined, reason: "the job is no longer running" });
      return;
    }
    if (options.terminate && retries === 0) {
      this.periodicStopped = true;
      if (this.tickTimer >= 0) this.ctx.kernel.cancel(this.tickTimer);
      this.tickTimer = -1;
      const outer = done;
      // A failed stop-with-savepoint leaves the job running: periodic checkpoints resume (Flink).
      done = (outcome) => {
        if (!outcome.ok && !this.stopped) {
          this.periodicStopped = false;
          this.scheduleTick(this.ctx.kernel.now + this.settings.intervalNs);
        }
        outer(outcome);
      };
    }
    if (!this.triggerCheckpoint({ options, done })) {
      if (retries >= SAVEPOINT_MAX_RETRIES) done({ ok: false, id: undefined, reason: `not all subtasks were running after ${SAVEPOINT_MAX_RETRIES} tries` });
      else this.ctx.kernel.after(SAVEPOINT_RETRY_NS, () => this.triggerSavepoint(options, done, retries + 1));
    }
  }

  /**
   * The job restores a savepoint: checkpoint ids continue after it. CLAIM: it is the
   * first retained checkpoint (its handles, the restore plan's, reference the savepoint's
   * blobs), so its files are deleted once no retained checkpoint references them; NO_CLAIM:
   * the job never registers, and so never deletes, them.
   */
  restoreFrom(savepointId: CheckpointId, handles: ReadonlyMap<ExecutionVertexId, StateHandle>, claim: ClaimMode, owner: string): void {
    assert(this.completed.length === 0 && this.nextId === 1, "restore after checkpoints were taken");
    this.nextId = savepointId + 1;
    if (claim !== "CLAIM") return;
    const cp: CompletedCheckpoint = { id: savepointId, triggerNs: this.ctx.kernel.now, completedNs: this.ctx.kernel.now, handles };
    this.registry.register(handles.values());
    for (const h of handles.values()) for (const key of blobKeysOf(h)) this.restoredBlobs.set(key, owner);
    this.completed.push(cp);
  }

  /** Triggers checkpoint (or savepoint) n; false when not every subtask runs (nothing triggered). */
  private triggerCheckpoint(savepoint?: PendingCheckpoint["savepoint"]): boolean {
    const subtasks = this.ctx.subtasks();
    const notReady = subtasks.find((s) => s.state !== "RUNNING" && s.state !== "FINISHED");
    if (notReady !== undefined) {
      // Flink: NOT_ALL_REQUIRED_TASKS_RUNNING, a pre-flight failure that does not count.
      this.stats.skipped++;
      this.ctx.trace.emit("Mark", { name: "checkpoint.skipped.notAllRunning" });
      return false;
    }
    const running = subtasks.filter((s) => s.state === "RUNNING");
    if (running.length === 0) {
      savepoint?.done({ ok: false, id: undefined, reason: "every subtask had finished" });
      return true;
    }
    const id = this.ctx.ha !== undefined ? this.ctx.ha.nextCheckpointId() : this.nextId++;
    const now = this.ctx.kernel.now;
    const waiting = new Map(running.map((s) => [s.vertex, s.attemptId] as const));
    const toTrigger = running.filter((s) => s.noRunningProducers);
    const p: PendingCheckpoint = { id, triggerNs: now, waiting, triggered: new Map(toTrigger.map((s) => [s.vertex, s.attemptId] as const)), acked: new Map(), timeout: -1, ...(savepoint !== undefined ? { savepoint } : {}) };
    // A savepoint's failure never counts toward the tolerable checkpoint failures (Flink).
    p.timeout = this.ctx.kernel.after(this.settings.timeoutNs, () => this.abort(p, "timeout", savepoint === undefined));
    this.pending.set(id, p);
    if (savepoint !== undefined) {
      const o = savepoint.options;
      this.ctx.trace.emit("SavepointTriggered", { checkpoint: id, terminate: o.terminate, drain: o.drain, format: o.format, subtasks: running.length });
    } else {
      this.stats.triggered++;
      this.ctx.trace.emit("CheckpointTriggered", { checkpoint: id, mode: this.settings.mode, subtasks: running.length, triggered: toTrigger.map((s) => s.vertex) });
    }
    for (const s of toTrigger) this.ctx.trigger(s.vertex, s.attemptId, id, now, savepoint?.options);
    return true;
  }

  // ---- acknowledgements ----

  /** A subtask's snapshot is durable. Stale attempts must be filtered by the caller. */
  acknowledge(vertex: ExecutionVertexId, attemptId: string, checkpointId: CheckpointId, handle: StateHandle, stats: SubtaskCheckpointStats, host: string): void {
    const p = this.pending.get(checkpointId);
    if (p === undefined || p.waiting.get(vertex) !== attemptId) return; // aborted, or not expected from this attempt
    p.waiting.delete(vertex);
    p.acked.set(vertex, { attemptId, handle, stats });
    this.ctx.trace.emit("CheckpointAcknowledged", {
      checkpoint: checkpointId,
      subtask: vertex,
      host,
      startDelayNs: stats.startDelayNs,
      alignmentNs: stats.alignmentNs,
      syncNs: stats.syncNs,
      asyncNs: stats.asyncNs,
      stateBytes: stats.stateBytes,
      uploadedBytes: stats.uploadedBytes,
      afterEndOfInput: stats.afterEndOfInput,
      unaligned: stats.unaligned,
      persistedBytes: stats.persistedBytes,
    });
    this.completeIfDone(p);
  }

  /** A subtask could not take its part (an upload failed, a barrier was subsumed). */
  decline(vertex: ExecutionVertexId, attemptId: string, checkpointId: CheckpointId, reason: string, counts: boolean): void {
    const p = this.pending.get(checkpointId);
    // A triggered subtask that finished before it could start the checkpoint no longer
    // waits to acknowledge, but its decline still means no barrier will come from it.
    if (p === undefined || p.finalizing === true || (p.waiting.get(vertex) !== attemptId && p.triggered.get(vertex) !== attemptId)) return;
    this.abort(p, `declined by ${vertex}: ${reason}`, counts && p.savepoint === undefined);
  }

  /** A subtask finished (FLIP-147): pending checkpoints no longer wait for it. */
  onSubtaskFinished(vertex: ExecutionVertexId): void {
    for (const p of [...this.pending.values()]) {
      if (!p.waiting.delete(vertex)) continue;
      this.completeIfDone(p);
    }
  }

  /** A failover: every pending checkpoint is aborted (not counted as a checkpoint failure). */
  abortAll(reason: string): void {
    for (const p of [...this.pending.values()]) this.abort(p, reason, false);
  }

  private completeIfDone(p: PendingCheckpoint): void {
    if (p.waiting.size > 0 || p.finalizing === true) return;
    for (const a of p.acked.values()) {
      // Changelog blobs may be new to the registry although uploaded earlier: gone only if deleted.
      const gone = (a.handle.shared ?? []).find((s) =>
        s.changelog === true ? this.registry.wasDeleted(s.blobKey) : s.checkpointId !== p.id && this.registry.count(s.blobKey) === 0,
      );
      if (gone !== undefined) {
        this.ctx.trace.emit("Mark", { name: "checkpoint.sharedStateGone" });
        this.abort(p, `references discarded shared state ${gone.blobKey}`, false);
        return;
      }
    }
    if (p.savepoint !== undefined) {
      // A savepoint is not a retained checkpoint: no HA store entry, never subsumed.
      this.ctx.kernel.cancel(p.timeout);
      this.pending.delete(p.id);
      this.completeSavepoint(p, p.savepoint);
      return;
    }
    const handles = new Map<ExecutionVertexId, StateHandle>();
    for (const [vertex, a] of p.acked) handles.set(vertex, a.handle);
    // Finished subtasks are recorded as finished (their last handle keeps its blob alive).
    for (const [vertex, handle] of this.lastHandle) if (!handles.has(vertex)) handles.set(vertex, { ...handle, finished: true });
    const ha = this.ctx.ha;
    if (ha === undefined) {
      this.complete(p, handles);
      return;
    }
    // HA: completed only once its metadata is durable (Flink's finalizeCheckpoint, then
    // addCheckpointAndSubsumeOldestOne); a crash of the JobManager before that loses it.
    p.finalizing = true;
    const cp: CompletedCheckpoint = { id: p.id, triggerNs: p.triggerNs, completedNs: this.ctx.kernel.now, handles };
    ha.add(
      cp,
      () => !this.stopped && this.pending.get(p.id) === p,
      (err) => {
        if (this.stopped || this.pending.get(p.id) !== p) return;
        if (err !== undefined) this.abort(p, `could not write the checkpoint metadata to HA storage: ${err.message}`, true);
        else this.complete(p, handles);
      },
    );
  }

  private complete(p: PendingCheckpoint, handles: Map<ExecutionVertexId, StateHandle>): void {
    this.ctx.kernel.cancel(p.timeout);
    this.pending.delete(p.id);
    const now = this.ctx.kernel.now;
    for (const [vertex, a] of p.acked) this.lastHandle.set(vertex, a.handle);
    const cp: CompletedCheckpoint = { id: p.id, triggerNs: p.triggerNs, completedNs: now, handles };
    this.registry.register(handles.values());
    this.completed.push(cp);
    this.lastCompletionNs = now;
    this.consecutiveFailures = 0;
    this.stats.completed++;
    this.durationsNs.push(now - p.triggerNs);
    for (const [vertex, a] of p.acked) this.completedAcks.push({ checkpoint: p.id, subtask: vertex, ...a.stats });
    let stateBytes = 0;
    for (const h of handles.values()) if (h.checkpointId === p.id) stateBytes += h.stateBytes;
    let uploadedBytes = 0;
    for (const a of p.acked.values()) uploadedBytes += a.stats.uploadedBytes;
    this.ctx.trace.emit("CheckpointCompleted", { checkpoint: p.id, durationNs: now - p.triggerNs, stateBytes, uploadedBytes, subtasks: p.acked.size });
    // Pending checkpoints older than this one are subsumed (Flink aborts them).
    // Savepoints are never subsumed: a user waits for each.
    for (const older of [...this.pending.values()]) if (older.id < p.id && older.savepoint === undefined) this.abort(older, "subsumed", false);
    this.discardBeyondRetained();
    for (const [vertex, a] of p.acked) this.ctx.notifyComplete(vertex, a.attemptId, p.id);
    this.afterCheckpointEnded();
  }

  /**
   * A savepoint completed: not retained with the checkpoints, not registered (the job never
   * deletes it), not the base of later incremental checkpoints; subtasks hear of it (sinks
   * commit; after stop-with-savepoint every task finishes).
   */
  private completeSavepoint(p: PendingCheckpoint, sp: NonNullable<PendingCheckpoint["savepoint"]>): void {
    const now = this.ctx.kernel.now;
    const handles = new Map<ExecutionVertexId, StateHandle>();
    for (const [vertex, a] of p.acked) handles.set(vertex, a.handle);
    for (const [vertex, handle] of this.lastHandle) if (!handles.has(vertex)) handles.set(vertex, { ...handle, finished: true });
    let stateBytes = 0;
    for (const h of handles.values()) stateBytes += h.stateBytes;
    this.ctx.trace.emit("SavepointCompleted", { checkpoint: p.id, durationNs: now - p.triggerNs, stateBytes, subtasks: p.acked.size, terminate: sp.options.terminate, drain: sp.options.drain, format: sp.options.format });
    const notify = () => {
      for (const [vertex, a] of p.acked) this.ctx.notifyComplete(vertex, a.attemptId, p.id);
    };
    sp.done({ ok: true, id: p.id, triggerNs: p.triggerNs, completedNs: now, handles, notify });
    this.afterCheckpointEnded();
  }

  private abort(p: PendingCheckpoint, reason: string, countsAsFailure: boolean): void {
    if (!this.pending.delete(p.id)) return;
    this.ctx.kernel.cancel(p.timeout);
    const now = this.ctx.kernel.now;
    if (p.savepoint !== undefined) this.ctx.trace.emit("SavepointFailed", { checkpoint: p.id, reason });
    else this.stats.aborted++;
    this.ctx.trace.emit("CheckpointAborted", { checkpoint: p.id, reason, durationNs: now - p.triggerNs });
    p.savepoint?.done({ ok: false, id: p.id, reason });
    if (reason === "timeout") this.ctx.trace.emit("Mark", { name: "checkpoint.aborted.timeout" });
    for (const [vertex, attemptId] of p.waiting) this.ctx.notifyAborted(vertex, attemptId, p.id);
    for (const [vertex, a] of p.acked) this.ctx.notifyAborted(vertex, a.attemptId, p.id);
    // Uploaded parts of an aborted checkpoint are garbage; files it only referenced are not.
    for (const a of p.acked.values()) {
      this.ctx.deleteBlob(a.handle.blobKey);
      // Changelog blobs stay: the task's log owns them until a completed checkpoint does.
      for (const s of a.handle.shared ?? []) if (s.checkpointId === p.id && s.changelog !== true) this.ctx.deleteBlob(s.blobKey);
    }
    if (countsAsFailure && ++this.consecutiveFailures > this.settings.tolerableFailures) {
      this.consecutiveFailures = 0;
      this.ctx.failJobOver(`FlinkRuntimeException: Exceeded checkpoint tolerable failure threshold (${this.settings.tolerableFailures}); last: checkpoint ${p.id} ${reason}`);
    }
    this.afterCheckpointEnded();
  }

  private afterCheckpointEnded(): void {
    if (!this.waitingForSlot || this.stopped || this.pending.size >= this.settings.maxConcurrent) return;
    this.waitingForSlot = false;
    this.tick();
  }

  /** Drops completed checkpoints beyond the retained count and deletes blobs no retained one references. */
  private discardBeyondRetained(): void {
    while (this.completed.length > this.settings.retained) {
      const old = this.completed.shift()!;
      this.ctx.ha?.remove(old.id);
      for (const key of this.registry.release(old.handles.values())) {
        const owner = this.restoredBlobs.get(key);
        if (owner !== undefined) this.restoredBlobsDeleted.push({ key, atNs: this.ctx.kernel.now });
        if (owner !== undefined) this.ctx.trace.emit("SnapshotFileDeleted", { key, owner, claimMode: "CLAIM", reason: `no retained checkpoint references it after checkpoint ${this.latest?.id ?? old.id} completed` });
        this.ctx.deleteBlob(key);
      }
    }
    assert(this.completed.length <= this.settings.retained, "more completed checkpoints than retained");
  }
}
