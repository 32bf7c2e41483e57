/**
 * The replay shell: loads a trace (served URL, file picker, drag and drop), owns the
 * replay state (scrub time, selection, log filters, playing, speed), keeps it in the URL,
 * and renders every view at the scrub time — at most once per animation frame, however
 * many inputs arrive. Loading never leaves a blank page: a bad line shows the banner and
 * the valid prefix is replayed.
 */
import { formatUrlHash, parseUrlState } from "./model/url-state";
import { KIND_GROUPS, kindGroupsPresent, type LogFilter } from "./model/event-log";
import { failoverSubtasksAt } from "./model/failures";
import { formatClock } from "./model/format";
import { activeJmFailoverAt } from "./model/jm-failover";
import { jobStatusAt } from "./model/job-status";
import { parseTraceStream, type ParseResult } from "./model/parse";
import { buildReplay, type Replay } from "./model/replay";
import { nextEventTime, previousEventTime } from "./model/trace-index";
import { downloadChromeTrace } from "./perfetto";
import { CheckpointsView } from "./views/checkpoints-view";
import { FailuresView } from "./views/failures-view";
import { GanttView } from "./views/gantt-view";
import { GraphView } from "./views/graph-view";
import { LogView } from "./views/log-view";
import { MetricsView } from "./views/metrics-view";

const $ = <T extends Element>(sel: string) => document.querySelector(sel) as T;

/** What tests and the benchmark read (window.__flowsimViz). */
export interface VizProbe {
  loads: number;
  ready: boolean;
  events: number;
  problem: string | undefined;
  loadMs: number;
  firstRenderMs: number;
  renders: number;
  lastRenderMs: number;
  /** The last render's cost per view, ms (for the benchmark). */
  viewMs: Record<string, number>;
  timeNs: number;
  seek(tNs: number): void;
  focusGantt(fromNs: number, toNs: number): void;
}

export class App {
  private replay: Replay | undefined;
  private timeNs = 0;
  private selectedSeq: number | undefined;
  private filter: LogFilter = { kind: undefined, vertex: undefined, host: undefined };
  private tracePath: string | undefined;
  private traceName = "trace";
  private playing = false;
  private speed = 1;
  private framePending = false;
  private lastTick = 0;
  private readonly graph = new GraphView($("#graph"), $("#vertex-detail"));
  private readonly gantt: GanttView;
  private readonly checkpoints: CheckpointsView;
  private readonly failures: FailuresView;
  private readonly metrics = new MetricsView($("#metrics"));
  private readonly log: LogView;
  private readonly slider = $<HTMLInputElement>("#time-slider");
  readonly probe: VizProbe;

  constructor() {
    const seek = (t: number, seq: number) => this.seek(t, seq);
    this.gantt = new GanttView($("#gantt"), $("#gantt-overlay"), $("#gantt-tip"), $("#gantt-brush"), $("#gantt-blocked"), { onSelectAttempt: (a) => this.select(a.firstSeq) });
    this.checkpoints = new CheckpointsView($("#checkpoints"), seek);
    this.failures = new FailuresView($("#failures"), seek);
    this.log = new LogView($("#log"), $("#log-count"), $("#event-detail"), seek);
    this.probe = {
      loads: 0,
      ready: false,
      events: 0,
      problem: undefined,
      loadMs: 0,
      firstRenderMs: 0,
      renders: 0,
      lastRenderMs: 0,
      viewMs: {},
      timeNs: 0,
      seek: (t) => this.setTime(t),
      focusGantt: (a, b) => this.gantt.focus(a, b),
    };
    this.wireControls();
  }

