import { describe, expect, it } from "vitest";
import type { TraceEvent } from "../../../sim/trace/events";
import { blockedAt } from "./blocklist";
import { attemptAt, buildGantt } from "./gantt";
import { parseTraceText } from "./parse";
import { buildReplay } from "./replay";
import { scenarioTraceText } from "./scenario-traces";
import { buildSpeculation, liveAttemptsAt, raceRole } from "./speculation";
import { buildTasks, subtaskStateAt } from "./tasks";

const ev = (seq: number, t: number, kind: string, extra: Record<string, unknown> = {}): TraceEvent => ({ v: 1, seq, t, kind, ...extra });
const tsc = (seq: number, t: number, subtask: number, attempt: number, state: string, host: string, slot: number, extra: Record<string, unknown> = {}) =>
  ev(seq, t, "TaskStateChanged", { vertex: "v0", name: "Src", subtask, attempt, host, slot, state, ...extra });

/** v0[0]: attempt 0 on slow h1, speculative attempt 1 on h2 wins at 50; v0[1] runs alone on h2. */
const raceEvents = [
  tsc(0, 0, 0, 0, "RUNNING", "h1", 0),
  tsc(1, 0, 1, 0, "RUNNING", "h2", 1),
  ev(2, 20, "SpeculativeAttemptLaunched", { vertex: "v0", name: "Src", subtask: 0, attempt: 1, host: "h2", slot: 0, slowAttempts: [0] }),
  tsc(3, 20, 0, 1, "RUNNING", "h2", 0, { speculative: true }),
  tsc(4, 50, 0, 0, "CANCELED", "h1", 0, { cause: "attempt 1 finished first" }),
  tsc(5, 50, 0, 1, "FINISHED", "h2", 0, { speculative: true }),
  ev(6, 50, "SpeculativeExecutionFinished", { vertex: "v0", subtask: 0, winner: 1, speculativeWin: true, cancelled: [0] }),
  tsc(7, 60, 1, 0, "FINISHED", "h2", 1),
];

describe("speculative races", () => {
  it("a subtask whose race was won is FINISHED, whichever attempt's event comes last", () => {
    // Original wins: its FINISHED, then the speculative attempt's CANCELED, at one instant.
    const originalWins = [
      tsc(0, 0, 0, 0, "RUNNING", "h1", 0),
      tsc(1, 20, 0, 1, "RUNNING", "h2", 0, { speculative: true }),
      tsc(2, 50, 0, 0, "FINISHED", "h1", 0),
      tsc(3, 50, 0, 1, "CANCELED", "h2", 0, { speculative: true }),
    ];
    const t = buildTasks(originalWins);
    expect(subtaskStateAt(t, "v0[0]", 49)).toMatchObject({ state: "RUNNING", attempt: { attempt: 1 } });
    expect(subtaskStateAt(t, "v0[0]", 50)).toMatchObject({ state: "FINISHED", attempt: { attempt: 0 } });
    // The speculative attempt wins: the cancelled original is not the subtask's state either.
    expect(subtaskStateAt(buildTasks(raceEvents), "v0[0]", 50)).toMatchObject({ state: "FINISHED", attempt: { attempt: 1 } });
  });

  const tasks = buildTasks(raceEvents);
  const spec = buildSpeculation(raceEvents.filter((e) => e.kind.startsWith("Speculative")), tasks);

  it("group the slow attempt and the speculative one, name the winner and the cancelled loser", () => {
    expect(spec.groups).toHaveLength(1);
    const g = spec.groups[0]!;
    expect(g).toMatchObject({ subtask: "v0[0]", launchedNs: 20, finishedNs: 50, winner: 1, speculativeWin: true, cancelled: [0] });
    expect(g.attempts.map((a) => [a.attempt, a.host, a.speculative])).toEqual([[0, "h1", false], [1, "h2", true]]);
    const [a0, a1] = tasks.bySubtask.get("v0[0]")!;
    expect([raceRole(spec, a0!), raceRole(spec, a1!)]).toEqual(["loser", "winner"]);
    expect(raceRole(spec, tasks.bySubtask.get("v0[1]")![0]!)).toBeUndefined();
  });

  it("count the live attempts of a subtask: two while they race, one before and none after", () => {
    expect([19, 20, 49, 50].map((t) => liveAttemptsAt(tasks, "v0[0]", t))).toEqual([1, 2, 2, 0]);
  });

  it("get Gantt lanes side by side, one per racing attempt, after the slot lanes", () => {
    const gantt = buildGantt([], tasks, spec);
    const race = gantt.lanes.filter((l) => l.kind === "race");
    expect(race.map((l) => [l.subtask, l.track, l.host, l.slot])).toEqual([["v0[0]", 0, "h1", 0], ["v0[0]", 1, "h2", 0]]);
    expect(gantt.lanes.findIndex((l) => l.kind === "race")).toBe(gantt.lanes.filter((l) => l.kind === "slot").length);
    expect(attemptAt(race[1]!, 30, 100)?.attempt).toBe(1);
    expect(attemptAt(race[1]!, 10, 100)).toBeUndefined();
    // The attempts also stay in their slot lanes.
    expect(gantt.lanes.filter((l) => l.kind === "slot").flatMap((l) => l.attempts)).toHaveLength(3);
  });

  it("a still-racing subtask has no winner and its listed cancelled speculative attempts are kept", () => {
    const open = buildSpeculation(raceEvents.slice(0, 4).filter((e) => e.kind.startsWith("Speculative")), buildTasks(raceEvents.slice(0, 4)));
    expect(open.groups[0]).toMatchObject({ winner: undefined, cancelled: [] });
    expect(raceRole(open, open.groups[0]!.attempts[1]!)).toBe("racing");
    const originalWins = [ev(0, 20, "SpeculativeAttemptLaunched", { vertex: "v0", subtask: 0, attempt: 1, slowAttempts: [0] }), ev(1, 50, "SpeculativeExecutionFinished", { vertex: "v0", subtask: 0, winner: 0, speculativeWin: false, cancelled: [1] })];
    expect(buildSpeculation(originalWins, tasks).groups[0]).toMatchObject({ winner: 0, cancelled: [1] });
  });
});

