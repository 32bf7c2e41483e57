/**
 * Job graph (d3, SVG): one box per job vertex in a layered layout, its subtasks as cells
 * coloured by state, the box filled by the vertex's backpressure level (Flink's OK / LOW /
 * HIGH), busy and backpressure ratios and the low watermark as text, pipelined regions
 * as dashed outlines and the failover region in orange. The SVG is built once per trace;
 * a scrub only updates attributes and text.
 */
import * as d3 from "d3";
import { formatClock } from "../model/format";
import { regionOutlines, vertexViewsAt, type JobGraph, type VertexView } from "../model/graph";
import type { Replay } from "../model/replay";
import { LEVEL_FILL, stateColor } from "./colors";

const BOX_W = 190;
const BOX_H = 74;
const GAP_X = 60;
const GAP_Y = 24;
const CELL_MAX = 14;
const PAD = 12;

function pct(x: number | undefined): string {
  return x === undefined ? "N/A" : `${Math.round(x * 100)}%`;
}

export class GraphView {
  private readonly svg: d3.Selection<SVGSVGElement, unknown, null, undefined>;
  private graph: JobGraph | undefined;
  /** What each vertex showed last, so a scrub that changes nothing there touches no DOM. */
  private shown = new Map<string, string>();

  constructor(el: SVGSVGElement) {
    this.svg = d3.select(el);
  }

  load(replay: Replay): void {
    this.svg.selectAll("*").remove();
    this.shown.clear();
    this.graph = replay.graph;
    const g = this.graph;
    if (g === undefined) {
      this.svg.append("text").attr("x", 10).attr("y", 20).attr("class", "empty").text("no JobSubmitted event in this trace");
      return;
    }
    const pos = (id: string) => {
      const v = g.vertices.find((x) => x.id === id)!;
      return { x: PAD + v.layer * (BOX_W + GAP_X), y: PAD + v.row * (BOX_H + GAP_Y) };
    };
    const rows = g.vertices.reduce((m, v) => Math.max(m, v.row + 1), 1);
    const width = PAD * 2 + g.layers * (BOX_W + GAP_X) - GAP_X;
    const height = PAD * 2 + rows * (BOX_H + GAP_Y) - GAP_Y;
    this.svg.attr("viewBox", `0 0 ${width} ${height}`).attr("data-job", g.job);
    this.svg
      .append("defs")
      .append("marker")
      .attr("id", "arrow")
      .attr("viewBox", "0 0 10 10")
      .attr("refX", 10)
      .attr("refY", 5)
      .attr("markerWidth", 6)
      .attr("markerHeight", 6)
      .attr("orient", "auto")
      .append("path")
      .attr("d", "M0,0L10,5L0,10z")
      .attr("fill", "#90a4ae");
    // Region outlines first, so boxes draw over them.
    const outlines = regionOutlines(g);
    this.svg
      .append("g")
      .selectAll("rect")
      .data(outlines)
      .join("rect")
      .attr("class", "region")
      .attr("data-regions", (o) => o.regions.join(","))
      .attr("data-vertices", (o) => o.vertices.join(","))
      .each(function (o) {
        const ps = o.vertices.map(pos);
        const x0 = Math.min(...ps.map((p) => p.x)) - 5;
        const y0 = Math.min(...ps.map((p) => p.y)) - 5;
        const x1 = Math.max(...ps.map((p) => p.x)) + BOX_W + 5;
        const y1 = Math.max(...ps.map((p) => p.y)) + BOX_H + 5;
        d3.select(this).attr("x", x0).attr("y", y0).attr("width", x1 - x0).attr("height", y1 - y0).attr("rx", 8);
      })
      .append("title")
      .text((o) => `pipelined region${o.regions.length > 1 ? "s" : ""} ${o.regions.length > 8 ? `${o.regions.length} regions` : o.regions.join(", ")}`);
    this.svg
      .append("g")
      .selectAll("path")
      .data(g.edges)
      .join("path")
      .attr("class", (e) => (e.partitionType === "BLOCKING" ? "edge blocking" : "edge"))
      .attr("d", (e) => {
        const s = pos(e.source);
        const t = pos(e.target);
        return `M${s.x + BOX_W},${s.y + BOX_H / 2}C${s.x + BOX_W + GAP_X / 2},${s.y + BOX_H / 2} ${t.x - GAP_X / 2},${t.y + BOX_H / 2} ${t.x},${t.y + BOX_H / 2}`;
      })
      .append("title")
      .text((e) => `${e.source} → ${e.target}: ${e.partitioner}, ${e.partitionType}`);
    const boxes = this.svg
      .append("g")
      .selectAll("g.vertex")
      .data(g.vertices)
      .join("g")
      .attr("class", "vertex")
      .attr("data-vertex", (v) => v.id)
      .attr("transform", (v) => `translate(${pos(v.id).x},${pos(v.id).y})`);
    boxes.append("rect").attr("class", "box").attr("width", BOX_W).attr("height", BOX_H).attr("rx", 4);
    boxes.append("title").text((v) => `${v.id}: ${v.chain.join(" → ")}`);
    boxes
      .append("text")
      .attr("x", 6)
      .attr("y", 14)
      .attr("font-weight", "bold")
      .text((v) => `${v.name.length > 24 ? v.name.slice(0, 23) + "…" : v.name}  ×${v.parallelism}`);
    boxes.append("text").attr("class", "ratios").attr("x", 6).attr("y", 28);
    boxes.append("text").attr("class", "watermark").attr("x", 6).attr("y", 41);
    boxes.each(function (v) {
      const cell = Math.min(CELL_MAX, (BOX_W - 12) / v.parallelism);
      d3.select(this)
        .selectAll("rect.subtask")
        .data(d3.range(v.parallelism))
        .join("rect")
        .attr("class", "subtask")
        .attr("data-subtask", (i) => `${v.id}[${i}]`)
        .attr("x", (i) => 6 + i * cell)
        .attr("y", 50)
        .attr("width", Math.max(1, cell - 1))
        .attr("height", 16)
        .append("title");
    });
  }