  /** Starts from the URL: a served trace to fetch, or the empty page waiting for a file. */
  async start(): Promise<void> {
    const url = parseUrlState(location.search, location.hash);
    this.filter = url.filter;
    if (url.trace === undefined) {
      $("#run-title").textContent = "no trace loaded — open a file or drop one here";
      return;
    }
    this.tracePath = url.trace;
    this.traceName = url.trace.split("/").pop() ?? "trace";
    let response: Response;
    try {
      response = await fetch(url.trace);
    } catch (err) {
      this.showBanner(`could not fetch ${url.trace}: ${(err as Error).message}`, "error");
      return;
    }
    if (!response.ok || response.body === null) {
      this.showBanner(`could not fetch ${url.trace}: HTTP ${response.status}`, "error");
      return;
    }
    await this.load(response.body, url.timeNs, url.selectedSeq);
  }

  async loadFile(file: File): Promise<void> {
    this.tracePath = undefined;
    this.traceName = file.name;
    history.replaceState(null, "", location.pathname);
    await this.load(file.stream(), undefined, undefined);
  }

  private async load(stream: ReadableStream<Uint8Array>, timeNs: number | undefined, selectedSeq: number | undefined): Promise<void> {
    const t0 = performance.now();
    this.probe.ready = false;
    this.setPlaying(false);
    this.hideBanner();
    $("#run-title").textContent = `loading ${this.traceName}…`;
    let result: ParseResult;
    try {
      result = await parseTraceStream(stream, (bytes, events) => {
        $("#run-title").textContent = `loading ${this.traceName}… ${(bytes / 1e6).toFixed(1)} MB, ${events.toLocaleString("en")} events`;
      });
    } catch (err) {
      result = { events: [], problem: { line: 0, message: `reading ${this.traceName} failed: ${(err as Error).message}` }, truncated: true };
    }
    this.probe.loadMs = performance.now() - t0;
    this.report(result);
    if (result.events.length === 0) {
      $("#run-title").textContent = `${this.traceName}: nothing to show`;
      this.replay = undefined;
      this.probe.loads++;
      this.probe.ready = true;
      return;
    }
    this.replay = buildReplay(result.events);
    const r = this.replay;
    $("#run-title").textContent = `${this.traceName} — ${r.scenario ?? "?"} seed ${r.seed ?? "?"} · ${result.events.length.toLocaleString("en")} events · ${formatClock(r.index.endNs)}`;
    this.slider.min = String(r.index.startNs);
    this.slider.max = String(r.index.endNs);
    fillSelect($("#filter-kind"), r.index.kinds, this.filter.kind, kindGroupsPresent(r.index.kinds));
    fillSelect($("#filter-vertex"), r.index.vertices, this.filter.vertex);
    fillSelect($("#filter-host"), r.index.hosts, this.filter.host);
    this.graph.load(r);
    this.gantt.load(r);
    this.checkpoints.load(r);
    this.failures.load(r);
    this.metrics.load(r);
    this.log.load(r, this.filter);
    $<HTMLButtonElement>("#export-perfetto").disabled = false;
    this.timeNs = Math.min(Math.max(timeNs ?? r.index.startNs, r.index.startNs), r.index.endNs);
    this.selectedSeq = selectedSeq !== undefined && selectedSeq < result.events.length ? selectedSeq : undefined;
    this.renderNow();
    this.probe.firstRenderMs = performance.now() - t0;
    this.probe.events = result.events.length;
    this.probe.loads++;
    this.probe.ready = true;
  }

  private report(result: ParseResult): void {
    this.probe.problem = result.problem?.message;
    if (result.problem !== undefined) {
      const kept = result.events.length;
      this.showBanner(`${result.problem.message} — ${kept > 0 ? `showing the ${kept.toLocaleString("en")} events before it` : "nothing to show"}`, "error", result.problem.line);
    } else if (result.truncated) {
      this.showBanner(`trace is truncated: no RunEnded after line ${result.events.length} (the run crashed or was interrupted); showing what it recorded`, "warning", result.events.length + 1);
    }
  }

  private showBanner(text: string, level: "error" | "warning", line?: number): void {
    const b = $<HTMLElement>("#banner");
    b.textContent = text;
    b.className = level === "warning" ? "warning" : "";
    b.dataset.level = level;
    b.dataset.line = line === undefined ? "" : String(line);
    b.hidden = false;
  }

  private hideBanner(): void {
    $<HTMLElement>("#banner").hidden = true;
  }

