/**
 * The job graph view's model: the vertices, edges and pipelined regions of JobSubmitted,
 * a layered layout (a vertex's layer is its longest path from a source), and what each
 * vertex shows at the scrub time — its subtasks' states, the highest busy and
 * backpressured ratios among them (as Flink's web UI colours a vertex), the low
 * watermark, and which subtasks are in the failover region being restarted. A vertex the
 * adaptive batch scheduler decides at runtime (parallelism -1 in JobSubmitted) has no
 * subtasks until its decision (model/adaptive), and a subtask racing speculative
 * attempts says how many attempts are live.
 */
import type { TraceEvent } from "../../../sim/trace/events";
import { compareStrings } from "../../../sim/trace/reader";
import type { DecisionModel, ParallelismDecision } from "./adaptive";
import { subtaskId, vertexOfSubtask } from "./event-fields";
import { backpressureLevel, latestSample, sampleField, sampleWatermarkMs, type BackpressureLevel, type MetricsModel } from "./metrics";
import { liveAttemptsAt } from "./speculation";
import { subtaskStateAt, type TaskModel } from "./tasks";
import { idleAt, type WatermarkStatusModel } from "./watermark-status";

export interface GraphVertex {
  id: string;
  name: string;
  /** As submitted: -1 when the adaptive batch scheduler decides it at runtime. */
  parallelism: number;
  chain: string[];
  layer: number;
  /** Position within its layer. */
  row: number;
}

export interface GraphEdge {
  source: string;
  target: string;
  partitioner: string;
  partitionType: string;
  /** The target operator's input: 0, or 1 for a two-input operator's second (connect, broadcast state). */
  input: number;
}

export interface Region {
  id: number;
  subtasks: string[];
  /** The vertices it spans, sorted. */
  vertices: string[];
}

