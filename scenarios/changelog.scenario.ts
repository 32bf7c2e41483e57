/**
 * The changelog state backend (`state.changelog.enabled`, FLIP-158) over incremental
 * `rocksdb`, as in Flink's published benchmark: a keyed operator holds 10,000 keys × 4 KB
 * (~40 MB, created in the first milliseconds), updated by 400 records/s on uniform keys;
 * checkpoints every second, materialization every 30 s; the blob store serves 100 MB/s (an
 * S3-like throughput for a small cluster). TaskManager tm-1 (every subtask: two slots of
 * each TaskManager are one slot-sharing group) crashes at 58 s and the job restores.
 *
 * Without changelog each checkpoint flushes the memtable on the task thread and uploads the
 * new SST files; every fourth flush triggers an L0 → L1 compaction whose output (the whole
 * state) the next checkpoint uploads: p90/p99 durations are those bursts. With changelog
 * a checkpoint only waits for the log's tail (persist delay, one small upload): durations
 * stay short and steady; the materialization's upload runs in the background. A restore
 * downloads the materialization and the log since, and replays it: slower.
 *
 * Knock-out twin: changelog off (incremental rocksdb checkpoints).
 */
import type { JobRunResult } from "../engine/job-run";
import { largeStateJob } from "./workloads";
import { defineScenario } from "./define";
import { checkpointDurationNs, finishes } from "./expectations";

/** Checkpoint durations (trigger to completion) at quantile q, ms. */
export function checkpointDurationMs(r: JobRunResult, q: number): number {
  return checkpointDurationNs(r, q) / 1e6;
}

/** Restores of the keyed operator's subtasks (the ones with keyed state), by the StateRestored records. */
export function keyedRestores(r: JobRunResult): JobRunResult["restores"] {
  const keyed = new Set(r.vertices.filter((v) => v.name.includes("State")).map((v) => v.id));
  return r.restores.filter((x) => keyed.has(x.vertex));
}

export function meanRestoreMs(r: JobRunResult): number {
  const rs = keyedRestores(r);
  return rs.length === 0 ? NaN : rs.reduce((n, x) => n + x.durationNs, 0) / rs.length / 1e6;
}

export default defineScenario({
  name: "changelog",
  description: "40 MB of keyed state on incremental rocksdb, 400 updates/s, checkpoints every second: the changelog makes them short and steady; recovery replays the log and is slower",
  cluster: { taskManagers: 2, coresPerTaskManager: 2, blobStore: { bandwidthBytesPerS: 100e6 } },
  config: {
    "taskmanager.numberOfTaskSlots": 2,
    "parallelism.default": 2,
    "state.backend.type": "rocksdb",
    "state.backend.incremental": true,
    "execution.checkpointing.interval": "1s",
    "state.changelog.enabled": true,
    "state.changelog.periodic-materialize.interval": "30s",
    "restart-strategy.type": "fixed-delay",
    "restart-strategy.fixed-delay.attempts": 10,
    "heartbeat.interval": "1s",
    "heartbeat.timeout": "5s",
  },
  params: { keys: 10_000, valueBytes: 4096, ratePerSecond: 400, seconds: 75 },
  knockout: { config: { "state.changelog.enabled": false } },
  faults: [{ trigger: { at: "58s" }, fault: "crash", target: "tm-1" }],
  job: (env, p) =>
    largeStateJob(env, { keys: Number(p.keys), valueBytes: Number(p.valueBytes), updates: Number(p.ratePerSecond) * Number(p.seconds), ratePerSplit: Number(p.ratePerSecond) / 2 }),
  timeLimit: "5m",
  expect: [
    finishes(),
    {
      // Without changelog the compaction bursts put p90 and p99 above 400 ms.
      name: "checkpoints are short: p90 and p99 durations below 300 ms",
      check: (r) => {
        const p90 = checkpointDurationMs(r, 0.9);
        const p99 = checkpointDurationMs(r, 0.99);
        return p90 < 300 && p99 < 300 ? undefined : `p90 ${p90.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms`;
      },
    },
    {
      // With changelog the worst checkpoint is one whose tail queues behind a materialization's upload.
      name: "checkpoints are steady: p99 − p50 below 250 ms",
      check: (r) => {
        const spread = checkpointDurationMs(r, 0.99) - checkpointDurationMs(r, 0.5);
        return spread < 250 ? undefined : `p99 − p50 = ${spread.toFixed(0)} ms`;
      },
    },
    {
      // Without changelog a restore is the download and deserialization of the checkpoint (~450 ms here).
      name: "recovery replays the log: every restored keyed subtask replayed changes, restores took ≥ 500 ms on average",
      check: (r) => {
        const rs = keyedRestores(r);
        if (rs.length === 0) return "no keyed subtask restored state";
        const idle = rs.filter((x) => x.replayedChanges === 0);
        if (idle.length > 0) return `${idle.length} of ${rs.length} restored keyed subtasks replayed no change`;
        const mean = meanRestoreMs(r);
        return mean >= 500 ? undefined : `mean restore ${mean.toFixed(0)} ms`;
      },
    },
  ],
});
