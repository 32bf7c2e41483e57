import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { propRuns } from "../test/prop";
import { formatDuration, parseDuration, NS_PER_MS, NS_PER_S } from "./time";

describe("parseDuration", () => {
  it("parses the units of the design", () => {
    expect(parseDuration("250ms", "f")).toBe(250 * NS_PER_MS);
    expect(parseDuration("1.5s", "f")).toBe(1_500_000_000);
    expect(parseDuration("2m", "f")).toBe(120 * NS_PER_S);
    expect(parseDuration("1h", "f")).toBe(3600 * NS_PER_S);
    expect(parseDuration("100 us", "f")).toBe(100_000);
    expect(parseDuration("7ns", "f")).toBe(7);
    expect(parseDuration("0.1s", "f")).toBe(100_000_000);
    expect(parseDuration("1min", "f")).toBe(60 * NS_PER_S);
    expect(parseDuration(42, "f")).toBe(42);
  });

  it("rejects bad input with one line naming the field", () => {
    const bad: unknown[] = ["", "10", "ms", "-1s", "1.5ns", "3 parsecs", "1e3s", -5, 1.5, null, {}, "200d"];
    for (const input of bad) {
      let message = "";
      try {
        parseDuration(input, "execution.checkpointing.interval");
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message, `input ${String(input)}`).toMatch(/^execution\.checkpointing\.interval: /);
      expect(message).not.toContain("\n");
    }
  });

  it("round-trips formatted durations of whole milliseconds", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), (ms) => {
        const ns = ms * NS_PER_MS;
        expect(parseDuration(formatDuration(ns), "x")).toBe(ns);
      }),
      { numRuns: propRuns(300) },
    );
  });
});
