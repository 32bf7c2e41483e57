/**
 * Property: streaming JobManager failover under HA services. A random deterministic
 * STREAMING library job with a transactional sink and EXACTLY_ONCE checkpoints (the
 * exactly-once cases' generator: parallelism 1–4, aligned/unaligned, hashmap/rocksdb/
 * changelog, region or full failover, 1 s / 5 s heartbeats), sometimes with one TaskManager
 * fault too (a crash, a slow host, a TM|TM partition), and a JobManager crash at a random
 * fraction of its fault-free makespan, the process back after a random downtime, with
 * Kubernetes or ZooKeeper HA and a random lease. The job must finish, and its committed
 * output must equal the oracle's exactly once — whatever the crash hit: a checkpoint in
 * flight, one being finalized (its metadata not yet durable), committed transactions, a
 * restart in its back-off, the end of input. When checkpoints completed before the crash,
 * the new leader must have restored one (never an older one than the HA store held, never
 * one whose metadata was not durable: the output check catches both).
 * Failures end with a one-line reproducer (the case JSON, replayable with
 * `npx tsx test/exactly-once-cases.ts '<case JSON>'`).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { faultCaseArb, outcomeOf, reproduceFaultLine, runFaultCase, type FaultCase } from "./exactly-once-cases";
import { propRuns, propSeed, throwIfFailed } from "./prop";
import { JOB_MANAGER_HOST } from "../engine/job-run";

interface JmCase {
  c: FaultCase;
  crashFraction: number;
  downtimeMs: number;
  ha: "KUBERNETES" | "ZOOKEEPER";
  leaseMs: number;
}

const caseArb: fc.Arbitrary<JmCase> = fc.record({
  c: faultCaseArb({ sink: "transactional", modes: ["STREAMING"], kinds: ["crashWindow", "crashRestartAfter", "slow", "partitionTmTm"], maxFaults: 1, avoidKnownBugs: true }),
  crashFraction: fc.double({ min: 0.02, max: 0.98, noNaN: true }),
  downtimeMs: fc.constantFrom(200, 3_000, 12_000),
  ha: fc.constantFrom("KUBERNETES" as const, "ZOOKEEPER" as const),
  leaseMs: fc.constantFrom(0, 2_000, 15_000),
});

/** The case with the JobManager crash and HA services, as one replayable FaultCase. */
function withJobManagerCrash(f: JmCase, crashNs: number): FaultCase {
  const leaseKey = f.ha === "KUBERNETES" ? "high-availability.kubernetes.leader-election.lease-duration" : "high-availability.zookeeper.client.session-timeout";
  return {
    ...f.c,
    config: { ...f.c.config, "high-availability.type": f.ha, [leaseKey]: `${f.leaseMs}ms` },
    faults: [...f.c.faults, { trigger: { at: `${crashNs}ns` }, fault: { type: "crash", restartAfter: `${f.downtimeMs}ms` }, target: JOB_MANAGER_HOST }],
  };
}

/** Fault-free makespan of the case (memoized per case object, for the reproducer too). */
const crashAt = new WeakMap<JmCase, number>();

function crashNsOf(f: JmCase): number {
  let at = crashAt.get(f);
  if (at === undefined) {
    const base = runFaultCase({ ...f.c, faults: [] });
    if (base.status !== "FINISHED") throw new Error(`fault-free run ended ${base.status}: ${base.failureCause}`);
    at = Math.max(1, Math.round(base.makespanNs! * f.crashFraction));
    crashAt.set(f, at);
  }
  return at;
}

const stats = { runs: 0, failedOver: 0, restoredCheckpoint: 0, noCheckpointYet: 0, jobEndedFirst: 0 };

function check(f: JmCase): void {
  const c = withJobManagerCrash(f, crashNsOf(f));
  const o = outcomeOf(c, "exactly-once");
  stats.runs++;
  if (o.problem !== undefined) throw new Error(o.problem);
  const r = o.result!;
  const failover = r.jobManagerFailovers[0];
  if (failover === undefined) {
    stats.jobEndedFirst++;
    return;
  }
  stats.failedOver++;
  if (failover.recovery === "checkpoint") stats.restoredCheckpoint++;
  else stats.noCheckpointYet++;
  // The new leader restores exactly the lost leader's latest completed checkpoint (every
  // completed one is durable in the store), and starts with no state only if none completed.
  if (failover.restoredCheckpoint !== failover.latestCheckpointAtLoss) {
    throw new Error(`the new leader restored checkpoint ${failover.restoredCheckpoint}, the lost leader's latest completed one was ${failover.latestCheckpointAtLoss}`);
  }
  // Elected when both the process is back and the lost leader's lease expired.
  expect(failover.electedNs! - failover.lostNs).toBe(Math.max(f.leaseMs, f.downtimeMs) * 1e6);
}

describe("JobManager failover of STREAMING jobs (HA services)", () => {
  it(
    "random streaming jobs with a JobManager crash (and sometimes a TaskManager fault) finish with exactly the oracle's committed output",
    () => {
      const details = fc.check(
        fc.property(caseArb, (f) => {
          check(f);
        }),
        { numRuns: propRuns(40), seed: propSeed(), endOnFailure: false, interruptAfterTimeLimit: 150_000, markInterruptAsFailure: false },
      );
      throwIfFailed(details, (f) => `crash at ${crashAt.get(f) ?? "?"} ns; ${reproduceFaultLine(withJobManagerCrash(f, crashAt.get(f) ?? 1))}`);
      console.log(`jm-failover-streaming property: ${JSON.stringify(stats)}`);
      // The property must exercise what it is about.
      expect(stats.restoredCheckpoint).toBeGreaterThan(0);
    },
    240_000,
  );
});
