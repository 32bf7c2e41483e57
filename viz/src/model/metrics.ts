/**
 * Sampled per-subtask metrics (TaskMetrics events): busy / backpressured / idle ratios
 * over the last interval, records in and out during it (deltas, not totals), queued
 * buffers and the current watermark. Indexed per subtask by time so the graph can ask
 * for the latest sample at the scrub time in O(log n), and aggregated per sample time
 * into the series the metrics view plots.
 */
import type { TraceEvent } from "../../../sim/trace/events";
import { num, str, subtaskId } from "./event-fields";
import { upperBound } from "./trace-index";

/**
 * A sample is the TaskMetrics event itself (fields read on demand with `sampleField`):
 * copying a million samples into new objects doubled the load time of large traces.
 */
export type MetricSample = TraceEvent;

export interface SubtaskSeries {
  subtask: string;
  vertex: string;
  times: Float64Array;
  samples: MetricSample[];
}

export interface MetricsModel {
  bySubtask: ReadonlyMap<string, SubtaskSeries>;
  /** Every TaskMetrics event, in trace order (for the per-vertex series). */
  all: readonly MetricSample[];
}

export type MetricField = "busy" | "backpressured" | "idle" | "recordsIn" | "recordsOut" | "inputQueueBuffers" | "outputQueueBuffers";

/** A numeric field of a sample; a missing or bad value reads as 0. */
export function sampleField(s: MetricSample, field: MetricField): number {
  return num(s, field) ?? 0;
}

/** The sample's watermark in ms, or null when the subtask has none yet. */
export function sampleWatermarkMs(s: MetricSample): number | null {
  return num(s, "watermarkMs") ?? null;
}

export type BackpressureLevel = "OK" | "LOW" | "HIGH";

/** Flink's web UI thresholds: OK ≤ 0.10 < LOW ≤ 0.5 < HIGH (back_pressure.md). */
export function backpressureLevel(ratio: number): BackpressureLevel {
  if (ratio <= 0.1) return "OK";
  if (ratio <= 0.5) return "LOW";
  return "HIGH";
}

export function buildMetrics(events: Iterable<TraceEvent>): MetricsModel {
  const lists = new Map<string, { vertex: string; samples: MetricSample[] }>();
  const all: MetricSample[] = [];
  // Subtask ids are built per (vertex, index) once, not per event.
  const ids = new Map<string, string[]>();
  for (const e of events) {
    if (e.kind !== "TaskMetrics") continue;
    const vertex = str(e, "vertex");
    const index = num(e, "subtask");
    if (vertex === undefined || index === undefined) continue;
    let byIndex = ids.get(vertex);
    if (byIndex === undefined) ids.set(vertex, (byIndex = []));
    const id = (byIndex[index] ??= subtaskId(vertex, index));
    let entry = lists.get(id);
    if (entry === undefined) lists.set(id, (entry = { vertex, samples: [] }));
    entry.samples.push(e);
    all.push(e);
  }
  const bySubtask = new Map<string, SubtaskSeries>();
  for (const [id, { vertex, samples }] of lists) {
    bySubtask.set(id, { subtask: id, vertex, samples, times: Float64Array.from(samples, (s) => s.t) });
  }
  return { bySubtask, all };
}

/** The newest sample of a subtask at or before t. */
export function latestSample(model: MetricsModel, subtask: string, t: number): MetricSample | undefined {
  const series = model.bySubtask.get(subtask);
  if (series === undefined) return undefined;
  const i = upperBound(series.times, t);
  return i === 0 ? undefined : series.samples[i - 1];
}

/** One point of the per-vertex series the metrics view draws. */
export interface VertexPoint {
  tNs: number;
  /** Records out per virtual second, summed over subtasks. */
  recordsOutPerSec: number;
  /** Highest backpressured ratio among subtasks (as Flink's graph colours a vertex). */
  backpressuredMax: number;
  /** Queued input + output buffers, summed over subtasks. */
  queueBuffers: number;
  /** Virtual time minus the lowest watermark, ms; null while there is no watermark. */
  watermarkLagMs: number | null;
}

/**
 * Per-vertex series at each sample time, in one pass over the samples in trace order
 * (a vertex's samples of one round share a time). The throughput divides by the gap
 * since the vertex's previous sample time (the first by the gap from time 0).
 */
export function vertexSeries(model: MetricsModel): Map<string, VertexPoint[]> {
  interface Acc {
    points: VertexPoint[];
    prevT: number;
    tNs: number;
    out: number;
    bp: number;
    queue: number;
    wm: number | null;
    open: boolean;
  }
  const accs = new Map<string, Acc>();
  const close = (a: Acc) => {
    if (!a.open) return;
    const dtSec = (a.tNs - a.prevT) / 1e9;
    a.points.push({ tNs: a.tNs, recordsOutPerSec: dtSec > 0 ? a.out / dtSec : 0, backpressuredMax: a.bp, queueBuffers: a.queue, watermarkLagMs: a.wm === null ? null : a.tNs / 1e6 - a.wm });
    a.prevT = a.tNs;
    a.open = false;
  };
  for (const s of model.all) {
    const vertex = str(s, "vertex")!;
    let a = accs.get(vertex);
    if (a === undefined) accs.set(vertex, (a = { points: [], prevT: 0, tNs: 0, out: 0, bp: 0, queue: 0, wm: null, open: false }));
    if (a.open && a.tNs !== s.t) close(a);
    if (!a.open) Object.assign(a, { tNs: s.t, out: 0, bp: 0, queue: 0, wm: null, open: true });
    a.out += sampleField(s, "recordsOut");
    a.bp = Math.max(a.bp, sampleField(s, "backpressured"));
    a.queue += sampleField(s, "inputQueueBuffers") + sampleField(s, "outputQueueBuffers");
    const wm = sampleWatermarkMs(s);
    if (wm !== null) a.wm = a.wm === null ? wm : Math.min(a.wm, wm);
  }
  const out = new Map<string, VertexPoint[]>();
  for (const [vertex, a] of accs) {
    close(a);
    out.set(vertex, a.points);
  }
  return out;
}
