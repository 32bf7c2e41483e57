/**
 * allowedLateness in the simulated engine (issue 9: "allowed lateness re-fires windows as
 * Flink does; conservation holds in every run"): the late-data-window job with paced
 * sources and disorder far beyond the watermark bound, so that some records arrive after
 * their window fired. The oracle fires every window once; the run must re-fire windows for
 * records within the lateness, side-output the rest, and still account for every reading.
 */
import { describe, expect, it } from "vitest";
import type { WindowCount } from "../scenarios/jobs/tumbling-window";
import { compareCase, runLibraryCase, type LibraryCase } from "./library-run";

function lateCase(allowedLatenessMs: number): LibraryCase {
  return {
    job: "late-data-window",
    params: { records: 1000, keys: 2, windowMs: 100, intervalMs: 2, maxDisorderMs: 300, watermarkOutOfOrdernessMs: 0, allowedLatenessMs, ratePerSecond: 400, splits: 2, parallelism: 2 },
    mode: "STREAMING",
    config: { "taskmanager.numberOfTaskSlots": 2, "pipeline.auto-watermark-interval": "10ms" },
    cluster: { taskManagers: 1, coresPerTaskManager: 2 },
    seed: 1,
  };
}

function summary(c: LibraryCase) {
  const r = runLibraryCase(c);
  expect(r.status).toBe("FINISHED");
  const windows = r.outputs.get("windows") as WindowCount[];
  const fires = new Map<string, number[]>();
  for (const w of windows) {
    const k = `${w.key}|${w.windowStartMs}`;
    fires.set(k, [...(fires.get(k) ?? []), w.count]);
  }
  const refires = windows.length - fires.size;
  return { r, fires, refires, late: (r.outputs.get("late") ?? []).length };
}

describe("allowedLateness in the engine", () => {
  it("lateness 0: no window fires twice; late records go to the side output; conservation", () => {
    const c = lateCase(0);
    const { r, refires, late } = summary(c);
    expect(refires).toBe(0);
    expect(late).toBeGreaterThan(0);
    expect(compareCase(c, r).summary).toMatch(/^equal/);
  });

  it("more lateness: windows re-fire with one more record each time, fewer records are side-output; conservation in every run", () => {
    let lastLate = Infinity;
    let lastRefires = -1;
    for (const lateness of [50, 150, 400]) {
      const c = lateCase(lateness);
      const { r, fires, refires, late } = summary(c);
      expect(refires, `lateness ${lateness}`).toBeGreaterThan(lastRefires);
      expect(late, `lateness ${lateness}`).toBeLessThan(lastLate);
      // A window's fires carry strictly growing counts: each re-fire adds the late record
      // that triggered it (sorted, because two sink subtasks may commit in any order).
      for (const [k, counts] of fires) {
        const sorted = [...counts].sort((a, b) => a - b);
        for (let i = 1; i < sorted.length; i++) expect(sorted[i], k).toBeGreaterThan(sorted[i - 1]!);
      }
      expect(compareCase(c, r).summary, `lateness ${lateness}`).toMatch(/^equal/);
      lastLate = late;
      lastRefires = refires;
    }
    // The disorder is 300 ms past a 0 ms bound: 400 ms of lateness catches everything.
    expect(lastLate).toBe(0);
  });

  it("session windows: late readings merge into live sessions or go to the side output; conservation per key catches a lost record", () => {
    const c: LibraryCase = {
      job: "session-window",
      params: { records: 800, keys: 3, gapMs: 20, intervalMs: 2, maxDisorderMs: 200, watermarkOutOfOrdernessMs: 0, ratePerSecond: 400, splits: 2, parallelism: 2 },
      mode: "STREAMING",
      config: { "taskmanager.numberOfTaskSlots": 2, "pipeline.auto-watermark-interval": "10ms" },
      cluster: { taskManagers: 1, coresPerTaskManager: 2 },
      seed: 2,
    };
    const r = runLibraryCase(c);
    expect(r.status).toBe("FINISHED");
    const late = r.outputs.get("late") ?? [];
    expect(late.length).toBeGreaterThan(0);
    expect(compareCase(c, r).summary).toMatch(/^equal/);
    const lost = { ...r, outputs: new Map([...r.outputs, ["late", late.slice(1)]]) };
    expect(compareCase(c, lost).equal).toBe(false);
  });
});
