import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { TraceEvent } from "../../../sim/trace/events";
import { currentRow, filterEvents, matches, summarize } from "./event-log";
import { formatClock, formatDuration } from "./format";
import { backpressureLevel, buildMetrics, vertexSeries } from "./metrics";
import { buildTasks, subtaskStateAt } from "./tasks";
import { formatUrlHash, parseUrlState } from "./url-state";

const ev = (seq: number, t: number, kind: string, extra: Record<string, unknown> = {}): TraceEvent => ({ v: 1, seq, t, kind, ...extra });
const tsc = (seq: number, t: number, subtask: number, attempt: number, state: string, slot = 0) =>
  ev(seq, t, "TaskStateChanged", { vertex: "v1", name: "Map", subtask, attempt, host: "tm-1", slot, state });

describe("backpressure levels", () => {
  it("use Flink's thresholds OK ≤ 0.1 < LOW ≤ 0.5 < HIGH", () => {
    expect([0, 0.1, 0.1001, 0.5, 0.5001, 1].map(backpressureLevel)).toEqual(["OK", "OK", "LOW", "LOW", "HIGH", "HIGH"]);
  });
});

describe("tasks", () => {
  it("follow an attempt's phases and flag an overlapping attempt as speculative", () => {
    const model = buildTasks([tsc(0, 10, 0, 0, "SCHEDULED"), tsc(1, 20, 0, 0, "RUNNING"), tsc(2, 30, 0, 1, "SCHEDULED", 1), tsc(3, 40, 0, 1, "RUNNING", 1), tsc(4, 50, 0, 0, "CANCELED"), tsc(5, 60, 1, 0, "FAILED"), tsc(6, 70, 1, 1, "SCHEDULED")]);
    expect(subtaskStateAt(model, "v1[0]", 9)).toBeUndefined();
    expect(subtaskStateAt(model, "v1[0]", 25)?.state).toBe("RUNNING");
    expect(subtaskStateAt(model, "v1[0]", 35)?.attempt.attempt).toBe(1);
    const [a0, a1] = model.bySubtask.get("v1[0]")!;
    expect([a0!.speculative, a1!.speculative]).toEqual([false, true]);
    expect(a0!.endState).toBe("CANCELED");
    // A restart after a terminal state is not speculative.
    expect(model.bySubtask.get("v1[1]")!.map((a) => a.speculative)).toEqual([false, false]);
  });
});

describe("metrics", () => {
  it("turns per-interval deltas into per-second throughput and the lowest watermark into lag", () => {
    const m = (seq: number, t: number, subtask: number, recordsOut: number, wm: number | null, bp = 0) =>
      ev(seq, t, "TaskMetrics", { vertex: "v0", subtask, host: "h", busy: 0, backpressured: bp, idle: 1, recordsIn: 0, recordsOut, inputQueueBuffers: 1, outputQueueBuffers: 2, watermarkMs: wm });
    const series = vertexSeries(buildMetrics([m(0, 1e9, 0, 100, 900), m(1, 1e9, 1, 50, 800, 0.7), m(2, 3e9, 0, 100, null)])).get("v0")!;
    expect(series.map((p) => p.recordsOutPerSec)).toEqual([150, 50]);
    expect(series.map((p) => p.watermarkLagMs)).toEqual([200, null]);
    expect(series.map((p) => p.backpressuredMax)).toEqual([0.7, 0]);
    expect(series[0]!.queueBuffers).toBe(6);
  });
});

describe("event log", () => {
  const events = [ev(0, 0, "RunStarted"), ev(1, 5, "TaskStateChanged", { vertex: "v1", host: "tm-1" }), ev(2, 5, "FailoverTriggered", { failed: "v2[0]", vertices: ["v2[0]", "v3[0]"] }), ev(3, 9, "HostCrashed", { host: "tm-2" })];
  it("filters by kind, vertex (also through subtask ids) and host", () => {
    expect([...filterEvents(events, { kind: "HostCrashed", vertex: undefined, host: undefined })]).toEqual([3]);
    expect([...filterEvents(events, { kind: undefined, vertex: "v3", host: undefined })]).toEqual([2]);
    expect([...filterEvents(events, { kind: undefined, vertex: undefined, host: "tm-1" })]).toEqual([1]);
    expect(matches(events[1]!, { kind: "TaskStateChanged", vertex: "v2", host: undefined })).toBe(false);
  });
  it("finds the row of the last event at or before the scrub time", () => {
    const times = Float64Array.from(events, (e) => e.t);
    const all = filterEvents(events, { kind: undefined, vertex: undefined, host: undefined });
    expect([-1, 4, 5, 8, 9, 100].map((t) => currentRow(all, times, t))).toEqual([-1, 0, 2, 2, 3, 3]);
    expect(currentRow(Int32Array.from([1, 3]), times, 6)).toBe(0);
  });
  it("summarizes an event's own fields on one line", () => {
    expect(summarize(events[3]!)).toBe("host=tm-2");
  });
});

describe("url state", () => {
  it("round-trips (property) and drops bad values", () => {
    const opt = (a: fc.Arbitrary<string>) => fc.option(a, { nil: undefined });
    fc.assert(
      fc.property(opt(fc.string({ minLength: 1 })), fc.option(fc.nat(), { nil: undefined }), fc.option(fc.nat(), { nil: undefined }), opt(fc.string({ minLength: 1 })), opt(fc.string({ minLength: 1 })), (kind, t, sel, vertex, host) => {
        const state = { timeNs: t, selectedSeq: sel, filter: { kind, vertex, host } };
        const back = parseUrlState("?trace=%2Ftraces%2Fa.jsonl", formatUrlHash(state));
        expect(back).toEqual({ trace: "/traces/a.jsonl", ...state });
      }),
    );
    expect(parseUrlState("", "#t=-5&sel=x").timeNs).toBeUndefined();
  });
});

describe("formatting", () => {
  it("shows every ns of the clock and durations in a readable unit", () => {
    expect(formatClock(5_000_100_205)).toBe("5.000100205 s");
    expect(formatClock(0)).toBe("0.000000000 s");
    expect([850, 12_300, 4_560_000, 1_230_000_000].map(formatDuration)).toEqual(["850 ns", "12.3 µs", "4.56 ms", "1.23 s"]);
  });
});
