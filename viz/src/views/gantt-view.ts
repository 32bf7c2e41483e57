/**
 * Slots and attempts (canvas Gantt): one lane per (host, slot), attempts as bars split
 * into their phases, speculative attempts outlined dashed, fault / TaskManager-lost /
 * failover / restart markers as vertical lines, and the scrub time as a cursor with the
 * future greyed. Subtasks that ran speculative attempts get a group of lanes below the
 * slots, one per racing attempt, the winner outlined in gold with a star and cancelled
 * losers hatched and crossed out. A blocklisted host's lanes are shaded red while it is
 * blocked (NodeBlocked to NodeUnblocked or expiry), and a strip above the chart names the
 * hosts blocked at the scrub time. A JobManager failover gets a lane on top with its outage
 * (lost → leader elected) and reconciling phase (→ recovery finished) as solid bands,
 * the same spans shaded faintly behind every lane. The bars are drawn on a base canvas only when the trace or the zoom
 * changes; a scrub only moves two DOM elements over it (cursor and greying of the
 * future) by a compositor transform, so it costs no canvas repaint however tall the chart.
 *
 * Zoom is semantic (d3-zoom rescales the time axis) with a d3-brush overview below for
 * focus + context. Hovering hit-tests by time and lane (model/gantt `attemptAt`); the
 * canvas exposes its axis and lane layout as data attributes so tests can aim at a bar.
 */
import * as d3 from "d3";
import { formatClock, formatDuration } from "../model/format";
import { blockedAt, blockedHostsAt } from "../model/blocklist";
import { attemptAt, type Lane } from "../model/gantt";
import { jmFailoverBands as jmBands } from "../model/jm-failover";
import type { Replay } from "../model/replay";
import { raceRole, type RaceRole } from "../model/speculation";
import type { Attempt } from "../model/tasks";
import { BLOCKED_BAND, BLOCKED_FILL, JM_COLORS, MARKER_COLORS, RACE_COLORS, stateColor } from "./colors";

const LABEL_W = 90;
const LANE_H = 18;
const TOP = 16;

export interface GanttCallbacks {
  onSelectAttempt(a: Attempt): void;
}

export class GanttView {
  private replay: Replay | undefined;
  private x0 = d3.scaleLinear();
  private x = d3.scaleLinear();
  private width = 0;
  private height = 0;
  private readonly zoom: d3.ZoomBehavior<HTMLCanvasElement, unknown>;
  private readonly brush: d3.BrushBehavior<unknown>;
  private syncing = false;
  private lastT = 0;
  private blockedShown: string | undefined;

  constructor(
    private readonly base: HTMLCanvasElement,
    /** The cursor layer: a div whose left edge is the cursor, greying what lies right of it. */
    private readonly overlay: HTMLElement,
    private readonly tip: HTMLElement,
    private readonly brushSvg: SVGSVGElement,
    /** Names the hosts blocklisted at the scrub time. */
    private readonly blockedNow: HTMLElement,
    private readonly callbacks: GanttCallbacks,
  ) {
    this.zoom = d3
      .zoom<HTMLCanvasElement, unknown>()
      .scaleExtent([1, 1e7])
      .filter((ev: Event) => !(ev instanceof MouseEvent && ev.type === "dblclick"))
      .on("zoom", (ev: d3.D3ZoomEvent<HTMLCanvasElement, unknown>) => this.onZoom(ev.transform));
    d3.select(base).call(this.zoom);
    this.brush = d3.brushX().on("brush end", (ev: d3.D3BrushEvent<unknown>) => this.onBrush(ev));
    base.addEventListener("mousemove", (ev) => this.onHover(ev));
    base.addEventListener("mouseleave", () => (this.tip.hidden = true));
    base.addEventListener("click", (ev) => {
      const a = this.hit(ev.offsetX, ev.offsetY);
      if (a !== undefined) this.callbacks.onSelectAttempt(a);
    });
  }