  setTime(t: number): void {
    const r = this.replay;
    if (r === undefined) return;
    // Virtual time is integer ns; playback computes fractions from real time.
    this.timeNs = Math.round(Math.min(Math.max(t, r.index.startNs), r.index.endNs));
    this.scheduleRender();
  }

  private seek(t: number, seq: number): void {
    this.selectedSeq = seq;
    this.setPlaying(false);
    this.setTime(t);
  }

  private select(seq: number): void {
    this.selectedSeq = seq;
    this.scheduleRender();
  }

  private scheduleRender(): void {
    if (this.framePending) return;
    this.framePending = true;
    requestAnimationFrame(() => {
      this.framePending = false;
      this.renderNow();
    });
  }

  private renderNow(): void {
    const r = this.replay;
    if (r === undefined) return;
    const t0 = performance.now();
    const t = this.timeNs;
    this.slider.value = String(t);
    $("#clock").textContent = `t = ${formatClock(t)}`;
    $<HTMLElement>("#clock").dataset.t = String(t);
    const viewMs: Record<string, number> = {};
    let lap = performance.now();
    const timed = (name: string, f: () => void) => {
      f();
      const now = performance.now();
      viewMs[name] = now - lap;
      lap = now;
    };
    // Reads of layout (the log's scroll position) come before any DOM write, so a frame lays out once.
    timed("measure", () => this.log.measure());
    const failoverSubtasks = failoverSubtasksAt(r.failovers, t);
    timed("graph", () => this.graph.render(r, failoverSubtasks, t));
    timed("gantt", () => this.gantt.renderCursor(t));
    timed("checkpoints", () => this.checkpoints.render(t));
    timed("failures", () => this.failures.render(t));
    timed("metrics", () => this.metrics.render(t));
    timed("log", () => this.log.render(t, this.selectedSeq));
    this.renderJobStatus(r, t);
    this.probe.viewMs = viewMs;
    this.writeUrl();
    this.probe.timeNs = t;
    this.probe.renders++;
    this.probe.lastRenderMs = performance.now() - t0;
  }

  /** The job's status at t (RECONCILING while a new leader recovers) and, during a JobManager failover, its phase. */
  private renderJobStatus(r: Replay, t: number): void {
    const el = $<HTMLElement>("#job-status");
    const status = jobStatusAt(r.jobStatus, t) ?? "–";
    const jm = activeJmFailoverAt(r.jmFailovers, t);
    const jmText = jm === undefined ? "" : jm.phase === "outage" ? ` · JobManager down since ${formatClock(jm.failover.lostNs)}` : " · new JobManager leader reconciling";
    el.textContent = `job ${status}${jmText}`;
    el.dataset.status = status;
    el.dataset.jm = jm?.phase ?? "leader";
  }

  private urlTimer: ReturnType<typeof setTimeout> | undefined;
  /** URL updates are throttled: replaceState on every frame of playback is slow in some browsers. */
  private writeUrl(): void {
    if (this.urlTimer !== undefined) return;
    this.urlTimer = setTimeout(() => {
      this.urlTimer = undefined;
      const search = this.tracePath !== undefined ? `?trace=${encodeURIComponent(this.tracePath)}` : "";
      history.replaceState(null, "", `${location.pathname}${search}${formatUrlHash({ timeNs: this.timeNs, selectedSeq: this.selectedSeq, filter: this.filter })}`);
    }, 150);
  }

  private setPlaying(on: boolean): void {
    this.playing = on;
    $("#play").textContent = on ? "pause" : "play";
    if (on) {
      this.lastTick = performance.now();
      requestAnimationFrame((now) => this.tick(now));
    }
  }

  /** Playback: virtual time advances by speed × real time elapsed. */
  private tick(now: number): void {
    if (!this.playing || this.replay === undefined) return;
    const dtMs = now - this.lastTick;
    this.lastTick = now;
    const next = this.timeNs + dtMs * 1e6 * this.speed;
    this.setTime(next);
    if (next >= this.replay.index.endNs) this.setPlaying(false);
    else requestAnimationFrame((n) => this.tick(n));
  }

