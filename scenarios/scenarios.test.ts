import { describe, expect, it } from "vitest";
import { runScenarioOnce } from "../cli/run";
import backpressure from "./backpressure.scenario";
import quickstart from "./quickstart.scenario";
import regionFailover from "./region-failover.scenario";
import exactlyOnceSink from "./exactly-once-sink.scenario";
import zombieFencing from "./zombie-fencing.scenario";
import bufferDebloat from "./buffer-debloat.scenario";
import { defineScenario } from "./define";

function maxBufferedBuffers(r: ReturnType<typeof runScenarioOnce>["result"]): number {
  // In-flight data = queued input + output buffers of all subtasks at a sample.
  const byTime = new Map<number, number>();
  for (const s of r.samples) byTime.set(s.tNs, (byTime.get(s.tNs) ?? 0) + s.inputQueueBuffers + s.outputQueueBuffers);
  return Math.max(...byTime.values());
}

describe("scenarios", () => {
  it("quickstart finishes and matches the oracle", () => {
    const o = runScenarioOnce(quickstart, 1, {}, false);
    expect(o.failures).toEqual([]);
    expect(o.result.status).toBe("FINISHED");
    expect(o.result.processingLatencyNs.length).toBeGreaterThan(0);
  });

  it("backpressure: source paced by the sink; the fast-sink twin shows none", () => {
    const o = runScenarioOnce(backpressure, 1, {}, false);
    expect(o.failures, JSON.stringify(o.failures)).toEqual([]);
    const twin = runScenarioOnce(backpressure, 1, {}, true);
    const bpFailure = twin.failures.find((f) => /backpressured/.test(f.expectation));
    expect(bpFailure, "the knock-out twin must fail the backpressure expectation").toBeDefined();
    const source = twin.result.vertices.find((v) => v.name.startsWith("Source"))!;
    expect(source.backpressuredRatio).toBeLessThan(0.1);
  });

  it("region failover restarts a few subtasks; its full-restart twin restarts all and fails the expectation", () => {
    const o = runScenarioOnce(regionFailover, 1, {}, false);
    expect(o.failures, JSON.stringify(o.failures)).toEqual([]);
    expect(o.result.restarts).toBe(1);
    const twin = runScenarioOnce(regionFailover, 1, {}, true);
    expect(twin.result.status).toBe("FINISHED");
    expect(twin.result.restartedTasks).toBe(twin.result.jobManager.executionGraph.vertices.length);
    expect(twin.failures.map((f) => f.expectation)).toEqual(["at most a quarter of the task attempts restart"]);
    expect(o.result.restartedTasks).toBeLessThan(twin.result.restartedTasks);
  });

  it("exactly-once sink survives a TaskManager crash; its collect-sink twin duplicates", () => {
    const o = runScenarioOnce(exactlyOnceSink, 1, {}, false);
    expect(o.failures, JSON.stringify(o.failures)).toEqual([]);
    expect(o.result.restarts).toBeGreaterThanOrEqual(1);
    const twin = runScenarioOnce(exactlyOnceSink, 1, {}, true);
    const failure = twin.failures.find((f) => /exactly once/.test(f.expectation));
    expect(failure?.problem).toMatch(/duplicate: [1-9]/);
  });

  it("zombie fencing keeps a partitioned zombie from committing; without fencing the output doubles", () => {
    const o = runScenarioOnce(zombieFencing, 1, {}, false);
    expect(o.failures, JSON.stringify(o.failures)).toEqual([]);
    expect(o.result.store.stats.fencedTransactions + o.result.store.stats.rejectedCommits).toBeGreaterThan(0);
    const twin = runScenarioOnce(zombieFencing, 1, {}, true);
    expect(twin.failures.find((f) => /exactly once/.test(f.expectation))?.problem).toMatch(/duplicate: [1-9]/);
  });

  it("buffer debloating: announced sizes bound the barrier's wait to ~the target; its twin (off) waits behind full buffers", () => {
    const o = runScenarioOnce(bufferDebloat, 1, {}, false);
    expect(o.failures, JSON.stringify(o.failures)).toEqual([]);
    const twin = runScenarioOnce(bufferDebloat, 1, {}, true);
    expect(twin.failures.map((f) => f.expectation)).toEqual([bufferDebloat.expect![1]!.name, bufferDebloat.expect![2]!.name]);
    const p50 = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    expect(p50(o.result.checkpoints!.durationsNs) * 2).toBeLessThan(p50(twin.result.checkpoints!.durationsNs));
  });

  it("backpressure: buffered data stays flat when the input grows 10x", () => {
    const base = runScenarioOnce(backpressure, 2, {}, false);
    // Ten times the input rate into the same sink (its capacity is now 1/50 of the input).
    const { timeLimitNs: _limit, libraryJob: _job, ...spec } = backpressure;
    const tenfold = defineScenario({ ...spec, params: { ...backpressure.params, ratePerSecond: 100_000, capacityFraction: 0.02 } });
    const big = runScenarioOnce(tenfold, 2, {}, false);
    const a = maxBufferedBuffers(base.result);
    const b = maxBufferedBuffers(big.result);
    expect(a).toBeGreaterThan(0);
    expect(b / a).toBeLessThan(1.25);
    // The sink's pace is the same, so the source's is too.
    const srcA = base.result.vertices.find((v) => v.name.startsWith("Source"))!.recordsIn;
    const srcB = big.result.vertices.find((v) => v.name.startsWith("Source"))!.recordsIn;
    expect(Math.abs(srcB - srcA) / srcA).toBeLessThan(0.1);
  });
});
