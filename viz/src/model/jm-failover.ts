/**
 * JobManager failovers (batch job recovery, Flink's FLIP-383): for each JobManagerLost,
 * the leader elected after it and how it recovered ("event-log", "from-scratch"), and with
 * event-log recovery what the new leader did — the job events it replayed, the partitions
 * it found on the TaskManagers that re-registered, the subtasks it reset, and when the
 * recovery finished. From the task attempts: which subtasks had finished at the loss and
 * which of them ran again afterwards (before the next loss), the number the recovery is
 * meant to keep at zero.
 *
 * Phases on the time axis: "outage" from the loss to the election, "reconciling" from the
 * election to JobRecoveryFinished (empty when the leader runs the job from scratch), then
 * "recovered". Intervals are half-open: at the election time the outage is over.
 *
 * Invariant: failovers are in trace order and a failover's recovery events are those
 * between its JobManagerLost and the next one.
 */
import type { TraceEvent } from "../../../sim/trace/events";
import { num, str, strings } from "./event-fields";
import { subtaskStateAt, type TaskModel } from "./tasks";

export interface LeaderElection {
  tNs: number;
  seq: number;
  epoch: number;
  recovery: string;
  reason: string;
}

export interface EventsReplayed {
  tNs: number;
  events: number;
  segments: number;
  readNs: number;
  initialized: string[];
  finished: string[];
  trimmed: string[];
}

export interface PartitionsReconciled {
  tNs: number;
  expected: number;
  found: number;
  missing: string[];
  released: number;
  waitedNs: number;
  timedOut: boolean;
}

export interface RecoveryFinished {
  tNs: number;
  succeeded: boolean;
  recoveredFinished: number;
  reset: number;
  durationNs: number;
  cause: string | undefined;
}

/** Streaming recovery ("checkpoint"): the new leader read the completed checkpoint store from HA storage. */
export interface StoreRecovered {
  tNs: number;
  checkpoints: number[];
  bytes: number;
  readNs: number;
  attempts: number;
  nextCheckpointId: number;
}

export interface JmFailover {
  seq: number;
  lostNs: number;
  host: string;
  /** The epoch of the leader that was lost. */
  epoch: number;
  cause: string;
  /**
   * Leaders elected after the loss, in order: usually one; a failed event-log recovery
   * is followed by a second election that runs the job from scratch.
   */
  elections: LeaderElection[];
  replayed: EventsReplayed | undefined;
  reconciled: PartitionsReconciled | undefined;
  /** Subtasks reset by the recovery (RecoveryVerticesReset, all of them if several). */
  reset: string[];
  resetCauses: string[];
  finished: RecoveryFinished | undefined;
  /** Streaming recovery: the checkpoint store read, and the checkpoint the job restored from it (CheckpointRestored). */
  storeRecovered: StoreRecovered | undefined;
  restoredCheckpoint: number | undefined;
  /** Subtasks with a FINISHED attempt at the loss. */
  finishedAtLoss: string[];
  /** Those of `finishedAtLoss` that ran an attempt begun after the loss (and before the next loss). */
  rerun: string[];
}

export type JmFailoverPhase = "future" | "outage" | "reconciling" | "recovered";

/** The election ending the outage (the first after the loss), if any. */
export function electedNs(f: JmFailover): number | undefined {
  return f.elections[0]?.tNs;
}

/** Loss to election, or undefined while no leader was elected by the trace's end. */
export function downtimeNs(f: JmFailover): number | undefined {
  const e = electedNs(f);
  return e === undefined ? undefined : e - f.lostNs;
}

/**
 * The end of the reconciling phase: JobRecoveryFinished; the election itself when the
 * leader did not recover from the event log (nothing to reconcile); undefined while the
 * recovery had not finished by the trace's end.
 */
export function reconciledNs(f: JmFailover): number | undefined {
  const e = f.elections[0];
  if (e === undefined) return undefined;
  if (e.recovery !== "event-log") return e.tNs;
  return f.finished?.tNs;
}

export function jmFailoverPhaseAt(f: JmFailover, t: number): JmFailoverPhase {
  if (t < f.lostNs) return "future";
  const e = electedNs(f);
  if (e === undefined || t < e) return "outage";
  const r = reconciledNs(f);
  return r === undefined || t < r ? "reconciling" : "recovered";
}

export interface JmBand {
  phase: "outage" | "reconciling";
  fromNs: number;
  toNs: number;
}

/**
 * The Gantt's bands for a failover, half-open [fromNs, toNs): the outage, then the
 * reconciling phase when it lasted (none for a leader that runs the job from scratch).
 * A phase still open at the trace's end runs to `endNs`.
 */
export function jmFailoverBands(f: JmFailover, endNs: number): JmBand[] {
  const elected = electedNs(f);
  const out: JmBand[] = [{ phase: "outage", fromNs: f.lostNs, toNs: elected ?? Math.max(endNs, f.lostNs) }];
  if (elected === undefined) return out;
  const reconciled = reconciledNs(f) ?? Math.max(endNs, elected);
  if (reconciled > elected) out.push({ phase: "reconciling", fromNs: elected, toNs: reconciled });
  return out;
}

