/**
 * Checkpoints: a history strip of the last checkpoints triggered by the scrub time (bar
 * height ∝ duration, colour by status as of t), the selected checkpoint's details with
 * min / median / max of those completed, and a canvas Gantt of its subtasks' phases
 * (start delay, alignment, sync, async) sorted by duration, slowest first. It follows the
 * newest checkpoint unless one is pinned by a click. Savepoints sit in the same strip,
 * wider, purple and labelled "SP"; their Gantt is the same (their acks are per subtask).
 * Above the strip, when the trace's job started from a savepoint, a restore card: the
 * savepoint, claim mode, format, per vertex old → new parallelism, and the snapshot files
 * deleted by the scrub time (CLAIM only).
 */
import { ackDurationNs, checkpointsAt, completedSummaryAt, newestAt, rowsByDuration, savepointAction, savepointPathAt, statusAt, type Checkpoint } from "../model/checkpoints";
import { deletedCountAt, restoreAt, rescaleText } from "../model/restore";
import { formatBytes, formatClock, formatDuration } from "../model/format";
import type { Replay } from "../model/replay";
import { PHASE_COLORS } from "./colors";
import { sizeCanvas } from "./gantt-view";

/** The strip shows the newest this many (FLINK-39566 shows 60). */
export const STRIP_MAX = 60;
const ROW_H = 16;
/** Rows drawn: sorted slowest first, the stragglers are at the top; the rest are counted. */
export const GANTT_ROWS_MAX = 40;
const LABEL_W = 70;
/** The restore card lists the newest deleted files; earlier ones are counted. */
const DELETED_SHOWN = 5;

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

export class CheckpointsView {
  private pinned: number | undefined;
  private readonly strip: HTMLDivElement;
  private readonly restoreCard: HTMLDivElement;
  private readonly detail: HTMLDivElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly follow: HTMLButtonElement;
  private replay: Replay | undefined;
  private lastT = 0;
  private lastKey = "";
  private widthPx = 600;

  constructor(root: HTMLElement, private readonly onSeek: (tNs: number, seq: number) => void) {
    root.innerHTML = `<div id="restore-card" hidden></div><div id="cp-strip"></div><div><button id="cp-follow" disabled>follow newest</button> <span id="cp-detail"></span></div><canvas id="cp-gantt"></canvas>`;
    this.strip = root.querySelector("#cp-strip")!;
    this.restoreCard = root.querySelector("#restore-card")!;
    this.detail = root.querySelector("#cp-detail")!;
    this.canvas = root.querySelector("#cp-gantt")!;
    this.follow = root.querySelector("#cp-follow")!;
    this.follow.addEventListener("click", () => {
      this.pinned = undefined;
      this.follow.disabled = true;
      this.render(this.lastT, true);
    });
    this.strip.addEventListener("click", (ev) => {
      const id = (ev.target as HTMLElement).closest<HTMLElement>(".cp")?.dataset.id;
      if (id === undefined) return;
      this.pinned = Number(id);
      this.follow.disabled = false;
      this.render(this.lastT, true);
    });
    this.strip.addEventListener("dblclick", (ev) => {
      const cp = this.replay?.checkpoints.checkpoints.find((c) => String(c.id) === (ev.target as HTMLElement).closest<HTMLElement>(".cp")?.dataset.id);
      if (cp !== undefined) this.onSeek(cp.endNs ?? cp.triggerNs, cp.triggerSeq);
    });
  }

  load(replay: Replay): void {
    this.replay = replay;
    this.widthPx = this.canvas.parentElement!.clientWidth - 4;
    this.pinned = undefined;
    this.follow.disabled = true;
    this.lastKey = "";
  }

  resize(): void {
    this.widthPx = this.canvas.parentElement!.clientWidth - 4;
    this.render(this.lastT, true);
  }

