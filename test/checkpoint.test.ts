/**
 * Checkpointing end to end (engine/checkpoint/, the task's barrier handling, the
 * checkpoint-driven two-phase-commit sink), read from real runs' traces:
 * - FLIP-147: a bounded STREAMING job waits for a final checkpoint, and its transactional
 *   sink commits only when checkpoints complete;
 * - every completed checkpoint has one acknowledgement per subtask with its phases;
 * - the coordinator's options: timeout (and the timeout mark), tolerable failures (a
 *   failover), min-pause, max-concurrent, retained checkpoints in the blob store;
 * - restore: sources continue from their checkpointed offsets;
 * - aligned (EXACTLY_ONCE) never double-counts after a restore, AT_LEAST_ONCE can.
 */
import { describe, expect, it } from "vitest";
import { runJob, type JobRunOptions, type JobRunResult } from "../engine/job-run";
import { checkExactlyOnce } from "../engine/oracle/checker";
import { getJob } from "../scenarios/jobs/index";
import { MemorySink } from "../sim/trace/recorder";
import { oracleOutputs } from "./library-run";

const wordcount = getJob("wordcount");

interface Ev {
  t: number;
  kind: string;
  [field: string]: unknown;
}

type WcParams = Record<string, unknown>;

function run(params: WcParams, config: Record<string, unknown>, extra: Partial<JobRunOptions> = {}): { r: JobRunResult; events: Ev[] } {
  const sink = new MemorySink();
  const r = runJob({
    seed: 7,
    scenario: "checkpoint-test",
    cluster: { taskManagers: 2, coresPerTaskManager: 2 },
    config: { "taskmanager.numberOfTaskSlots": 1, ...config },
    job: (env) => wordcount.build(env, wordcount.parseParams(params)),
    timeLimitNs: 600e9,
    trace: { sink },
    ...extra,
  });
  return { r, events: sink.lines.map((l) => JSON.parse(l) as Ev) };
}

const of = (events: Ev[], kind: string) => events.filter((e) => e.kind === kind);

/** Committed output against the oracle (wordcount: final count per word). */
function exactlyOnce(params: WcParams, config: Record<string, unknown>, r: JobRunResult, seed = 7) {
  const expected = oracleOutputs({ job: "wordcount", params, mode: "STREAMING", config, seed, cluster: { taskManagers: 2, coresPerTaskManager: 2 } });
  const actual = new Map([...r.outputs].map(([sink, records]) => [sink, [...records]]));
  return checkExactlyOnce(actual, expected, { compare: "finalPerKey", keyOf: (x) => (x as { word: string }).word, monotone: (x) => (x as { count: number }).count });
}

const SLOW: WcParams = { records: 200, parallelism: 2, splits: 4, ratePerSecond: 10, sink: "transactional", vocabulary: 20 };

