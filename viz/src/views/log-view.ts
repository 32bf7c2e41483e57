/**
 * The event log, in step with the views: a virtualized list (only the rows in view
 * exist in the DOM, so 1M events scroll as fast as 100), filtered by kind, vertex and
 * host, with the last event at or before the scrub time highlighted and kept in view,
 * later events greyed. A click seeks to the event and selects it.
 */
import { currentRow, filterEvents, summarize, type LogFilter } from "../model/event-log";
import { formatClock } from "../model/format";
import type { Replay } from "../model/replay";

const ROW_H = 16;

export class LogView {
  private replay: Replay | undefined;
  private filtered: Int32Array = new Int32Array(0);
  private current = -1;
  private selectedSeq: number | undefined;
  private readonly spacer: HTMLElement;
  private followScroll = true;
  /** Layout read once per frame, before the views write to the DOM (see measure). */
  private scrollTop = 0;
  private viewHeight = 0;

  constructor(
    private readonly root: HTMLElement,
    private readonly count: HTMLElement,
    private readonly detail: HTMLElement,
    private readonly onPick: (tNs: number, seq: number) => void,
  ) {
    this.spacer = root.querySelector("#log-spacer")!;
    root.addEventListener("scroll", () => {
      this.measure();
      this.drawRows();
    });
    root.addEventListener("click", (ev) => {
      const row = (ev.target as HTMLElement).closest(".row") as HTMLElement | null;
      if (row?.dataset.index === undefined || this.replay === undefined) return;
      const e = this.replay.index.events[Number(row.dataset.index)]!;
      this.onPick(e.t, e.seq);
    });
  }

  load(replay: Replay, filter: LogFilter): void {
    this.replay = replay;
    this.setFilter(filter);
  }

  setFilter(filter: LogFilter): void {
    if (this.replay === undefined) return;
    this.filtered = filterEvents(this.replay.index.events, filter);
    this.count.textContent = `${this.filtered.length.toLocaleString("en")} of ${this.replay.index.events.length.toLocaleString("en")} events`;
    this.count.dataset.count = String(this.filtered.length);
    this.spacer.style.height = `${this.filtered.length * ROW_H}px`;
    this.current = -2;
  }

  /** Reads the scroll position and height; called before any view writes, so it forces no extra layout. */
  measure(): void {
    this.scrollTop = this.root.scrollTop;
    this.viewHeight = this.root.clientHeight;
  }

  render(t: number, selectedSeq: number | undefined): void {
    if (this.replay === undefined) return;
    const row = currentRow(this.filtered, this.replay.index.times, t);
    const selectionChanged = selectedSeq !== this.selectedSeq;
    this.selectedSeq = selectedSeq;
    if (selectionChanged) {
      const e = selectedSeq !== undefined ? this.replay.index.events[selectedSeq] : undefined;
      this.detail.textContent = e === undefined ? "" : JSON.stringify(e, null, 1).slice(0, 4000);
    }
    if (row === this.current && !selectionChanged) return;
    this.current = row;
    if (this.followScroll) {
      const top = row * ROW_H;
      const h = this.viewHeight;
      if (top < this.scrollTop || top > this.scrollTop + h - ROW_H) {
        this.scrollTop = Math.max(0, top - h / 2);
        this.root.scrollTop = this.scrollTop;
      }
    }
    this.drawRows();
  }

  private drawRows(): void {
    const r = this.replay;
    if (r === undefined) return;
    const first = Math.max(0, Math.floor(this.scrollTop / ROW_H) - 2);
    const last = Math.min(this.filtered.length, first + Math.ceil(this.viewHeight / ROW_H) + 4);
    const rows: HTMLElement[] = [];
    for (let i = first; i < last; i++) {
      const idx = this.filtered[i]!;
      const e = r.index.events[idx]!;
      const div = document.createElement("div");
      div.className = `row${i === this.current ? " current" : i > this.current ? " after" : ""}${e.seq === this.selectedSeq ? " selected" : ""}`;
      div.style.top = `${i * ROW_H}px`;
      div.dataset.index = String(idx);
      div.dataset.seq = String(e.seq);
      div.dataset.kind = e.kind;
      div.textContent = `${formatClock(e.t)}  #${e.seq}  ${e.kind}  ${summarize(e)}`;
      rows.push(div);
    }
    this.root.replaceChildren(this.spacer, ...rows);
  }
}
