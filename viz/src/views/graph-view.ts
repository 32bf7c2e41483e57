/**
 * Job graph (d3, SVG): one box per job vertex in a layered layout, its subtasks as cells
 * coloured by state, the box filled by the vertex's backpressure level (Flink's OK / LOW /
 * HIGH), busy and backpressure ratios and the low watermark as text, pipelined regions
 * as dashed outlines and the failover region in orange. A vertex whose parallelism the
 * adaptive batch scheduler has not decided yet shows "×?" on a hatched box and no cells;
 * from its decision on, its parallelism and cells. Clicking a vertex shows its decision
 * (path, input bytes, per-input partitions, ranges) below the graph. A subtask racing
 * speculative attempts gets a purple outline. A vertex whose parallelism a restore from a
 * savepoint changed shows it, "×7 (was ×4)", with a purple outline. The SVG is built once per trace; a scrub
 * only updates attributes and text.
 */
import * as d3 from "d3";
import { decisionLines, finalParallelism } from "../model/adaptive";
import { previousParallelismAt } from "../model/restore";
import { formatClock } from "../model/format";
import { regionOutlines, vertexViewsAt, type GraphEdge, type GraphVertex, type JobGraph, type VertexView } from "../model/graph";
import type { Replay } from "../model/replay";
import { LEVEL_FILL, stateColor } from "./colors";
import { vertexLabel } from "../model/vertex-label";

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
  /** Per vertex, its parallelism before a restore that changed it (as of the last render). */
  private was = new Map<string, number | undefined>();
  /** The clicked vertex, whose decision the detail panel shows. */
  private selected: string | undefined;
  private views = new Map<string, VertexView>();
  private lastT = 0;

  constructor(
    el: SVGSVGElement,
    private readonly detail: HTMLElement,
  ) {
    this.svg = d3.select(el);
  }

  load(replay: Replay): void {
    this.svg.selectAll("*").remove();
    this.shown.clear();
    this.selected = undefined;
    this.detail.replaceChildren();
    delete this.detail.dataset.vertex;
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
    const defs = this.svg.append("defs");
    defs
      .append("pattern")
      .attr("id", "undecided-hatch")
      .attr("width", 6)
      .attr("height", 6)
      .attr("patternUnits", "userSpaceOnUse")
      .attr("patternTransform", "rotate(45)")
      .call((p) => p.append("rect").attr("width", 6).attr("height", 6).attr("fill", "#eceff1"))
      .append("line")
      .attr("x1", 0)
      .attr("y1", 0)
      .attr("x2", 0)
      .attr("y2", 6)
      .attr("stroke", "#b0bec5")
      .attr("stroke-width", 2);
    defs
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
      .attr("class", (e) => ["edge", e.partitionType === "BLOCKING" ? "blocking" : "", e.partitioner === "broadcast" ? "broadcast" : "", e.input === 1 ? "second-input" : ""].filter((c) => c !== "").join(" "))
      .attr("data-input", (e) => String(e.input))
      .attr("d", (e) => {
        const s = pos(e.source);
        const t = pos(e.target);
        return `M${s.x + BOX_W},${s.y + BOX_H / 2}C${s.x + BOX_W + GAP_X / 2},${s.y + BOX_H / 2} ${t.x - GAP_X / 2},${t.y + BOX_H / 2} ${t.x},${t.y + BOX_H / 2}`;
      })
      .append("title")
      .text((e) => `${e.source} → ${e.target}${secondInputNote(e)}: ${e.partitioner}, ${e.partitionType}`);
    const boxes = this.svg
      .append("g")
      .selectAll("g.vertex")
      .data(g.vertices)
      .join("g")
      .attr("class", "vertex")
      .attr("data-vertex", (v) => v.id)
      .attr("transform", (v) => `translate(${pos(v.id).x},${pos(v.id).y})`);
    boxes.append("rect").attr("class", "box").attr("width", BOX_W).attr("height", BOX_H).attr("rx", 4);
    boxes.append("title").attr("class", "vertex-title");
    boxes.append("text").attr("class", "name").attr("x", 6).attr("y", 14).attr("font-weight", "bold");
    boxes.on("click", (_ev, v) => {
      this.selected = v.id;
      this.renderDetail();
    });
    boxes.append("text").attr("class", "ratios").attr("x", 6).attr("y", 28);
    boxes.append("text").attr("class", "watermark").attr("x", 6).attr("y", 41);
    boxes.each(function (v) {
      // Cells for the parallelism the vertex will have; an undecided vertex hides them until its decision.
      const n = finalParallelism(v.parallelism, replay.decisions.get(v.id));
      const cell = Math.min(CELL_MAX, (BOX_W - 12) / Math.max(1, n));
      d3.select(this)
        .selectAll("rect.subtask")
        .data(d3.range(n))
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

  /** The clicked vertex's parallelism decision at the scrub time (or why there is none yet). */
  private renderDetail(): void {
    const g = this.graph;
    const id = this.selected;
    const view = id === undefined ? undefined : this.views.get(id);
    const vertex = g?.vertices.find((v) => v.id === id);
    if (view === undefined || vertex === undefined) return;
    const head = document.createElement("strong");
    head.textContent = `${vertex.id} ${vertex.name}`;
    let lines: string[];
    if (view.decision !== undefined) lines = decisionLines(view.decision);
    else if (view.parallelism === undefined) lines = [`parallelism not decided yet at ${formatClock(this.lastT)} (adaptive batch scheduler)`];
    else lines = [`parallelism ${view.parallelism}, fixed at submission`];
    const before = this.was.get(vertex.id);
    if (before !== undefined) lines.push(`restored from a savepoint taken at parallelism ${before}: key groups redistributed ${before} → ${view.parallelism}`);
    const list = document.createElement("ul");
    list.append(...lines.map((l) => Object.assign(document.createElement("li"), { textContent: l })));
    this.detail.replaceChildren(head, list);
    this.detail.dataset.vertex = vertex.id;
    this.detail.dataset.decided = String(view.parallelism !== undefined);
    this.detail.dataset.path = view.decision?.path ?? "";
  }

  render(replay: Replay, failoverSubtasks: ReadonlySet<string>, t: number): void {
    const g = this.graph;
    if (g === undefined) return;
    const views = new Map<string, VertexView>(vertexViewsAt(g, replay.tasks, replay.metrics, failoverSubtasks, t, replay.decisions, replay.watermarkStatus).map((v) => [v.id, v]));
    this.views = views;
    this.lastT = t;
    // A restore from a savepoint that changed a vertex's parallelism: "×7 (was ×4)".
    const was = new Map(g.vertices.map((v) => [v.id, previousParallelismAt(replay.restore, v.id, t)]));
    this.was = was;
    const changed = new Set<string>();
    for (const [id, v] of views) {
      const key = `${JSON.stringify(v)}|${was.get(id) ?? ""}`;
      if (this.shown.get(id) !== key) changed.add(id);
      this.shown.set(id, key);
    }
    const boxes = this.svg.selectAll<SVGGElement, GraphVertex>("g.vertex").filter((v) => changed.has(v.id));
    boxes
      .classed("in-failover", (v) => views.get(v.id)!.inFailover)
      .classed("undecided", (v) => views.get(v.id)!.parallelism === undefined)
      .attr("data-parallelism", (v) => String(views.get(v.id)!.parallelism ?? "?"))
      .attr("data-was-parallelism", (v) => String(was.get(v.id) ?? ""))
      .classed("rescaled", (v) => was.get(v.id) !== undefined)
      .attr("data-level", (v) => views.get(v.id)!.level ?? "NA")
      .attr("data-states", (v) => Object.entries(views.get(v.id)!.stateCounts).map(([s, n]) => `${s}:${n}`).join(" "));
    boxes.select("rect.box").attr("fill", (v) => (views.get(v.id)!.parallelism === undefined ? "url(#undecided-hatch)" : (LEVEL_FILL[views.get(v.id)!.level ?? ""] ?? "#fff")));
    boxes.select("text.name").text((v) => {
      const before = was.get(v.id);
      // A shorter name leaves room for the previous parallelism in the box.
      const max = before === undefined ? 24 : 14;
      const name = vertexLabel(v.name);
      return `${name.length > max ? name.slice(0, max - 1) + "…" : name}  ×${views.get(v.id)!.parallelism ?? "?"}${before === undefined ? "" : ` (was ×${before})`}`;
    });
    boxes.select("title.vertex-title").text((v) => vertexTitle(v.id, v.chain, views.get(v.id)!));
    boxes.select("text.ratios").text((v) => {
      const view = views.get(v.id)!;
      return `busy ${pct(view.busyMax)}  backpressured ${pct(view.backpressuredMax)}${view.level ? ` (${view.level})` : ""}`;
    });
    boxes.select("text.watermark").text((v) => {
      const view = views.get(v.id)!;
      const wm = view.watermarkMs === undefined ? "–" : formatClock(view.watermarkMs * 1e6);
      if (view.idleSubtasks === 0) return `watermark ${wm}`;
      // Shorter with the idle count, to stay inside the box.
      return `idle ${view.idleSubtasks}/${view.runningSubtasks} · wm ${wm}`;
    });
    boxes.attr("data-idle", (v) => String(views.get(v.id)!.idleSubtasks));
    boxes.each(function (v) {
      const subtasks = views.get(v.id)!.subtasks;
      d3.select(this)
        .selectAll<SVGRectElement, number>("rect.subtask")
        .attr("display", (i) => (i < subtasks.length ? null : "none"))
        .classed("racing", (i) => (subtasks[i]?.liveAttempts ?? 0) > 1)
        .attr("data-live-attempts", (i) => String(subtasks[i]?.liveAttempts ?? 0))
        .attr("fill", (i) => stateColor(subtasks[i]?.state))
        .attr("data-state", (i) => subtasks[i]?.state ?? "NONE")
        .attr("data-failover", (i) => String(subtasks[i]?.inFailover ?? false))
        .select("title")
        .text((i) => {
          const s = subtasks[i];
          if (s === undefined) return `${v.id}[${i}]: not created yet`;
          return `${s.id}${s.liveAttempts > 1 ? ` (${s.liveAttempts} attempts racing)` : ""} attempt ${s.attempt ?? "–"}: ${s.state ?? "not started"}${s.region !== undefined ? `, region ${s.region}` : ""}${s.inFailover ? " (being restarted)" : ""}`;
        });
    });
    if (this.selected !== undefined && changed.has(this.selected)) this.renderDetail();
    // An outline turns orange only when all its regions restart; a partial restart shows on the subtask cells.
    if (changed.size === 0) return;
    const active = new Set([...failoverSubtasks].map((s) => g.regionOfSubtask.get(s)).filter((r): r is number => r !== undefined));
    this.svg.selectAll<SVGRectElement, { regions: number[] }>("rect.region").classed("failover", (o) => o.regions.every((r) => active.has(r)));
  }
}

function vertexTitle(id: string, chain: string[], view: VertexView): string {
  const head = `${id}: ${chain.join(" → ")}`;
  if (view.decision?.summary !== undefined) return `${head}\n${view.decision.summary}`;
  return view.parallelism === undefined ? `${head}\nparallelism not decided yet (adaptive batch scheduler)` : head;
}


/** A two-input vertex's second input (Flink's input 2): the broadcast side, or the second connected stream. */
function secondInputNote(e: GraphEdge): string {
  if (e.input !== 1) return "";
  return e.partitioner === "broadcast" ? " (input 2, broadcast)" : " (input 2)";
}