describe("checkpoints and the final checkpoint (FLIP-147)", () => {
  const config = { "execution.checkpointing.interval": "1s" };
  const { r, events } = run(SLOW, config);

  it("the job finishes only after a checkpoint taken after its end of input, with the oracle's output", () => {
    expect(r.status).toBe("FINISHED");
    expect(exactlyOnce(SLOW, config, r).ok).toBe(true);
    const completed = of(events, "CheckpointCompleted");
    expect(completed.length).toBeGreaterThanOrEqual(4);
    const last = completed[completed.length - 1]!;
    const finals = of(events, "CheckpointAcknowledged").filter((e) => e.checkpoint === last.checkpoint);
    expect(finals.length).toBe(4);
    expect(finals.every((e) => e.afterEndOfInput === true)).toBe(true);
    const finished = of(events, "TaskStateChanged").filter((e) => e.state === "FINISHED");
    expect(finished.length).toBe(4);
    for (const f of finished) expect(f.t).toBeGreaterThanOrEqual(last.t);
  });

  it("the transactional sink commits only when a checkpoint completes", () => {
    const commits = of(events, "SinkCommitted");
    expect(commits.length).toBeGreaterThan(2);
    const completionTimes = of(events, "CheckpointCompleted").map((e) => e.t);
    for (const c of commits) {
      // The commit follows the notification of some completed checkpoint (an RPC later).
      const before = completionTimes.filter((t) => t <= c.t);
      expect(before.length, `commit at ${c.t} ns before any checkpoint completed`).toBeGreaterThan(0);
      expect(c.t - before[before.length - 1]!).toBeLessThan(100e6);
    }
  });

  it("without checkpointing the same job ends at its end of input and commits once per writer", () => {
    const plain = run(SLOW, {});
    expect(plain.r.status).toBe("FINISHED");
    expect(exactlyOnce(SLOW, {}, plain.r).ok).toBe(true);
    expect(of(plain.events, "CheckpointTriggered")).toEqual([]);
    expect(of(plain.events, "SinkCommitted").length).toBe(2);
    expect(plain.r.makespanNs!).toBeLessThan(r.makespanNs!);
  });

  it("every completed checkpoint has one acknowledgement per subtask, with its phases", () => {
    const acks = of(events, "CheckpointAcknowledged");
    for (const c of of(events, "CheckpointCompleted")) {
      const mine = acks.filter((a) => a.checkpoint === c.checkpoint);
      expect(new Set(mine.map((a) => a.subtask)).size).toBe(4);
      expect(c.subtasks).toBe(4);
      for (const a of mine) {
        expect(a.syncNs as number).toBeGreaterThan(0);
        expect(a.asyncNs as number).toBeGreaterThan(0); // the blob store's latency at least
        expect(a.startDelayNs as number).toBeGreaterThanOrEqual(0);
        // Sources (v0) have no inputs to align.
        if ((a.subtask as string).startsWith("v0")) expect(a.alignmentNs).toBe(0);
      }
      // The keyed aggregation holds the counts: its state is bigger than the sources' offsets.
      const bytes = (prefix: string) => mine.filter((a) => (a.subtask as string).startsWith(prefix)).reduce((n, a) => n + (a.stateBytes as number), 0);
      expect(bytes("v1")).toBeGreaterThan(bytes("v0"));
    }
  });
});

