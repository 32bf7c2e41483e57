import { describe, expect, it } from "vitest";
import type { TraceEvent } from "../../../sim/trace/events";
import { blockedAt, blockedHostsAt, buildBlocklist } from "./blocklist";
import { filterEvents } from "./event-log";
import { buildGantt } from "./gantt";
import { buildTasks } from "./tasks";

const ev = (seq: number, t: number, kind: string, extra: Record<string, unknown> = {}): TraceEvent => ({ v: 1, seq, t, kind, ...extra });

describe("the blocklist over time", () => {
  const blocked = (seq: number, t: number, host: string, untilNs: number, cause = "slow") => ev(seq, t, "NodeBlocked", { host, untilNs, cause, extended: false });

  it("shades a host from NodeBlocked to NodeUnblocked, half-open", () => {
    const m = buildBlocklist([blocked(0, 10, "h1", 60), ev(1, 80, "NodeUnblocked", { host: "h1" })]);
    expect(m.intervals).toEqual([{ host: "h1", fromNs: 10, toNs: 80, untilNs: 60, end: "unblocked", causes: ["slow"], seq: 0 }]);
    expect([9, 10, 79, 80].map((t) => blockedAt(m, "h1", t) !== undefined)).toEqual([false, true, true, false]);
  });

  it("extends an open interval, runs one without NodeUnblocked to its expiry, and starts a new one after an expiry", () => {
    const m = buildBlocklist([blocked(0, 10, "h1", 60, "a"), blocked(1, 30, "h1", 90, "b"), blocked(2, 30, "h2", 70), blocked(3, 100, "h1", 150, "c")]);
    expect(m.intervals.map((i) => [i.host, i.fromNs, i.toNs, i.end, i.causes.join("+")])).toEqual([
      ["h1", 10, 90, "expiry", "a+b"],
      ["h2", 30, 70, "expiry", "slow"],
      ["h1", 100, 150, "expiry", "c"],
    ]);
    expect(m.hosts).toEqual(["h1", "h2"]);
    expect([29, 30, 69, 70, 95, 100].map((t) => blockedHostsAt(m, t).join(","))).toEqual(["h1", "h1,h2", "h1,h2", "h1", "", "h1"]);
    // An unblock without a block (a trace cut at its start) is ignored.
    expect(buildBlocklist([ev(0, 5, "NodeUnblocked", { host: "h3" })]).intervals).toEqual([]);
  });

  it("gives a blocked host that ran nothing an empty Gantt lane", () => {
    const tasks = buildTasks([ev(0, 0, "TaskStateChanged", { vertex: "v0", name: "Src", subtask: 0, attempt: 0, host: "h1", slot: 0, state: "RUNNING" })]);
    const gantt = buildGantt([], tasks, undefined, buildBlocklist([blocked(0, 10, "h9", 60)]));
    expect(gantt.lanes.filter((l) => l.host === "h9")).toEqual([{ kind: "slot", subtask: undefined, host: "h9", slot: -1, track: 0, attempts: [] }]);
  });

  it("is selected by the log's blocklist group", () => {
    const events = [blocked(0, 10, "h1", 60), ev(1, 20, "SlotAllocated", { host: "h1" }), ev(2, 80, "NodeUnblocked", { host: "h1" })];
    expect([...filterEvents(events, { kind: "@blocklist", vertex: undefined, host: undefined })]).toEqual([0, 2]);
    expect([...filterEvents(events, { kind: "@blocklist", vertex: undefined, host: "h2" })]).toEqual([]);
  });
});
