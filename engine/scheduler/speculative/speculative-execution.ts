/**
 * Speculative execution for BATCH jobs (flink-mechanics §3; Flink's SpeculativeScheduler
 * and DefaultSpeculativeExecutionHandler): every `slow-task-detector.check-interval` the
 * detector names slow attempts; their hosts are blocked for
 * `execution.batch.speculative.block-slow-node-duration`; each slow subtask that supports
 * concurrent attempts gets `max-concurrent-executions − current` new attempts on
 * non-blocked hosts, each in a slot of its own. The first attempt to FINISH wins: it
 * becomes the subtask's current attempt (its partitions are the ones consumers read) and
 * the others are cancelled. A failed attempt is archived; the subtask fails over only when
 * no other attempt of it can still finish, or the cause is a partition error.
 *
 * The JobManager keeps one "current" attempt per subtask (its ExecutionInfo); this module
 * keeps the extra, speculative ones and talks to the JobManager only through
 * SpeculationHost. Which subtasks support concurrent attempts: in BATCH mode, those whose
 * every input and output is a BLOCKING partition (re-readable, and consumed only after the
 * winner finished) and whose chain holds no sink — sinks write to the external store, and
 * two attempts of a sink would write twice (Flink: committers never run concurrently;
 * flowsim speculates no sink at all).
 *
 * Invariants: attempt numbers of a subtask are never reused (speculative attempts take
 * fresh ones, and so do restarts after them); a speculative attempt holds exactly one
 * slot, released exactly once when it ends; at most `maxConcurrent` attempts of a subtask
 * are alive; a subtask has at most one winner.
 */
import { assert } from "../../../sim/errors";
import type { ExecutionGraph, ExecutionVertex, ExecutionVertexId, PartitionId } from "../../graph/execution-graph";
import type { JobGraph } from "../../graph/job-graph";
import type { ExecutionState } from "../../trace-events";
import { Blocklist } from "./blocklist";
import type { ExecutionSnapshot, JobVertexSnapshot, SlowTask, SlowTaskDetector } from "./slow-task-detector";

/** An execution attempt as the JobManager tracks it (its ExecutionInfo has this shape). */
export interface Attempt {
  vertex: ExecutionVertex;
  attemptNumber: number;
  attemptId: string;
  state: ExecutionState;
  host: string | undefined;
  slot: number;
}

export interface SpeculationSettings {
  maxConcurrentExecutions: number;
  blockSlowNodeDurationNs: number;
  checkIntervalNs: number;
}

/** What the handler needs from the JobManager. */
export interface SpeculationHost {
  now(): number;
  after(delayNs: number, fn: () => void): number;
  schedule(atNs: number, fn: () => void): number;
  cancelTimer(timer: number): void;
  readonly jobTerminal: boolean;
  /** The subtask's current attempt (the JobManager's own). */
  current(vertex: ExecutionVertexId): Attempt;
  /** False while regions wait for slots: regular scheduling goes first. */
  regionsWaiting(): boolean;
  /** A free slot on an alive, non-blocked TaskManager, taken; undefined when none. */
  takeSlot(forAttempt: string, vertex: ExecutionVertexId): { host: string; slot: number } | undefined;
  releaseSlot(host: string, slot: number): void;
  /** State change of any attempt (trace + observers), as the JobManager records its own. */
  setState(a: Attempt, state: ExecutionState, cause?: string): void;
  deploy(a: Attempt): void;
  /** Sends CancelTask to the attempt's TaskManager if it is alive. */
  sendCancel(a: Attempt): void;
  /** Makes `a` the subtask's current attempt, cancelling the current one if it still runs. */
  adopt(current: Attempt, a: Attempt): void;
  /** Normal failover of the subtask (a speculative attempt hit a partition error). */
  failover(current: Attempt, cause: string): void;
  /** Blocked hosts came back: waiting regions may get their slots now. */
  hostsUnblocked(): void;
  launched(a: Attempt, slowAttempts: number[]): void;
  finished(vertex: ExecutionVertexId, winner: number, speculativeWin: boolean, cancelled: number[]): void;
  blocked(host: string, untilNs: number, cause: string, extended: boolean): void;
  unblocked(host: string): void;
  mark(name: string): void;
}

export interface SpeculationStats {
  /** Flink's numEffectiveSpeculativeExecutions: subtasks won by a speculative attempt. */
  numEffectiveSpeculativeExecutions: number;
  /** Speculative attempts launched. */
  numSpeculativeAttempts: number;
  /** Hosts newly put on the blocklist (extensions not counted). */
  numBlockedNodes: number;
  /** Detector runs that found at least one slow subtask. */
  numSlowChecks: number;
}

