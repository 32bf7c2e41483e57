/**
 * Event-time idleness (engine/runtime/watermark-status.ts, the source side in task.ts):
 * hand-computed sequences for the StatusWatermarkValve and the IdlenessTimer, properties
 * over random input sequences, and engine runs of the idle-source-windows job against the
 * oracle (conservation) that show what idleness changes.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MIN_WATERMARK } from "../engine/api/types";
import { GeneratorSource } from "../engine/api/sources";
import { ChannelStateRecorder } from "../engine/checkpoint/channel-state";
import { WATERMARK_STATUS, WATERMARK_STATUS_IDLE } from "../engine/runtime/buffer";
import { IdlenessTimer, StatusWatermarkValve } from "../engine/runtime/watermark-status";
import { getJob } from "../scenarios/jobs/index";
import { InputError } from "../sim/errors";
import { MemorySink } from "../sim/trace/recorder";
import { compareCase, reproduceLine, runLibraryCase, type LibraryCase } from "./library-run";

/** A valve whose outputs are logged as "wm 10", "IDLE", "ACTIVE". */
function loggedValve(channels: number) {
  const log: string[] = [];
  const valve = new StatusWatermarkValve(channels, {
    emitWatermark: (wm) => log.push(`wm ${wm}`),
    emitStatus: (idle) => log.push(idle ? "IDLE" : "ACTIVE"),
  });
  /** The outputs since the last call. */
  const take = () => log.splice(0, log.length);
  return { valve, take };
}

