/**
 * The blocklist over time: for each host, the intervals in which it got no new slots,
 * from NodeBlocked to NodeUnblocked. A NodeBlocked on a host that is blocked already
 * extends the interval (a later untilNs, one more cause). An interval with no
 * NodeUnblocked by the trace's end runs to its untilNs (expiry), which may lie past the
 * end of the trace. The engine traces each extension (a host still slow at the next check)
 * as a NodeBlocked with extended: true; NodeUnblocked, when there, ends the interval.
 *
 * Invariant: a host's intervals are disjoint and in time order; fromNs ≤ toNs.
 */
import type { TraceEvent } from "../../../sim/trace/events";
import { num, str } from "./event-fields";

export interface BlockedInterval {
  host: string;
  fromNs: number;
  /** NodeUnblocked's time, or untilNs when the trace has none. */
  toNs: number;
  untilNs: number;
  /** How it ended: a NodeUnblocked event, or not seen (expiry at untilNs). */
  end: "unblocked" | "expiry";
  causes: string[];
  seq: number;
}

export interface BlocklistModel {
  intervals: BlockedInterval[];
  /** Hosts with an interval, in order of their first block. */
  hosts: string[];
}

export function buildBlocklist(events: Iterable<TraceEvent>): BlocklistModel {
  const intervals: BlockedInterval[] = [];
  const open = new Map<string, BlockedInterval>();
  const hosts: string[] = [];
  for (const e of events) {
    const host = str(e, "host");
    if (host === undefined) continue;
    let current = open.get(host);
    // An entry past its untilNs expired even if the trace has no NodeUnblocked for it.
    if (current !== undefined && current.untilNs <= e.t && e.kind === "NodeBlocked") {
      open.delete(host);
      current = undefined;
    }
    if (e.kind === "NodeBlocked") {
      const untilNs = num(e, "untilNs") ?? e.t;
      const cause = str(e, "cause") ?? "?";
      if (current !== undefined) {
        current.untilNs = Math.max(current.untilNs, untilNs);
        current.toNs = current.untilNs;
        if (!current.causes.includes(cause)) current.causes.push(cause);
        continue;
      }
      const iv: BlockedInterval = { host, fromNs: e.t, toNs: Math.max(untilNs, e.t), untilNs, end: "expiry", causes: [cause], seq: e.seq };
      if (!hosts.includes(host)) hosts.push(host);
      intervals.push(iv);
      open.set(host, iv);
    } else if (e.kind === "NodeUnblocked" && current !== undefined) {
      current.toNs = e.t;
      current.end = "unblocked";
      open.delete(host);
    }
  }
  return { intervals, hosts };
}

/** The interval blocking `host` at time t: [fromNs, toNs), unblocked at toNs. */
export function blockedAt(model: BlocklistModel, host: string, t: number): BlockedInterval | undefined {
  return model.intervals.find((iv) => iv.host === host && iv.fromNs <= t && t < iv.toNs);
}

/** Hosts blocked at t, in order of their first block. */
export function blockedHostsAt(model: BlocklistModel, t: number): string[] {
  return model.hosts.filter((h) => blockedAt(model, h, t) !== undefined);
}
