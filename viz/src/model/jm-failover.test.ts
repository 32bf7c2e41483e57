import { describe, expect, it } from "vitest";
import type { TraceEvent } from "../../../sim/trace/events";
import { filterEvents, kindGroupsPresent } from "./event-log";
import { vertexViewsAt } from "./graph";
import { activeJmFailoverAt, buildJmFailovers, downtimeNs, electedNs, jmFailoverBands, jmFailoverPhaseAt, reconciledNs } from "./jm-failover";
import { buildJobStatus, jobStatusAt } from "./job-status";
import { parseTraceText } from "./parse";
import { buildReplay } from "./replay";
import { scenarioTraceText, type TraceVariant } from "./scenario-traces";
import { liveAttemptsAt } from "./speculation";
import { buildTasks, subtaskStateAt } from "./tasks";
import { formatUrlHash, parseUrlState } from "./url-state";

const ev = (seq: number, t: number, kind: string, extra: Record<string, unknown> = {}): TraceEvent => ({ v: 1, seq, t, kind, ...extra });
const tsc = (seq: number, t: number, subtask: number, attempt: number, state: string) => ev(seq, t, "TaskStateChanged", { vertex: "v1", name: "Map", subtask, attempt, host: "tm-1", slot: subtask, state });
const lost = (seq: number, t: number) => ev(seq, t, "JobManagerLost", { host: "jm", epoch: 0, cause: "host jm crashed" });
const elected = (seq: number, t: number, recovery: string) => ev(seq, t, "JobManagerLeaderElected", { host: "jm", epoch: 1, recovery, reason: "restarted" });

/** v1[0] finished before the loss at 100; v1[1] was running; the new leader (elected at 200) runs v1[1] as attempt 5 from 250. */
const failoverEvents = [
  tsc(0, 10, 0, 0, "RUNNING"),
  tsc(1, 20, 1, 0, "RUNNING"),
  tsc(2, 50, 0, 0, "FINISHED"),
  lost(3, 100),
  elected(4, 200, "event-log"),
  ev(5, 200, "JobStatusChanged", { status: "RECONCILING" }),
  ev(6, 240, "JobEventsReplayed", { events: 3, segments: 2, readNs: 40, initialized: ["v1"], finished: ["v1[0]"], trimmed: [] }),
  ev(7, 240, "PartitionsReconciled", { expected: 1, found: 1, missing: [], released: 0, waitedNs: 0, timedOut: false }),
  ev(8, 240, "JobRecoveryFinished", { succeeded: true, recoveredFinished: 1, reset: 0, durationNs: 40 }),
  ev(9, 240, "JobStatusChanged", { status: "RUNNING" }),
  tsc(10, 250, 1, 5, "SCHEDULED"),
  tsc(11, 260, 1, 5, "RUNNING"),
  tsc(12, 300, 1, 5, "FINISHED"),
];

describe("task attempts across a JobManager failover", () => {
  const tasks = buildTasks(failoverEvents);

  it("end the attempts live at the loss as CANCELED there, and leave finished ones alone", () => {
    const [running] = tasks.bySubtask.get("v1[1]")!;
    expect(running).toMatchObject({ attempt: 0, endNs: 100, endState: "CANCELED", lostWithJobManager: true });
    expect(running!.cause).toMatch(/lost with the JobManager \(host jm crashed\)/);
    expect(tasks.bySubtask.get("v1[0]")!.map((a) => [a.attempt, a.endState, a.lostWithJobManager])).toEqual([[0, "FINISHED", false]]);
  });

  it("do not count the new leader's higher-numbered attempt as a speculative twin", () => {
    expect(tasks.bySubtask.get("v1[1]")!.map((a) => [a.attempt, a.speculative])).toEqual([[0, false], [5, false]]);
    expect([99, 100, 249, 250].map((t) => liveAttemptsAt(tasks, "v1[1]", t))).toEqual([1, 0, 0, 1]);
  });

  it("show the running subtask RUNNING, then CANCELED through the outage, then the new attempt; the finished one FINISHED throughout", () => {
    const at = (id: string, t: number) => {
      const s = subtaskStateAt(tasks, id, t);
      return s === undefined ? "-" : `${s.state}#${s.attempt.attempt}`;
    };
    expect([99, 100, 199, 249, 250, 260, 300].map((t) => at("v1[1]", t))).toEqual(["RUNNING#0", "CANCELED#0", "CANCELED#0", "CANCELED#0", "SCHEDULED#5", "RUNNING#5", "FINISHED#5"]);
    expect([50, 100, 200, 250, 1000].map((t) => at("v1[0]", t))).toEqual(["FINISHED#0", "FINISHED#0", "FINISHED#0", "FINISHED#0", "FINISHED#0"]);
  });

  it("keep a CANCELED the trace has at the loss (either side of JobManagerLost) and add nothing to it", () => {
    for (const events of [[tsc(0, 10, 1, 0, "RUNNING"), tsc(1, 100, 1, 0, "CANCELED"), lost(2, 100)], [tsc(0, 10, 1, 0, "RUNNING"), lost(1, 100), tsc(2, 100, 1, 0, "CANCELED")]]) {
      const [a] = buildTasks(events).bySubtask.get("v1[1]")!;
      expect(a!.phases.map((p) => p.state)).toEqual(["RUNNING", "CANCELED"]);
      expect(a!.lostWithJobManager).toBe(events[1]!.kind === "JobManagerLost");
    }
  });
});

