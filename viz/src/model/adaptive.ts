/**
 * The adaptive batch scheduler's parallelism decisions. JobSubmitted lists a vertex whose
 * parallelism is not decided yet with parallelism -1; VertexParallelismDecided later says
 * what was decided and why (the decider's path, the bytes of each input, the subpartition
 * ranges the subtasks read), and VertexInitialized attaches that many subtasks.
 *
 * Invariant: a vertex counts as decided from the earlier of its two events on; before
 * that it has no subtasks to show. Flink decides a vertex once per job, so only the
 * first decision of a vertex is kept (a later one would be a new job's).
 */
import type { TraceEvent } from "../../../sim/trace/events";
import { num, str } from "./event-fields";
import { formatBytes, formatClock } from "./format";
import type { JobGraph } from "./graph";

export interface DecisionInput {
  name: string;
  pattern: string;
  broadcast: boolean;
  partitions: number;
  subpartitions: number;
  bytes: number;
}

export interface ParallelismDecision {
  vertex: string;
  /** When the vertex became decided: its VertexParallelismDecided or VertexInitialized, whichever came first. */
  tNs: number;
  seq: number;
  parallelism: number;
  /** Undefined when only VertexInitialized was recorded (no decider ran, or an older trace). */
  path: string | undefined;
  inputBytes: number | undefined;
  inputs: DecisionInput[];
  ranges: string | undefined;
  summary: string | undefined;
}

export type DecisionModel = ReadonlyMap<string, ParallelismDecision>;

function readInputs(e: TraceEvent): DecisionInput[] {
  const raw = e.inputs;
  if (!Array.isArray(raw)) return [];
  const out: DecisionInput[] = [];
  for (const item of raw) {
    if (item === null || typeof item !== "object") continue;
    const i = item as Record<string, unknown>;
    const n = (k: string) => (typeof i[k] === "number" ? (i[k] as number) : 0);
    out.push({
      name: typeof i.name === "string" ? i.name : "?",
      pattern: typeof i.pattern === "string" ? i.pattern : "?",
      broadcast: i.broadcast === true,
      partitions: n("partitions"),
      subpartitions: n("subpartitions"),
      bytes: n("bytes"),
    });
  }
  return out;
}

/** Decisions of the vertices JobSubmitted left undecided (parallelism -1), from events in trace order. */
export function buildDecisions(graph: JobGraph | undefined, events: Iterable<TraceEvent>): DecisionModel {
  const undecided = new Set(graph?.vertices.filter((v) => v.parallelism < 0).map((v) => v.id) ?? []);
  const out = new Map<string, ParallelismDecision>();
  for (const e of events) {
    const vertex = str(e, "vertex");
    const parallelism = num(e, "parallelism");
    if (vertex === undefined || parallelism === undefined || !undecided.has(vertex)) continue;
    const known = out.get(vertex);
    if (e.kind === "VertexParallelismDecided") {
      if (known?.path !== undefined) continue; // first decision only
      out.set(vertex, {
        vertex,
        tNs: known?.tNs ?? e.t,
        seq: known?.seq ?? e.seq,
        parallelism,
        path: str(e, "path") ?? "?",
        inputBytes: num(e, "inputBytes"),
        inputs: readInputs(e),
        ranges: str(e, "ranges"),
        summary: str(e, "summary"),
      });
    } else if (e.kind === "VertexInitialized" && known === undefined) {
      out.set(vertex, { vertex, tNs: e.t, seq: e.seq, parallelism, path: undefined, inputBytes: undefined, inputs: [], ranges: undefined, summary: undefined });
    }
  }
  return out;
}

/** The vertex's parallelism at time t: undefined while it is undecided. */
export function parallelismAt(graph: JobGraph, decisions: DecisionModel, vertex: string, t: number): number | undefined {
  const v = graph.vertices.find((x) => x.id === vertex);
  if (v === undefined) return undefined;
  if (v.parallelism >= 0) return v.parallelism;
  const d = decisions.get(vertex);
  return d !== undefined && d.tNs <= t ? d.parallelism : undefined;
}

/** How many subtask cells the vertex ever needs: its fixed parallelism, its decided one, or 0 if never decided. */
export function finalParallelism(parallelism: number, decision: ParallelismDecision | undefined): number {
  return parallelism >= 0 ? parallelism : (decision?.parallelism ?? 0);
}

/** The decision as lines of text: what the detail panel lists. */
export function decisionLines(d: ParallelismDecision): string[] {
  const lines = [`parallelism ${d.parallelism} decided at ${formatClock(d.tNs)}${d.path !== undefined ? ` by ${d.path}` : ""}`];
  if (d.inputBytes !== undefined) lines.push(`input ${formatBytes(d.inputBytes)} (non-broadcast)`);
  for (const i of d.inputs) {
    lines.push(`input ${i.name}: ${i.pattern}${i.broadcast ? ", broadcast" : ""}, ${i.partitions} partitions × ${i.subpartitions} subpartitions, ${formatBytes(i.bytes)}`);
  }
  if (d.ranges !== undefined) lines.push(`subpartition ranges: ${d.ranges}`);
  if (d.summary !== undefined) lines.push(d.summary);
  return lines;
}