  render(replay: Replay, failoverSubtasks: ReadonlySet<string>, t: number): void {
    const g = this.graph;
    if (g === undefined) return;
    const views = new Map<string, VertexView>(vertexViewsAt(g, replay.tasks, replay.metrics, failoverSubtasks, t).map((v) => [v.id, v]));
    const changed = new Set<string>();
    for (const [id, v] of views) {
      const key = JSON.stringify(v);
      if (this.shown.get(id) !== key) changed.add(id);
      this.shown.set(id, key);
    }
    const boxes = this.svg.selectAll<SVGGElement, { id: string }>("g.vertex").filter((v) => changed.has(v.id));
    boxes
      .classed("in-failover", (v) => views.get(v.id)!.inFailover)
      .attr("data-level", (v) => views.get(v.id)!.level ?? "NA")
      .attr("data-states", (v) => Object.entries(views.get(v.id)!.stateCounts).map(([s, n]) => `${s}:${n}`).join(" "));
    boxes.select("rect.box").attr("fill", (v) => LEVEL_FILL[views.get(v.id)!.level ?? ""] ?? "#fff");
    boxes.select("text.ratios").text((v) => {
      const view = views.get(v.id)!;
      return `busy ${pct(view.busyMax)}  backpressured ${pct(view.backpressuredMax)}${view.level ? ` (${view.level})` : ""}`;
    });
    boxes.select("text.watermark").text((v) => {
      const wm = views.get(v.id)!.watermarkMs;
      return wm === undefined ? "watermark –" : `watermark ${formatClock(wm * 1e6)}`;
    });
    boxes.each(function (v) {
      const subtasks = views.get(v.id)!.subtasks;
      d3.select(this)
        .selectAll<SVGRectElement, number>("rect.subtask")
        .attr("fill", (i) => stateColor(subtasks[i]?.state))
        .attr("data-state", (i) => subtasks[i]?.state ?? "NONE")
        .attr("data-failover", (i) => String(subtasks[i]?.inFailover ?? false))
        .select("title")
        .text((i) => {
          const s = subtasks[i]!;
          return `${s.id} attempt ${s.attempt ?? "–"}: ${s.state ?? "not started"}${s.region !== undefined ? `, region ${s.region}` : ""}${s.inFailover ? " (being restarted)" : ""}`;
        });
    });
    // An outline turns orange only when all its regions restart; a partial restart shows on the subtask cells.
    if (changed.size === 0) return;
    const active = new Set([...failoverSubtasks].map((s) => g.regionOfSubtask.get(s)).filter((r): r is number => r !== undefined));
    this.svg.selectAll<SVGRectElement, { regions: number[] }>("rect.region").classed("failover", (o) => o.regions.every((r) => active.has(r)));
  }
}
