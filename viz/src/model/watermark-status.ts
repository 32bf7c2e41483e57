/**
 * Which subtasks are idle (withIdleness, Flink's WatermarkStatus.IDLE) at time t, from the
 * trace's WatermarkStatusChanged events. A status belongs to one attempt: a restarted
 * subtask starts ACTIVE again, as the engine's does. An idle subtask holds no watermark
 * back downstream, so the graph leaves it out of a vertex's low watermark.
 */
import type { TraceEvent } from "../../../sim/trace/events";
import { num, str, subtaskId } from "./event-fields";

interface StatusChange {
  readonly tNs: number;
  readonly attempt: number;
  readonly idle: boolean;
}

/** Per subtask id ("v0[1]"), its status changes in trace order. */
export type WatermarkStatusModel = ReadonlyMap<string, readonly StatusChange[]>;

export function buildWatermarkStatus(events: Iterable<TraceEvent>): WatermarkStatusModel {
  const out = new Map<string, StatusChange[]>();
  for (const e of events) {
    const vertex = str(e, "vertex");
    const subtask = num(e, "subtask");
    const status = str(e, "status");
    if (e.kind !== "WatermarkStatusChanged" || vertex === undefined || subtask === undefined || (status !== "IDLE" && status !== "ACTIVE")) continue;
    const id = subtaskId(vertex, subtask);
    let list = out.get(id);
    if (list === undefined) out.set(id, (list = []));
    list.push({ tNs: e.t, attempt: num(e, "attempt") ?? 0, idle: status === "IDLE" });
  }
  return out;
}

/** Whether attempt `attempt` of the subtask is idle at t (its latest change at or before t says IDLE). */
export function idleAt(model: WatermarkStatusModel, subtask: string, attempt: number | undefined, t: number): boolean {
  const list = model.get(subtask);
  if (list === undefined || attempt === undefined) return false;
  for (let i = list.length - 1; i >= 0; i--) {
    const c = list[i]!;
    if (c.tNs <= t && c.attempt === attempt) return c.idle;
  }
  return false;
}