describe("the JobManager failover model", () => {
  const tasks = buildTasks(failoverEvents);
  const [f] = buildJmFailovers(failoverEvents, tasks);

  it("reads the loss, the election and the event-log recovery", () => {
    expect(f).toMatchObject({ lostNs: 100, host: "jm", epoch: 0, cause: "host jm crashed", finishedAtLoss: ["v1[0]"], rerun: [] });
    expect(f!.elections).toEqual([{ tNs: 200, seq: 4, epoch: 1, recovery: "event-log", reason: "restarted" }]);
    expect(f!.replayed).toMatchObject({ events: 3, segments: 2, finished: ["v1[0]"], trimmed: [] });
    expect(f!.reconciled).toMatchObject({ expected: 1, found: 1, timedOut: false });
    expect(f!.finished).toMatchObject({ tNs: 240, succeeded: true, recoveredFinished: 1 });
    expect(downtimeNs(f!)).toBe(100);
    expect(reconciledNs(f!)).toBe(240);
  });

  it("has half-open phases: future, outage from the loss, reconciling from the election, recovered from JobRecoveryFinished", () => {
    expect([99, 100, 199, 200, 239, 240].map((t) => jmFailoverPhaseAt(f!, t))).toEqual(["future", "outage", "outage", "reconciling", "reconciling", "recovered"]);
    expect(activeJmFailoverAt([f!], 150)?.phase).toBe("outage");
    expect(activeJmFailoverAt([f!], 240)).toBeUndefined();
    expect(jmFailoverBands(f!, 1000)).toEqual([
      { phase: "outage", fromNs: 100, toNs: 200 },
      { phase: "reconciling", fromNs: 200, toNs: 240 },
    ]);
  });

  it("has no reconciling phase when the new leader runs the job from scratch, and counts the finished subtasks it reruns", () => {
    const events = [tsc(0, 10, 0, 0, "RUNNING"), tsc(1, 50, 0, 0, "FINISHED"), lost(2, 100), elected(3, 200, "from-scratch"), tsc(4, 210, 0, 1, "SCHEDULED")];
    const [g] = buildJmFailovers(events, buildTasks(events));
    expect(g).toMatchObject({ finishedAtLoss: ["v1[0]"], rerun: ["v1[0]"] });
    expect([199, 200].map((t) => jmFailoverPhaseAt(g!, t))).toEqual(["outage", "recovered"]);
    expect(jmFailoverBands(g!, 1000)).toEqual([{ phase: "outage", fromNs: 100, toNs: 200 }]);
  });

  it("runs an outage with no election to the trace's end, and gives a rerun to the failover it followed", () => {
    const events = [tsc(0, 10, 0, 0, "RUNNING"), tsc(1, 50, 0, 0, "FINISHED"), lost(2, 100), elected(3, 200, "event-log"), lost(4, 300), tsc(5, 310, 0, 1, "SCHEDULED")];
    const [a, b] = buildJmFailovers(events, buildTasks(events));
    expect(a!.rerun).toEqual([]);
    expect(b!.rerun).toEqual(["v1[0]"]);
    // The first recovery never finished: reconciling until the second loss is not claimed, it runs to the trace's end.
    expect(reconciledNs(a!)).toBeUndefined();
    expect(jmFailoverPhaseAt(b!, 10_000)).toBe("outage");
    expect(jmFailoverBands(b!, 500)).toEqual([{ phase: "outage", fromNs: 300, toNs: 500 }]);
  });
});

describe("the job status", () => {
  it("is the last change at or before t: RECONCILING from the election, RUNNING again when the recovery ends", () => {
    const m = buildJobStatus([ev(0, 0, "JobStatusChanged", { status: "RUNNING" }), ...failoverEvents]);
    expect([-1, 0, 199, 200, 239, 240].map((t) => jobStatusAt(m, t))).toEqual([undefined, "RUNNING", "RUNNING", "RECONCILING", "RECONCILING", "RUNNING"]);
  });
});

