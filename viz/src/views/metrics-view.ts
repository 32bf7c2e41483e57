/**
 * Metrics over virtual time (canvas): per-vertex throughput, highest backpressure,
 * queued buffers and watermark lag, one line per vertex. Lines are drawn once per trace;
 * a scrub moves a cursor on the overlay and updates the legend with the values at t.
 */
import * as d3 from "d3";
import type { Replay } from "../model/replay";
import { upperBound } from "../model/trace-index";
import { vertexSeries, type VertexPoint } from "../model/metrics";
import { sizeCanvas } from "./gantt-view";

interface Chart {
  title: string;
  value: (p: VertexPoint) => number | null;
  format: (v: number) => string;
  base: HTMLCanvasElement;
  /** The scrub-time cursor: a DOM line moved by transform, no canvas repaint. */
  overlay: HTMLElement;
  legend: HTMLElement;
}

const H = 110;

export class MetricsView {
  private charts: Chart[] = [];
  private series = new Map<string, VertexPoint[]>();
  /** Sample times per vertex, so the legend's lookup at t is a binary search. */
  private times = new Map<string, Float64Array>();
  private x = d3.scaleLinear();
  private color = d3.scaleOrdinal<string, string>(d3.schemeTableau10);
  private lastIndex = "";

  constructor(private readonly root: HTMLElement) {}

  load(replay: Replay): void {
    this.series = vertexSeries(replay.metrics);
    this.times = new Map([...this.series].map(([v, pts]) => [v, Float64Array.from(pts, (p) => p.tNs)]));
    this.lastIndex = "";
    this.root.innerHTML = "";
    if (this.series.size === 0) {
      this.root.innerHTML = `<p class="empty">no TaskMetrics samples in this trace</p>`;
      this.charts = [];
      return;
    }
    const defs: Omit<Chart, "base" | "overlay" | "legend">[] = [
      { title: "throughput (records out / s)", value: (p) => p.recordsOutPerSec, format: (v) => d3.format(".3~s")(v) },
      { title: "backpressured (max subtask)", value: (p) => p.backpressuredMax, format: (v) => `${Math.round(v * 100)}%` },
      { title: "queued buffers (in + out)", value: (p) => p.queueBuffers, format: (v) => String(v) },
      { title: "watermark lag (ms)", value: (p) => p.watermarkLagMs, format: (v) => d3.format(".4~s")(v) },
    ];
    this.charts = defs.map((d) => {
      const div = document.createElement("div");
      div.className = "metric";
      div.innerHTML = `<b>${d.title}</b><div style="position:relative"><canvas></canvas><div class="cursor" style="height:${H}px"></div></div><div class="legend"></div>`;
      this.root.append(div);
      return { ...d, base: div.querySelector("canvas")!, overlay: div.querySelector<HTMLElement>(".cursor")!, legend: div.querySelector(".legend")! };
    });
    this.x = d3.scaleLinear().domain([replay.index.startNs, Math.max(replay.index.endNs, replay.index.startNs + 1)]);
    this.color.domain([...this.series.keys()]);
    for (const c of this.charts) this.drawChart(c);
  }

  private drawChart(c: Chart): void {
    const w = c.base.parentElement!.clientWidth || 400;
    sizeCanvas(c.base, w, H);
    this.x.range([30, w - 4]);
    let max = 0;
    for (const pts of this.series.values()) for (const p of pts) max = Math.max(max, c.value(p) ?? 0);
    const y = d3.scaleLinear().domain([0, max || 1]).range([H - 12, 4]);
    const ctx = c.base.getContext("2d")!;
    ctx.setTransform(devicePixelRatio, 0, 0, devicePixelRatio, 0, 0);
    ctx.font = "10px system-ui";
    ctx.fillStyle = "#78909c";
    ctx.fillText(c.format(max || 1), 0, 10);
    ctx.fillText("0", 0, H - 12);
    for (const [vertex, pts] of this.series) {
      ctx.strokeStyle = this.color(vertex);
      ctx.beginPath();
      let pen = false;
      for (const p of pts) {
        const v = c.value(p);
        if (v === null) {
          pen = false;
          continue;
        }
        if (pen) ctx.lineTo(this.x(p.tNs), y(v));
        else ctx.moveTo(this.x(p.tNs), y(v));
        pen = true;
      }
      ctx.stroke();
    }
  }

  render(t: number): void {
    if (this.charts.length === 0) return;
    const px = this.x(t);
    for (const c of this.charts) c.overlay.style.transform = `translateX(${px}px)`;
    // Legends change only when the sample in effect changes.
    const at = [...this.times.values()].map((ts) => upperBound(ts, t)).join(",");
    if (at === this.lastIndex) return;
    this.lastIndex = at;
    for (const c of this.charts) {
      c.legend.innerHTML = [...this.series]
        .map(([vertex, pts]) => {
          const i = upperBound(this.times.get(vertex)!, t);
          const v = i === 0 ? null : c.value(pts[i - 1]!);
          return `<span data-vertex="${vertex}" style="color:${this.color(vertex)}">■ ${vertex} ${v === null ? "–" : c.format(v)}</span>`;
        })
        .join(" ");
    }
  }
}
