import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { TraceEvent } from "../../../sim/trace/events";
import { buildTraceIndex, countAtOrBefore, eventsOfKind, lowerBound, nextEventTime, previousEventTime, upperBound } from "./trace-index";

const ev = (seq: number, t: number, kind: string, extra: Record<string, unknown> = {}): TraceEvent => ({ v: 1, seq, t, kind, ...extra });

describe("trace index", () => {
  it("upper and lower bounds agree with counting (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(50)), fc.integer({ min: -1, max: 51 }), (xs, t) => {
        const sorted = Float64Array.from(xs.sort((a, b) => a - b));
        expect(upperBound(sorted, t)).toBe(xs.filter((x) => x <= t).length);
        expect(lowerBound(sorted, t)).toBe(xs.filter((x) => x < t).length);
      }),
    );
  });

  it("indexes kinds, hosts and vertices, and steps between event times", () => {
    const events = [
      ev(0, 0, "RunStarted"),
      ev(1, 10, "TaskStateChanged", { vertex: "v1", host: "tm-2" }),
      ev(2, 10, "FailoverTriggered", { vertices: ["v0[1]"] }),
      ev(3, 30, "HostAdded", { host: "tm-1" }),
    ];
    const index = buildTraceIndex(events);
    expect(index.kinds).toEqual(["FailoverTriggered", "HostAdded", "RunStarted", "TaskStateChanged"]);
    expect(index.hosts).toEqual(["tm-1", "tm-2"]);
    expect(eventsOfKind(index, "HostAdded")).toEqual([events[3]]);
    expect(countAtOrBefore(index, 9)).toBe(1);
    expect(countAtOrBefore(index, 10)).toBe(3);
    expect(nextEventTime(index, 10)).toBe(30);
    expect(nextEventTime(index, 30)).toBeUndefined();
    expect(previousEventTime(index, 30)).toBe(10);
    expect(previousEventTime(index, 0)).toBeUndefined();
    expect([index.startNs, index.endNs]).toEqual([0, 30]);
  });
});