  render(t: number, force = false): void {
    this.lastT = t;
    const r = this.replay;
    if (r === undefined) return;
    const visible = checkpointsAt(r.checkpoints, t).slice(-STRIP_MAX);
    const selected = (this.pinned !== undefined ? r.checkpoints.checkpoints.find((c) => c.id === this.pinned) : undefined) ?? newestAt(r.checkpoints, t);
    // Redraw only when what is shown changes: most scrub steps change nothing here.
    const key =
      `${visible.map((c) => `${c.id}:${statusAt(c, t)}`).join(",")}|${selected?.id}|${selected ? selected.acks.filter((a) => a.ackNs <= t).length : 0}` +
      `|${selected !== undefined ? savepointPathAt(selected, t) : ""}|${restoreAt(r.restore, t) !== undefined}:${deletedCountAt(r.restore, t)}`;
    if (!force && key === this.lastKey) return;
    this.lastKey = key;
    this.renderRestore(r, t);
    if (r.checkpoints.checkpoints.length === 0) {
      this.strip.innerHTML = "";
      this.detail.dataset.checkpoint = "";
      this.detail.innerHTML = `<span class="empty">no checkpoints in this trace</span>`;
      sizeCanvas(this.canvas, 10, 1);
      return;
    }
    const maxNs = Math.max(1, ...visible.map((c) => (c.endNs !== undefined && c.endNs <= t ? c.durationNs! : t - c.triggerNs)));
    this.strip.replaceChildren(
      ...visible.map((c) => {
        const d = document.createElement("div");
        const status = statusAt(c, t)!;
        const dur = status === "PENDING" ? t - c.triggerNs : c.durationNs!;
        const sp = c.savepoint;
        d.className = `cp${sp ? " savepoint" : ""}${c.id === selected?.id ? " selected" : ""}`;
        d.dataset.id = String(c.id);
        d.dataset.status = status;
        d.dataset.kind = sp ? "savepoint" : "checkpoint";
        d.style.height = `${Math.max(3, (44 * dur) / maxNs)}px`;
        d.title = `${sp ? `savepoint (${savepointAction(sp)}, ${sp.format}) ` : ""}#${c.id} ${status} ${formatDuration(dur)}${c.reason ? ` — ${c.reason}` : ""}`;
        if (sp) d.append(Object.assign(document.createElement("span"), { className: "sp-label", textContent: "SP" }));
        return d;
      }),
    );
    this.renderDetail(r, selected, t);
  }

  private renderDetail(r: Replay, cp: Checkpoint | undefined, t: number): void {
    const summary = completedSummaryAt(r.checkpoints, t);
    const restores = r.checkpoints.restores.filter((x) => x.tNs <= t);
    const summaryText = summary ? ` · completed ${summary.count}: min ${formatDuration(summary.minNs)}, median ${formatDuration(summary.medianNs)}, max ${formatDuration(summary.maxNs)}` : "";
    const restoreText = restores.length ? ` · restored #${restores.map((x) => x.checkpoint).join(", #")}` : "";
    if (cp === undefined || cp.triggerNs > t) {
      this.detail.dataset.checkpoint = "";
      this.detail.textContent = `no checkpoint triggered yet${summaryText}${restoreText}`;
      sizeCanvas(this.canvas, 10, 1);
      return;
    }
    const status = statusAt(cp, t)!;
    const rows = rowsByDuration(cp, t);
    this.detail.dataset.checkpoint = String(cp.id);
    this.detail.dataset.status = status;
    this.detail.dataset.rows = rows.map((a) => a.subtask).join(",");
    const unaligned = rows.filter((a) => a.unaligned).length;
    const persisted = rows.reduce((n, a) => n + a.persistedBytes, 0);
    this.detail.dataset.unaligned = String(unaligned);
    this.detail.dataset.persistedBytes = String(persisted);
    const sp = cp.savepoint;
    const path = savepointPathAt(cp, t);
    this.detail.dataset.kind = sp ? "savepoint" : "checkpoint";
    this.detail.dataset.format = sp?.format ?? "";
    this.detail.dataset.terminate = String(sp?.terminate ?? false);
    this.detail.dataset.drain = String(sp?.drain ?? false);
    this.detail.dataset.path = path ?? "";
    this.detail.textContent =
      (sp ? `savepoint #${cp.id} ${status === "ABORTED" ? "FAILED" : status} (${savepointAction(sp)}, ${sp.format}${path ? `, stored at ${path}` : ""})` : `#${cp.id} ${status} (${cp.mode}`) +
      `${unaligned > 0 ? `, ${unaligned} unaligned, ${formatBytes(persisted)} in-flight persisted` : ""}${sp ? "" : ")"} triggered ${formatClock(cp.triggerNs)}` +
      (status !== "PENDING" ? ` · ${formatDuration(cp.durationNs!)}` : "") +
      (cp.stateBytes !== undefined && status === "COMPLETED" ? ` · ${formatBytes(cp.stateBytes)}` : "") +
      (status === "ABORTED" && cp.reason ? ` · ${cp.reason}` : "") +
      ` · acks ${rows.length}/${cp.expectedSubtasks}${summaryText}${restoreText}`;
    this.drawGantt(cp, rows);
  }