describe("the event log's JobManager group", () => {
  it("selects the failover and recovery events, and survives the URL", () => {
    const events = [...failoverEvents, ev(13, 400, "JobEventsFlushed", { segment: 0, events: 1, bytes: 64, reason: "interval" })];
    expect([...filterEvents(events, { kind: "@jobmanager", vertex: undefined, host: undefined })]).toEqual([3, 4, 6, 7, 8, 13]);
    expect(kindGroupsPresent(["TaskStateChanged", "JobManagerLost"])).toEqual(["@jobmanager"]);
    expect(kindGroupsPresent(["TaskStateChanged", "JobStatusChanged"])).toEqual([]);
    const hash = formatUrlHash({ timeNs: 5, selectedSeq: undefined, filter: { kind: "@jobmanager", vertex: undefined, host: undefined } });
    expect(parseUrlState("", hash).filter.kind).toBe("@jobmanager");
  });
});

async function replayOf(variant: TraceVariant = {}) {
  const parsed = parseTraceText(await scenarioTraceText("jm-failover-batch", 1, variant));
  expect(parsed.problem).toBeUndefined();
  const events = parsed.events;
  const one = (kind: string) => {
    const found = events.filter((e) => e.kind === kind);
    expect(found, kind).toHaveLength(1);
    return found[0]!;
  };
  return { events, one, replay: buildReplay(events) };
}

/** Every subtask's state at every event time of the trace, from the job graph's view model. */
function statesAtEveryEventTime(replay: ReturnType<typeof buildReplay>, events: readonly TraceEvent[]): Map<number, Map<string, { state: string | undefined; attempt: number | undefined }>> {
  const out = new Map<number, Map<string, { state: string | undefined; attempt: number | undefined }>>();
  for (const t of new Set(events.map((e) => e.t))) {
    const views = vertexViewsAt(replay.graph!, replay.tasks, replay.metrics, new Set(), t, replay.decisions);
    out.set(t, new Map(views.flatMap((v) => v.subtasks.map((s) => [s.id, { state: s.state, attempt: s.attempt }] as const))));
  }
  return out;
}