  load(replay: Replay): void {
    this.replay = replay;
    this.blockedShown = undefined;
    // The legend explains speculation, blocklist and JobManager marks: shown only when the trace has some, each key only for what it has.
    const legend = this.blockedNow.parentElement!;
    const has = {
      spec: replay.tasks.attempts.some((a) => a.speculative),
      blocked: replay.blocklist.intervals.length > 0,
      jm: replay.jmFailovers.length > 0,
      "jm-reconciling": replay.jmFailovers.some((f) => jmBands(f, replay.index.endNs).some((b) => b.phase === "reconciling")),
    };
    legend.hidden = !has.spec && !has.blocked && !has.jm;
    legend.querySelectorAll<HTMLElement>(".key").forEach((k) => (k.hidden = !has[(k.dataset.for ?? "spec") as keyof typeof has]));
    this.resize();
  }

  resize(): void {
    const r = this.replay;
    if (r === undefined) return;
    const wrap = this.base.parentElement!;
    this.width = wrap.clientWidth - 2;
    this.height = TOP + Math.max(1, r.gantt.lanes.length) * LANE_H + 4;
    sizeCanvas(this.base, this.width, this.height);
    const end = Math.max(r.index.endNs, r.index.startNs + 1);
    this.x0 = d3.scaleLinear().domain([r.index.startNs, end]).range([LABEL_W, this.width - 4]);
    this.zoom.translateExtent([[LABEL_W, 0], [this.width - 4, this.height]]).extent([[LABEL_W, 0], [this.width - 4, this.height]]);
    d3.select(this.brushSvg).selectAll("*").remove();
    const bw = this.brushSvg.clientWidth || this.width;
    this.brush.extent([[LABEL_W, 2], [bw - 4, 30]]);
    const brushX = this.x0.copy().range([LABEL_W, bw - 4]);
    d3.select(this.brushSvg).append("g").attr("transform", "translate(0,18)").call(d3.axisBottom(brushX).ticks(8).tickFormat((d) => `${(+d / 1e9).toFixed(2)}s`).tickSize(3));
    d3.select(this.brushSvg).append("g").attr("class", "brush").call(this.brush);
    this.x = this.x0.copy();
    d3.select(this.base).call(this.zoom.transform, d3.zoomIdentity);
    this.draw();
  }

  /** Shows [fromNs, toNs] (used by the brush and tests). */
  focus(fromNs: number, toNs: number): void {
    const k = (this.x0.range()[1]! - this.x0.range()[0]!) / (this.x0(toNs) - this.x0(fromNs));
    const tx = LABEL_W - k * this.x0(fromNs);
    d3.select(this.base).call(this.zoom.transform, d3.zoomIdentity.translate(tx, 0).scale(k));
  }

  private onZoom(transform: d3.ZoomTransform): void {
    this.x = transform.rescaleX(this.x0);
    this.draw();
    this.renderCursor(this.lastT);
    if (this.syncing) return;
    this.syncing = true;
    const bw = this.brushSvg.clientWidth || this.width;
    const brushX = this.x0.copy().range([LABEL_W, bw - 4]);
    const [a, b] = this.x.domain() as [number, number];
    const full = transform.k === 1;
    d3.select(this.brushSvg).select<SVGGElement>("g.brush").call(this.brush.move, full ? null : [brushX(a), brushX(b)]);
    this.syncing = false;
  }

  private onBrush(ev: d3.D3BrushEvent<unknown>): void {
    if (this.syncing || ev.sourceEvent === undefined) return;
    const bw = this.brushSvg.clientWidth || this.width;
    const brushX = this.x0.copy().range([LABEL_W, bw - 4]);
    const sel = ev.selection as [number, number] | null;
    this.syncing = true;
    if (sel === null) d3.select(this.base).call(this.zoom.transform, d3.zoomIdentity);
    else this.focus(brushX.invert(sel[0]), brushX.invert(sel[1]));
    this.syncing = false;
  }

