/**
 * Speculative execution as the Gantt shows it: for each subtask that ran speculative
 * attempts, the group of attempts that raced (the slow ones the detector named and the
 * speculative ones it launched), the winner, and the losers and whether they were
 * cancelled. SpeculativeExecutionFinished names the winner; its `cancelled` list may
 * leave out an original attempt that the scheduler cancelled on adopting the winner, so
 * a loser also counts as cancelled when its own last state is CANCELED.
 *
 * Invariant: every attempt of a group is an attempt of that subtask in the task model;
 * the winner is never a loser.
 */
import type { TraceEvent } from "../../../sim/trace/events";
import { num, str, subtaskId } from "./event-fields";
import { attemptStateAt, TERMINAL_STATES, type Attempt, type TaskModel } from "./tasks";

export type RaceRole = "winner" | "loser" | "racing";

export interface SpeculationGroup {
  subtask: string;
  /** First SpeculativeAttemptLaunched of the subtask. */
  launchedNs: number;
  /** The racing attempts, by attempt number. */
  attempts: Attempt[];
  finishedNs: number | undefined;
  winner: number | undefined;
  speculativeWin: boolean | undefined;
  /** Attempt numbers of the losers that were cancelled. */
  cancelled: number[];
}

export interface SpeculationModel {
  /** In order of their first launch. */
  groups: SpeculationGroup[];
  bySubtask: ReadonlyMap<string, SpeculationGroup>;
}

function numbers(e: TraceEvent, field: string): number[] {
  const v = e[field];
  return Array.isArray(v) ? v.filter((x): x is number => typeof x === "number") : [];
}

export function buildSpeculation(events: Iterable<TraceEvent>, tasks: TaskModel): SpeculationModel {
  const groups: SpeculationGroup[] = [];
  const bySubtask = new Map<string, SpeculationGroup>();
  const members = new Map<SpeculationGroup, Set<number>>();
  for (const e of events) {
    const vertex = str(e, "vertex");
    const index = num(e, "subtask");
    if (vertex === undefined || index === undefined) continue;
    const subtask = subtaskId(vertex, index);
    let g = bySubtask.get(subtask);
    if (e.kind === "SpeculativeAttemptLaunched") {
      if (g === undefined) {
        g = { subtask, launchedNs: e.t, attempts: [], finishedNs: undefined, winner: undefined, speculativeWin: undefined, cancelled: [] };
        groups.push(g);
        bySubtask.set(subtask, g);
        members.set(g, new Set());
      }
      const set = members.get(g)!;
      for (const a of numbers(e, "slowAttempts")) set.add(a);
      const launched = num(e, "attempt");
      if (launched !== undefined) set.add(launched);
    } else if (e.kind === "SpeculativeExecutionFinished" && g !== undefined && g.finishedNs === undefined) {
      g.finishedNs = e.t;
      g.winner = num(e, "winner");
      g.speculativeWin = e.speculativeWin === true;
      const winner = g.winner;
      if (winner !== undefined) members.get(g)!.add(winner);
      for (const c of numbers(e, "cancelled")) if (c !== winner) g.cancelled.push(c);
    }
  }
  for (const g of groups) {
    const set = members.get(g)!;
    g.attempts = (tasks.bySubtask.get(g.subtask) ?? []).filter((a) => set.has(a.attempt)).sort((a, b) => a.attempt - b.attempt);
    for (const a of g.attempts) {
      if (a.attempt !== g.winner && g.winner !== undefined && a.endState === "CANCELED" && !g.cancelled.includes(a.attempt)) g.cancelled.push(a.attempt);
    }
    g.cancelled.sort((a, b) => a - b);
  }
  return { groups, bySubtask };
}

/** An attempt's part in its subtask's race, or undefined if the subtask never speculated. */
export function raceRole(model: SpeculationModel, a: Attempt): RaceRole | undefined {
  const g = model.bySubtask.get(a.subtask);
  if (g === undefined || !g.attempts.includes(a)) return undefined;
  if (g.winner === undefined) return "racing";
  return a.attempt === g.winner ? "winner" : "loser";
}

/** Attempts of a subtask that have begun and are not terminal at t (2 or more: a race is on). */
export function liveAttemptsAt(tasks: TaskModel, subtask: string, t: number): number {
  let n = 0;
  for (const a of tasks.bySubtask.get(subtask) ?? []) {
    const s = attemptStateAt(a, t);
    if (s !== undefined && !TERMINAL_STATES.has(s)) n++;
  }
  return n;
}