describe("the jm-failover-batch trace", () => {
  it("recovers from the event log: the panel's facts, the phases and the job status as the trace has them, and no finished subtask rerun", async () => {
    const { events, one, replay } = await replayOf();
    const lostE = one("JobManagerLost");
    const electedE = events.filter((e) => e.kind === "JobManagerLeaderElected" && e.seq > lostE.seq)[0]!;
    const replayedE = one("JobEventsReplayed");
    const reconciledE = one("PartitionsReconciled");
    const finishedE = one("JobRecoveryFinished");
    expect(replay.jmFailovers).toHaveLength(1);
    const f = replay.jmFailovers[0]!;
    expect(f.lostNs).toBe(lostE.t);
    expect(f.elections.map((e) => [e.tNs, e.recovery])).toEqual([[electedE.t, "event-log"]]);
    expect(downtimeNs(f)).toBe(electedE.t - lostE.t);
    expect(f.replayed).toMatchObject({ events: replayedE.events, segments: replayedE.segments, initialized: replayedE.initialized, finished: replayedE.finished, trimmed: replayedE.trimmed });
    expect(f.reconciled).toMatchObject({ expected: reconciledE.expected, found: reconciledE.found, missing: reconciledE.missing, waitedNs: reconciledE.waitedNs, timedOut: reconciledE.timedOut });
    expect(f.finished).toMatchObject({ tNs: finishedE.t, succeeded: true, recoveredFinished: finishedE.recoveredFinished, durationNs: finishedE.durationNs });
    // What the model reads from the attempts agrees with what the recovery says it recovered.
    expect([...f.finishedAtLoss].sort()).toEqual([...(replayedE.finished as string[])].sort());
    expect(f.finishedAtLoss.length).toBe(finishedE.recoveredFinished);
    expect(f.rerun).toEqual([]);
    expect([lostE.t - 1, lostE.t, electedE.t - 1, electedE.t, finishedE.t - 1, finishedE.t].map((t) => jmFailoverPhaseAt(f, t))).toEqual(["future", "outage", "outage", "reconciling", "reconciling", "recovered"]);
    expect([lostE.t - 1, lostE.t, electedE.t - 1, electedE.t, finishedE.t - 1, finishedE.t].map((t) => jobStatusAt(replay.jobStatus, t))).toEqual(["RUNNING", "RUNNING", "RUNNING", "RECONCILING", "RECONCILING", "RUNNING"]);
    expect(replay.gantt.lanes[0]!.kind).toBe("jobmanager");
    expect(replay.gantt.lanes.filter((l) => l.kind === "jobmanager")).toHaveLength(1);
  });

  it("job graph: the recovered subtasks stay FINISHED at every event time after they finish; those running at the loss are CANCELED until the new leader's higher attempt", async () => {
    const { events, one, replay } = await replayOf();
    const lostE = one("JobManagerLost");
    const f = replay.jmFailovers[0]!;
    const states = statesAtEveryEventTime(replay, events);
    for (const id of f.finishedAtLoss) {
      const finishedAt = replay.tasks.bySubtask.get(id)!.find((a) => a.endState === "FINISHED")!.endNs!;
      for (const [t, m] of states) if (t >= finishedAt) expect(m.get(id), `${id} at ${t}`).toEqual({ state: "FINISHED", attempt: 0 });
      expect(replay.tasks.bySubtask.get(id)).toHaveLength(1);
    }
    const cut = replay.tasks.attempts.filter((a) => a.lostWithJobManager);
    expect(cut.length).toBeGreaterThan(0);
    for (const a of cut) {
      expect(a.endNs).toBe(lostE.t);
      const next = replay.tasks.bySubtask.get(a.subtask)!.find((b) => b.phases[0]!.startNs > lostE.t)!;
      expect(next.attempt).toBeGreaterThan(a.attempt);
      for (const [t, m] of states) {
        const s = m.get(a.subtask)!;
        if (t >= lostE.t && t < next.phases[0]!.startNs) expect(s, `${a.subtask} at ${t}`).toEqual({ state: "CANCELED", attempt: a.attempt });
        if (t >= next.phases[0]!.startNs) expect(s.attempt, `${a.subtask} at ${t}`).toBe(next.attempt);
      }
    }
    expect(replay.tasks.attempts.some((a) => a.speculative)).toBe(false);
  });

  it("knock-out twin: the new leader runs the job from scratch, no reconciling phase, every subtask finished at the loss rerun with a higher attempt", async () => {
    const { events, one, replay } = await replayOf({ knockout: true });
    const lostE = one("JobManagerLost");
    const electedE = one("JobManagerLeaderElected");
    expect(events.some((e) => e.kind === "JobEventsReplayed" || e.kind === "JobRecoveryFinished")).toBe(false);
    const f = replay.jmFailovers[0]!;
    expect(f.elections.map((e) => e.recovery)).toEqual(["from-scratch"]);
    expect(jmFailoverBands(f, replay.index.endNs)).toEqual([{ phase: "outage", fromNs: lostE.t, toNs: electedE.t }]);
    expect([electedE.t - 1, electedE.t].map((t) => jmFailoverPhaseAt(f, t))).toEqual(["outage", "recovered"]);
    expect(events.filter((e) => e.kind === "JobStatusChanged").map((e) => e.status)).not.toContain("RECONCILING");
    expect(f.finishedAtLoss.length).toBeGreaterThan(0);
    expect(f.rerun).toEqual(f.finishedAtLoss);
    const states = statesAtEveryEventTime(replay, events);
    for (const id of f.rerun) {
      const [first, again] = replay.tasks.bySubtask.get(id)!;
      expect(first!.endState).toBe("FINISHED");
      expect(again!.attempt).toBeGreaterThan(first!.attempt);
      // FINISHED (the old attempt) through the outage, the rerun's state once it begins.
      for (const [t, m] of states) {
        if (t >= lostE.t && t < again!.phases[0]!.startNs) expect(m.get(id), `${id} at ${t}`).toEqual({ state: "FINISHED", attempt: first!.attempt });
        if (t >= again!.phases[0]!.startNs) expect(m.get(id)!.attempt).toBe(again!.attempt);
      }
    }
  });

  it("a TaskManager lost during the outage: the reconcile times out with partitions missing, and the reset subtasks are exactly the finished ones rerun", async () => {
    const faults = [
      { trigger: { at: "2.6s" }, fault: { type: "crash", restartAfter: "10s" }, target: "jm" },
      { trigger: { at: "5s" }, fault: "crash", target: "tm-2" },
    ];
    const { one, replay } = await replayOf({ faults });
    const reconciledE = one("PartitionsReconciled");
    const resetE = one("RecoveryVerticesReset");
    const f = replay.jmFailovers[0]!;
    expect(f.reconciled).toMatchObject({ timedOut: true, waitedNs: reconciledE.waitedNs });
    expect(f.reconciled!.missing.length).toBeGreaterThan(0);
    expect(f.reset).toEqual(resetE.vertices);
    expect([...f.rerun].sort()).toEqual([...(resetE.vertices as string[])].sort());
    expect(jmFailoverPhaseAt(f, f.finished!.tNs - 1)).toBe("reconciling");
    expect(f.finished!.tNs - electedNs(f)!).toBeGreaterThanOrEqual(reconciledE.waitedNs as number);
  });
});