function isTerminal(state: ExecutionState): boolean {
  return state === "FINISHED" || state === "CANCELED" || state === "FAILED";
}

export class SpeculativeExecutionHandler {
  /** Live speculative attempts per subtask, in launch order. */
  private readonly live = new Map<ExecutionVertexId, Attempt[]>();
  /** Every speculative attempt ever launched, by id (archived ones stay, to ignore their late reports). */
  private readonly speculative = new Map<string, Attempt>();
  /** Highest attempt number handed out per subtask (attempt numbers are never reused). */
  private readonly highestAttempt = new Map<ExecutionVertexId, number>();
  private readonly deployingNs = new Map<string, number>();
  private readonly finishedNs = new Map<string, number>();
  /** The slot each speculative attempt holds, until it ends. */
  private readonly slots = new Map<string, { host: string; slot: number }>();
  /** Bytes per subpartition of each finished producer's partitions (its last finished attempt). */
  private readonly partitionBytes = new Map<PartitionId, readonly number[]>();
  /** Subtasks whose original attempt a speculative winner just replaced (cancelled in adopt). */
  private readonly originalCancelledByWin = new Map<ExecutionVertexId, number>();
  /** Input bytes per subtask, while no producer finished anew. */
  private readonly inputBytesCache = new Map<ExecutionVertexId, number | undefined>();
  private readonly supported: boolean[];
  private readonly blocklist: Blocklist;
  private timer = -1;
  private readonly blockedEver = new Set<string>();
  readonly stats: SpeculationStats = { numEffectiveSpeculativeExecutions: 0, numSpeculativeAttempts: 0, numBlockedNodes: 0, numSlowChecks: 0 };

  constructor(
    private readonly host: SpeculationHost,
    private readonly settings: SpeculationSettings,
    private readonly detector: SlowTaskDetector,
    private readonly jobGraph: JobGraph,
    private readonly executionGraph: ExecutionGraph,
  ) {
    this.supported = jobGraph.vertices.map((jv) => supportsConcurrentAttempts(jobGraph, jv.index));
    this.blocklist = new Blocklist({
      now: () => host.now(),
      schedule: (at, fn) => host.schedule(at, fn),
      cancel: (t) => host.cancelTimer(t),
      added: (h, until, cause, extended) => {
        if (!extended) this.stats.numBlockedNodes++;
        this.blockedEver.add(h);
        host.blocked(h, until, cause, extended);
      },
      expired: (h) => {
        host.unblocked(h);
        host.hostsUnblocked();
      },
    });
  }

  /** Starts the periodic slow-task check (on the virtual clock). */
  start(): void {
    const tick = () => {
      this.timer = -1;
      if (this.host.jobTerminal) return;
      this.check();
      this.timer = this.host.after(this.settings.checkIntervalNs, tick);
    };
    this.timer = this.host.after(this.settings.checkIntervalNs, tick);
  }

  /** The job ended: no more checks; blocklist entries dropped. */
  stop(): void {
    if (this.timer >= 0) this.host.cancelTimer(this.timer);
    this.timer = -1;
    this.blocklist.clear();
  }

  /** Every host blocked at some point, in the order first blocked. */
  everBlocked(): string[] {
    return [...this.blockedEver];
  }

  isBlocked(host: string): boolean {
    return this.blocklist.isBlocked(host);
  }

  isSpeculative(attemptId: string): boolean {
    return this.speculative.has(attemptId);
  }

  /** A live speculative attempt by id (source readers ask for their splits). */
  attempt(attemptId: string): Attempt | undefined {
    const a = this.speculative.get(attemptId);
    return a === undefined || isTerminal(a.state) ? undefined : a;
  }

  /** The attempt number of a subtask's next attempt (restart or speculation): never one used before. */
  nextAttemptNumber(vertex: ExecutionVertexId, currentNumber: number): number {
    const n = Math.max(currentNumber, this.highestAttempt.get(vertex) ?? -1) + 1;
    this.highestAttempt.set(vertex, n);
    return n;
  }

  /** Every state change of every attempt (the JobManager's and ours) passes here. */
  observe(a: Attempt, state: ExecutionState): void {
    if (state === "DEPLOYING") this.deployingNs.set(a.attemptId, this.host.now());
    else if (state === "FINISHED") this.finishedNs.set(a.attemptId, this.host.now());
    if (isTerminal(state)) {
      const s = this.slots.get(a.attemptId);
      if (s !== undefined) {
        this.slots.delete(a.attemptId);
        this.host.releaseSlot(s.host, s.slot);
      }
    }
  }

  // ---- detection and launching --------------------------------------------------------