  /** The restore this trace's job started from, if it happened by t: claim mode, format, savepoint, rescale, deletions. */
  private renderRestore(r: Replay, t: number): void {
    const card = this.restoreCard;
    const restore = restoreAt(r.restore, t);
    card.hidden = restore === undefined;
    if (restore === undefined) return;
    const deleted = deletedCountAt(r.restore, t);
    const recent = r.restore.deletions.slice(Math.max(0, deleted - DELETED_SHOWN), deleted);
    card.dataset.checkpoint = String(restore.checkpoint);
    card.dataset.path = restore.path;
    card.dataset.claimMode = restore.claimMode;
    card.dataset.format = restore.format;
    card.dataset.rescales = restore.vertices.map((v) => `${v.vertex}:${v.oldParallelism}>${v.newParallelism}`).join(",");
    card.dataset.deleted = String(deleted);
    const owned = restore.claimMode === "CLAIM" ? "the job owns the savepoint: its files are deleted once no retained checkpoint needs them" : "the savepoint stays the user's: the job never deletes its files";
    const rows = restore.vertices
      .map((v) => `<tr data-vertex="${esc(v.vertex)}"${v.oldParallelism !== v.newParallelism ? ` class="rescaled"` : ""}><td>${esc(v.vertex)}</td><td>${esc(v.name)}</td><td class="rescale">${rescaleText(v)}</td></tr>`)
      .join("");
    const files = recent.map((d) => `<li title="${esc(`${formatClock(d.tNs)}: ${d.reason}`)}">${esc(d.key)}</li>`).join("");
    card.innerHTML =
      `<strong>restored from savepoint #${restore.checkpoint}</strong> <code>${esc(restore.path)}</code> · claim mode <b class="claim-mode">${esc(restore.claimMode)}</b> · format <b>${esc(restore.format)}</b> · planned read ${formatBytes(restore.plannedReadBytes)}` +
      `<table><thead><tr><th>vertex</th><th></th><th>parallelism</th></tr></thead><tbody>${rows}</tbody></table>` +
      `<div class="deleted">snapshot files deleted by ${formatClock(t)}: <b class="deleted-count">${deleted}</b> <small>(${owned})</small></div>` +
      (files ? `<ul class="deleted-files">${deleted > recent.length ? `<li>… ${deleted - recent.length} earlier</li>` : ""}${files}</ul>` : "");
  }

  private drawGantt(cp: Checkpoint, allRows: ReturnType<typeof rowsByDuration>): void {
    const rows = allRows.slice(0, GANTT_ROWS_MAX);
    // Width read at load and on resize only: reading layout here would force a layout per scrub.
    const w = this.widthPx;
    const h = 16 + Math.max(1, rows.length) * ROW_H + (allRows.length > rows.length ? ROW_H : 0);
    // Resizing a canvas reallocates it; most scrubs keep the size, so only clear then.
    if (this.canvas.width !== Math.round(w * devicePixelRatio) || this.canvas.height !== Math.round(h * devicePixelRatio)) sizeCanvas(this.canvas, w, h);
    const ctx = this.canvas.getContext("2d")!;
    ctx.setTransform(devicePixelRatio, 0, 0, devicePixelRatio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.font = "10px system-ui";
    if (allRows.length > rows.length) {
      ctx.fillStyle = "#78909c";
      ctx.fillText(`… ${allRows.length - rows.length} faster subtasks not drawn`, 2, 16 + rows.length * ROW_H + 11);
    }
    const span = Math.max(1, ...rows.map((a) => ackDurationNs(cp, a)));
    const sx = (ns: number) => LABEL_W + ((w - LABEL_W - 4) * ns) / span;
    let lx = LABEL_W;
    for (const [name, color] of Object.entries(PHASE_COLORS)) {
      ctx.fillStyle = color;
      ctx.fillRect(lx, 3, 10, 8);
      ctx.fillStyle = "#37474f";
      ctx.fillText(name, lx + 13, 11);
      lx += 90;
    }
    rows.forEach((a, i) => {
      const y = 16 + i * ROW_H;
      ctx.fillStyle = "#37474f";
      // Unaligned subtasks are marked, with the in-flight data they persisted.
      ctx.fillText(a.unaligned ? `${a.subtask} UC` : a.subtask, 2, y + 11);
      let at = 0;
      for (const [phase, ns] of [["startDelay", a.startDelayNs], ["alignment", a.alignmentNs], ["sync", a.syncNs], ["async", a.asyncNs]] as const) {
        ctx.fillStyle = PHASE_COLORS[phase];
        ctx.fillRect(sx(at), y + 2, Math.max(ns > 0 ? 1 : 0, sx(at + ns) - sx(at)), ROW_H - 4);
        at += ns;
      }
      ctx.fillStyle = "#263238";
      ctx.fillRect(sx(ackDurationNs(cp, a)) - 1, y + 1, 2, ROW_H - 2);
      const label = formatDuration(ackDurationNs(cp, a)) + (a.persistedBytes > 0 ? ` · ${formatBytes(a.persistedBytes)} in flight` : "");
      ctx.fillText(label, Math.min(sx(ackDurationNs(cp, a)) + 4, w - 140), y + 11);
    });
  }
}
