/**
 * Savepoints, stop-with-savepoint (with and without --drain), restores and claim modes
 * (issue 8): the two scenarios and their twins, file ownership in the blob store, the
 * trace events the visualizer will show, and one-line errors for bad requests.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { runScenarioOnce } from "../cli/run";
import savepointRescale from "../scenarios/savepoint-rescale.scenario";
import claimModes, { restoredPhase } from "../scenarios/claim-modes.scenario";
import { getJob } from "../scenarios/jobs/index";
import { MemorySink } from "../sim/trace/recorder";
import { runJob } from "../engine/job-run";
import { phasesOf } from "../engine/savepoint-run";
import type { SavepointMetadata } from "../engine/checkpoint/savepoint";

function events(sink: MemorySink, kind: string): Record<string, unknown>[] {
  return sink.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.kind === kind);
}

describe("savepoints and restores", () => {
  it("savepoint-rescale: exactly-once across 4 → 7 → 2; traces record savepoints and restores; the restore-without-state twin fails", () => {
    const sinks: MemorySink[] = [new MemorySink(), new MemorySink()];
    const last = new MemorySink();
    const o = runScenarioOnce(savepointRescale, 1, {}, false, { sink: last, level: "summary", phaseSink: (i) => sinks[i]! });
    expect(o.failures, JSON.stringify(o.failures)).toEqual([]);
    const phases = phasesOf(o.result);
    expect(phases.map((p) => p.status)).toEqual(["FINISHED", "FINISHED", "FINISHED"]);
    // Phase 1 and 2 traces: a stop-with-savepoint, completed and stored.
    for (const s of sinks) {
      expect(events(s, "SavepointTriggered")[0]).toMatchObject({ terminate: true, drain: false, format: "CANONICAL" });
      expect(events(s, "SavepointCompleted")).toHaveLength(1);
      expect(events(s, "SavepointStored")[0]!.path).toMatch(/^savepoints\/sp-\d+$/);
    }
    // Phase 2 and 3 traces: the restore with claim mode and each vertex's old and new parallelism.
    const r2 = events(sinks[1]!, "JobRestoredFromSavepoint")[0]!;
    expect(r2).toMatchObject({ claimMode: "NO_CLAIM", format: "CANONICAL" });
    expect((r2.vertices as { oldParallelism: number; newParallelism: number }[]).map((v) => `${v.oldParallelism}→${v.newParallelism}`)).toEqual(["4→7", "4→7"]);
    const r3 = events(last, "JobRestoredFromSavepoint")[0]!;
    expect((r3.vertices as { oldParallelism: number; newParallelism: number }[]).map((v) => `${v.oldParallelism}→${v.newParallelism}`)).toEqual(["7→2", "7→2"]);
    // The state transfer is charged on the virtual clock: every keyed subtask's restore took time.
    const keyedRestores = phases[1]!.restores.filter((x) => x.vertex === "v1");
    expect(keyedRestores).toHaveLength(7);
    for (const x of keyedRestores) expect(x.durationNs).toBeGreaterThan(0);
    expect(o.result.marks["savepoint.restoreRescaled"]).toBeGreaterThan(0);

    const twin = runScenarioOnce(savepointRescale, 1, {}, true);
    expect(twin.failures.map((f) => f.expectation)).toContain("committed output is exactly once (nothing lost, duplicated or made up)");
  });

  it("claim modes: NO_CLAIM leaves the savepoint whole and checkpoints fully first; CLAIM references its SST files and deletes them once unreferenced", () => {
    const o = runScenarioOnce(claimModes, 1, {}, false);
    expect(o.failures, JSON.stringify(o.failures)).toEqual([]);
    const { sp } = restoredPhase(o.result);
    const keys = o.result.world.blobStore.list(`${sp!.path}/`);
    expect(keys.length).toBeGreaterThan(3);
    expect(keys.some((k) => k.endsWith(".sst"))).toBe(true);

    const last = new MemorySink();
    const twin = runScenarioOnce(claimModes, 1, {}, true, { sink: last, level: "summary", phaseSink: () => new MemorySink() });
    expect(twin.failures.map((f) => f.expectation).sort()).toEqual([
      "no file of the savepoint was deleted: every one is still in the blob store",
      "the first checkpoint after the restore is full: every subtask uploaded its whole state",
    ]);
    const { p2, sp: sp2, firstAcks } = restoredPhase(twin.result);
    const coordinator = p2.jobManager.checkpoints!;
    // The savepoint's private blobs go when the first checkpoint subsumes it.
    const requested = new Map(coordinator.restoredBlobsDeleted.map((d) => [d.key, d.atNs]));
    const meta = sp2 as SavepointMetadata;
    const privateKeys = meta.vertices.flatMap((v) => v.handles.map((h) => h.blobKey));
    // The first checkpoint referenced the savepoint's SST files instead of uploading them.
    expect(firstAcks.some((x) => x.uploadedBytes < x.stateBytes)).toBe(true);
    for (const k of privateKeys) expect(requested.has(k), k).toBe(true);
    // Every SST file of the savepoint: deleted (or its deletion requested), or still referenced by a retained checkpoint.
    const ssts = meta.vertices.flatMap((v) => v.handles.flatMap((h) => (h.shared ?? []).map((s) => s.blobKey)));
    expect(ssts.length).toBeGreaterThan(0);
    for (const k of ssts) expect(requested.has(k) || coordinator.registry.count(k) > 0, k).toBe(true);
    // Compaction replaced restored files, and those were deleted while the job ran.
    expect(ssts.filter((k) => requested.has(k)).length).toBeGreaterThan(0);
    // Deleted by the JobManager host, recorded in the blob store's log and the trace.
    expect(p2.world.blobStore.deletions.some((d) => d.key.startsWith(`${meta.path}/`) && d.host === "jm")).toBe(true);
    expect(events(last, "SnapshotFileDeleted").length).toBe(requested.size);
    expect(events(last, "JobRestoredFromSavepoint")[0]).toMatchObject({ claimMode: "CLAIM", format: "NATIVE" });
  });

  it("--drain fires the open event-time windows before the savepoint; a plain stop does not", () => {
    const job = getJob("tumbling-window");
    const params = job.parseParams({ records: 2000, keys: 5, parallelism: 2, windowMs: 1000, intervalMs: 5, splits: 2, ratePerSecond: 400, sink: "transactional" });
    const run = (drain: boolean) =>
      runJob({
        seed: 4,
        scenario: "drain",
        config: { "execution.checkpointing.interval": "200ms", "taskmanager.numberOfTaskSlots": 2 },
        cluster: { taskManagers: 1 },
        job: (env) => job.build(env, params),
        savepoints: [{ atNs: 1.2e9, terminate: true, drain, format: "CANONICAL" }],
      });
    const drained = run(true);
    const stopped = run(false);
    expect(drained.status).toBe("FINISHED");
    expect(stopped.status).toBe("FINISHED");
    expect(drained.savepoints!.completed[0]!.drained).toBe(true);
    const windows = (r: typeof drained) => r.outputs.get("windows")?.length ?? 0;
    expect(windows(drained)).toBeGreaterThan(windows(stopped));
    // Drained, every source had ended its input: the restored job would have nothing to read.
    expect(drained.savepoints!.completed[0]!.vertices[0]!.handles.every((h) => h.keyGroupBytes !== undefined)).toBe(true);
  });

  it("a savepoint without stop: the job goes on; the savepoint outlives the checkpoints it is not part of", () => {
    const job = getJob("wordcount");
    const r = runJob({
      seed: 2,
      scenario: "sp",
      config: { "execution.checkpointing.interval": "100ms", "taskmanager.numberOfTaskSlots": 2 },
      cluster: { taskManagers: 1 },
      job: (env) => job.build(env, job.parseParams({ records: 600, ratePerSecond: 400, splits: 2, parallelism: 2, sink: "transactional" })),
      savepoints: [{ atNs: 0.5e9, terminate: false, drain: false, format: "CANONICAL" }],
    });
    expect(r.status).toBe("FINISHED");
    const sp = r.savepoints!.completed[0]!;
    expect(r.checkpoints!.completed).toBeGreaterThan(3);
    // Checkpoints after it were retained and discarded; none of the savepoint's blobs was deleted.
    for (const v of sp.vertices) for (const h of v.handles) expect(r.world.blobStore.has(h.blobKey), h.blobKey).toBe(true);
    expect(r.world.blobStore.deletions.filter((d) => d.key.startsWith(`${sp.path}/`))).toEqual([]);
  });

  it("a phased scenario run twice in separate processes has the same fingerprint in every phase", () => {
    const root = resolve(__dirname, "..");
    const run = () =>
      // The twin (CLAIM) fails its expectations by design: exit 1, the JSON summary still on stdout.
      JSON.parse(spawnSync(process.execPath, [join(root, "bin", "flowsim.mjs"), "run", "scenarios/claim-modes.scenario.ts", "--knockout", "--json"], { cwd: root, encoding: "utf8" }).stdout) as {
        phases: { fingerprint: string }[];
        fingerprint: string;
      }[];
    const [a] = run();
    const [b] = run();
    expect(a!.phases.map((p) => p.fingerprint)).toEqual(b!.phases.map((p) => p.fingerprint));
    expect(a!.phases).toHaveLength(2);
    expect(a!.fingerprint).toBe(b!.fingerprint);
  });

  it("a stop-with-savepoint that fails (blob store outage) leaves the job running: it finishes, and periodic checkpoints resume", () => {
    const job = getJob("wordcount");
    const trace = new MemorySink();
    const r = runJob({
      seed: 2,
      trace: { sink: trace },
      scenario: "sp-fail",
      config: { "execution.checkpointing.interval": "200ms", "taskmanager.numberOfTaskSlots": 2 },
      cluster: { taskManagers: 1 },
      job: (env) => job.build(env, job.parseParams({ records: 1200, ratePerSecond: 200, splits: 2, parallelism: 2, sink: "transactional" })),
      savepoints: [{ atNs: 1e9, terminate: true, drain: false, format: "CANONICAL" }],
      faults: [{ trigger: { from: "900ms", to: "1500ms" }, fault: { type: "blobOutage", mode: "fail" } }],
      timeLimitNs: 120e9,
    });
    expect(r.savepoints!.completed).toEqual([]);
    expect(r.savepoints!.failed).toHaveLength(1);
    expect(r.status).toBe("FINISHED");
    expect(r.outputs.get("counts")?.length ?? 0).toBeGreaterThan(0);
    const failedId = events(trace, "SavepointFailed")[0]!.checkpoint as number;
    expect(events(trace, "CheckpointCompleted").some((e) => (e.checkpoint as number) > failedId)).toBe(true);
  });

  it("bad requests end with one line naming the problem", () => {
    const job = getJob("wordcount");
    const base = { seed: 1, scenario: "bad", cluster: { taskManagers: 1 }, job: (env: Parameters<typeof job.build>[0]) => job.build(env, job.parseParams({ records: 10, sink: "transactional" })) };
    expect(() => runJob({ ...base, savepoints: [{ atNs: 1e9, terminate: true, drain: false, format: "CANONICAL" }] })).toThrow(/needs execution.checkpointing.interval/);
    expect(() => runJob({ ...base, config: { "execution.state-recovery.path": "savepoints/sp-9" } })).toThrow(/no savepoint at "savepoints\/sp-9"/);
    expect(() => runJob({ ...base, config: { "execution.state-recovery.claim-mode": "LEGACY" } })).toThrow(/claim-mode/);
  });
});
