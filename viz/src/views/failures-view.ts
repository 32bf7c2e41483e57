/**
 * Failures and recovery, after Flink's exception history: one row per failover with its
 * root cause, concurrent failures, strategy, restarted regions and subtasks, back-off,
 * and time to recover; the row's phase at the scrub time (future, back-off, restarting,
 * recovered). A click seeks to the failure.
 */
import { failoverPhaseAt, timeToRecoverNs, type Failover } from "../model/failures";
import { formatClock, formatDuration } from "../model/format";
import type { Replay } from "../model/replay";

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

function list(xs: readonly (string | number)[], max = 8): string {
  return xs.length <= max ? xs.join(", ") : `${xs.slice(0, max).join(", ")} … (${xs.length})`;
}

export function phaseOf(f: Failover, t: number): string {
  if (t < f.tNs) return "future";
  return failoverPhaseAt(f, t) ?? "recovered";
}

export class FailuresView {
  private replay: Replay | undefined;
  private lastKey = "";

  constructor(private readonly root: HTMLElement, onSeek: (tNs: number, seq: number) => void) {
    root.addEventListener("click", (ev) => {
      const row = (ev.target as HTMLElement).closest("tr.failover") as HTMLElement | null;
      const f = this.replay?.failovers.find((x) => String(x.seq) === row?.dataset.seq);
      if (f !== undefined) onSeek(f.tNs, f.seq);
    });
  }

  load(replay: Replay): void {
    this.replay = replay;
    this.lastKey = "";
    const fs = replay.failovers;
    if (fs.length === 0) {
      this.root.innerHTML = `<p class="empty" data-failovers="0">no failovers in this trace</p>`;
      return;
    }
    this.root.innerHTML =
      `<table data-failovers="${fs.length}"><thead><tr><th>at</th><th>cause</th><th>restarted</th><th>back-off</th><th>recovered in</th><th>now</th></tr></thead><tbody>` +
      fs
        .map((f) => {
          const ttr = timeToRecoverNs(f);
          return (
            `<tr class="failover" data-seq="${f.seq}" data-t="${f.tNs}" data-regions="${f.regions.join(",")}" data-subtasks="${esc(f.subtasks.join(","))}">` +
            `<td>${formatClock(f.tNs)}</td>` +
            `<td><div class="cause">${esc(f.cause)}</div><small>failed ${esc(f.failed)}${f.merged ? " · merged" : ""}${f.concurrent.length ? ` · concurrent: ${esc(f.concurrent.join("; "))}` : ""}</small></td>` +
            `<td>${f.failoverStrategy}: ${f.subtasks.length} subtasks in ${f.regions.length} region(s)<br><small>regions ${list(f.regions)}<br>${esc(list(f.subtasks))}</small></td>` +
            `<td>${formatDuration(f.backoffNs)} (${esc(f.restartStrategy)})${f.restartNs !== undefined ? `<br><small>restart at ${formatClock(f.restartNs)}</small>` : ""}</td>` +
            `<td class="ttr">${ttr === undefined ? "not recovered" : formatDuration(ttr)}</td>` +
            `<td class="phase"></td></tr>`
          );
        })
        .join("") +
      `</tbody></table>`;
  }

  render(t: number): void {
    const r = this.replay;
    if (r === undefined || r.failovers.length === 0) return;
    const phases = r.failovers.map((f) => phaseOf(f, t));
    const key = phases.join(",");
    if (key === this.lastKey) return;
    this.lastKey = key;
    this.root.querySelectorAll<HTMLElement>("tr.failover").forEach((row, i) => {
      row.dataset.phase = phases[i]!;
      row.classList.toggle("future", phases[i] === "future");
      row.querySelector(".phase")!.textContent = phases[i]!;
    });
  }
}