/** The failover in progress at t (outage or reconciling), if any. */
export function activeJmFailoverAt(failovers: readonly JmFailover[], t: number): { failover: JmFailover; phase: JmFailoverPhase } | undefined {
  for (const f of failovers) {
    const phase = jmFailoverPhaseAt(f, t);
    if (phase === "outage" || phase === "reconciling") return { failover: f, phase };
  }
  return undefined;
}

const KINDS = new Set(["JobManagerLost", "JobManagerLeaderElected", "JobEventsReplayed", "PartitionsReconciled", "RecoveryVerticesReset", "JobRecoveryFinished", "CheckpointStoreRecovered", "CheckpointRestored"]);

/** `events` in trace order; only the kinds above are read. */
export function buildJmFailovers(events: Iterable<TraceEvent>, tasks: TaskModel): JmFailover[] {
  const out: JmFailover[] = [];
  for (const e of events) {
    if (!KINDS.has(e.kind)) continue;
    if (e.kind === "JobManagerLost") {
      out.push({
        seq: e.seq,
        lostNs: e.t,
        host: str(e, "host") ?? "?",
        epoch: num(e, "epoch") ?? -1,
        cause: str(e, "cause") ?? "?",
        elections: [],
        replayed: undefined,
        reconciled: undefined,
        reset: [],
        resetCauses: [],
        finished: undefined,
        storeRecovered: undefined,
        restoredCheckpoint: undefined,
        finishedAtLoss: [],
        rerun: [],
      });
      continue;
    }
    // Epoch 0's election at submission (and anything else before the first loss) belongs to no failover.
    const f = out[out.length - 1];
    if (f !== undefined) addRecoveryEvent(f, e);
  }
  out.forEach((f, i) => {
    f.finishedAtLoss = finishedBy(tasks, f.lostNs);
    const nextLossNs = out[i + 1]?.lostNs ?? Infinity;
    f.rerun = f.finishedAtLoss.filter((id) => (tasks.bySubtask.get(id) ?? []).some((a) => a.phases[0]!.startNs >= f.lostNs && a.phases[0]!.startNs < nextLossNs));
  });
  return out;
}

function addRecoveryEvent(f: JmFailover, e: TraceEvent): void {
  switch (e.kind) {
    case "JobManagerLeaderElected":
      f.elections.push({ tNs: e.t, seq: e.seq, epoch: num(e, "epoch") ?? -1, recovery: str(e, "recovery") ?? "?", reason: str(e, "reason") ?? "" });
      return;
    case "JobEventsReplayed":
      f.replayed = {
        tNs: e.t,
        events: num(e, "events") ?? 0,
        segments: num(e, "segments") ?? 0,
        readNs: num(e, "readNs") ?? 0,
        initialized: strings(e, "initialized"),
        finished: strings(e, "finished"),
        trimmed: strings(e, "trimmed"),
      };
      return;
    case "PartitionsReconciled":
      f.reconciled = {
        tNs: e.t,
        expected: num(e, "expected") ?? 0,
        found: num(e, "found") ?? 0,
        missing: strings(e, "missing"),
        released: num(e, "released") ?? 0,
        waitedNs: num(e, "waitedNs") ?? 0,
        timedOut: e.timedOut === true,
      };
      return;
    case "RecoveryVerticesReset":
      for (const v of strings(e, "vertices")) if (!f.reset.includes(v)) f.reset.push(v);
      f.resetCauses.push(str(e, "cause") ?? "?");
      return;
    case "CheckpointStoreRecovered":
      f.storeRecovered = {
        tNs: e.t,
        checkpoints: Array.isArray(e.checkpoints) ? e.checkpoints.filter((x): x is number => typeof x === "number") : [],
        bytes: num(e, "bytes") ?? 0,
        readNs: num(e, "readNs") ?? 0,
        attempts: num(e, "attempts") ?? 0,
        nextCheckpointId: num(e, "nextCheckpointId") ?? 0,
      };
      return;
    case "CheckpointRestored":
      // The first restore after the election is the leader's; later ones are task failovers.
      if (f.elections.length > 0 && f.restoredCheckpoint === undefined) f.restoredCheckpoint = num(e, "checkpoint");
      return;
    case "JobRecoveryFinished":
      f.finished = {
        tNs: e.t,
        succeeded: e.succeeded === true,
        recoveredFinished: num(e, "recoveredFinished") ?? 0,
        reset: num(e, "reset") ?? 0,
        durationNs: num(e, "durationNs") ?? 0,
        cause: str(e, "cause"),
      };
      return;
  }
}

/** Subtasks (in first-appearance order) FINISHED at time t. */
function finishedBy(tasks: TaskModel, t: number): string[] {
  return tasks.subtasks.filter((id) => subtaskStateAt(tasks, id, t)?.state === "FINISHED");
}
