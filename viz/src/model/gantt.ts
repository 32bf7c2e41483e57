/**
 * The Gantt's model: lanes per (host, slot), grouped by host in order of appearance
 * (HostAdded, then any host a task ran on), holding the attempts that ran in that slot;
 * fault and restart markers as instants on the host or on the whole chart. With slot
 * sharing several tasks (a pipeline's subtasks) run in one slot at once, so a slot gets
 * as many tracks as it has concurrent attempts (first-fit interval partitioning), and no
 * bar ever hides another.
 * Below the slot lanes, a subtask that ran speculative attempts gets a group of lanes,
 * one per racing attempt, so the attempts race side by side (they ran on different hosts
 * and slots, far apart in the slot lanes). A host that was blocklisted but never ran a
 * task gets an empty lane, so its blocked intervals have somewhere to show. A trace with
 * a JobManager failover gets a "jobmanager" lane on top, holding no attempts: the view
 * draws the outage and reconciling bands there (and, fainter, behind every lane).
 * `hitTest` maps a (time, lane) to the attempt drawn there — the canvas has no DOM per
 * bar, so this is how hovering and the e2e tests find a bar.
 */
import type { TraceEvent } from "../../../sim/trace/events";
import { compareStrings } from "../../../sim/trace/reader";
import { str, strings } from "./event-fields";
import type { BlocklistModel } from "./blocklist";
import type { JmFailover } from "./jm-failover";
import type { SpeculationModel } from "./speculation";
import type { Attempt, TaskModel } from "./tasks";

export interface Lane {
  /**
   * "slot": a (host, slot) track; "race": one attempt of a subtask that ran speculative
   * attempts; "jobmanager": the JobManager's failovers (no attempts).
   */
  kind: "slot" | "race" | "jobmanager";
  /** For race lanes, the subtask ("v0[4]"). */
  subtask: string | undefined;
  host: string;
  slot: number;
  /** 0 for the slot's first track; more when attempts share the slot at once. */
  track: number;
  /** Sorted by start time. */
  attempts: Attempt[];
}

export type MarkerKind = "fault" | "failover" | "restart" | "tm-lost";

export interface Marker {
  tNs: number;
  seq: number;
  kind: MarkerKind;
  /** Undefined: the marker spans every lane. */
  host: string | undefined;
  label: string;
}

export interface GanttModel {
  hosts: string[];
  lanes: Lane[];
  markers: Marker[];
}

const FAULT_KINDS = new Set(["FaultFired", "HostCrashed", "LinkPartitioned", "DiskFaultStarted", "BlobOutageStarted"]);

export function buildGantt(events: Iterable<TraceEvent>, tasks: TaskModel, speculation?: SpeculationModel, blocklist?: BlocklistModel, jmFailovers: readonly JmFailover[] = []): GanttModel {
  const hosts: string[] = [];
  const seen = new Set<string>();
  const addHost = (h: string) => {
    if (!seen.has(h)) {
      seen.add(h);
      hosts.push(h);
    }
  };
  const markers: Marker[] = [];
  for (const e of events) {
    if (e.kind === "HostAdded") {
      const h = str(e, "host");
      if (h !== undefined) addHost(h);
    } else if (FAULT_KINDS.has(e.kind)) {
      markers.push({ tNs: e.t, seq: e.seq, kind: "fault", host: str(e, "host"), label: `${e.kind} ${str(e, "fault") ?? ""} ${str(e, "target") ?? ""}`.trim() });
    } else if (e.kind === "TaskManagerLost") {
      markers.push({ tNs: e.t, seq: e.seq, kind: "tm-lost", host: str(e, "host"), label: `TaskManager lost: ${str(e, "cause") ?? ""}` });
    } else if (e.kind === "FailoverTriggered") {
      markers.push({ tNs: e.t, seq: e.seq, kind: "failover", host: undefined, label: `failover: ${str(e, "cause") ?? ""}` });
    } else if (e.kind === "TasksRestarted") {
      markers.push({ tNs: e.t, seq: e.seq, kind: "restart", host: undefined, label: `restarted ${strings(e, "vertices").join(" ")}` });
    }
  }
  const bySlot = new Map<string, Attempt[]>();
  for (const a of tasks.attempts) {
    addHost(a.host);
    const key = `${a.host}\u0000${a.slot}`;
    const list = bySlot.get(key);
    if (list === undefined) bySlot.set(key, [a]);
    else list.push(a);
  }
  const lanes: Lane[] = [];
  for (const list of bySlot.values()) {
    list.sort((a, b) => a.phases[0]!.startNs - b.phases[0]!.startNs || compareStrings(a.subtask, b.subtask) || a.attempt - b.attempt);
    const tracks: Lane[] = [];
    for (const a of list) {
      // First track whose last attempt has ended by this one's start (an attempt still running at the end never frees it).
      let lane = tracks.find((l) => {
        const last = l.attempts[l.attempts.length - 1]!;
        return last.endNs !== undefined && last.endNs <= a.phases[0]!.startNs;
      });
      if (lane === undefined) tracks.push((lane = { kind: "slot", subtask: undefined, host: a.host, slot: a.slot, track: tracks.length, attempts: [] }));
      lane.attempts.push(a);
    }
    lanes.push(...tracks);
  }
  for (const h of blocklist?.hosts ?? []) {
    addHost(h);
    if (!lanes.some((l) => l.host === h)) lanes.push({ kind: "slot", subtask: undefined, host: h, slot: -1, track: 0, attempts: [] });
  }
  const hostOrder = new Map(hosts.map((h, i) => [h, i]));
  lanes.sort((a, b) => hostOrder.get(a.host)! - hostOrder.get(b.host)! || a.slot - b.slot || a.track - b.track);
  lanes.push(...raceLanes(speculation));
  if (jmFailovers.length > 0) lanes.unshift({ kind: "jobmanager", subtask: undefined, host: jmFailovers[0]!.host, slot: -1, track: 0, attempts: [] });
  return { hosts, lanes, markers };
}

/** One lane per racing attempt, grouped by subtask in order of the first launch; track numbers the attempt in its group. */
function raceLanes(speculation: SpeculationModel | undefined): Lane[] {
  const out: Lane[] = [];
  for (const g of speculation?.groups ?? []) {
    g.attempts.forEach((a, i) => out.push({ kind: "race", subtask: g.subtask, host: a.host, slot: a.slot, track: i, attempts: [a] }));
  }
  return out;
}

/**
 * The attempt in `lane` at time t; `endNs` stands in for attempts still running at the
 * trace's end. Attempts in a lane do not overlap (tracks), except that one may end at the
 * instant the next starts: the newer one wins, as it is drawn on top.
 */
export function attemptAt(lane: Lane, t: number, endNs: number): Attempt | undefined {
  let hit: Attempt | undefined;
  for (const a of lane.attempts) {
    if (a.phases[0]!.startNs > t) break;
    if (t <= (a.endNs ?? endNs)) hit = a;
  }
  return hit;
}
