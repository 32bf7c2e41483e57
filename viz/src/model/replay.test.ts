/**
 * The view models against real scenario runs: the facts are read straight from the
 * trace's events (failover time and set, checkpoint ids and times) and the models must
 * show them at the right scrub times — just before a failover nothing is highlighted,
 * just after its subtasks are.
 */
import { describe, expect, it } from "vitest";
import { ackDurationNs, checkpointsAt, completedSummaryAt, newestAt, rowsByDuration, statusAt } from "./checkpoints";
import { activeFailoversAt, failoverPhaseAt, failoverSubtasksAt, timeToRecoverNs } from "./failures";
import { attemptAt } from "./gantt";
import { regionOutlines, vertexViewsAt } from "./graph";
import { parseTraceText } from "./parse";
import { buildReplay } from "./replay";
import { scenarioTraceText } from "./scenario-traces";
import { subtaskStateAt } from "./tasks";

async function replayOf(name: string) {
  const parsed = parseTraceText(await scenarioTraceText(name));
  expect(parsed.problem).toBeUndefined();
  return { events: parsed.events, replay: buildReplay(parsed.events) };
}

describe("view models on the region-failover scenario", () => {
  it("highlight exactly the failover's region set from the failure until recovery", async () => {
    const { events, replay } = await replayOf("region-failover");
    const trig = events.find((e) => e.kind === "FailoverTriggered")!;
    const restarted = events.find((e) => e.kind === "TasksRestarted")!;
    const set = trig.vertices as string[];
    expect(replay.failovers).toHaveLength(1);
    const f = replay.failovers[0]!;
    expect(f.tNs).toBe(trig.t);
    expect(f.restartNs).toBe(restarted.t);
    expect(failoverSubtasksAt(replay.failovers, trig.t - 1).size).toBe(0);
    expect([...failoverSubtasksAt(replay.failovers, trig.t)].sort()).toEqual([...set].sort());
    expect(failoverPhaseAt(f, restarted.t - 1)).toBe("backoff");
    expect(failoverPhaseAt(f, restarted.t)).toBe("restarting");
    expect(f.recoveredNs).toBeGreaterThanOrEqual(restarted.t);
    expect(timeToRecoverNs(f)).toBe(f.recoveredNs! - trig.t);
    expect(activeFailoversAt(replay.failovers, f.recoveredNs!)).toEqual([]);

    const graph = replay.graph!;
    const views = vertexViewsAt(graph, replay.tasks, replay.metrics, failoverSubtasksAt(replay.failovers, trig.t), trig.t);
    const highlighted = views.flatMap((v) => v.subtasks.filter((s) => s.inFailover).map((s) => s.id));
    expect(highlighted.sort()).toEqual([...set].sort());
    // Just before the failure, the failed subtask was running its first attempt; after the restart, a new attempt.
    const failed = trig.failed as string;
    expect(subtaskStateAt(replay.tasks, failed, trig.t - 1)?.attempt.attempt).toBe(0);
    expect(subtaskStateAt(replay.tasks, failed, f.recoveredNs!)?.attempt.attempt).toBeGreaterThan(0);
    expect(subtaskStateAt(replay.tasks, failed, trig.t)?.state).toBe("FAILED");
  });

  it("lays out one Gantt lane per slot and finds the failed attempt by hit-testing", async () => {
    const { events, replay } = await replayOf("region-failover");
    const trig = events.find((e) => e.kind === "FailoverTriggered")!;
    const failedChange = events.find((e) => e.kind === "TaskStateChanged" && e.state === "FAILED")!;
    const lanes = replay.gantt.lanes.filter((l) => l.host === failedChange.host && l.slot === failedChange.slot);
    const hits = lanes.map((l) => attemptAt(l, trig.t - 1, replay.index.endNs)).filter((a) => a !== undefined);
    expect(hits.map((a) => a.subtask)).toContain(`${failedChange.vertex}[${failedChange.subtask}]`);
    expect(hits.find((a) => a.subtask === `${failedChange.vertex}[${failedChange.subtask}]`)?.endState).toBe("FAILED");
    expect(new Set(replay.gantt.lanes.map((l) => `${l.host}/${l.slot}/${l.track}`)).size).toBe(replay.gantt.lanes.length);
    expect(replay.gantt.markers.filter((m) => m.kind === "failover").map((m) => m.tNs)).toEqual([trig.t]);
  });

  it("outlines one box per distinct vertex set of regions", async () => {
    const { replay } = await replayOf("region-failover");
    const outlines = regionOutlines(replay.graph!);
    // A blocking batch job: every region is one subtask, so one outline per vertex.
    expect(outlines.map((o) => o.vertices)).toEqual(replay.graph!.vertices.map((v) => [v.id]));
  });
});

