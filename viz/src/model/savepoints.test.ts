import { describe, expect, it } from "vitest";
import type { TraceEvent } from "../../../sim/trace/events";
import { buildCheckpoints, completedSummaryAt, rowsByDuration, savepointAction, savepointPathAt, statusAt } from "./checkpoints";
import { filterEvents, kindGroupsPresent } from "./event-log";
import { buildJmFailovers } from "./jm-failover";
import { parseTraceText } from "./parse";
import { buildReplay, type Replay } from "./replay";
import { buildRestore, deletedCountAt, previousParallelismAt, restoreAt } from "./restore";
import { scenarioTraceText, type TraceVariant } from "./scenario-traces";
import { buildTasks } from "./tasks";

const ev = (seq: number, t: number, kind: string, extra: Record<string, unknown> = {}): TraceEvent => ({ v: 1, seq, t, kind, ...extra });
const ack = (seq: number, t: number, checkpoint: number, subtask: string, asyncNs: number) =>
  ev(seq, t, "CheckpointAcknowledged", { checkpoint, subtask, host: "tm-1", startDelayNs: 1, alignmentNs: 2, syncNs: 3, asyncNs, stateBytes: 10, unaligned: false, persistedBytes: 0 });

/** Checkpoint 1 completes; savepoint 2 (stop --drain, NATIVE) is acked by two subtasks, completes at 300 and is stored at 320. */
const savepointEvents = [
  ev(0, 0, "CheckpointTriggered", { checkpoint: 1, mode: "EXACTLY_ONCE", subtasks: 1 }),
  ack(1, 40, 1, "v0[0]", 30),
  ev(2, 40, "CheckpointCompleted", { checkpoint: 1, durationNs: 40, stateBytes: 10 }),
  ev(3, 200, "SavepointTriggered", { checkpoint: 2, terminate: true, drain: true, format: "NATIVE", subtasks: 2 }),
  ack(4, 250, 2, "v0[0]", 40),
  ack(5, 300, 2, "v0[1]", 90),
  ev(6, 300, "SavepointCompleted", { checkpoint: 2, durationNs: 100, stateBytes: 20, subtasks: 2, terminate: true, drain: true, format: "NATIVE" }),
  ev(7, 320, "SavepointStored", { checkpoint: 2, path: "savepoints/sp-2", stateBytes: 20, metadataBytes: 5 }),
];

describe("savepoints in the checkpoint model (hand-made events)", () => {
  const m = buildCheckpoints(savepointEvents);
  const sp = m.checkpoints.find((c) => c.id === 2)!;

  it("mark the savepoint with its options and keep periodic checkpoints unmarked", () => {
    expect(m.checkpoints.map((c) => c.id)).toEqual([1, 2]);
    expect(m.checkpoints[0]!.savepoint).toBeUndefined();
    expect(sp.savepoint).toMatchObject({ terminate: true, drain: true, format: "NATIVE" });
    expect(savepointAction(sp.savepoint!)).toBe("stop-with-savepoint --drain");
    expect(savepointAction({ ...sp.savepoint!, terminate: false })).toBe("savepoint");
    expect(sp.expectedSubtasks).toBe(2);
  });

  it("are pending until SavepointCompleted, completed from then, with its duration and size", () => {
    expect(statusAt(sp, 199)).toBeUndefined();
    expect(statusAt(sp, 299)).toBe("PENDING");
    expect(statusAt(sp, 300)).toBe("COMPLETED");
    expect([sp.durationNs, sp.stateBytes]).toEqual([100, 20]);
  });

  it("have a path only from SavepointStored on", () => {
    expect(savepointPathAt(sp, 319)).toBeUndefined();
    expect(savepointPathAt(sp, 320)).toBe("savepoints/sp-2");
    expect(sp.savepoint!.metadataBytes).toBe(5);
  });

  it("give the per-subtask Gantt rows like a checkpoint, slowest first, as of t", () => {
    expect(rowsByDuration(sp, 260).map((a) => a.subtask)).toEqual(["v0[0]"]);
    expect(rowsByDuration(sp, 300).map((a) => a.subtask)).toEqual(["v0[1]", "v0[0]"]);
  });

  it("are left out of the periodic checkpoints' duration summary", () => {
    expect(completedSummaryAt(m, 400)).toMatchObject({ count: 1, maxNs: 40 });
  });

  it("a failed savepoint ends ABORTED with its reason", () => {
    const f = buildCheckpoints([savepointEvents[3]!, ev(4, 260, "SavepointFailed", { checkpoint: 2, reason: "blob store unavailable" })]).checkpoints[0]!;
    expect([statusAt(f, 259), statusAt(f, 260), f.reason, f.durationNs]).toEqual(["PENDING", "ABORTED", "blob store unavailable", 60]);
  });
});

