/**
 * Hybrid shuffle variants the scenario file cannot express in one knock-out twin: enough vs
 * too few slots, no failure, and the three consume constraints
 * (`jobmanager.partition.hybrid.partition-data-consume-constraint`). Every run's output is
 * checked against the oracle (the scenario's matchesOracle expectation).
 */
import { describe, expect, it } from "vitest";
import { runScenarioOnce } from "../cli/run";
import { defineScenario, specOf } from "../scenarios/define";
import hybridShuffle, { FRAGILE, SOURCE, SUM, concurrentSampleTicks, restartedSubtasksOf } from "../scenarios/hybrid-shuffle.scenario";
import type { JobRunResult } from "../engine/job-run";
import type { FileSink } from "../cli/files";
import { MemorySink } from "../sim/trace/recorder";

const spec = specOf(hybridShuffle);

function run(params: Record<string, unknown>, config: Record<string, unknown>, selective = false) {
  const scenario = defineScenario({ ...spec, params: { ...spec.params, ...params } });
  const o = runScenarioOnce(scenario, 1, config, selective);
  const oracle = o.failures.find((f) => f.expectation === "committed output equals the oracle");
  expect(oracle, oracle?.problem).toBeUndefined();
  expect(o.result.status, o.result.failureCause).toBe("FINISHED");
  return o.result;
}

/** Time of the first / last metric sample of a vertex (by name) that shows it running, s. */
function firstSampleS(r: JobRunResult, name: string, reading = false): number {
  const ids = new Set(r.vertices.filter((v) => v.name.includes(name)).map((v) => v.id));
  return Math.min(...r.samples.filter((s) => ids.has(s.vertex) && (!reading || s.recordsIn > 0)).map((s) => s.tNs)) / 1e9;
}
function lastSampleS(r: JobRunResult, name: string): number {
  const ids = new Set(r.vertices.filter((v) => v.name.includes(name)).map((v) => v.id));
  return Math.max(...r.samples.filter((s) => ids.has(s.vertex)).map((s) => s.tNs)) / 1e9;
}

const FEW_SLOTS = { "taskmanager.numberOfTaskSlots": 1 };
const CONSTRAINT = "jobmanager.partition.hybrid.partition-data-consume-constraint";

describe("hybrid shuffle", () => {
  it("hybrid edges share no slots: every job vertex has its own slot sharing group", () => {
    const r = run({ failAt: 0 }, {});
    const jg = r.jobManager.jobGraph;
    expect(new Set(jg.vertices.map((v) => v.slotSharingGroupIndex)).size).toBe(jg.vertices.length);
  });

  it("enough slots: consumers read while producers run; too few: they run after the producers, and both match the oracle", () => {
    for (const failAt of [0, 150]) {
      const enough = run({ failAt }, {});
      const few = run({ failAt }, FEW_SLOTS);
      expect(concurrentSampleTicks(enough, SOURCE, FRAGILE)).toBeGreaterThan(0);
      expect(concurrentSampleTicks(few, SOURCE, FRAGILE)).toBe(0);
      // Two slots, two source subtasks: the maps get a slot only once the sources finished.
      expect(firstSampleS(few, FRAGILE)).toBeGreaterThan(lastSampleS(few, SOURCE));
      expect(firstSampleS(enough, FRAGILE)).toBeLessThan(lastSampleS(enough, SOURCE));
      console.log(`hybrid-shuffle failAt=${failAt}: makespan enough slots ${(enough.makespanNs! / 1e9).toFixed(3)} s, too few ${(few.makespanNs! / 1e9).toFixed(3)} s`);
      expect(few.makespanNs!).toBeGreaterThan(enough.makespanNs!);
    }
  });

  it("FULL re-reads after a consumer failure with too few slots as well; SELECTIVE reruns the producers", () => {
    const full = run({}, FEW_SLOTS);
    const selective = run({}, FEW_SLOTS, true);
    expect([full.restartedTasks, restartedSubtasksOf(full, SOURCE)]).toEqual([3, 0]);
    expect([selective.restartedTasks, restartedSubtasksOf(selective, SOURCE), restartedSubtasksOf(selective, SUM)]).toEqual([6, 2, 2]);
    expect(selective.makespanNs!).toBeGreaterThan(full.makespanNs!);
  });

  it("without a failure neither mode restarts anything", () => {
    for (const selective of [false, true]) expect(run({ failAt: 0 }, {}, selective).restarts).toBe(0);
  });

  it("consume constraints: UNFINISHED starts consumers before any producer finished, ONLY_FINISHED between the first and the last, ALL_PRODUCERS_FINISHED after the last", () => {
    // Three CPU-bound splits on two source subtasks: subtask 0 reads two of them, so it
    // finishes at ~2 s, subtask 1 at ~1 s.
    const scenario = defineScenario({ ...spec, params: { ...spec.params, failAt: 0, splits: 3, records: 1500, ratePerSecond: 0, valueCpuNs: 2_000_000 } });
    const line: string[] = [];
    for (const c of ["UNFINISHED_PRODUCERS", "ONLY_FINISHED_PRODUCERS", "ALL_PRODUCERS_FINISHED"] as const) {
      const sink = new MemorySink();
      const o = runScenarioOnce(scenario, 1, { [CONSTRAINT]: c }, false, { sink: sink as unknown as FileSink, level: "summary" });
      expect(o.result.status).toBe("FINISHED");
      expect(o.failures.find((f) => f.expectation === "committed output equals the oracle")).toBeUndefined();
      const events = sink.lines.map((l) => JSON.parse(l) as { kind: string; t: number; name?: string; state?: string; vertex?: string });
      const states = events.filter((e) => e.kind === "TaskStateChanged");
      const sourceFinished = states.filter((e) => e.name!.includes(SOURCE) && e.state === "FINISHED").map((e) => e.t);
      const mapDeployed = Math.min(...states.filter((e) => e.name === FRAGILE && e.state === "DEPLOYING").map((e) => e.t));
      const [first, last] = [Math.min(...sourceFinished), Math.max(...sourceFinished)];
      expect(last - first, "the sources must finish far apart for this test to say anything").toBeGreaterThan(0.5e9);
      const updates = events.filter((e) => e.kind === "Mark" && e.name === "network.unknownChannelUpdated").length;
      line.push(`${c}: maps deployed at ${(mapDeployed / 1e9).toFixed(3)} s, unknown channels updated ${updates}, makespan ${(o.result.makespanNs! / 1e9).toFixed(3)} s`);
      if (c === "UNFINISHED_PRODUCERS") expect(mapDeployed).toBeLessThan(first);
      if (c === "ONLY_FINISHED_PRODUCERS") {
        expect(mapDeployed).toBeGreaterThanOrEqual(first);
        expect(mapDeployed).toBeLessThan(last);
        // Each map's channel to the late source was unknown at deployment and updated when it
        // finished (2); the sums likewise wait for the later map (more updates).
        expect(updates).toBeGreaterThanOrEqual(2);
      } else expect(updates).toBe(0);
      if (c === "ALL_PRODUCERS_FINISHED") expect(mapDeployed).toBeGreaterThanOrEqual(last);
    }
    console.log(`hybrid-shuffle consume constraints (sources finish ~1 s and ~2 s): ${line.join("; ")}`);
  });
});
