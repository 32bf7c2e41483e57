/**
 * JobManager failover of a STREAMING job under HA services (Kubernetes HA: leader-election
 * lease, completed checkpoint store and checkpoint ID counter in HA storage). A keyed rolling
 * sum writes into a transactional sink (Sink V2: the writer pre-commits before each barrier,
 * the committer commits when the checkpoint completes), checkpointing every second. The
 * JobManager's host crashes at 8 s and its process is back 5 s later, but the crashed
 * leader's lease (`high-availability.kubernetes.leader-election.lease-duration`, 15 s)
 * keeps it from leading before 23 s. Meanwhile the TaskManagers keep running their tasks
 * (no heartbeat timeout yet, at Flink's 50 s) into open transactions nobody will commit.
 *
 * The new leader reads the latest completed checkpoint's metadata from the blob store,
 * tells the TaskManagers (they cancel the old tasks and re-register) and restores every
 * subtask from that checkpoint: sources seek to its split offsets, the committer re-commits
 * the transactions pre-committed for it, the writers abort the rest. The committed output
 * is exactly the oracle's. The knock-out twin has no HA services (`high-availability.type`
 * NONE): the restarted JobManager knows nothing of the checkpoints and runs the job from
 * scratch, so everything committed before the crash is committed again — duplicates.
 *
 * Measured (seed 1): checkpoint 8 completed (metadata durable) at 7.05 s, the crash at 8 s;
 * the new leader elected at 23.0 s (the lease), read 2 KiB of metadata in 17 ms and was
 * RUNNING 15.017 s after the loss; all 4 subtasks restored checkpoint 8 within 40 ms, the
 * committers re-committed, and checkpoint 9 completed at 24.06 s. 4000 records committed =
 * the oracle; the sources read 6596 (2596 replayed since checkpoint 8's offsets, including
 * what the old tasks read during the outage); makespan 36.06 s. Twin (no HA): running again
 * 5.0 s after the loss, from scratch: 5404 records committed, 1404 of them duplicates
 * (20 of 20 keys); makespan 33.06 s.
 */
import { CollectSink, TransactionalSink } from "../engine/api/sinks";
import { GeneratorSource } from "../engine/api/sources";
import type { JobRunResult } from "../engine/job-run";
import { defineScenario } from "./define";
import { exactlyOnce, finishes } from "./expectations";

type Rec = { key: number; seq: number };

export const CRASH_AT = "8s";
export const JM_DOWNTIME = "5s";

/** Time from losing the JobManager to the job RUNNING again under the new leader, ns (first failover). */
export function recoveryNs(r: JobRunResult): number | undefined {
  const f = r.jobManagerFailovers[0];
  return f?.runningNs === undefined ? undefined : f.runningNs - f.lostNs;
}

export default defineScenario({
  name: "jm-failover-streaming",
  description: "the JobManager crashes: a new leader (after the HA lease) restores the latest completed checkpoint, output stays exactly-once; the no-HA twin reruns from scratch and duplicates",
  cluster: { taskManagers: 2, coresPerTaskManager: 2 },
  config: {
    "taskmanager.numberOfTaskSlots": 2,
    "parallelism.default": 2,
    "execution.checkpointing.interval": "1s",
    "high-availability.type": "KUBERNETES",
  },
  knockout: { config: { "high-availability.type": "NONE" } },
  params: { sink: "transactional", records: 4000 },
  faults: [{ trigger: { at: CRASH_AT }, fault: { type: "crash", restartAfter: JM_DOWNTIME }, target: "jm" }],
  job: (env, p) => {
    const sum = env
      .fromSource<Rec>(GeneratorSource({ records: Number(p.records), splits: 4, ratePerSecond: 50, keys: { count: 20, distribution: "uniform" } }), "none", "events")
      .keyBy((r) => r.key)
      .reduce((a, b) => ({ key: a.key, seq: a.seq + b.seq }));
    sum.sinkTo(p.sink === "collect" ? CollectSink("sums") : TransactionalSink("sums"));
  },
  timeLimit: "10m",
  expect: [
    finishes(),
    exactlyOnce({ compare: "finalPerKey", keyOf: (r) => (r as Rec).key }),
    {
      name: "the new leader restored the latest completed checkpoint",
      check: (r) => {
        const f = r.jobManagerFailovers;
        if (f.length !== 1) return `${f.length} JobManager failovers`;
        if (f[0]!.recovery !== "checkpoint") return `recovery ${f[0]!.recovery ?? "none"}`;
        return f[0]!.restoredCheckpoint !== undefined && f[0]!.restoredCheckpoint >= 1 ? undefined : "no checkpoint restored";
      },
    },
  ],
});
