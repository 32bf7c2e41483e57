/**
 * Task attempts from TaskStateChanged events: each attempt's phases (SCHEDULED,
 * DEPLOYING, INITIALIZING, RUNNING) with their start times, where it ran (host, slot)
 * and how it ended (FINISHED, CANCELED, FAILED). The Gantt draws these; the job graph
 * asks `stateAt` for the state of every subtask at the scrub time.
 *
 * An attempt that overlaps an earlier attempt of the same subtask in time (both not yet
 * terminal) is a speculative twin: Flink runs those only under speculative execution,
 * a normal restart starts the new attempt after the old one is terminal. The engine also
 * flags speculative attempts (`speculative: true`), which counts as well.
 *
 * A JobManager failover (JobManagerLost) ends every attempt not terminal at the loss: the
 * lost leader reports nothing more about them and the new leader runs its own attempts
 * (numbered above the old ones). The trace has no terminal event for these attempts, so
 * the model ends them as CANCELED at the loss, flagged `lostWithJobManager`; a terminal
 * event the engine does trace for them (a CANCELED at the loss) comes first and wins.
 * Without this, the new leader's attempt would overlap the old one and count as a
 * speculative twin, and the subtask would show the old attempt RUNNING through the outage.
 */
import type { TraceEvent } from "../../../sim/trace/events";
import { num, str, subtaskId } from "./event-fields";

export const TERMINAL_STATES: ReadonlySet<string> = new Set(["FINISHED", "CANCELED", "FAILED"]);

export interface Phase {
  state: string;
  startNs: number;
}

export interface Attempt {
  /** "v2[3]" */
  subtask: string;
  vertex: string;
  name: string;
  index: number;
  attempt: number;
  host: string;
  slot: number;
  /** In time order; the last may be terminal. */
  phases: Phase[];
  /** Time of the terminal phase, or undefined while it runs at the trace's end. */
  endNs: number | undefined;
  endState: string | undefined;
  cause: string | undefined;
  speculative: boolean;
  /** Ended by a JobManager failover (not by a traced terminal event): see the module comment. */
  lostWithJobManager: boolean;
  /** seq of its first event, for "seek to event". */
  firstSeq: number;
}

export interface TaskModel {
  attempts: Attempt[];
  /** Attempts of each subtask, in order of their first event. */
  bySubtask: ReadonlyMap<string, Attempt[]>;
  /** Subtask ids in order of first appearance. */
  subtasks: readonly string[];
}

/** Ends every attempt still live at a JobManager loss (see the module comment). */
function endAtJobManagerLoss(attempts: readonly Attempt[], e: TraceEvent): void {
  const cause = `lost with the JobManager (${str(e, "cause") ?? "?"})`;
  for (const a of attempts) {
    if (a.endNs !== undefined) continue;
    a.phases.push({ state: "CANCELED", startNs: e.t });
    a.endNs = e.t;
    a.endState = "CANCELED";
    a.cause = cause;
    a.lostWithJobManager = true;
  }
}

/** From TaskStateChanged events, and JobManagerLost events (in seq order with them) if the trace has a JobManager failover. */
export function buildTasks(events: Iterable<TraceEvent>): TaskModel {
  const attempts: Attempt[] = [];
  const byKey = new Map<string, Attempt>();
  const bySubtask = new Map<string, Attempt[]>();
  for (const e of events) {
    if (e.kind === "JobManagerLost") endAtJobManagerLoss(attempts, e);
    if (e.kind !== "TaskStateChanged") continue;
    const vertex = str(e, "vertex");
    const index = num(e, "subtask");
    const attemptNo = num(e, "attempt");
    const state = str(e, "state");
    if (vertex === undefined || index === undefined || attemptNo === undefined || state === undefined) continue;
    const sub = subtaskId(vertex, index);
    const key = `${sub}#${attemptNo}`;
    let a = byKey.get(key);
    if (a === undefined) {
      a = {
        subtask: sub,
        vertex,
        name: str(e, "name") ?? vertex,
        index,
        attempt: attemptNo,
        host: str(e, "host") ?? "?",
        slot: num(e, "slot") ?? -1,
        phases: [],
        endNs: undefined,
        endState: undefined,
        cause: undefined,
        speculative: false,
        lostWithJobManager: false,
        firstSeq: e.seq,
      };
      const siblings = bySubtask.get(sub) ?? [];
      a.speculative = e.speculative === true || siblings.some((s) => s.endNs === undefined);
      siblings.push(a);
      bySubtask.set(sub, siblings);
      byKey.set(key, a);
      attempts.push(a);
    }
    if (a.endNs !== undefined) continue; // nothing follows a terminal state
    a.phases.push({ state, startNs: e.t });
    if (TERMINAL_STATES.has(state)) {
      a.endNs = e.t;
      a.endState = state;
      a.cause = str(e, "cause");
    }
  }
  return { attempts, bySubtask, subtasks: [...bySubtask.keys()] };
}

/** The state of an attempt at time t, or undefined before its first event. */
export function attemptStateAt(a: Attempt, t: number): string | undefined {
  // Phases are few (at most 5); a scan is cheaper than building a search array.
  let state: string | undefined;
  for (const p of a.phases) {
    if (p.startNs > t) break;
    state = p.state;
  }
  return state;
}

export interface SubtaskState {
  state: string;
  attempt: Attempt;
}

/**
 * The state of a subtask at time t: that of its newest attempt that had begun by t (a
 * speculative twin counts as the newer one), except that a race lost to an attempt that
 * finished makes it FINISHED. Undefined before its first attempt.
 */
export function subtaskStateAt(model: TaskModel, subtask: string, t: number): SubtaskState | undefined {
  const list = model.bySubtask.get(subtask);
  if (list === undefined) return undefined;
  for (let i = list.length - 1; i >= 0; i--) {
    const a = list[i]!;
    if (a.phases[0]!.startNs > t) continue;
    const state = attemptStateAt(a, t);
    if (state === "CANCELED") {
      // A race's loser is cancelled when another attempt finishes the subtask, in either
      // event order: the subtask is then FINISHED (by the winner).
      const winner = list.find((b) => b !== a && b.endState === "FINISHED" && b.endNs !== undefined && b.endNs <= t && b.endNs >= a.phases[0]!.startNs);
      if (winner !== undefined) return { state: "FINISHED", attempt: winner };
    }
    if (state !== undefined) return { state, attempt: a };
  }
  return undefined;
}