describe("StatusWatermarkValve (hand-computed)", () => {
  it("an idle channel leaves the min: the output is the min over the others", () => {
    const { valve, take } = loggedValve(3);
    valve.inputWatermark(0, 10);
    valve.inputWatermark(1, 20);
    valve.inputWatermark(2, 30);
    expect(take()).toEqual(["wm 10"]);
    valve.inputStatus(0, true); // held the min: the others allow 20
    expect(take()).toEqual(["wm 20"]);
    valve.inputWatermark(0, 100); // an idle channel's watermark is ignored
    valve.inputWatermark(1, 25);
    expect(take()).toEqual(["wm 25"]);
    valve.inputStatus(2, true); // did not hold the min: nothing changes
    expect(take()).toEqual([]);
    expect(valve.isIdle).toBe(false);
    expect(valve.watermark).toBe(25);
  });

  it("all channels idle: the largest watermark is flushed, then IDLE; no watermark until one is active again", () => {
    const { valve, take } = loggedValve(2);
    valve.inputWatermark(0, 10);
    valve.inputWatermark(1, 40);
    expect(take()).toEqual(["wm 10"]);
    valve.inputStatus(1, true);
    expect(take()).toEqual([]); // channel 0 still holds 10
    valve.inputStatus(0, true);
    expect(take()).toEqual(["wm 40", "IDLE"]);
    expect(valve.isIdle).toBe(true);
    valve.inputWatermark(1, 50);
    expect(take()).toEqual([]);
    valve.inputStatus(1, true); // already idle: no second IDLE
    expect(take()).toEqual([]);
    valve.inputStatus(0, false);
    expect(take()).toEqual(["ACTIVE"]);
    valve.inputStatus(0, false);
    expect(take()).toEqual([]);
  });

  it("a channel active again below the output watermark does not pull it back: it rejoins once caught up", () => {
    const { valve, take } = loggedValve(2);
    valve.inputWatermark(0, 50);
    valve.inputWatermark(1, 50);
    expect(take()).toEqual(["wm 50"]);
    valve.inputStatus(1, true);
    valve.inputWatermark(0, 70);
    expect(take()).toEqual(["wm 70"]);
    valve.inputStatus(1, false); // its watermark 50 < 70: unaligned
    valve.inputWatermark(0, 80);
    expect(take()).toEqual(["wm 80"]); // channel 1 (at 50) left out
    valve.inputWatermark(1, 75);
    expect(take()).toEqual([]); // still behind 80
    valve.inputWatermark(1, 90); // caught up: aligned again
    expect(take()).toEqual([]); // min(80, 90) = 80
    valve.inputWatermark(0, 100);
    expect(take()).toEqual(["wm 90"]); // now channel 1 holds it back
  });

  it("a channel back from idleness whose watermark is at or above the output rejoins at once", () => {
    const { valve, take } = loggedValve(2);
    valve.inputWatermark(0, 30);
    valve.inputWatermark(1, 60);
    expect(take()).toEqual(["wm 30"]);
    valve.inputStatus(1, true);
    valve.inputStatus(1, false);
    valve.inputWatermark(0, 100);
    expect(take()).toEqual(["wm 60"]);
  });

  it("property: watermarks strictly increase, statuses alternate from IDLE, none while idle; without statuses the output is the running min", () => {
    const op = fc.record({ channel: fc.integer({ min: 0, max: 3 }), kind: fc.constantFrom("wm", "wm", "idle", "active"), wm: fc.integer({ min: 0, max: 200 }) });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(op, { maxLength: 60 }), fc.boolean(), (channels, ops, withStatuses) => {
        const out: (number | "IDLE" | "ACTIVE")[] = [];
        const valve = new StatusWatermarkValve(channels, { emitWatermark: (wm) => out.push(wm), emitStatus: (idle) => out.push(idle ? "IDLE" : "ACTIVE") });
        const seen = new Set<number>();
        const marks = new Array<number>(channels).fill(MIN_WATERMARK);
        for (const o of ops) {
          const c = o.channel % channels;
          if (o.kind === "wm") {
            valve.inputWatermark(c, o.wm);
            seen.add(o.wm);
            marks[c] = Math.max(marks[c]!, o.wm);
            if (!withStatuses) {
              const min = Math.min(...marks);
              expect(valve.watermark).toBe(min);
            }
          } else if (withStatuses) {
            valve.inputStatus(c, o.kind === "idle");
          }
        }
        let last = -Infinity;
        let idle = false;
        for (const x of out) {
          if (x === "IDLE" || x === "ACTIVE") {
            expect(x).toBe(idle ? "ACTIVE" : "IDLE");
            idle = !idle;
            continue;
          }
          expect(idle).toBe(false);
          expect(x).toBeGreaterThan(last);
          expect(seen.has(x)).toBe(true);
          last = x;
        }
        expect(valve.isIdle).toBe(idle);
      }),
      { numRuns: 300 },
    );
  });
});