const restored = ev(4, 0, "JobRestoredFromSavepoint", {
  checkpoint: 8,
  path: "savepoints/sp-8",
  claimMode: "CLAIM",
  format: "NATIVE",
  vertices: [
    { vertex: "v0", name: "Source", oldParallelism: 2, newParallelism: 2, maxParallelism: 128 },
    { vertex: "v1", name: "Reduce", oldParallelism: 4, newParallelism: 7, maxParallelism: 128 },
  ],
  plannedReadBytes: 100,
});
const deleted = (seq: number, t: number, key: string) => ev(seq, t, "SnapshotFileDeleted", { key, owner: "savepoints/sp-8", claimMode: "CLAIM", reason: "no retained checkpoint references it" });

describe("restores and snapshot file deletions (hand-made events)", () => {
  const m = buildRestore([restored, deleted(9, 50, "a"), deleted(10, 50, "b"), deleted(11, 90, "c")]);

  it("read the claim mode, format, savepoint and per-vertex old → new parallelism", () => {
    expect(m.restore).toMatchObject({ checkpoint: 8, path: "savepoints/sp-8", claimMode: "CLAIM", format: "NATIVE", plannedReadBytes: 100 });
    expect(m.restore!.vertices.map((v) => `${v.vertex}:${v.oldParallelism}→${v.newParallelism}`)).toEqual(["v0:2→2", "v1:4→7"]);
    expect(restoreAt(m, 0)).toBe(m.restore);
  });

  it("name a vertex's previous parallelism only when the restore changed it", () => {
    expect(previousParallelismAt(m, "v1", 0)).toBe(4);
    expect(previousParallelismAt(m, "v0", 0)).toBeUndefined();
    expect(previousParallelismAt(m, "v9", 0)).toBeUndefined();
  });

  it("count deletions as of t (half-open at each deletion's time)", () => {
    expect([49, 50, 89, 90, 1000].map((t) => deletedCountAt(m, t))).toEqual([0, 2, 2, 3, 3]);
  });

  it("a trace without a restore has none, and bad vertex entries are dropped", () => {
    expect(buildRestore(savepointEvents)).toEqual({ restore: undefined, deletions: [] });
    const bad = buildRestore([{ ...restored, vertices: [{ vertex: "v0" }, 3, null, { vertex: "v1", oldParallelism: 1, newParallelism: 2 }] }]);
    expect(bad.restore!.vertices.map((v) => v.vertex)).toEqual(["v1"]);
  });
});

describe("streaming JobManager failover (hand-made events)", () => {
  it("records the checkpoint store read and the checkpoint restored after the election", () => {
    const events = [
      ev(0, 10, "CheckpointRestored", { checkpoint: 1, subtasks: ["v0[0]"] }),
      ev(1, 100, "JobManagerLost", { host: "jm", epoch: 0, cause: "host jm crashed" }),
      ev(2, 200, "JobManagerLeaderElected", { host: "jm", epoch: 1, recovery: "checkpoint", reason: "restores checkpoint 3" }),
      ev(3, 210, "CheckpointStoreRecovered", { checkpoints: [2, 3], bytes: 4096, readNs: 10, attempts: 2, nextCheckpointId: 4 }),
      ev(4, 210, "CheckpointRestored", { checkpoint: 3, subtasks: ["v0[0]"] }),
      ev(5, 400, "CheckpointRestored", { checkpoint: 5, subtasks: ["v0[0]"] }),
    ];
    const [f] = buildJmFailovers(events, buildTasks([]));
    expect(f!.elections.map((e) => e.recovery)).toEqual(["checkpoint"]);
    expect(f!.storeRecovered).toEqual({ tNs: 210, checkpoints: [2, 3], bytes: 4096, readNs: 10, attempts: 2, nextCheckpointId: 4 });
    expect(f!.restoredCheckpoint).toBe(3);
  });
});

