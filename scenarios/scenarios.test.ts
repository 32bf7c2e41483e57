import { describe, expect, it } from "vitest";
import { runScenarioOnce } from "../cli/run";
import type { FileSink } from "../cli/files";
import { MemorySink } from "../sim/trace/recorder";
import backpressure from "./backpressure.scenario";
import quickstart from "./quickstart.scenario";
import regionFailover from "./region-failover.scenario";
import exactlyOnceSink from "./exactly-once-sink.scenario";
import zombieFencing from "./zombie-fencing.scenario";
import bufferDebloat from "./buffer-debloat.scenario";
import stateBackends, { keyedBusyNsPerRecord } from "./state-backends.scenario";
import incrementalCheckpoint, { uploadsPerCheckpoint } from "./incremental-checkpoint.scenario";
import changelog, { checkpointDurationMs, keyedRestores, meanRestoreMs } from "./changelog.scenario";
import { defineScenario, specOf } from "./define";
import adaptiveParallelism, { countParallelism } from "./adaptive-parallelism.scenario";
import hybridShuffle, { SOURCE, FRAGILE, restartedSubtasksOf } from "./hybrid-shuffle.scenario";
import jmFailoverBatch, { recoveryNs } from "./jm-failover-batch.scenario";
import jmFailoverStreaming, { recoveryNs as streamingRecoveryNs } from "./jm-failover-streaming.scenario";
import sortVsHash, { SPEEDUP_BOUND, diskTotals } from "./sort-vs-hash-shuffle.scenario";
import pointwisePipelined, { MAKESPAN_RATIO_BOUND, blockingMakespanNs } from "./pointwise-pipelined.scenario";
import broadcastRules from "./broadcast-rules.scenario";
import windowJoin from "./window-join.scenario";
import idleSource, { WINDOWS_BEFORE_NS, firstWindowCommitNs } from "./idle-source.scenario";

function maxBufferedBuffers(r: ReturnType<typeof runScenarioOnce>["result"]): number {
  // In-flight data = queued input + output buffers of all subtasks at a sample.
  const byTime = new Map<number, number>();
  for (const s of r.samples) byTime.set(s.tNs, (byTime.get(s.tNs) ?? 0) + s.inputQueueBuffers + s.outputQueueBuffers);
  return Math.max(...byTime.values());
}

