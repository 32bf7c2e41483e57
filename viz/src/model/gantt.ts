/**
 * The Gantt's model: one lane per (host, slot), grouped by host in order of appearance
 * (HostAdded, then any host a task ran on), each lane holding the attempts that ran in
 * that slot; fault and restart markers as instants on the host or on the whole chart.
 * `hitTest` maps a (time, lane) to the attempt drawn there — the canvas has no DOM per
 * bar, so this is how hovering and the e2e tests find a bar.
 */
import type { TraceEvent } from "../../../sim/trace/events";
import { compareStrings } from "../../../sim/trace/reader";
import { str, strings } from "./event-fields";
import type { Attempt, TaskModel } from "./tasks";

export interface Lane {
  host: string;
  slot: number;
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

export function buildGantt(events: Iterable<TraceEvent>, tasks: TaskModel): GanttModel {
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
  const laneByKey = new Map<string, Lane>();
  for (const a of tasks.attempts) {
    addHost(a.host);
    const key = `${a.host}\u0000${a.slot}`;
    let lane = laneByKey.get(key);
    if (lane === undefined) laneByKey.set(key, (lane = { host: a.host, slot: a.slot, attempts: [] }));
    lane.attempts.push(a);
  }
  const hostOrder = new Map(hosts.map((h, i) => [h, i]));
  const lanes = [...laneByKey.values()].sort((a, b) => hostOrder.get(a.host)! - hostOrder.get(b.host)! || a.slot - b.slot);
  for (const lane of lanes) lane.attempts.sort((a, b) => a.phases[0]!.startNs - b.phases[0]!.startNs || compareStrings(a.subtask, b.subtask) || a.attempt - b.attempt);
  return { hosts, lanes, markers };
}

/**
 * The attempt in `lane` at time t; `endNs` stands in for attempts still running at the
 * trace's end. Speculative twins overlap their original: the newest one wins, as drawn on top.
 */
export function attemptAt(lane: Lane, t: number, endNs: number): Attempt | undefined {
  let hit: Attempt | undefined;
  for (const a of lane.attempts) {
    if (a.phases[0]!.startNs > t) break;
    if (t <= (a.endNs ?? endNs)) hit = a;
  }
  return hit;
}