  private draw(): void {
    const r = this.replay;
    if (r === undefined) return;
    const ctx = this.base.getContext("2d")!;
    ctx.setTransform(devicePixelRatio, 0, 0, devicePixelRatio, 0, 0);
    ctx.clearRect(0, 0, this.width, this.height);
    const [d0, d1] = this.x.domain() as [number, number];
    // Axis ticks along the top.
    ctx.fillStyle = "#607d8b";
    ctx.font = "10px system-ui";
    // Ticks in seconds with as many digits as the zoom needs (d3 picks them from the tick step).
    const secs = d3.scaleLinear().domain([d0 / 1e9, d1 / 1e9]);
    const fmt = secs.tickFormat(8);
    for (const tick of secs.ticks(8)) {
      const px = this.x(tick * 1e9);
      ctx.fillRect(px, TOP - 3, 1, 3);
      ctx.fillText(`${fmt(tick)}s`, px + 2, TOP - 5);
    }
    this.drawJobManagerFills(ctx, d0, d1);
    r.gantt.lanes.forEach((lane, i) => {
      const y = TOP + i * LANE_H;
      if (lane.kind === "jobmanager") this.drawJobManagerLane(ctx, y, d0, d1);
      else if (lane.kind === "race") this.drawRaceLaneFrame(ctx, lane, i, y);
      else this.drawSlotLaneFrame(ctx, lane, i, y, d0, d1);
      this.drawLane(ctx, lane, y, d0, d1, r.index.endNs);
    });
    this.base.dataset.domain = `${d0},${d1}`;
    this.base.dataset.range = `${this.x.range()[0]},${this.x.range()[1]}`;
    this.base.dataset.laneTop = String(TOP);
    this.base.dataset.laneHeight = String(LANE_H);
    this.base.dataset.lanes = r.gantt.lanes.map(laneKey).join(",");
    this.base.dataset.jmBands = r.jmFailovers.map((f) => jmBands(f, r.index.endNs).map((b) => `${b.phase}:${b.fromNs}-${b.toNs}`).join(" ")).join(",");
    for (const m of r.gantt.markers) {
      if (m.tNs < d0 || m.tNs > d1) continue;
      const px = Math.round(this.x(m.tNs));
      ctx.fillStyle = MARKER_COLORS[m.kind] ?? "#000";
      const lanes = r.gantt.lanes.map((l, i) => [l, i] as const).filter(([l]) => m.host === undefined || (l.kind === "slot" && l.host === m.host));
      for (const [, i] of lanes) ctx.fillRect(px - 1, TOP + i * LANE_H, 2, LANE_H);
      ctx.beginPath();
      ctx.moveTo(px - 4, TOP);
      ctx.lineTo(px + 4, TOP);
      ctx.lineTo(px, TOP + 6);
      ctx.fill();
    }
  }

  /** The JobManager's outage and reconciling spans, faint, behind every lane below the JobManager's own. */
  private drawJobManagerFills(ctx: CanvasRenderingContext2D, d0: number, d1: number): void {
    const lanes = this.replay!.gantt.lanes;
    const first = lanes.findIndex((l) => l.kind !== "jobmanager");
    if (first < 0 || first === 0) return;
    const y0 = TOP + first * LANE_H;
    for (const f of this.replay!.jmFailovers) {
      for (const b of jmBands(f, this.replay!.index.endNs)) {
        const span = this.span(b.fromNs, b.toNs, d0, d1);
        if (span === undefined) continue;
        ctx.fillStyle = b.phase === "outage" ? JM_COLORS.outageFill : JM_COLORS.reconcilingFill;
        ctx.fillRect(span.x, y0, span.w, (lanes.length - first) * LANE_H);
      }
    }
  }

