/**
 * Batch job recovery after a JobManager failover (FLIP-383) on the jm-failover-batch
 * scenario's job: the tail trim and `snapshot.min-pause`, a TaskManager lost while the
 * JobManager is down (missing partitions, the previous-worker timeout, the region rule),
 * the TaskManagers' partition release without recovery, and a leader that never returns.
 */
import { describe, expect, it } from "vitest";
import { runScenarioOnce } from "../cli/run";
import scenario from "../scenarios/jm-failover-batch.scenario";
import { defineScenario, specOf } from "../scenarios/define";
import { MemorySink } from "../sim/trace/recorder";

function run(faults: unknown[], config: Record<string, unknown> = {}) {
  const sink = new MemorySink();
  const o = runScenarioOnce(defineScenario({ ...specOf(scenario), faults }), 1, config, false, { sink, level: "summary" });
  const events = (kind: string) => sink.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.kind === kind);
  return { ...o, events };
}

const jmCrash = (at: string, restartAfter = "10s") => ({ trigger: { at }, fault: { type: "crash", restartAfter }, target: "jm" });

describe("batch job recovery", () => {
  it("tail trim: finished events after the last snapshot are dropped and rerun; min-pause 0 snapshots every one and keeps them", () => {
    // At 2.15 s eight Parse subtasks have finished and their events are flushed (100 ms interval), but Parse has not.
    const cfg = { "job-event.store.write-buffer.flush-interval": "100ms" };
    const trimmed = run([jmCrash("2.15s")], cfg);
    expect(trimmed.result.status).toBe("FINISHED");
    const replayed = trimmed.events("JobEventsReplayed")[0]!;
    expect(replayed.trimmed).toHaveLength(8);
    expect(trimmed.result.rerunFinishedTasks).toBe(8);
    const kept = run([jmCrash("2.15s")], { ...cfg, "execution.batch.job-recovery.snapshot.min-pause": "0" });
    expect(kept.failures).toEqual([]);
    expect(kept.events("JobEventsReplayed")[0]!.trimmed).toEqual([]);
    expect(kept.result.rerunFinishedTasks).toBe(0);
  });

  it("a TaskManager lost during the outage: its partitions are missing after the 30 s wait; their producers and, by the region rule, consumers rerun", () => {
    const o = run([jmCrash("2.6s"), { trigger: { at: "5s" }, fault: "crash", target: "tm-2" }]);
    expect(o.result.status).toBe("FINISHED");
    expect(o.failures.map((f) => f.expectation)).toEqual(["no subtask finished before the crash runs again"]);
    const rec = o.events("PartitionsReconciled")[0]!;
    expect(rec.timedOut).toBe(true);
    expect(rec.waitedNs).toBe(30e9);
    expect((rec.missing as string[]).length).toBeGreaterThan(0);
    const reset = o.events("RecoveryVerticesReset")[0]!.vertices as string[];
    expect(reset.length).toBe(o.result.rerunFinishedTasks);
    // A shorter previous-worker timeout ends the wait sooner.
    const short = run([jmCrash("2.6s"), { trigger: { at: "5s" }, fault: "crash", target: "tm-2" }], { "execution.batch.job-recovery.previous-worker.recovery.timeout": "5s" });
    expect(short.events("PartitionsReconciled")[0]!.waitedNs).toBe(5e9);
    expect(short.result.makespanNs!).toBeLessThan(o.result.makespanNs! - 20e9);
  });

  it("without recovery the TaskManagers release their partitions and the job runs from scratch", () => {
    const o = run([jmCrash("2.6s")], { "execution.batch.job-recovery.enabled": false });
    expect(o.result.status).toBe("FINISHED");
    expect(o.events("JobEventsFlushed")).toEqual([]);
    expect(o.events("JobManagerLeaderElected")[0]!.recovery).toBe("from-scratch");
    expect(o.result.rerunFinishedTasks).toBe(o.result.jobManagerFailovers[0]!.finishedAtLoss.length);
  });

  it("a JobManager that never comes back fails the job at the end of the run", () => {
    const o = run([{ trigger: { at: "2.6s" }, fault: "crash", target: "jm" }]);
    expect(o.result.status).toBe("FAILED");
    expect(o.result.failureCause).toMatch(/no new leader/);
  });

  it("two JobManager failovers in a row: the second leader recovers from the log the first recovered leader kept writing", () => {
    // The second crash hits while Sum per key runs under the recovered leader (the sink has not started).
    const o = run([jmCrash("2.6s", "5s"), jmCrash("8s", "5s")]);
    expect(o.failures.map((f) => f.expectation), JSON.stringify(o.failures)).toEqual(["the JobManager failed over once, with subtasks finished before the crash"]);
    expect(o.result.rerunFinishedTasks).toBe(0);
    expect(o.result.jobManagerFailovers.map((f) => f.recovery)).toEqual(["event-log", "event-log"]);
  });
});