describe("the coordinator's options", () => {
  const outage = (mode: "delay" | "fail") => ({ faults: [{ trigger: { from: "2s", to: "8s" }, fault: { type: "blobOutage", mode } }] });

  it("execution.checkpointing.timeout aborts a checkpoint whose uploads hang, marks it, and (0 tolerated) fails the job over", () => {
    const config = { "execution.checkpointing.interval": "500ms", "execution.checkpointing.timeout": "2s" };
    const { r, events } = run(SLOW, config, outage("delay"));
    const aborted = of(events, "CheckpointAborted").filter((e) => e.reason === "timeout");
    expect(aborted.length).toBeGreaterThan(0);
    for (const a of aborted) expect(a.durationNs).toBe(2e9);
    expect(of(events, "Mark").some((e) => e.name === "checkpoint.aborted.timeout")).toBe(true);
    const failovers = of(events, "FailoverTriggered");
    expect(failovers.some((f) => /tolerable failure threshold \(0\)/.test(f.cause as string))).toBe(true);
    expect(r.status).toBe("FINISHED");
    expect(exactlyOnce(SLOW, config, r).ok).toBe(true);
  });

  it("execution.checkpointing.tolerable-failed-checkpoints: failed uploads decline checkpoints; tolerated, they cause no failover", () => {
    const base = { "execution.checkpointing.interval": "500ms" };
    const strict = run(SLOW, base, outage("fail"));
    const lenient = run(SLOW, { ...base, "execution.checkpointing.tolerable-failed-checkpoints": 100 }, outage("fail"));
    for (const { events } of [strict, lenient]) expect(of(events, "CheckpointAborted").some((e) => /declined .*IOException: upload/.test(e.reason as string))).toBe(true);
    expect(of(strict.events, "FailoverTriggered").length).toBeGreaterThan(0);
    expect(of(lenient.events, "FailoverTriggered")).toEqual([]);
    for (const { r } of [strict, lenient]) expect(exactlyOnce(SLOW, base, r).ok).toBe(true);
  });

  it("execution.checkpointing.min-pause: the next trigger waits that long after a completion", () => {
    const { events } = run(SLOW, { "execution.checkpointing.interval": "100ms", "execution.checkpointing.min-pause": "2s" });
    const triggers = of(events, "CheckpointTriggered");
    const completions = of(events, "CheckpointCompleted");
    expect(triggers.length).toBeGreaterThan(3);
    for (const c of completions) {
      const next = triggers.find((t) => t.t > c.t);
      if (next !== undefined) expect(next.t - c.t).toBeGreaterThanOrEqual(2e9);
    }
  });

  it("execution.checkpointing.max-concurrent-checkpoints bounds checkpoints in progress", () => {
    const pendingMax = (events: Ev[]) => {
      let pending = 0;
      let max = 0;
      for (const e of events) {
        if (e.kind === "CheckpointTriggered") max = Math.max(max, ++pending);
        if (e.kind === "CheckpointCompleted" || e.kind === "CheckpointAborted") pending--;
      }
      return max;
    };
    const config = { "execution.checkpointing.interval": "500ms", "execution.checkpointing.tolerable-failed-checkpoints": 100 };
    expect(pendingMax(run(SLOW, config, outage("delay")).events)).toBe(1);
    expect(pendingMax(run(SLOW, { ...config, "execution.checkpointing.max-concurrent-checkpoints": 3 }, outage("delay")).events)).toBe(3);
  });

  it("state.checkpoints.num-retained: older checkpoints' state is deleted from the blob store", () => {
    for (const retained of [1, 3]) {
      const { r, events } = run(SLOW, { "execution.checkpointing.interval": "500ms", "state.checkpoints.num-retained": retained });
      const ids = new Set(r.world.blobStore.list("checkpoints/").map((k) => k.split("/")[1]!));
      const completed = of(events, "CheckpointCompleted").map((e) => `chk-${e.checkpoint}`);
      expect(completed.length).toBeGreaterThan(retained + 2);
      // The newest `retained` are kept; only the one subsumed by the final checkpoint may
      // still be in the store (the job ended while its delete was on the way).
      for (const id of completed.slice(-retained)) expect(ids.has(id), id).toBe(true);
      for (const id of ids) expect(completed.slice(-retained - 1)).toContain(id);
    }
  });
});

describe("restore", () => {
  const crash = { faults: [{ trigger: { at: "3s" }, fault: { type: "crash", restartAfter: "1s" }, target: "tm-2" }] };

  it("restarted sources continue from their checkpointed offsets instead of the start", () => {
    const readBySources = (r: JobRunResult) => r.vertices.find((v) => v.id === "v0")!.recordsIn;
    const withCheckpoints = run(SLOW, { "execution.checkpointing.interval": "1s" }, crash);
    const without = run(SLOW, { "restart-strategy.type": "fixed-delay" }, crash);
    for (const x of [withCheckpoints, without]) {
      expect(x.r.status).toBe("FINISHED");
      expect(x.r.restarts).toBe(1);
    }
    const restored = of(withCheckpoints.events, "CheckpointRestored");
    expect(restored.length).toBe(1);
    expect(restored[0]!.subtasks).toHaveLength(4);
    // 200 sentences over ~5 s; the crash comes after ~60 % of them. Restarting from the start
    // reads those again; restoring re-reads only what came after the last checkpoint (1 s ≈ 40).
    expect(readBySources(without.r)).toBeGreaterThan(290);
    expect(readBySources(withCheckpoints.r)).toBeLessThan(250);
    expect(exactlyOnce(SLOW, {}, withCheckpoints.r).ok).toBe(true);
  });
});