  /** The JobManager lane: its label, then each failover's outage and reconciling bands, solid. */
  private drawJobManagerLane(ctx: CanvasRenderingContext2D, y: number, d0: number, d1: number): void {
    ctx.fillStyle = "#90a4ae";
    ctx.fillRect(0, y, this.width, 1);
    ctx.fillStyle = "#37474f";
    ctx.fillText("JobManager", 2, y + 13, LABEL_W - 4);
    for (const f of this.replay!.jmFailovers) {
      for (const b of jmBands(f, this.replay!.index.endNs)) {
        const span = this.span(b.fromNs, b.toNs, d0, d1);
        if (span === undefined) continue;
        ctx.fillStyle = b.phase === "outage" ? JM_COLORS.outage : JM_COLORS.reconciling;
        ctx.fillRect(span.x, y + 3, span.w, LANE_H - 6);
        const label = b.phase === "outage" ? `JobManager down ${formatDuration(b.toNs - b.fromNs)}` : "reconciling";
        // The label keeps 8 px clear of the band's start, where a marker's triangle may sit.
        if (span.w > 80) {
          ctx.fillStyle = "#fff";
          ctx.fillText(label, span.x + 8, y + 13, span.w - 12);
        }
      }
    }
  }

  /** Pixels of [fromNs, toNs) clipped to the view, at least 2 px wide so a short phase stays visible; undefined when off screen. */
  private span(fromNs: number, toNs: number, d0: number, d1: number): { x: number; w: number } | undefined {
    if (toNs < d0 || fromNs > d1) return undefined;
    const x = this.x(Math.max(fromNs, d0));
    return { x, w: Math.max(2, this.x(Math.min(toNs, d1)) - x) };
  }

  /** Separators and the host / slot label; the host's blocked intervals shaded behind the bars, with a band along the top. */
  private drawSlotLaneFrame(ctx: CanvasRenderingContext2D, lane: Lane, i: number, y: number, d0: number, d1: number): void {
    const lanes = this.replay!.gantt.lanes;
    const firstOfHost = i === 0 || lanes[i - 1]!.host !== lane.host || lanes[i - 1]!.kind !== "slot";
    ctx.fillStyle = firstOfHost ? "#90a4ae" : "#eceff1";
    ctx.fillRect(0, y, this.width, 1);
    const firstOfSlot = lane.track === 0;
    if (!firstOfHost && firstOfSlot) {
      ctx.fillStyle = "#cfd8dc";
      ctx.fillRect(LABEL_W, y, this.width - LABEL_W, 1);
    }
    for (const iv of this.replay!.blocklist.intervals) {
      if (iv.host !== lane.host || iv.toNs < d0 || iv.fromNs > d1) continue;
      const x0 = this.x(Math.max(iv.fromNs, d0));
      const w = Math.max(1, this.x(Math.min(iv.toNs, d1)) - x0);
      ctx.fillStyle = BLOCKED_FILL;
      ctx.fillRect(x0, y + 1, w, LANE_H - 1);
      ctx.fillStyle = BLOCKED_BAND;
      ctx.fillRect(x0, y + 1, w, 2);
    }
    ctx.fillStyle = "#37474f";
    if (firstOfSlot) ctx.fillText(`${firstOfHost ? lane.host : ""}  ${lane.slot < 0 ? "no slot used" : `slot ${lane.slot}`}`, 2, y + 13);
  }

  /** A race lane: the group's heading line and subtask label, then the attempt and where it ran. */
  private drawRaceLaneFrame(ctx: CanvasRenderingContext2D, lane: Lane, i: number, y: number): void {
    const lanes = this.replay!.gantt.lanes;
    const firstRace = lanes[i - 1]?.kind !== "race";
    ctx.fillStyle = RACE_COLORS.background;
    ctx.fillRect(LABEL_W, y, this.width - LABEL_W, LANE_H);
    ctx.fillStyle = firstRace ? "#263238" : lane.track === 0 ? "#9575cd" : "#ede7f6";
    ctx.fillRect(0, y, this.width, firstRace ? 2 : 1);
    const a = lane.attempts[0]!;
    ctx.fillStyle = "#4a148c";
    ctx.fillText(`${lane.track === 0 ? a.subtask : ""} #${a.attempt} ${a.host}/${a.slot}`, 2, y + 13, LABEL_W - 4);
  }