  private wireControls(): void {
    this.slider.addEventListener("input", () => this.setTime(Number(this.slider.value)));
    $("#play").addEventListener("click", () => this.setPlaying(!this.playing));
    $("#step").addEventListener("click", () => this.step(1));
    $("#step-back").addEventListener("click", () => this.step(-1));
    $<HTMLSelectElement>("#speed").addEventListener("change", (ev) => (this.speed = Number((ev.target as HTMLSelectElement).value)));
    $<HTMLInputElement>("#seek-seq").addEventListener("change", (ev) => {
      const seq = Number((ev.target as HTMLInputElement).value);
      const e = this.replay?.index.events[seq];
      if (e !== undefined) this.seek(e.t, e.seq);
    });
    for (const [id, field] of [["#filter-kind", "kind"], ["#filter-vertex", "vertex"], ["#filter-host", "host"]] as const) {
      $<HTMLSelectElement>(id).addEventListener("change", (ev) => {
        const v = (ev.target as HTMLSelectElement).value;
        this.filter = { ...this.filter, [field]: v === "" ? undefined : v };
        this.log.setFilter(this.filter);
        this.scheduleRender();
      });
    }
    $<HTMLInputElement>("#file-input").addEventListener("change", (ev) => {
      const f = (ev.target as HTMLInputElement).files?.[0];
      if (f !== undefined) void this.loadFile(f);
    });
    $("#export-perfetto").addEventListener("click", () => {
      if (this.replay === undefined) return;
      try {
        downloadChromeTrace(this.replay.index.events, this.traceName);
      } catch (err) {
        this.showBanner(`export to Perfetto failed: ${(err as Error).message}`, "error");
      }
    });
    const hint = $<HTMLElement>("#drop-hint");
    window.addEventListener("dragover", (ev) => {
      ev.preventDefault();
      hint.hidden = false;
    });
    window.addEventListener("dragleave", (ev) => {
      if (ev.relatedTarget === null) hint.hidden = true;
    });
    window.addEventListener("drop", (ev) => {
      ev.preventDefault();
      hint.hidden = true;
      const f = ev.dataTransfer?.files[0];
      if (f !== undefined) void this.loadFile(f);
    });
    window.addEventListener("keydown", (ev) => {
      if ((ev.target as HTMLElement).tagName === "INPUT" || (ev.target as HTMLElement).tagName === "SELECT") return;
      if (ev.key === "ArrowRight") this.step(1);
      else if (ev.key === "ArrowLeft") this.step(-1);
      else if (ev.key === " ") {
        ev.preventDefault();
        this.setPlaying(!this.playing);
      }
    });
    let resizeTimer: ReturnType<typeof setTimeout> | undefined;
    window.addEventListener("resize", () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => {
        if (this.replay === undefined) return;
        this.gantt.resize();
        this.metrics.load(this.replay);
        this.checkpoints.resize();
        this.renderNow();
      }, 200);
    });
  }

  /** Step to the next (or previous) event time; the newest event there becomes the selection. */
  private step(dir: 1 | -1): void {
    const r = this.replay;
    if (r === undefined) return;
    this.setPlaying(false);
    const t = dir === 1 ? nextEventTime(r.index, this.timeNs) : previousEventTime(r.index, this.timeNs);
    if (t === undefined) return;
    this.timeNs = t;
    this.selectedSeq = undefined;
    this.scheduleRender();
  }
}

/** The options: "all", then the kind groups present (if any), then each value. */
function fillSelect(sel: HTMLSelectElement, values: readonly string[], selected: string | undefined, groups: readonly string[] = []): void {
  const first = sel.options[0]!;
  const groupOptions = groups.map((g) => new Option(`group: ${KIND_GROUPS[g]!.label}`, g, false, g === selected));
  sel.replaceChildren(first, ...groupOptions, ...values.map((v) => new Option(v, v, false, v === selected)));
}
