/**
 * Streaming JobManager failover under HA services, on the jm-failover-streaming scenario's
 * job: a crash while a checkpoint's metadata is being written (that checkpoint never
 * completed: the previous one is restored), a blob-store outage when the new leader reads
 * the store (retried), and two failovers in a row (the second leader restores a checkpoint
 * the first recovered leader completed; ids keep counting up).
 */
import { describe, expect, it } from "vitest";
import { runScenarioOnce } from "../cli/run";
import scenario from "../scenarios/jm-failover-streaming.scenario";
import { defineScenario, specOf } from "../scenarios/define";
import { MemorySink } from "../sim/trace/recorder";

type Event = Record<string, unknown> & { t: number; kind: string };

function run(faults: unknown[], config: Record<string, unknown> = {}) {
  const sink = new MemorySink();
  const o = runScenarioOnce(defineScenario({ ...specOf(scenario), faults }), 1, config, false, { sink, level: "summary" });
  const all = sink.lines.map((l) => JSON.parse(l) as Event);
  const events = (kind: string) => all.filter((e) => e.kind === kind);
  return { ...o, events };
}

const jmCrash = (at: string, restartAfter = "5s") => ({ trigger: { at }, fault: { type: "crash", restartAfter }, target: "jm" });

describe("streaming JobManager failover (HA services)", () => {
  it("a crash while checkpoint n's metadata is written: n never completed, the new leader restores n − 1, output exactly once", () => {
    // Where checkpoint 5 is finalized in an undisturbed run: from its last acknowledgement to its completion.
    const base = run([]);
    expect(base.result.status).toBe("FINISHED");
    const lastAck = Math.max(...base.events("CheckpointAcknowledged").filter((e) => e.checkpoint === 5).map((e) => e.t));
    const completed = base.events("CheckpointCompleted").find((e) => e.checkpoint === 5)!.t;
    // The metadata put takes the blob store's latency (~20 ms).
    expect(completed - lastAck).toBeGreaterThan(5e6);
    const crashNs = Math.round((lastAck + completed) / 2);
    const o = run([jmCrash(`${crashNs}ns`)]);
    expect(o.failures, JSON.stringify(o.failures)).toEqual([]);
    expect(o.events("CheckpointCompleted").filter((e) => e.t < crashNs).map((e) => e.checkpoint)).toEqual([1, 2, 3, 4]);
    expect(o.result.jobManagerFailovers[0]!.restoredCheckpoint).toBe(4);
    // The ID counter lives in HA storage: checkpoint 5 was triggered (and lost), the new leader goes on with 6.
    expect(o.events("CheckpointStoreRecovered")[0]!.nextCheckpointId).toBe(6);
    expect(o.result.jobManager.checkpoints!.completedCheckpoints[0]!.id).toBeGreaterThanOrEqual(6);
  });

  it("the new leader cannot read the store during a blob-store outage: it retries and restores once the outage is over", () => {
    // Elected at 23 s (crash at 8 s + 15 s lease); the store fails ops from 22 s to 26 s (a get fails after the 5 s client timeout).
    const o = run([jmCrash("8s"), { trigger: { from: "22s", to: "26s" }, fault: { type: "blobOutage", mode: "fail" } }]);
    expect(o.failures, JSON.stringify(o.failures)).toEqual([]);
    const recovered = o.events("CheckpointStoreRecovered")[0]!;
    expect(recovered.attempts).toBe(2);
    expect(recovered.t).toBeGreaterThan(28e9);
    expect(o.result.jobManagerFailovers[0]!.restoredCheckpoint).toBe(8);
  });

  it("two JobManager failovers: the second leader restores a checkpoint the first recovered leader completed", () => {
    const o = run([jmCrash("8s"), jmCrash("18s", "1s")], { "high-availability.kubernetes.leader-election.lease-duration": "3s" });
    expect(o.failures.map((f) => f.expectation), JSON.stringify(o.failures)).toEqual(["the new leader restored the latest completed checkpoint"]);
    const [first, second] = o.result.jobManagerFailovers;
    expect(first!.recovery).toBe("checkpoint");
    expect(second!.recovery).toBe("checkpoint");
    expect(second!.restoredCheckpoint!).toBeGreaterThan(first!.restoredCheckpoint!);
    // Each leader is elected when the lease ran out (3 s), its process being back sooner or at once.
    expect(first!.electedNs! - first!.lostNs).toBe(5e9);
    expect(second!.electedNs! - second!.lostNs).toBe(3e9);
    const ids = o.events("CheckpointCompleted").map((e) => e.checkpoint as number);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
