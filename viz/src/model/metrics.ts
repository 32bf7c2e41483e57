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

export interface MetricSample {
  tNs: number;
  busy: number;
  backpressured: number;
  idle: number;
  recordsIn: number;
  recordsOut: number;
  inputQueueBuffers: number;
  outputQueueBuffers: number;
  watermarkMs: number | null;
}

export interface SubtaskSeries {
  subtask: string;
  vertex: string;
  times: Float64Array;
  samples: MetricSample[];
}

export interface MetricsModel {
  bySubtask: ReadonlyMap<string, SubtaskSeries>;
  /** Distinct sample times, ascending. */
  sampleTimes: Float64Array;
}

export type BackpressureLevel = "OK" | "LOW" | "HIGH";

/** Flink's web UI thresholds: OK ≤ 0.10 < LOW ≤ 0.5 < HIGH (back_pressure.md). */
export function backpressureLevel(ratio: number): BackpressureLevel {
  if (ratio <= 0.1) return "OK";
  if (ratio <= 0.5) return "LOW";
  return "HIGH";
}

function sampleOf(e: TraceEvent): MetricSample {
  const wm = e.watermarkMs;
  return {
    tNs: e.t,
    busy: num(e, "busy") ?? 0,
    backpressured: num(e, "backpressured") ?? 0,
    idle: num(e, "idle") ?? 0,
    recordsIn: num(e, "recordsIn") ?? 0,
    recordsOut: num(e, "recordsOut") ?? 0,
    inputQueueBuffers: num(e, "inputQueueBuffers") ?? 0,
    outputQueueBuffers: num(e, "outputQueueBuffers") ?? 0,
    watermarkMs: typeof wm === "number" && Number.isFinite(wm) ? wm : null,
  };
}

export function buildMetrics(events: Iterable<TraceEvent>): MetricsModel {
  const lists = new Map<string, { vertex: string; samples: MetricSample[] }>();
  const times: number[] = [];
  for (const e of events) {
    if (e.kind !== "TaskMetrics") continue;
    const vertex = str(e, "vertex");
    const index = num(e, "subtask");
    if (vertex === undefined || index === undefined) continue;
    const id = subtaskId(vertex, index);
    let entry = lists.get(id);
    if (entry === undefined) lists.set(id, (entry = { vertex, samples: [] }));
    entry.samples.push(sampleOf(e));
    if (times.length === 0 || times[times.length - 1] !== e.t) times.push(e.t);
  }
  const bySubtask = new Map<string, SubtaskSeries>();
  for (const [id, { vertex, samples }] of lists) {
    bySubtask.set(id, { subtask: id, vertex, samples, times: Float64Array.from(samples, (s) => s.tNs) });
  }
  return { bySubtask, sampleTimes: Float64Array.from(times) };
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
 * Per-vertex series at each sample time. The throughput divides by the gap since the
 * vertex's previous sample (the first divides by the gap from time 0).
 */
export function vertexSeries(model: MetricsModel): Map<string, VertexPoint[]> {
  const byVertexTime = new Map<string, Map<number, MetricSample[]>>();
  for (const series of model.bySubtask.values()) {
    let byTime = byVertexTime.get(series.vertex);
    if (byTime === undefined) byVertexTime.set(series.vertex, (byTime = new Map()));
    for (const s of series.samples) {
      const list = byTime.get(s.tNs);
      if (list === undefined) byTime.set(s.tNs, [s]);
      else list.push(s);
    }
  }
  const out = new Map<string, VertexPoint[]>();
  for (const [vertex, byTime] of byVertexTime) {
    const points: VertexPoint[] = [];
    let prevT = 0;
    for (const tNs of [...byTime.keys()].sort((a, b) => a - b)) {
      const samples = byTime.get(tNs)!;
      const dtSec = (tNs - prevT) / 1e9;
      let out_ = 0;
      let bp = 0;
      let queue = 0;
      let wm: number | null = null;
      for (const s of samples) {
        out_ += s.recordsOut;
        bp = Math.max(bp, s.backpressured);
        queue += s.inputQueueBuffers + s.outputQueueBuffers;
        if (s.watermarkMs !== null) wm = wm === null ? s.watermarkMs : Math.min(wm, s.watermarkMs);
      }
      points.push({
        tNs,
        recordsOutPerSec: dtSec > 0 ? out_ / dtSec : 0,
        backpressuredMax: bp,
        queueBuffers: queue,
        watermarkLagMs: wm === null ? null : tNs / 1e6 - wm,
      });
      prevT = tNs;
    }
    out.set(vertex, points);
  }
  return out;
}
