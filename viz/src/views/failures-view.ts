/**
 * Failures and recovery, after Flink's exception history: one row per failover with its
 * root cause, concurrent failures, strategy, restarted regions and subtasks, back-off,
 * and time to recover; the row's phase at the scrub time (future, back-off, restarting,
 * recovered). A click seeks to the failure. Below, each JobManager failover: lost at,
 * leader elected at (downtime), the recovery mode, the job events replayed, the partitions
 * reconciled, the subtasks reset, the recovery's end, and how many subtasks finished at the
 * loss ran again afterwards (batch), or the checkpoint store read and the checkpoint
 * restored (streaming, recovery "checkpoint"); its phase at the scrub time (future, outage, reconciling,
 * recovered). Every field carries a data-field attribute.
 */
import { failoverPhaseAt, timeToRecoverNs, type Failover } from "../model/failures";
import { formatBytes, formatClock, formatDuration } from "../model/format";
import { downtimeNs, jmFailoverPhaseAt, type JmFailover } from "../model/jm-failover";
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
      const row = (ev.target as HTMLElement).closest("tr.failover, .jm-failover") as HTMLElement | null;
      if (row?.dataset.seq !== undefined && row.dataset.t !== undefined) onSeek(Number(row.dataset.t), Number(row.dataset.seq));
    });
  }

  load(replay: Replay): void {
    this.replay = replay;
    this.lastKey = "";
    this.root.innerHTML = taskFailoversHtml(replay.failovers) + replay.jmFailovers.map(jmFailoverHtml).join("");
  }

  render(t: number): void {
    const r = this.replay;
    if (r === undefined) return;
    const phases = r.failovers.map((f) => phaseOf(f, t));
    const jmPhases = r.jmFailovers.map((f) => jmFailoverPhaseAt(f, t));
    const key = `${phases.join(",")};${jmPhases.join(",")}`;
    if (key === this.lastKey) return;
    this.lastKey = key;
    this.root.querySelectorAll<HTMLElement>("tr.failover").forEach((row, i) => {
      row.dataset.phase = phases[i]!;
      row.classList.toggle("future", phases[i] === "future");
      row.querySelector(".phase")!.textContent = phases[i]!;
    });
    this.root.querySelectorAll<HTMLElement>(".jm-failover").forEach((row, i) => {
      row.dataset.phase = jmPhases[i]!;
      row.classList.toggle("future", jmPhases[i] === "future");
      row.querySelector(".phase")!.textContent = jmPhases[i]!;
    });
  }
}

function taskFailoversHtml(fs: readonly Failover[]): string {
  if (fs.length === 0) return `<p class="empty" data-failovers="0">no task failovers in this trace</p>`;
  return (
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
      `</tbody></table>`
  );
}

const field = (name: string, label: string, value: string, title = "") => `<dt>${label}</dt><dd data-field="${name}"${title ? ` title="${esc(title)}"` : ""}>${value}</dd>`;

/** One JobManager failover as a list of fields; what the trace lacks (no election yet, no event-log recovery) says so. */
function jmFailoverHtml(f: JmFailover, i: number): string {
  const e = f.elections[0];
  const down = downtimeNs(f);
  const rows = [
    field("lost", "JobManager lost", `${formatClock(f.lostNs)} <small>${esc(f.host)}, epoch ${f.epoch}: ${esc(f.cause)}</small>`),
    field("elected", "leader elected", e === undefined ? "not by the end of the trace" : `${formatClock(e.tNs)} <small>epoch ${e.epoch}, down ${formatDuration(down!)}</small>`, e?.reason),
    field("recovery", "recovery", f.elections.length === 0 ? "–" : esc(f.elections.map((x) => x.recovery).join(" → "))),
  ];
  if (f.storeRecovered !== undefined) {
    const s = f.storeRecovered;
    rows.push(field("store-recovered", "checkpoint store read", `${formatClock(s.tNs)} <small>${s.checkpoints.length} retained (#${s.checkpoints.join(", #")}), ${formatBytes(s.bytes)} in ${formatDuration(s.readNs)}, ${s.attempts} attempt${s.attempts === 1 ? "" : "s"}; next checkpoint id ${s.nextCheckpointId}</small>`));
  }
  if (f.restoredCheckpoint !== undefined) rows.push(field("restored-checkpoint", "restored checkpoint", `#${f.restoredCheckpoint}`));
  if (f.replayed !== undefined) {
    const p = f.replayed;
    rows.push(field("replayed", "events replayed", `${p.events} events from ${p.segments} segments in ${formatDuration(p.readNs)}: ${p.initialized.length} vertices initialized, ${p.finished.length} subtasks finished, ${p.trimmed.length} trimmed`, list(p.trimmed)));
  }
  if (f.reconciled !== undefined) {
    const c = f.reconciled;
    const missing = c.missing.length === 0 ? "none missing" : `missing ${esc(list(c.missing))}`;
    rows.push(field("reconciled", "partitions", `${c.found}/${c.expected} found, ${missing}, ${c.released} released, waited ${formatDuration(c.waitedNs)}${c.timedOut ? " (timed out)" : ""}`));
  }
  if (f.reset.length > 0) rows.push(field("reset", "subtasks reset", `${f.reset.length}: <small>${esc(list(f.reset))}</small>`, f.resetCauses.join("; ")));
  if (f.finished !== undefined) {
    const d = f.finished;
    rows.push(field("recovery-finished", "recovery finished", `${formatClock(d.tNs)} <small>${d.succeeded ? "succeeded" : `failed: ${esc(d.cause ?? "?")}`}, took ${formatDuration(d.durationNs)}, ${d.recoveredFinished} finished subtasks recovered, ${d.reset} reset</small>`));
  }
  rows.push(field("rerun", "rerun afterwards", `${f.rerun.length} of ${f.finishedAtLoss.length} subtasks finished at the loss`, list(f.rerun)));
  rows.push(field("now", "now", `<span class="phase"></span>`));
  return (
    `<div class="jm-failover" data-index="${i}" data-seq="${f.seq}" data-t="${f.lostNs}" data-lost="${f.lostNs}" data-elected="${e?.tNs ?? ""}" data-recovery="${esc(e?.recovery ?? "")}" data-restored-checkpoint="${f.restoredCheckpoint ?? ""}" ` +
    `data-rerun="${f.rerun.length}" data-finished-at-loss="${f.finishedAtLoss.length}"><strong>JobManager failover ${i + 1}</strong><dl>${rows.join("")}</dl></div>`
  );
}
