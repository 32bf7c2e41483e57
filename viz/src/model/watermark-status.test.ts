import { describe, expect, it } from "vitest";
import type { TraceEvent } from "../../../sim/trace/events";
import { buildWatermarkStatus, idleAt } from "./watermark-status";

const status = (seq: number, t: number, subtask: number, attempt: number, s: string): TraceEvent => ({ v: 1, seq, t, kind: "WatermarkStatusChanged", vertex: "v0", subtask, attempt, status: s, watermarkMs: 5 });

describe("watermark status over time", () => {
  const m = buildWatermarkStatus([status(0, 10, 0, 0, "IDLE"), status(1, 20, 1, 0, "IDLE"), status(2, 30, 0, 0, "ACTIVE"), status(3, 40, 0, 1, "IDLE"), status(4, 50, 1, 0, "bogus")]);

  it("is idle from an IDLE change to the next ACTIVE, half-open, per attempt", () => {
    expect([9, 10, 29, 30].map((t) => idleAt(m, "v0[0]", 0, t))).toEqual([false, true, true, false]);
    // The restarted attempt's own IDLE; the old attempt's changes say nothing about it.
    expect([35, 40].map((t) => idleAt(m, "v0[0]", 1, t))).toEqual([false, true]);
    expect(idleAt(m, "v0[1]", 0, 60)).toBe(true);
  });

  it("ignores malformed statuses and unknown subtasks", () => {
    expect(m.get("v0[1]")!.length).toBe(1);
    expect(idleAt(m, "v9[0]", 0, 100)).toBe(false);
    expect(idleAt(m, "v0[0]", undefined, 20)).toBe(false);
  });
});
