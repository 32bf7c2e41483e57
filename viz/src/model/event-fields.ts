/**
 * Reading the entity fields of trace events without trusting them: the envelope was
 * checked by the reader, the rest of a line may be anything, and a bad field must show
 * as "unknown" rather than break a view. Subtask ids are "v2[3]" as the engine writes them.
 */
import type { TraceEvent } from "../../../sim/trace/events";

export function str(e: TraceEvent, field: string): string | undefined {
  const v = e[field];
  return typeof v === "string" ? v : undefined;
}

export function num(e: TraceEvent, field: string): number | undefined {
  const v = e[field];
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

export function strings(e: TraceEvent, field: string): string[] {
  const v = e[field];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

/** "v2[3]" for vertex v2, subtask 3. */
export function subtaskId(vertex: string, subtask: number): string {
  return `${vertex}[${subtask}]`;
}

/** The vertex of a subtask id ("v2[3]" → "v2"); the id itself when it has no index. */
export function vertexOfSubtask(id: string): string {
  const i = id.indexOf("[");
  return i < 0 ? id : id.slice(0, i);
}

/** The host an event happened on, if it names one. */
export function eventHost(e: TraceEvent): string | undefined {
  return str(e, "host");
}

/** Subtask-id lists carried by lifecycle events (failover sets, checkpoints, regions). */
const SUBTASK_LIST_FIELDS = ["vertices", "subtasks", "triggered"] as const;

/** Every vertex an event names, directly or through subtask ids (for the log's vertex filter). */
export function eventVertices(e: TraceEvent): string[] {
  const out = new Set<string>();
  const v = str(e, "vertex");
  if (v !== undefined) out.add(v);
  const sub = e.subtask;
  if (typeof sub === "string") out.add(vertexOfSubtask(sub));
  for (const field of SUBTASK_LIST_FIELDS) {
    const list = e[field];
    if (!Array.isArray(list)) continue;
    for (const item of list) {
      if (typeof item === "string") out.add(vertexOfSubtask(item));
      // JobSubmitted lists vertex objects.
      else if (item !== null && typeof item === "object" && typeof (item as { id?: unknown }).id === "string") out.add((item as { id: string }).id);
    }
  }
  const failed = str(e, "failed");
  if (failed !== undefined) out.add(vertexOfSubtask(failed));
  return [...out];
}