describe("view models on the exactly-once-sink scenario", () => {
  it("give slot-sharing attempts their own tracks, so no two bars of a lane overlap", async () => {
    const { replay } = await replayOf("exactly-once-sink");
    expect(replay.gantt.lanes.some((l) => l.track > 0)).toBe(true);
    for (const lane of replay.gantt.lanes) {
      for (let i = 1; i < lane.attempts.length; i++) expect(lane.attempts[i - 1]!.endNs!).toBeLessThanOrEqual(lane.attempts[i]!.phases[0]!.startNs);
    }
  });

  it("show each checkpoint pending until its completion and its acks sorted by duration", async () => {
    const { events, replay } = await replayOf("exactly-once-sink");
    const completed = events.filter((e) => e.kind === "CheckpointCompleted");
    const aborted = events.filter((e) => e.kind === "CheckpointAborted");
    expect(completed.length).toBeGreaterThan(0);
    expect(replay.checkpoints.checkpoints.map((c) => c.id)).toEqual(events.filter((e) => e.kind === "CheckpointTriggered").map((e) => e.checkpoint));
    for (const done of completed) {
      const cp = replay.checkpoints.checkpoints.find((c) => c.id === done.checkpoint)!;
      expect(statusAt(cp, done.t - 1)).toBe("PENDING");
      expect(statusAt(cp, done.t)).toBe("COMPLETED");
      const rows = rowsByDuration(cp, done.t);
      expect(rows).toHaveLength(done.subtasks as number);
      for (let i = 1; i < rows.length; i++) expect(ackDurationNs(cp, rows[i - 1]!)).toBeGreaterThanOrEqual(ackDurationNs(cp, rows[i]!));
    }
    for (const ab of aborted) expect(statusAt(replay.checkpoints.checkpoints.find((c) => c.id === ab.checkpoint)!, ab.t)).toBe("ABORTED");
    const last = completed[completed.length - 1]!;
    expect(completedSummaryAt(replay.checkpoints, last.t)?.count).toBe(completed.length);
    expect(completedSummaryAt(replay.checkpoints, completed[0]!.t - 1)).toBeUndefined();
    expect(newestAt(replay.checkpoints, last.t)?.id).toBe(last.checkpoint);
    expect(checkpointsAt(replay.checkpoints, 0)).toEqual([]);
    const restored = events.find((e) => e.kind === "CheckpointRestored")!;
    expect(replay.checkpoints.restores.map((r) => r.checkpoint)).toEqual([restored.checkpoint]);
  });

  it("counts a TaskManager loss as one failover of the whole region, with the right time to recover", async () => {
    const { events, replay } = await replayOf("exactly-once-sink");
    const trig = events.find((e) => e.kind === "FailoverTriggered")!;
    const f = replay.failovers[0]!;
    expect(f.cause).toBe(trig.cause);
    expect(f.regions).toEqual(trig.regions);
    // Recovered: the last restarted subtask's new attempt reached RUNNING.
    const runningAgain = (trig.vertices as string[]).map((id) => {
      const e = events.find((x) => x.kind === "TaskStateChanged" && `${x.vertex}[${x.subtask}]` === id && x.t >= f.restartNs! && (x.state === "RUNNING" || x.state === "FINISHED"))!;
      return e.t;
    });
    expect(f.recoveredNs).toBe(Math.max(...runningAgain));
  });
});

describe("view models on the backpressure scenario", () => {
  it("colour a vertex by its highest subtask backpressure at the scrub time", async () => {
    const { events, replay } = await replayOf("backpressure");
    const sample = events.find((e) => e.kind === "TaskMetrics" && (e.backpressured as number) > 0.5)!;
    const views = vertexViewsAt(replay.graph!, replay.tasks, replay.metrics, new Set(), sample.t);
    const v = views.find((x) => x.id === sample.vertex)!;
    expect(v.backpressuredMax).toBeGreaterThanOrEqual(sample.backpressured as number);
    expect(v.level).toBe("HIGH");
    // Before the first sample there is nothing to colour by.
    const first = events.find((e) => e.kind === "TaskMetrics")!;
    expect(vertexViewsAt(replay.graph!, replay.tasks, replay.metrics, new Set(), first.t - 1).every((x) => x.level === undefined)).toBe(true);
  });
});

describe("view models on the aligned-timeout scenario", () => {
  it("mark the subtasks of switched checkpoints unaligned, with the in-flight bytes they persisted", async () => {
    const { events, replay } = await replayOf("aligned-timeout");
    const acks = events.filter((e) => e.kind === "CheckpointAcknowledged");
    const unaligned = acks.filter((e) => e["unaligned"] === true);
    expect(unaligned.length).toBeGreaterThan(0);
    expect(acks.length).toBeGreaterThan(unaligned.length); // the first ones finished aligned
    for (const e of acks) {
      const cp = replay.checkpoints.checkpoints.find((c) => c.id === e["checkpoint"])!;
      const ack = cp.acks.find((a) => a.subtask === e["subtask"])!;
      expect(ack.unaligned).toBe(e["unaligned"] === true);
      expect(ack.persistedBytes).toBe(e["persistedBytes"]);
    }
    expect(unaligned.some((e) => (e["persistedBytes"] as number) > 0)).toBe(true);
  });
});