async function replayOf(name: string, variant: TraceVariant = {}): Promise<{ replay: Replay; events: TraceEvent[] }> {
  const parsed = parseTraceText(await scenarioTraceText(name, 1, variant));
  expect(parsed.problem).toBeUndefined();
  return { replay: buildReplay(parsed.events), events: parsed.events };
}

describe("real traces: savepoint-rescale, claim-modes and jm-failover-streaming", () => {
  it("savepoint-rescale phase 2: restored 4 → 7 at time 0, then a stop-with-savepoint with its acks and path", async () => {
    const { replay, events } = await replayOf("savepoint-rescale", { phase: 2 });
    const r = restoreAt(replay.restore, 0)!;
    expect(r.claimMode).toBe("NO_CLAIM");
    expect(r.vertices.map((v) => `${v.oldParallelism}→${v.newParallelism}`)).toEqual(["4→7", "4→7"]);
    expect(replay.graph!.vertices.map((v) => previousParallelismAt(replay.restore, v.id, 0))).toEqual([4, 4]);
    const trig = events.find((e) => e.kind === "SavepointTriggered")!;
    const done = events.find((e) => e.kind === "SavepointCompleted")!;
    const sp = replay.checkpoints.checkpoints.find((c) => c.id === trig.checkpoint)!;
    expect(sp.savepoint).toMatchObject({ terminate: true, drain: false, format: "CANONICAL" });
    expect(sp.savepoint!.path).toBe(`savepoints/sp-${sp.id}`);
    expect([statusAt(sp, done.t - 1), statusAt(sp, done.t)]).toEqual(["PENDING", "COMPLETED"]);
    // Every one of the 14 subtasks acked the savepoint, so its Gantt has 14 rows.
    expect(rowsByDuration(sp, done.t)).toHaveLength(7 + 7);
    expect(replay.checkpoints.checkpoints.filter((c) => c.savepoint !== undefined)).toHaveLength(1);
  });

  it("savepoint-rescale last phase: restored 7 → 2 and nothing deleted (NO_CLAIM)", async () => {
    const { replay } = await replayOf("savepoint-rescale");
    expect(replay.restore.restore!.vertices.map((v) => `${v.oldParallelism}→${v.newParallelism}`)).toEqual(["7→2", "7→2"]);
    expect(replay.restore.deletions).toEqual([]);
  });

  it("claim-modes: NO_CLAIM deletes no savepoint file; the CLAIM twin deletes them after its first checkpoints", async () => {
    const noClaim = (await replayOf("claim-modes")).replay;
    const { replay: claim, events } = await replayOf("claim-modes", { knockout: true });
    expect(noClaim.restore.restore!.claimMode).toBe("NO_CLAIM");
    expect(noClaim.restore.deletions).toEqual([]);
    expect(claim.restore.restore!.claimMode).toBe("CLAIM");
    const dels = events.filter((e) => e.kind === "SnapshotFileDeleted");
    expect(dels.length).toBeGreaterThan(0);
    expect(claim.restore.deletions.every((d) => d.owner === claim.restore.restore!.path)).toBe(true);
    expect(deletedCountAt(claim.restore, dels[0]!.t - 1)).toBe(0);
    expect(deletedCountAt(claim.restore, claim.index.endNs)).toBe(dels.length);
    // The log's group selects the restore and every deletion.
    expect(kindGroupsPresent(claim.index.kinds)).toContain("@savepoint");
    expect(filterEvents(events, { kind: "@savepoint", vertex: undefined, host: undefined })).toHaveLength(1 + dels.length);
  });

  it("jm-failover-streaming: the new leader recovers from checkpoints and restores the latest from the store it read", async () => {
    const { replay, events } = await replayOf("jm-failover-streaming");
    const [f] = replay.jmFailovers;
    const store = events.find((e) => e.kind === "CheckpointStoreRecovered")!;
    expect(f!.elections.map((e) => e.recovery)).toEqual(["checkpoint"]);
    expect(f!.storeRecovered).toMatchObject({ tNs: store.t, bytes: store.bytes, readNs: store.readNs, attempts: store.attempts });
    const cps = store.checkpoints as number[];
    expect(f!.restoredCheckpoint).toBe(cps[cps.length - 1]);
  });
});
