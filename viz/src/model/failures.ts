/**
 * Failures and recovery: each FailoverTriggered with its cause, the failed subtask, the
 * subtasks and regions the strategy restarts, the back-off, when the restart happened
 * (TasksRestarted) and when every restarted subtask was RUNNING again (time to recover).
 * `activeFailoversAt` gives the failovers in progress at the scrub time, whose subtasks
 * the job graph highlights.
 */
import type { TraceEvent } from "../../../sim/trace/events";
import { num, str, strings } from "./event-fields";
import type { TaskModel } from "./tasks";

export interface Failover {
  seq: number;
  tNs: number;
  cause: string;
  failed: string;
  failoverStrategy: string;
  restartStrategy: string;
  /** Subtask ids restarted ("v2[3]"); the field is named `vertices` in the trace. */
  subtasks: string[];
  regions: number[];
  backoffNs: number;
  merged: boolean;
  /** TasksRestarted time (end of the back-off), if it came. */
  restartNs: number | undefined;
  /** When the last restarted subtask was RUNNING (or done) again, if that happened. */
  recoveredNs: number | undefined;
  /** Other failures that happened while this one was in back-off (Flink's "concurrent exceptions"). */
  concurrent: string[];
}

export type FailoverPhase = "backoff" | "restarting";

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}

/** When subtask `id` had a new attempt (begun at or after `fromNs`) RUNNING or FINISHED. */
function runningAgainNs(tasks: TaskModel, id: string, fromNs: number): number | undefined {
  for (const a of tasks.bySubtask.get(id) ?? []) {
    if (a.phases[0]!.startNs < fromNs) continue;
    const p = a.phases.find((ph) => ph.state === "RUNNING" || ph.state === "FINISHED");
    if (p !== undefined) return p.startNs;
  }
  return undefined;
}

export function buildFailovers(events: Iterable<TraceEvent>, tasks: TaskModel): Failover[] {
  const failovers: Failover[] = [];
  const restarts: { tNs: number; subtasks: string[]; used: boolean }[] = [];
  for (const e of events) {
    if (e.kind === "FailoverTriggered") {
      failovers.push({
        seq: e.seq,
        tNs: e.t,
        cause: str(e, "cause") ?? "?",
        failed: str(e, "failed") ?? "?",
        failoverStrategy: str(e, "failoverStrategy") ?? "?",
        restartStrategy: str(e, "restartStrategy") ?? "?",
        subtasks: strings(e, "vertices"),
        regions: Array.isArray(e.regions) ? e.regions.filter((r): r is number => typeof r === "number") : [],
        backoffNs: num(e, "backoffNs") ?? 0,
        merged: e.merged === true,
        restartNs: undefined,
        recoveredNs: undefined,
        concurrent: [],
      });
    } else if (e.kind === "TasksRestarted") {
      restarts.push({ tNs: e.t, subtasks: strings(e, "vertices"), used: false });
    }
  }
  for (const f of failovers) {
    // The restart that ends this back-off: the first later one with the same set, else the first later one overlapping it.
    const later = restarts.filter((r) => !r.used && r.tNs >= f.tNs);
    const r = later.find((x) => sameSet(x.subtasks, f.subtasks)) ?? later.find((x) => x.subtasks.some((s) => f.subtasks.includes(s)));
    if (r !== undefined) {
      r.used = true;
      f.restartNs = r.tNs;
      let recovered: number | undefined = r.tNs;
      for (const id of f.subtasks) {
        const ns = runningAgainNs(tasks, id, r.tNs);
        if (ns === undefined) {
          recovered = undefined;
          break;
        }
        recovered = Math.max(recovered, ns);
      }
      f.recoveredNs = recovered;
    }
  }
  for (const f of failovers) {
    const until = f.restartNs ?? Infinity;
    f.concurrent = failovers.filter((g) => g !== f && g.tNs >= f.tNs && g.tNs < until && g.seq > f.seq).map((g) => g.cause);
  }
  return failovers;
}

/** Time to recover: failure to every restarted subtask running again. */
export function timeToRecoverNs(f: Failover): number | undefined {
  return f.recoveredNs === undefined ? undefined : f.recoveredNs - f.tNs;
}

/** The phase of a failover at time t, or undefined when it is not in progress. */
export function failoverPhaseAt(f: Failover, t: number): FailoverPhase | undefined {
  if (t < f.tNs) return undefined;
  if (f.restartNs === undefined || t < f.restartNs) return "backoff";
  if (f.recoveredNs === undefined || t < f.recoveredNs) return "restarting";
  return undefined;
}

export function activeFailoversAt(failovers: readonly Failover[], t: number): Failover[] {
  return failovers.filter((f) => failoverPhaseAt(f, t) !== undefined);
}

/** The subtasks being restarted at t (the union over active failovers). */
export function failoverSubtasksAt(failovers: readonly Failover[], t: number): Set<string> {
  const out = new Set<string>();
  for (const f of activeFailoversAt(failovers, t)) for (const s of f.subtasks) out.add(s);
  return out;
}