  private drawLane(ctx: CanvasRenderingContext2D, lane: Lane, y: number, d0: number, d1: number, endNs: number): void {
    for (const a of lane.attempts) {
      const end = a.endNs ?? endNs;
      if (end < d0 || a.phases[0]!.startNs > d1) continue;
      for (let p = 0; p < a.phases.length; p++) {
        const ph = a.phases[p]!;
        const phEnd = p + 1 < a.phases.length ? a.phases[p + 1]!.startNs : end;
        const x0 = this.x(Math.max(ph.startNs, d0));
        const x1 = this.x(Math.min(phEnd, d1));
        ctx.fillStyle = stateColor(ph.state);
        ctx.fillRect(x0, y + 3, Math.max(1, x1 - x0), LANE_H - 6);
      }
      const xs = this.x(a.phases[0]!.startNs);
      const xe = this.x(end);
      if (a.endState === "FAILED") {
        ctx.fillStyle = stateColor("FAILED");
        ctx.fillRect(xe - 2, y + 1, 4, LANE_H - 2);
      }
      if (a.speculative) {
        ctx.setLineDash([3, 2]);
        ctx.strokeStyle = RACE_COLORS.speculative;
        ctx.strokeRect(xs, y + 2, Math.max(1, xe - xs), LANE_H - 4);
        ctx.setLineDash([]);
      }
      const role = raceRole(this.replay!.speculation, a);
      if (role !== undefined) this.drawRaceMark(ctx, a, role, xs, xe, y);
      if (xe - xs > 40) {
        ctx.fillStyle = "#102027";
        ctx.fillText(`${a.subtask}${a.attempt > 0 ? ` #${a.attempt}` : ""}`, Math.max(xs, LABEL_W) + 3, y + 13, xe - Math.max(xs, LABEL_W) - 4);
      }
    }
  }

  /** The winner: a gold outline and a star after its end; a cancelled loser: hatched, with a cross at its end. */
  private drawRaceMark(ctx: CanvasRenderingContext2D, a: Attempt, role: RaceRole, xs: number, xe: number, y: number): void {
    const w = Math.max(1, xe - xs);
    if (role === "winner") {
      ctx.strokeStyle = RACE_COLORS.winner;
      ctx.lineWidth = 2;
      ctx.strokeRect(xs, y + 2, w, LANE_H - 4);
      ctx.lineWidth = 1;
      ctx.fillStyle = RACE_COLORS.winner;
      ctx.fillText("★", xe + 2, y + 13);
      return;
    }
    if (role !== "loser" || a.endState !== "CANCELED") return;
    ctx.save();
    ctx.beginPath();
    ctx.rect(xs, y + 3, w, LANE_H - 6);
    ctx.clip();
    ctx.strokeStyle = RACE_COLORS.cancelledHatch;
    ctx.beginPath();
    for (let hx = xs - LANE_H; hx < xe; hx += 6) {
      ctx.moveTo(hx, y + LANE_H - 3);
      ctx.lineTo(hx + LANE_H - 6, y + 3);
    }
    ctx.stroke();
    ctx.restore();
    ctx.strokeStyle = RACE_COLORS.cancelledCross;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(xe - 4, y + 4);
    ctx.lineTo(xe + 4, y + LANE_H - 4);
    ctx.moveTo(xe + 4, y + 4);
    ctx.lineTo(xe - 4, y + LANE_H - 4);
    ctx.stroke();
    ctx.lineWidth = 1;
  }

  /** Cursor at the scrub time; everything after it greyed. Moves DOM layers only. */
  renderCursor(t: number): void {
    this.lastT = t;
    if (this.replay === undefined) return;
    const px = Math.max(LABEL_W, Math.min(this.width, this.x(t)));
    this.overlay.style.height = `${this.height}px`;
    this.overlay.style.width = `${this.width}px`;
    this.overlay.style.transform = `translateX(${px}px)`;
    this.overlay.dataset.cursorX = String(px);
    this.renderBlockedNow(t);
  }

  /** The strip naming the hosts blocked at t; touches the DOM only when that set changes. */
  private renderBlockedNow(t: number): void {
    const r = this.replay!;
    const hosts = blockedHostsAt(r.blocklist, t);
    const key = hosts.join(",");
    if (key === this.blockedShown) return;
    this.blockedShown = key;
    this.blockedNow.dataset.blocked = key;
    this.blockedNow.hidden = r.blocklist.intervals.length === 0;
    const items = hosts.map((h) => {
      const iv = blockedAt(r.blocklist, h, t)!;
      const span = document.createElement("span");
      span.className = "blocked-host";
      span.dataset.host = h;
      span.textContent = `${h} until ${formatClock(iv.toNs)}`;
      span.title = iv.causes.join("; ");
      return span;
    });
    this.blockedNow.replaceChildren(`blocklisted now: ${hosts.length === 0 ? "none" : ""}`, ...items);
  }

  /** The attempt under canvas point (px, py), if any. */
  hit(px: number, py: number): Attempt | undefined {
    const r = this.replay;
    if (r === undefined || px < LABEL_W) return undefined;
    const lane = r.gantt.lanes[Math.floor((py - TOP) / LANE_H)];
    if (lane === undefined || py < TOP) return undefined;
    // A bar is at least 1px wide: accept half a pixel either side.
    const t = this.x.invert(px);
    const slack = Math.abs(this.x.invert(px + 1) - t);
    return attemptAt(lane, t, r.index.endNs) ?? attemptAt(lane, t + slack, r.index.endNs) ?? attemptAt(lane, t - slack, r.index.endNs);
  }

  private onHover(ev: MouseEvent): void {
    const a = this.hit(ev.offsetX, ev.offsetY);
    if (a === undefined) {
      this.tip.hidden = true;
      return;
    }
    const t = this.x.invert(ev.offsetX);
    let state = a.phases[0]!.state;
    for (const p of a.phases) if (p.startNs <= t) state = p.state;
    const dur = (a.endNs ?? this.replay!.index.endNs) - a.phases[0]!.startNs;
    const role = raceRole(this.replay!.speculation, a);
    this.tip.textContent = `${a.subtask} attempt ${a.attempt}${a.speculative ? " (speculative)" : ""}${raceText(role, a)} · ${a.name} · ${a.host}/slot ${a.slot} · ${state} · ${formatClock(a.phases[0]!.startNs)} +${formatDuration(dur)}${a.endState ? ` → ${a.endState}` : ""}${a.cause ? ` (${a.cause})` : ""}`;
    this.tip.dataset.subtask = a.subtask;
    this.tip.dataset.attempt = String(a.attempt);
    this.tip.dataset.state = state;
    this.tip.dataset.speculative = String(a.speculative);
    this.tip.dataset.race = role === undefined ? "" : role === "loser" && a.endState === "CANCELED" ? "cancelled" : role;
    this.tip.style.left = `${Math.min(ev.offsetX + 12, this.width - 300)}px`;
    this.tip.style.top = `${ev.offsetY + 12}px`;
    this.tip.hidden = false;
  }
}

function laneKey(l: Lane): string {
  if (l.kind === "race") return `race:${l.subtask}/${l.attempts[0]!.attempt}`;
  return l.kind === "jobmanager" ? "jobmanager" : `${l.host}/${l.slot}/${l.track}`;
}

function raceText(role: RaceRole | undefined, a: Attempt): string {
  if (role === "winner") return " ★ won the race";
  if (role === "loser") return a.endState === "CANCELED" ? " ✕ lost the race, cancelled" : " lost the race";
  return role === "racing" ? " racing" : "";
}

export function sizeCanvas(c: HTMLCanvasElement, w: number, h: number): void {
  c.width = Math.max(1, Math.round(w * devicePixelRatio));
  c.height = Math.max(1, Math.round(h * devicePixelRatio));
  c.style.width = `${w}px`;
  c.style.height = `${h}px`;
}