describe("scenarios", () => {
  it("adaptive parallelism: decided per input size, near the best makespan on fewer slot-seconds; the auto-off twin fails", () => {
    const o = runScenarioOnce(adaptiveParallelism, 1, {}, false);
    expect(o.failures, JSON.stringify(o.failures)).toEqual([]);
    const [small, medium, large] = countParallelism(o.result);
    expect(small).toBe(1);
    expect(large).toBeGreaterThan(medium!);
    const twin = runScenarioOnce(adaptiveParallelism, 1, {}, true);
    expect(countParallelism(twin.result)).toEqual([1, 1, 1]);
    expect(twin.failures.map((f) => f.expectation)).toContain("decided parallelism grows with the input (small < medium < large)");
    expect(twin.result.makespanNs!).toBeGreaterThan(2 * o.result.makespanNs!);
  });

  it("broadcast-rules matches the oracle; its no-versioning twin judges by whatever rule arrived and fails", () => {
    const o = runScenarioOnce(broadcastRules, 1, {}, false);
    expect(o.failures, JSON.stringify(o.failures)).toEqual([]);
    const twin = runScenarioOnce(broadcastRules, 1, {}, true);
    expect(twin.result.status).toBe("FINISHED");
    expect(twin.failures.map((f) => f.expectation)).toEqual(["committed output equals the oracle"]);
  });

  it("window-join: join, coGroup and process windows restored through a TaskManager crash match the oracle; the twin with a watermark bound below the disorder loses pairs", () => {
    const o = runScenarioOnce(windowJoin, 1, {}, false);
    expect(o.failures, JSON.stringify(o.failures)).toEqual([]);
    expect(o.result.restarts).toBeGreaterThan(0);
    const twin = runScenarioOnce(windowJoin, 1, {}, true);
    expect(twin.result.status).toBe("FINISHED");
    expect(twin.failures.map((f) => f.expectation)).toEqual(["committed output equals the oracle"]);
    expect(twin.result.outputs.get("pairs")!.length).toBeLessThan(o.result.outputs.get("pairs")!.length);
  });

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

  it("JobManager failover: batch job recovery reruns no finished subtask; its recovery-off twin reruns them all", () => {
    const o = runScenarioOnce(jmFailoverBatch, 1, {}, false);
    expect(o.failures, JSON.stringify(o.failures)).toEqual([]);
    const [f] = o.result.jobManagerFailovers;
    expect(f!.recovery).toBe("event-log");
    expect(o.result.rerunFinishedTasks).toBe(0);
    // Down 10 s, then the log replayed and every partition found at once (measured 10.07 s).
    const rec = recoveryNs(o.result)!;
    expect(rec).toBeGreaterThanOrEqual(10e9);
    expect(rec).toBeLessThan(11e9);
    const twin = runScenarioOnce(jmFailoverBatch, 1, {}, true);
    expect(twin.result.status).toBe("FINISHED");
    expect(twin.result.jobManagerFailovers[0]!.recovery).toBe("from-scratch");
    expect(twin.result.rerunFinishedTasks).toBe(twin.result.jobManagerFailovers[0]!.finishedAtLoss.length);
    expect(twin.failures.map((x) => x.expectation)).toEqual(["no subtask finished before the crash runs again"]);
    expect(twin.result.makespanNs!).toBeGreaterThan(o.result.makespanNs!);
  });

  it("streaming JobManager failover: the new leader restores the latest durable checkpoint after the lease, exactly once; the no-HA twin reruns from scratch and duplicates", () => {
    const o = runScenarioOnce(jmFailoverStreaming, 1, {}, false);
    expect(o.failures, JSON.stringify(o.failures)).toEqual([]);
    const [f] = o.result.jobManagerFailovers;
    expect(f!.recovery).toBe("checkpoint");
    // Seed 1: checkpoint 8 completed at 7.05 s (metadata durable), the crash at 8 s; the
    // restarted process (13 s) waits for the 15 s lease, reads 2 KiB of metadata in ~17 ms.
    expect(f!.restoredCheckpoint).toBe(8);
    expect(f!.electedNs! - f!.lostNs).toBe(15e9);
    const rec = streamingRecoveryNs(o.result)!;
    expect(rec).toBeGreaterThan(15e9);
    expect(rec).toBeLessThan(15.1e9);
    // Every subtask restored checkpoint 8 under the new leader; checkpoint ids go on above it.
    const restored = o.result.restores.filter((x) => x.checkpointId === 8);
    expect(restored.length).toBe(o.result.jobManager.executionGraph.vertices.length);
    expect(o.result.marks["sink.recommit"]).toBeGreaterThan(0);
    expect(o.result.jobManager.checkpoints!.completedCheckpoints.every((c) => c.id > 8)).toBe(true);
    const twin = runScenarioOnce(jmFailoverStreaming, 1, {}, true);
    expect(twin.result.status).toBe("FINISHED");
    expect(twin.result.jobManagerFailovers[0]!.recovery).toBe("from-scratch");
    expect(twin.result.restores).toEqual([]);
    expect(twin.failures.map((x) => x.expectation)).toEqual([
      "committed output is exactly once (nothing lost, duplicated or made up)",
      "the new leader restored the latest completed checkpoint",
    ]);
    expect(twin.failures[0]!.problem).toMatch(/duplicate: [1-9]/);
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

  it("state backends: rocksdb costs more CPU per record than hashmap and flushes and compacts; its hashmap twin fails both", () => {
    const trace = new MemorySink();
    const o = runScenarioOnce(stateBackends, 1, {}, false, { sink: trace as unknown as FileSink, level: "summary" });
    expect(o.failures, JSON.stringify(o.failures)).toEqual([]);
    const events = trace.lines.map((l) => JSON.parse(l) as { kind: string; bytes?: number; bytesIn?: number; bytesOut?: number });
    const flushes = events.filter((e) => e.kind === "RocksDbFlush");
    const compactions = events.filter((e) => e.kind === "RocksDbCompaction");
    expect(flushes.length).toBe(o.result.rocksdb!.flushes);
    expect(compactions.length).toBe(o.result.rocksdb!.compactions);
    expect(compactions.every((c) => c.bytesOut! < c.bytesIn!)).toBe(true); // overwritten versions dropped
    const twin = runScenarioOnce(stateBackends, 1, {}, true);
    expect(twin.failures.map((f) => f.expectation)).toEqual([stateBackends.expect![1]!.name, stateBackends.expect![2]!.name]);
    const rocks = keyedBusyNsPerRecord(o.result);
    const heap = keyedBusyNsPerRecord(twin.result);
    console.log(`state-backends: keyed busy per record rocksdb ${(rocks / 1000).toFixed(2)} µs, hashmap ${(heap / 1000).toFixed(2)} µs; ${JSON.stringify(o.result.rocksdb)}`);
    expect(rocks).toBeGreaterThan(10 * heap);
    // The compaction rewrote bytes on the TaskManagers' disks: more was written than flushed.
    const s = o.result.rocksdb!;
    const written = o.result.world.disk("tm-1").writtenBytes + o.result.world.disk("tm-2").writtenBytes;
    expect(written).toBe(s.flushedBytes + s.compactionBytesOut);
    expect(s.cacheMisses).toBeGreaterThan(0);
  });

  it("incremental checkpoints upload a fraction of the state, with compaction bursts; the full-snapshot twin uploads everything each time", () => {
    const o = runScenarioOnce(incrementalCheckpoint, 1, {}, false);
    expect(o.failures, JSON.stringify(o.failures)).toEqual([]);
    const twin = runScenarioOnce(incrementalCheckpoint, 1, {}, true);
    expect(twin.failures.map((f) => f.expectation)).toEqual([incrementalCheckpoint.expect![1]!.name]);
    const inc = uploadsPerCheckpoint(o.result);
    const full = uploadsPerCheckpoint(twin.result);
    const mb = (xs: { uploadedBytes: number }[]) => xs.map((u) => (u.uploadedBytes / 1e6).toFixed(2)).join(" ");
    console.log(`incremental-checkpoint: uploads MB incremental [${mb(inc)}], full [${mb(full)}]`);
    // Bursty: a compaction's output is uploaded whole — some later upload is close to a full one.
    expect(Math.max(...inc.slice(1).map((u) => u.uploadedBytes))).toBeGreaterThan(0.8 * inc[0]!.uploadedBytes);
    // Nothing a retained checkpoint references is missing from the blob store.
    const latest = o.result.jobManager.checkpoints!.latest!;
    for (const h of latest.handles.values()) for (const f of h.shared ?? []) expect(o.result.world.blobStore.has(f.blobKey), f.blobKey).toBe(true);
  });

  it("changelog: checkpoints short and steady, recovery slower (log replay); its changelog-off twin fails all three", () => {
    const trace = new MemorySink();
    const o = runScenarioOnce(changelog, 1, {}, false, { sink: trace as unknown as FileSink, level: "summary" });
    expect(o.failures, JSON.stringify(o.failures)).toEqual([]);
    const twin = runScenarioOnce(changelog, 1, {}, true);
    expect(twin.result.status).toBe("FINISHED");
    expect(twin.failures.map((f) => f.expectation)).toEqual(changelog.expect!.slice(1).map((e) => e.name));
    const q = (r: typeof o.result) => [0.5, 0.9, 0.99].map((p) => checkpointDurationMs(r, p));
    const [on50, on90, on99] = q(o.result);
    const [off50, off90, off99] = q(twin.result);
    console.log(
      `changelog: checkpoint p50/p90/p99 on ${on50!.toFixed(0)}/${on90!.toFixed(0)}/${on99!.toFixed(0)} ms, off ${off50!.toFixed(0)}/${off90!.toFixed(0)}/${off99!.toFixed(0)} ms; ` +
        `restore on ${meanRestoreMs(o.result).toFixed(0)} ms, off ${meanRestoreMs(twin.result).toFixed(0)} ms; ${JSON.stringify(o.result.changelog)}`,
    );
    expect(on99!).toBeLessThan(off99! / 2);
    expect(on99! - on50!).toBeLessThan((off99! - off50!) / 2);
    expect(meanRestoreMs(o.result)).toBeGreaterThan(meanRestoreMs(twin.result) * 1.1);
    // The trace has the log's uploads (a few pre-emptive: the initial burst), the materializations, the restores.
    const events = trace.lines.map((l) => JSON.parse(l) as { kind: string; preemptive?: boolean; replayedChanges?: number });
    const uploads = events.filter((e) => e.kind === "ChangelogUpload");
    expect(uploads.length).toBe(o.result.changelog!.uploads);
    expect(uploads.some((u) => u.preemptive === true)).toBe(true);
    expect(events.filter((e) => e.kind === "ChangelogMaterialized").length).toBe(o.result.changelog!.materializations);
    const restored = events.filter((e) => e.kind === "StateRestored");
    expect(restored.length).toBe(o.result.restores.length);
    expect(keyedRestores(o.result).every((x) => x.replayedChanges > 0)).toBe(true);
    // Nothing a retained checkpoint references is missing from the blob store (changelog blobs included).
    const latest = o.result.jobManager.checkpoints!.latest!;
    for (const h of latest.handles.values()) for (const f of h.shared ?? []) expect(o.result.world.blobStore.has(f.blobKey), f.blobKey).toBe(true);
  });

  it("hybrid shuffle FULL: consumers overlap producers, a failed consumer re-reads without rerunning producers; the SELECTIVE twin reruns them", () => {
    const o = runScenarioOnce(hybridShuffle, 1, {}, false);
    expect(o.failures, JSON.stringify(o.failures)).toEqual([]);
    const twin = runScenarioOnce(hybridShuffle, 1, {}, true);
    expect(twin.result.status).toBe("FINISHED");
    expect(twin.failures.map((f) => f.expectation)).toEqual([hybridShuffle.expect![3]!.name]);
    // FULL: the failed map subtask and the two sums it feeds; SELECTIVE: both sources, so both maps and both sums.
    expect([o.result.restartedTasks, restartedSubtasksOf(o.result, SOURCE), restartedSubtasksOf(o.result, FRAGILE)]).toEqual([3, 0, 1]);
    expect([twin.result.restartedTasks, restartedSubtasksOf(twin.result, SOURCE), restartedSubtasksOf(twin.result, FRAGILE)]).toEqual([6, 2, 2]);
    console.log(
      `hybrid-shuffle: restarted tasks FULL ${o.result.restartedTasks}, SELECTIVE ${twin.result.restartedTasks}; ` +
        `makespan FULL ${(o.result.makespanNs! / 1e9).toFixed(3)} s, SELECTIVE ${(twin.result.makespanNs! / 1e9).toFixed(3)} s`,
    );
  });

  it("sort-vs-hash-shuffle: on hdd at parallelism 32 sort-merge beats the hash layout by ≥ 2×; the hash twin fails", () => {
    const o = runScenarioOnce(sortVsHash, 1, {}, false);
    expect(o.failures, JSON.stringify(o.failures)).toEqual([]);
    const twin = runScenarioOnce(sortVsHash, 1, {}, true);
    expect(twin.result.status).toBe("FINISHED");
    // The hash twin still computes the right output: only the speed expectation fails.
    expect(twin.failures.map((f) => f.expectation)).toEqual([sortVsHash.expect![2]!.name]);
    const ratio = twin.result.makespanNs! / o.result.makespanNs!;
    expect(ratio).toBeGreaterThanOrEqual(SPEEDUP_BOUND);
    const sort = diskTotals(o.result);
    const hash = diskTotals(twin.result);
    // Same bytes either way (±1 %: headers of partial buffers differ); hash seeks far more.
    expect(Math.abs(hash.writtenBytes - sort.writtenBytes) / sort.writtenBytes).toBeLessThan(0.01);
    expect(hash.seeks).toBeGreaterThan(2 * sort.seeks);
    // The hash twin has one file per (producer, subpartition): 32 × 32 shuffle files.
    let files = 0;
    for (const [host, d] of twin.result.world.disks) if (host.startsWith("tm-")) files += d.files().filter((f) => f.startsWith("shuffle/")).length;
    expect(files).toBe(32 * 32);
    console.log(
      `sort-vs-hash-shuffle: makespan sort ${(o.result.makespanNs! / 1e9).toFixed(3)} s, hash ${(twin.result.makespanNs! / 1e9).toFixed(3)} s (${ratio.toFixed(2)}×); ` +
        `seeks ${sort.seeks} vs ${hash.seeks}; written ${sort.writtenBytes} vs ${hash.writtenBytes} B; hash files left ${files}`,
    );
  });

  it("pointwise-pipelined: shorter makespan than all-blocking; the blocking twin fails the bound", () => {
    const o = runScenarioOnce(pointwisePipelined, 1, {}, false);
    expect(o.failures, JSON.stringify(o.failures)).toEqual([]);
    const twin = runScenarioOnce(pointwisePipelined, 1, {}, true);
    expect(twin.result.status).toBe("FINISHED");
    expect(twin.failures.map((f) => f.expectation)).toEqual([pointwisePipelined.expect![2]!.name]);
    const blocking = blockingMakespanNs(pointwisePipelined, 1, false);
    expect(twin.result.makespanNs).toBe(blocking); // the twin is the reference run
    const ratio = o.result.makespanNs! / blocking;
    console.log(`pointwise-pipelined: makespan ${(o.result.makespanNs! / 1e9).toFixed(3)} s vs blocking ${(blocking / 1e9).toFixed(3)} s, ratio ${ratio.toFixed(3)}`);
    expect(ratio).toBeLessThanOrEqual(MAKESPAN_RATIO_BOUND);
  });

  it("backpressure: buffered data stays flat when the input grows 10x", () => {
    const base = runScenarioOnce(backpressure, 2, {}, false);
    // Ten times the input rate into the same sink (its capacity is now 1/50 of the input).
    const spec = specOf(backpressure);
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

  it("idle-source: the quiet split's subtask turns IDLE and windows commit while it is silent; the no-idleness twin waits for it", () => {
    const trace = new MemorySink();
    const o = runScenarioOnce(idleSource, 1, {}, false, { sink: trace as unknown as FileSink, level: "summary" });
    expect(o.failures, JSON.stringify(o.failures)).toEqual([]);
    const statuses = trace.lines.map((l) => JSON.parse(l) as { kind: string; t: number; vertex?: string; subtask?: number; status?: string }).filter((e) => e.kind === "WatermarkStatusChanged");
    // Split 0 (source subtask 0) goes idle once, after its last record at ~0.19 s plus the idle timeout and probes, and active when it resumes at ~3.2 s.
    expect(statuses.map((e) => `${e.vertex}/${e.subtask} ${e.status}`)).toEqual(["v0/0 IDLE", "v0/0 ACTIVE"]);
    expect(statuses[0]!.t).toBeGreaterThan(0.19e9 + 500e6);
    expect(statuses[0]!.t).toBeLessThanOrEqual(0.19e9 + 500e6 + 3 * 200e6);
    expect(statuses[1]!.t).toBeGreaterThanOrEqual(3.2e9);
    expect(o.result.outputs.get("late")!.length).toBeGreaterThan(0); // its records after the pause are behind the watermark
    const twin = runScenarioOnce(idleSource, 1, {}, true);
    expect(twin.failures.map((f) => f.expectation)).toEqual([idleSource.expect![2]!.name]);
    expect(twin.result.outputs.get("late") ?? []).toEqual([]);
    console.log(`idle-source: first window committed at ${(firstWindowCommitNs(o.result) / 1e9).toFixed(3)} s with idleness, ${(firstWindowCommitNs(twin.result) / 1e9).toFixed(3)} s without`);
    expect(firstWindowCommitNs(twin.result)).toBeGreaterThan(3.2e9);
    expect(firstWindowCommitNs(o.result)).toBeLessThan(WINDOWS_BEFORE_NS);
  });
});