describe("speculation and the blocklist on the speculative-stragglers scenario", () => {
  it("race every launched subtask side by side, with the trace's winner and its cancelled attempts, and shade the blocked hosts", async () => {
    const { events } = parseTraceText(await scenarioTraceText("speculative-stragglers"));
    const replay = buildReplay(events);
    const launched = events.filter((e) => e.kind === "SpeculativeAttemptLaunched");
    const finished = events.filter((e) => e.kind === "SpeculativeExecutionFinished");
    expect(launched.length).toBeGreaterThan(0);
    expect(replay.speculation.groups.map((g) => g.subtask)).toEqual([...new Set(launched.map((e) => `${e.vertex as string}[${e.subtask as number}]`))]);
    for (const f of finished) {
      const g = replay.speculation.bySubtask.get(`${f.vertex as string}[${f.subtask as number}]`)!;
      expect(g.winner).toBe(f.winner);
      expect(g.finishedNs).toBe(f.t);
      const winner = g.attempts.find((a) => a.attempt === f.winner)!;
      expect(winner.endState).toBe("FINISHED");
      for (const a of g.attempts) if (a !== winner && a.endState === "CANCELED") expect(g.cancelled).toContain(a.attempt);
      for (const c of f.cancelled as number[]) expect(g.cancelled).toContain(c);
      const lanes = replay.gantt.lanes.filter((l) => l.kind === "race" && l.subtask === g.subtask);
      expect(lanes.map((l) => l.attempts[0]!.attempt)).toEqual(g.attempts.map((a) => a.attempt));
    }
    const launch = launched[0]!;
    const sub = `${launch.vertex as string}[${launch.subtask as number}]`;
    expect(liveAttemptsAt(replay.tasks, sub, launch.t - 1)).toBe(1);
    expect(liveAttemptsAt(replay.tasks, sub, launch.t)).toBe(2);
    const blocks = events.filter((e) => e.kind === "NodeBlocked" && e.extended !== true);
    // Extensions push the interval's end, never start another.
    for (const x of events.filter((e) => e.kind === "NodeBlocked" && e.extended === true)) expect(blockedAt(replay.blocklist, x.host as string, x.t)?.untilNs).toBeGreaterThanOrEqual(x.untilNs as number);
    expect(blocks.length).toBeGreaterThan(0);
    for (const b of blocks) {
      const host = b.host as string;
      const unblock = events.find((e) => e.kind === "NodeUnblocked" && e.host === host && e.seq > b.seq);
      expect(blockedAt(replay.blocklist, host, b.t - 1)).toBeUndefined();
      expect(blockedAt(replay.blocklist, host, b.t)?.fromNs).toBe(b.t);
      expect(blockedAt(replay.blocklist, host, b.t)?.toNs).toBe(unblock?.t ?? b.untilNs);
      expect(replay.gantt.lanes.some((l) => l.kind === "slot" && l.host === host)).toBe(true);
    }
  });
});