  private check(): void {
    const snapshot = this.snapshot();
    const slow = this.detector.findSlowTasks(snapshot, this.host.now());
    if (slow.length === 0) return;
    this.stats.numSlowChecks++;
    const now = this.host.now();
    // Flink blocks the hosts of every slow attempt, speculatable or not.
    if (this.settings.blockSlowNodeDurationNs > 0) {
      for (const s of slow) {
        for (const id of s.attemptIds) {
          const a = this.findAttempt(s.vertex as ExecutionVertexId, id);
          if (a?.host !== undefined) this.blocklist.block(a.host, now + this.settings.blockSlowNodeDurationNs, `slow attempt ${id}`);
        }
      }
    }
    for (const s of slow) this.speculate(s);
  }

  private findAttempt(vid: ExecutionVertexId, attemptId: string): Attempt | undefined {
    const current = this.host.current(vid);
    if (current.attemptId === attemptId) return current;
    return this.speculative.get(attemptId);
  }

  private speculate(s: SlowTask): void {
    const vid = s.vertex as ExecutionVertexId;
    const current = this.host.current(vid);
    if (!this.supported[current.vertex.vertexIndex]) return;
    if (isTerminal(current.state) || current.state === "CREATED") return;
    const live = this.live.get(vid) ?? [];
    const want = this.settings.maxConcurrentExecutions - 1 - live.length;
    for (let i = 0; i < want; i++) {
      // Regular scheduling goes first; a slot-less round simply retries at the next check.
      if (this.host.regionsWaiting()) return;
      const attemptNumber = this.nextAttemptNumber(vid, current.attemptNumber);
      const attemptId = `${vid}#${attemptNumber}`;
      const slot = this.host.takeSlot(attemptId, vid);
      if (slot === undefined) {
        this.host.mark("speculation.noSlot");
        return;
      }
      const a: Attempt = { vertex: current.vertex, attemptNumber, attemptId, state: "CREATED", host: slot.host, slot: slot.slot };
      this.speculative.set(attemptId, a);
      this.slots.set(attemptId, slot);
      live.push(a);
      this.live.set(vid, live);
      this.stats.numSpeculativeAttempts++;
      const slowNumbers = s.attemptIds.map((id) => this.findAttempt(vid, id)?.attemptNumber ?? -1);
      this.host.launched(a, slowNumbers);
      this.host.setState(a, "SCHEDULED");
      this.host.setState(a, "DEPLOYING");
      this.host.deploy(a);
    }
  }

  /** The detector's view: per job vertex, each subtask's current and speculative attempts. */
  private snapshot(): JobVertexSnapshot[] {
    const eg = this.executionGraph;
    return this.jobGraph.vertices.map((jv) => ({
      subtasks: eg.verticesOfJobVertex[jv.index]!.map((vid) => {
        const executions: ExecutionSnapshot[] = [];
        const current = this.host.current(vid);
        // A failed current attempt is archived (left out), as Flink archives failed executions.
        if (current.state !== "FAILED") executions.push(this.snapshotOf(current));
        for (const a of this.live.get(vid) ?? []) executions.push(this.snapshotOf(a));
        return { vertex: vid, executions };
      }),
    }));
  }

  private snapshotOf(a: Attempt): ExecutionSnapshot {
    return { attemptId: a.attemptId, state: a.state, deployingNs: this.deployingNs.get(a.attemptId), finishedNs: this.finishedNs.get(a.attemptId), inputBytes: this.inputBytes(a.vertex) };
  }

  /**
   * The bytes a subtask reads: the sum of the subpartitions it consumes (Flink's
   * getExecutionInputBytes); undefined for sources and where a producer's bytes are unknown.
   */
  private inputBytes(v: ExecutionVertex): number | undefined {
    if (this.inputBytesCache.has(v.id)) return this.inputBytesCache.get(v.id);
    let total: number | undefined = v.inputGates.length === 0 ? undefined : 0;
    for (const gate of v.inputGates) {
      for (const c of gate.channels) {
        const bytes = this.partitionBytes.get(c.partitionId)?.[c.subpartitionIndex];
        if (bytes === undefined) {
          total = undefined;
          break;
        }
        total! += bytes;
      }
      if (total === undefined) break;
    }
    this.inputBytesCache.set(v.id, total);
    return total;
  }

  // ---- attempts' fates ----------------------------------------------------------------