export interface JobGraph {
  job: string;
  runtimeMode: string;
  vertices: GraphVertex[];
  edges: GraphEdge[];
  regions: Region[];
  regionOfSubtask: ReadonlyMap<string, number>;
  layers: number;
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function record(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === "object" ? (v as Record<string, unknown>) : {};
}

/** The graph from the (first) JobSubmitted event, or undefined when the trace has none. */
export function readJobGraph(submitted: TraceEvent | undefined): JobGraph | undefined {
  if (submitted === undefined) return undefined;
  const vertices: GraphVertex[] = [];
  for (const raw of asArray(submitted.vertices)) {
    const v = record(raw);
    if (typeof v.id !== "string") continue;
    vertices.push({
      id: v.id,
      name: typeof v.name === "string" ? v.name : v.id,
      parallelism: typeof v.parallelism === "number" ? v.parallelism : 1,
      chain: asArray(v.chain).filter((c): c is string => typeof c === "string"),
      layer: 0,
      row: 0,
    });
  }
  const ids = new Set(vertices.map((v) => v.id));
  const edges: GraphEdge[] = [];
  for (const raw of asArray(submitted.edges)) {
    const e = record(raw);
    if (typeof e.source !== "string" || typeof e.target !== "string" || !ids.has(e.source) || !ids.has(e.target)) continue;
    edges.push({
      source: e.source,
      target: e.target,
      partitioner: typeof e.partitioner === "string" ? e.partitioner : "?",
      partitionType: typeof e.partitionType === "string" ? e.partitionType : "?",
      // Traces from before two-input operators have no input: every edge fed input 0.
      input: e.input === 1 ? 1 : 0,
    });
  }
  const regions: Region[] = [];
  const regionOfSubtask = new Map<string, number>();
  for (const raw of asArray(submitted.regions)) {
    const r = record(raw);
    if (typeof r.id !== "number") continue;
    const subtasks = asArray(r.subtasks).filter((s): s is string => typeof s === "string");
    for (const s of subtasks) regionOfSubtask.set(s, r.id);
    regions.push({ id: r.id, subtasks, vertices: [...new Set(subtasks.map(vertexOfSubtask))].sort(compareStrings) });
  }
  const layers = layout(vertices, edges);
  return {
    job: typeof submitted.job === "string" ? submitted.job : "job",
    runtimeMode: typeof submitted.runtimeMode === "string" ? submitted.runtimeMode : "?",
    vertices,
    edges,
    regions,
    regionOfSubtask,
    layers,
  };
}

/** Longest-path layering; a cycle (never valid in a job graph) is cut by a pass limit. */
function layout(vertices: GraphVertex[], edges: GraphEdge[]): number {
  const byId = new Map(vertices.map((v) => [v.id, v]));
  for (let pass = 0; pass < vertices.length; pass++) {
    let changed = false;
    for (const e of edges) {
      const s = byId.get(e.source)!;
      const t = byId.get(e.target)!;
      if (t.layer < s.layer + 1) {
        t.layer = s.layer + 1;
        changed = true;
      }
    }
    if (!changed) break;
  }
  const rows = new Map<number, number>();
  for (const v of vertices) {
    v.row = rows.get(v.layer) ?? 0;
    rows.set(v.layer, v.row + 1);
  }
  return vertices.reduce((m, v) => Math.max(m, v.layer + 1), 0);
}

/**
 * Region outlines worth drawing: one per distinct set of vertices that a region spans,
 * so a batch job's hundreds of one-subtask regions do not draw hundreds of boxes.
 */
export function regionOutlines(graph: JobGraph): { vertices: string[]; regions: number[] }[] {
  const byKey = new Map<string, { vertices: string[]; regions: number[] }>();
  for (const r of graph.regions) {
    const key = r.vertices.join(",");
    const entry = byKey.get(key);
    if (entry === undefined) byKey.set(key, { vertices: r.vertices, regions: [r.id] });
    else entry.regions.push(r.id);
  }
  return [...byKey.values()];
}

export interface SubtaskView {
  id: string;
  state: string | undefined;
  attempt: number | undefined;
  region: number | undefined;
  inFailover: boolean;
  /** Attempts begun and not terminal at t: 2 or more while speculative attempts race. */
  liveAttempts: number;
}

export interface VertexView {
  id: string;
  /** Undefined while the adaptive batch scheduler has not decided it. */
  parallelism: number | undefined;
  /** The decision shown from its time on (adaptive vertices only). */
  decision: ParallelismDecision | undefined;
  subtasks: SubtaskView[];
  /** Subtasks per state (undefined state counted as "NONE"). */
  stateCounts: Record<string, number>;
  busyMax: number | undefined;
  backpressuredMax: number | undefined;
  level: BackpressureLevel | undefined;
  /** Lowest watermark among active subtasks with one (among all when every one is idle), ms. */
  watermarkMs: number | undefined;
  /** Running subtasks whose watermark status is IDLE (withIdleness). */
  idleSubtasks: number;
  /** Running subtasks. */
  runningSubtasks: number;
  inFailover: boolean;
}

/**
 * What each vertex shows at time t. `failoverSubtasks` is the set being restarted at t
 * (from the failures model); metrics come from the latest sample at or before t.
 */
export function vertexViewsAt(
  graph: JobGraph,
  tasks: TaskModel,
  metrics: MetricsModel,
  failoverSubtasks: ReadonlySet<string>,
  t: number,
  decisions: DecisionModel = new Map(),
  watermarkStatus: WatermarkStatusModel = new Map(),
): VertexView[] {
  return graph.vertices.map((v) => {
    const d = decisions.get(v.id);
    const decision = d !== undefined && d.tNs <= t ? d : undefined;
    const parallelism = v.parallelism >= 0 ? v.parallelism : decision?.parallelism;
    const subtasks: SubtaskView[] = [];
    const stateCounts: Record<string, number> = {};
    let busyMax: number | undefined;
    let bpMax: number | undefined;
    let wm: number | undefined;
    let idleWm: number | undefined;
    let idle = 0;
    let running = 0;
    for (let i = 0; i < (parallelism ?? 0); i++) {
      const id = subtaskId(v.id, i);
      const st = subtaskStateAt(tasks, id, t);
      const state = st?.state;
      stateCounts[state ?? "NONE"] = (stateCounts[state ?? "NONE"] ?? 0) + 1;
      subtasks.push({ id, state, attempt: st?.attempt.attempt, region: graph.regionOfSubtask.get(id), inFailover: failoverSubtasks.has(id), liveAttempts: liveAttemptsAt(tasks, id, t) });
      const s = latestSample(metrics, id, t);
      // A sample from an attempt that has since ended says nothing about now.
      const isIdle = state === "RUNNING" && idleAt(watermarkStatus, id, st?.attempt.attempt, t);
      if (state === "RUNNING") running++;
      if (isIdle) idle++;
      if (s !== undefined && state === "RUNNING") {
        busyMax = Math.max(busyMax ?? 0, sampleField(s, "busy"));
        bpMax = Math.max(bpMax ?? 0, sampleField(s, "backpressured"));
        const w = sampleWatermarkMs(s);
        if (w !== null && isIdle) idleWm = idleWm === undefined ? w : Math.min(idleWm, w);
        else if (w !== null) wm = wm === undefined ? w : Math.min(wm, w);
      }
    }
    return {
      id: v.id,
      parallelism,
      decision,
      subtasks,
      stateCounts,
      busyMax,
      backpressuredMax: bpMax,
      level: bpMax === undefined ? undefined : backpressureLevel(bpMax),
      watermarkMs: wm ?? idleWm,
      idleSubtasks: idle,
      runningSubtasks: running,
      inFailover: subtasks.some((s) => s.inFailover),
    };
  });
}