describe("IdlenessTimer (hand-computed, 500 ms, probed every 200 ms)", () => {
  const ms = 1e6;

  it("anchors at the first quiet probe: idle only more than 500 ms after it, and a record makes it active again", () => {
    const t = new IdlenessTimer(500 * ms);
    t.activity(); // a record at 190 ms
    expect(t.checkIfIdle(200 * ms)).toBe(false); // activity since the last probe: reset
    expect(t.checkIfIdle(400 * ms)).toBe(false); // first quiet probe: the clock starts
    expect(t.checkIfIdle(600 * ms)).toBe(false);
    expect(t.checkIfIdle(800 * ms)).toBe(false);
    expect(t.checkIfIdle(900 * ms)).toBe(false); // exactly 500 ms: not yet (strictly more)
    expect(t.checkIfIdle(1000 * ms)).toBe(true); // 600 ms > 500 ms
    expect(t.checkIfIdle(1200 * ms)).toBe(true);
    t.activity(); // a record after idleness
    expect(t.checkIfIdle(1400 * ms)).toBe(false);
    expect(t.checkIfIdle(1600 * ms)).toBe(false); // the clock starts again here
    expect(t.checkIfIdle(2000 * ms)).toBe(false);
    expect(t.checkIfIdle(2200 * ms)).toBe(true);
  });

  it("a source that never reads anything goes idle too", () => {
    const t = new IdlenessTimer(100 * ms);
    expect(t.checkIfIdle(200 * ms)).toBe(false);
    expect(t.checkIfIdle(400 * ms)).toBe(true);
  });

  it("property: idle at a probe iff it is more than the timeout after the first quiet probe since the last record", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.array(fc.record({ gapMs: fc.integer({ min: 1, max: 400 }), record: fc.boolean() }), { maxLength: 40 }), (maxIdleMs, steps) => {
        const timer = new IdlenessTimer(maxIdleMs * ms);
        let now = 0;
        let recordSinceProbe = false;
        let quietSince: number | undefined; // the reference, kept in terms of the history
        for (const s of steps) {
          if (s.record) {
            timer.activity();
            recordSinceProbe = true;
          }
          now += s.gapMs * ms;
          const idle = timer.checkIfIdle(now);
          if (recordSinceProbe) quietSince = undefined;
          else quietSince ??= now;
          expect(idle).toBe(!recordSinceProbe && now - quietSince! > maxIdleMs * ms);
          recordSinceProbe = false;
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("watermark status in the stream", () => {
  it("is not channel state (unaligned checkpoints persist records only)", () => {
    const r = new ChannelStateRecorder();
    r.recordInput(0, 0, { values: ["a", WATERMARK_STATUS, "b"], timestamps: [1, WATERMARK_STATUS_IDLE, 2], sizeBytes: 20 });
    expect(r.input[0]!.values).toEqual(["a", "b"]);
    expect(r.input[0]!.timestamps).toEqual([1, 2]);
  });

  it("bad input: one InputError naming the field", () => {
    expect(() => getJob("idle-source-windows").parseParams({ idlenessMs: 0 })).toThrow(InputError);
    expect(() => getJob("idle-source-windows").parseParams({ idlenessMs: 0 })).toThrow(/params\.idlenessMs/);
    expect(() => GeneratorSource({ splits: 2, records: 10, pause: { splits: 1, afterRecords: 2, forMs: -1 } })).toThrow(/GeneratorSource\.pause\.forMs/);
  });
});

type Status = { t: number; vertex: string; subtask: number; status: string; watermarkMs: number | null };

function runWithStatuses(c: LibraryCase) {
  const sink = new MemorySink();
  const result = runLibraryCase(c, { trace: { sink, level: "summary" } });
  const statuses = sink.lines.map((l) => JSON.parse(l) as Status & { kind: string }).filter((e) => e.kind === "WatermarkStatusChanged");
  return { result, statuses };
}

const base = { config: { "taskmanager.numberOfTaskSlots": 3 }, cluster: { taskManagers: 1, coresPerTaskManager: 2 } };
// Split 0 reads 20 records (until ~0.19 s), then nothing until ~3.2 s; the others end at ~2 s.
const quiet = { records: 600, splits: 3, parallelism: 3, sink: "collect" };

describe("idle-source-windows on the engine", () => {
  it("STREAMING: with idleness windows fire while split 0 is quiet and its later records are late; without, the first window waits for it", () => {
    const idle = runWithStatuses({ job: "idle-source-windows", params: { ...quiet, idlenessMs: 500 }, mode: "STREAMING", seed: 3, ...base });
    const none = runWithStatuses({ job: "idle-source-windows", params: quiet, mode: "STREAMING", seed: 3, ...base });
    const first = (r: typeof idle) => r.result.firstCommitNs.get("windows")!;
    console.log(`idle-source-windows: first window at ${(first(idle) / 1e9).toFixed(3)} s with idlenessMs 500, ${(first(none) / 1e9).toFixed(3)} s without; late ${idle.result.outputs.get("late")?.length ?? 0} vs ${none.result.outputs.get("late")?.length ?? 0}`);
    expect(first(idle)).toBeLessThan(1.5e9);
    expect(first(none)).toBeGreaterThan(3.2e9);
    expect(idle.statuses.map((s) => `${s.vertex}/${s.subtask} ${s.status}`)).toEqual(["v0/0 IDLE", "v0/0 ACTIVE"]);
    expect(none.statuses).toEqual([]);
    expect(idle.result.outputs.get("late")!.length).toBeGreaterThan(0);
    expect(none.result.outputs.get("late") ?? []).toEqual([]);
  });

  it("every source subtask idle: the window tasks flush the largest watermark and forward IDLE, then ACTIVE when a split resumes", () => {
    const { result, statuses } = runWithStatuses({ job: "idle-source-windows", params: { ...quiet, quietSplits: 3, idlenessMs: 300 }, mode: "STREAMING", seed: 5, ...base });
    expect(result.status).toBe("FINISHED");
    const sources = statuses.filter((s) => s.vertex === "v0");
    const windows = statuses.filter((s) => s.vertex === "v1");
    expect(sources.filter((s) => s.status === "IDLE").map((s) => s.subtask).sort()).toEqual([0, 1, 2]);
    expect(windows.filter((s) => s.status === "IDLE").map((s) => s.subtask).sort()).toEqual([0, 1, 2]);
    const lastSourceIdle = sources.filter((s) => s.status === "IDLE").reduce((a, s) => (s.t > a.t ? s : a));
    const maxSourceWatermark = Math.max(...sources.filter((s) => s.status === "IDLE").map((s) => s.watermarkMs!));
    for (const w of windows.filter((s) => s.status === "IDLE")) {
      expect(w.t).toBeGreaterThanOrEqual(lastSourceIdle.t); // only once every input is idle
      expect(w.watermarkMs).toBe(maxSourceWatermark); // the flush: the largest channel watermark
    }
    // Resuming, the sources announce ACTIVE (before their records) and the window tasks follow.
    for (const subtask of [0, 1, 2]) {
      const back = windows.find((s) => s.subtask === subtask && s.status === "ACTIVE")!;
      expect(back.t).toBeGreaterThanOrEqual(3.2e9);
    }
    expect(compareCase({ job: "idle-source-windows", params: { ...quiet, quietSplits: 3, idlenessMs: 300 }, mode: "STREAMING", seed: 5, ...base }, result).equal).toBe(true);
  });

  const cases: LibraryCase[] = [];
  for (const mode of ["STREAMING", "BATCH"] as const) {
    for (const seed of [1, 2]) {
      for (const idlenessMs of [undefined, 200]) {
        cases.push({ job: "idle-source-windows", params: { records: 400, keys: 5, ...(idlenessMs !== undefined ? { idlenessMs } : {}), sink: "transactional" }, mode, seed, ...base });
      }
    }
  }
  // Unaligned checkpoints: statuses ride in the buffers a priority barrier overtakes.
  cases.push({
    job: "idle-source-windows",
    params: { records: 400, keys: 5, idlenessMs: 200, pauseMs: 1000, sink: "transactional" },
    mode: "STREAMING",
    seed: 7,
    config: { ...base.config, "execution.checkpointing.interval": "100ms", "execution.checkpointing.unaligned.enabled": true },
    cluster: base.cluster,
  });

  it.each(cases.map((c) => [reproduceLine(c), c] as const))("matches the oracle by conservation: %s", (_, c) => {
    const { result, statuses } = runWithStatuses(c);
    expect(result.status).toBe("FINISHED");
    const cmp = compareCase(c, result);
    expect(cmp.equal, `${cmp.summary}\n${reproduceLine(c)}`).toBe(true);
    const withIdleness = (c.params as { idlenessMs?: number }).idlenessMs !== undefined;
    // BATCH ignores watermark generators (no periodic probe): never idle, nothing late.
    if (c.mode === "BATCH" || !withIdleness) {
      expect(statuses).toEqual([]);
      expect(result.outputs.get("late") ?? []).toEqual([]);
    } else {
      expect(statuses.some((s) => s.status === "IDLE")).toBe(true);
    }
  });
});