  /**
   * A report from an attempt the JobManager does not know as current. Returns the subtask's
   * current attempt when a speculative attempt finished first and was adopted: the
   * JobManager then records that FINISHED as its own.
   */
  onAttemptState(attemptId: string, state: ExecutionState, cause: string | undefined, partitionError: boolean): Attempt | undefined {
    const a = this.speculative.get(attemptId);
    if (a === undefined || isTerminal(a.state)) return undefined; // archived or cancelled: a late report
    const vid = a.vertex.id;
    if (state === "FINISHED") {
      const current = this.host.current(vid);
      assert(current.state !== "FINISHED", `${vid} finished twice (attempt ${attemptId})`);
      this.removeLive(a);
      // The replaced original is cancelled by the adoption: the race's record lists it too.
      if (!isTerminal(current.state) && current.state !== "CREATED") this.originalCancelledByWin.set(vid, current.attemptNumber);
      this.host.adopt(current, a);
      return current;
    }
    if (state === "FAILED" || state === "CANCELED") {
      this.removeLive(a);
      this.host.setState(a, state, cause);
      if (state === "FAILED") {
        this.host.mark("speculation.attemptFailed");
        // Flink: a PartitionException fails the subtask over even if other attempts run.
        if (partitionError) this.host.failover(this.host.current(vid), `${attemptId} failed: ${cause ?? "unknown cause"}`);
      }
      return undefined;
    }
    this.host.setState(a, state, cause);
    return undefined;
  }

  /**
   * The subtask's current attempt failed (not by a partition error). When another attempt
   * can still finish it becomes current and no failover runs; returns whether it did.
   */
  promoteAfterFailure(current: Attempt): boolean {
    const live = this.live.get(current.vertex.id);
    if (live === undefined || live.length === 0) return false;
    const next = live[0]!;
    this.removeLive(next);
    this.host.mark("speculation.failedAttemptArchived");
    this.host.adopt(current, next);
    return true;
  }

  /**
   * The subtask finished (its current attempt): the other attempts are cancelled. Its
   * partitions' bytes per subpartition weigh its consumers' execution times.
   */
  onSubtaskFinished(current: Attempt, partitionBytes: readonly (number[] | null)[] | undefined): void {
    const vid = current.vertex.id;
    current.vertex.producedPartitions.forEach((pid, i) => {
      const bytes = partitionBytes?.[i];
      if (bytes === undefined || bytes === null) this.partitionBytes.delete(pid);
      else this.partitionBytes.set(pid, bytes);
    });
    this.inputBytesCache.clear();
    const original = this.originalCancelledByWin.get(vid);
    this.originalCancelledByWin.delete(vid);
    const cancelled = [...(original !== undefined ? [original] : []), ...this.cancelLive(vid)];
    const speculativeWin = this.speculative.has(current.attemptId);
    if (speculativeWin) {
      this.stats.numEffectiveSpeculativeExecutions++;
      this.host.mark("speculation.nonOriginalWin");
    }
    if (speculativeWin || cancelled.length > 0) this.host.finished(vid, current.attemptNumber, speculativeWin, cancelled);
  }

  /** The subtask is reset (failover) or the job ends: its speculative attempts are cancelled. */
  cancelSubtask(vid: ExecutionVertexId): void {
    this.cancelLive(vid);
  }

  cancelAll(): void {
    for (const vid of [...this.live.keys()]) this.cancelLive(vid);
  }

  /** A TaskManager is lost: the speculative attempts on it fail (archived; their slots went with it). */
  onHostLost(hostName: string): void {
    for (const [, attempts] of [...this.live]) {
      for (const a of [...attempts]) {
        if (a.host !== hostName) continue;
        this.removeLive(a);
        this.host.setState(a, "FAILED", `TaskManager ${hostName} lost`);
        this.host.mark("speculation.attemptFailed");
      }
    }
  }

  private cancelLive(vid: ExecutionVertexId): number[] {
    const live = this.live.get(vid);
    if (live === undefined) return [];
    this.live.delete(vid);
    const cancelled: number[] = [];
    for (const a of live) {
      this.host.sendCancel(a);
      this.host.setState(a, "CANCELED");
      cancelled.push(a.attemptNumber);
    }
    return cancelled;
  }

  private removeLive(a: Attempt): void {
    const live = this.live.get(a.vertex.id);
    if (live === undefined) return;
    const i = live.indexOf(a);
    if (i >= 0) live.splice(i, 1);
    if (live.length === 0) this.live.delete(a.vertex.id);
  }
}

/**
 * Flink's rule, as flowsim models it: a vertex may run concurrent attempts iff every input
 * and output is BLOCKING (consumers read only the winner's finished partitions) and no
 * operator of its chain is a sink.
 */
export function supportsConcurrentAttempts(jobGraph: JobGraph, vertexIndex: number): boolean {
  if (jobGraph.runtimeMode !== "BATCH") return false;
  const jv = jobGraph.vertices[vertexIndex]!;
  if (jv.nodes.some((n) => n.kind === "sink")) return false;
  // By job edge: a dynamic (adaptive) graph has no execution vertices yet when this is asked.
  return [...jv.inputs, ...jv.outputs].every((e) => e.partitionType === "BLOCKING");
}
