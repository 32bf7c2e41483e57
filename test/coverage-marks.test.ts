/**
 * Coverage marks (DESIGN, "Faults"; FoundationDB's TEST() macro): the rare paths of the
 * fault-tolerance core must actually be reached by the fault cases the properties draw,
 * or the properties say nothing about them. A fixed sample of cases (fixed fast-check
 * seed) is run with a trace, and each mark must appear in at least one of them.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MemorySink } from "../sim/trace/recorder";
import { MAIN_FAULT_KINDS, faultCaseArb, runFaultCase, type FaultCase } from "./exactly-once-cases";

const MARKS = [
  "failover.region",
  "failover.partitionNotFound",
  "checkpoint.aborted.timeout",
  "sink.recommit",
  "fencing.staleAttemptDropped",
  // The changelog backend: restores that replay the log, on top of a materialization; pre-emptive uploads.
  "changelog.restoreReplayed",
  "changelog.restoreMaterialized",
  "changelog.preemptivePersist",
] as const;

function marksOf(cases: readonly FaultCase[]): Map<string, number> {
  const seen = new Map<string, number>();
  for (const c of cases) {
    const sink = new MemorySink();
    runFaultCase(c, { sink });
    const names = new Set(sink.lines.map((l) => JSON.parse(l) as { kind: string; name?: string }).filter((e) => e.kind === "Mark").map((e) => e.name!));
    for (const n of names) seen.set(n, (seen.get(n) ?? 0) + 1);
  }
  return seen;
}

describe("coverage marks of the fault-tolerance core", () => {
  it("every mark is hit by the properties' kind of fault cases", { timeout: 120_000 }, () => {
    const main = fc.sample(faultCaseArb({ sink: "transactional", kinds: MAIN_FAULT_KINDS }), { numRuns: 150, seed: 42 });
    const zombies = fc.sample(faultCaseArb({ sink: "transactional", kinds: ["oneWayTmToJm", "longPartitionJmTm", "crashWindow"], sparesForLostTaskManagers: true }), { numRuns: 50, seed: 42 });
    const seen = marksOf([...main, ...zombies]);
    const report = MARKS.map((m) => `${m}: ${seen.get(m) ?? 0}`).join(", ");
    console.log(`coverage marks over ${main.length + zombies.length} cases: ${report}`);
    for (const m of MARKS) expect(seen.get(m) ?? 0, `${m} never hit (${report})`).toBeGreaterThan(0);
  });
});