describe("aligned vs at-least-once barriers", () => {
  // A fast and a very slow TaskManager: barriers from the slow source arrive late, and with
  // a 1 ms buffer timeout the fast source's records after its barrier arrive meanwhile.
  const params: WcParams = { records: 4000, parallelism: 2, splits: 4, ratePerSecond: 500, sink: "transactional", vocabulary: 20 };
  const outcome = (mode: string, seed: number) => {
    const config = {
      "execution.checkpointing.interval": "300ms",
      "execution.checkpointing.mode": mode,
      "execution.buffer-timeout.interval": "1ms",
      "heartbeat.interval": "1s",
      "heartbeat.timeout": "5s",
    };
    const r = runJob({
      seed,
      scenario: "alignment",
      cluster: { taskManagers: 2, coresPerTaskManager: 2, speeds: [1, 0.02] },
      config: { "taskmanager.numberOfTaskSlots": 1, ...config },
      job: (env) => wordcount.build(env, wordcount.parseParams(params)),
      faults: [{ trigger: { at: `${1000 + seed * 97}ms` }, fault: { type: "crash", restartAfter: "1s" }, target: "tm-2" }],
    });
    expect(r.status).toBe("FINISHED");
    return new Set(exactlyOnce(params, config, r, seed).differences.map((d) => d.kind));
  };

  it("EXACTLY_ONCE restores never double-count; AT_LEAST_ONCE ones do, but lose nothing", () => {
    let duplicated = 0;
    for (let seed = 0; seed < 6; seed++) {
      expect([...outcome("EXACTLY_ONCE", seed)], `seed ${seed}`).toEqual([]);
      const kinds = outcome("AT_LEAST_ONCE", seed);
      expect(kinds.has("lost") || kinds.has("phantom"), `seed ${seed}`).toBe(false);
      if (kinds.has("duplicate")) duplicated++;
    }
    expect(duplicated).toBeGreaterThanOrEqual(2);
  });
});

describe("incremental rocksdb checkpoints (state.backend.incremental)", () => {
  const INCREMENTAL = {
    "state.backend.type": "rocksdb",
    "state.backend.incremental": true,
    "state.backend.rocksdb.writebuffer.size": "64kb",
    "execution.checkpointing.interval": "500ms",
  };

  it("later checkpoints upload less than the whole state; the blob store keeps exactly the files retained checkpoints reference", () => {
    for (const retained of [1, 3]) {
      const config = { ...INCREMENTAL, "state.checkpoints.num-retained": retained };
      const { r, events } = run(SLOW, config);
      expect(r.status).toBe("FINISHED");
      expect(exactlyOnce(SLOW, config, r).ok).toBe(true);
      const acks = of(events, "CheckpointAcknowledged");
      expect(acks.every((a) => (a.uploadedBytes as number) <= (a.stateBytes as number))).toBe(true);
      expect(acks.some((a) => (a.uploadedBytes as number) < (a.stateBytes as number))).toBe(true);
      // Reference counting: every blob of a retained checkpoint is there; every shared file in
      // the store belongs to a retained checkpoint, or to the one the final checkpoint subsumed
      // (its delete may still be on the way when the job ends).
      const coordinator = r.jobManager.checkpoints!;
      const retainedKeys = new Set(coordinator.completedCheckpoints.flatMap((cp) => [...cp.handles.values()].flatMap((h) => [h.blobKey, ...(h.shared ?? []).map((s) => s.blobKey)])));
      for (const key of retainedKeys) expect(r.world.blobStore.has(key), key).toBe(true);
      expect(new Set(coordinator.registry.keys())).toEqual(retainedKeys);
      const completedIds = of(events, "CheckpointCompleted").map((e) => e.checkpoint as number);
      const subsumed = completedIds[completedIds.length - retained - 1];
      for (const key of r.world.blobStore.list("checkpoints/shared/")) {
        const uploadedIn = Number(key.split("@chk-")[1]);
        expect(retainedKeys.has(key) || uploadedIn <= (subsumed ?? 0), key).toBe(true);
      }
    }
  });

  it("a restore downloads the shared files and the job stays exactly once through a TaskManager crash", () => {
    const crash = { faults: [{ trigger: { at: "3s" }, fault: { type: "crash", restartAfter: "1s" }, target: "tm-2" }] };
    const { r, events } = run(SLOW, INCREMENTAL, crash);
    expect(r.status).toBe("FINISHED");
    expect(r.restarts).toBe(1);
    expect(of(events, "CheckpointRestored").length).toBe(1);
    expect(exactlyOnce(SLOW, INCREMENTAL, r).ok).toBe(true);
    expect(of(events, "RocksDbFlush").some((e) => e.sync === true)).toBe(true);
  });
});
