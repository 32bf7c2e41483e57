/**
 * Incremental checkpoints (`state.backend.incremental` on `rocksdb`): a keyed operator
 * holds 1,000 keys × 8 KB (~8 MB) of state, all created in the first few milliseconds (ten
 * source records fan out to one record per key), then updated by 200 records/s on uniform
 * keys, with a checkpoint every second (the first exactly 1 s in: min-pause = interval).
 * Each checkpoint flushes the memtable to a new L0 SST file; files the last confirmed
 * checkpoint uploaded are only referenced, so after the first (full) upload a checkpoint
 * uploads about the keys updated in its second. Every fourth flush triggers an L0 → L1
 * compaction whose new file holds the whole state: that checkpoint's upload is a burst.
 * Knock-out twin: full snapshots (`state.backend.incremental: false`) upload everything
 * every time.
 */
import type { JobRunResult } from "../engine/job-run";
import { LatencyTracker } from "../engine/runtime/latency-tracker";
import { largeStateJob } from "./workloads";
import { defineScenario } from "./define";
import { finishes } from "./expectations";

/** Uploaded bytes per completed checkpoint (all subtasks), in checkpoint order. */
export function uploadsPerCheckpoint(r: JobRunResult): { checkpoint: number; uploadedBytes: number; stateBytes: number }[] {
  const by = new Map<number, { checkpoint: number; uploadedBytes: number; stateBytes: number }>();
  for (const a of r.checkpoints?.subtasks ?? []) {
    const e = by.get(a.checkpoint) ?? { checkpoint: a.checkpoint, uploadedBytes: 0, stateBytes: 0 };
    e.uploadedBytes += a.uploadedBytes;
    e.stateBytes += a.stateBytes;
    by.set(a.checkpoint, e);
  }
  return [...by.values()].sort((a, b) => a.checkpoint - b.checkpoint);
}

const median = (xs: readonly number[]) => LatencyTracker.percentile(xs, 0.5) ?? NaN;

export default defineScenario({
  name: "incremental-checkpoint",
  description: "8 MB of keyed state on rocksdb, 200 updates/s, checkpoints every second: incremental uploads are a fraction of a full one, with compaction bursts",
  cluster: { taskManagers: 2, coresPerTaskManager: 2 },
  config: {
    "taskmanager.numberOfTaskSlots": 2,
    "parallelism.default": 2,
    "state.backend.type": "rocksdb",
    "state.backend.incremental": true,
    "execution.checkpointing.interval": "1s",
    "execution.checkpointing.min-pause": "1s",
  },
  params: { keys: 1000, valueBytes: 8 * 1024, updates: 3990, ratePerSecond: 100 },
  knockout: { config: { "state.backend.incremental": false } },
  job: (env, p) => largeStateJob(env, { keys: Number(p.keys), valueBytes: Number(p.valueBytes), updates: Number(p.updates), ratePerSplit: Number(p.ratePerSecond) }),
  timeLimit: "10m",
  expect: [
    finishes(),
    {
      name: "after the first (full) upload, the median checkpoint uploads < 50 % of it",
      check: (r) => {
        const ups = uploadsPerCheckpoint(r);
        if (ups.length < 4) return `only ${ups.length} checkpoints completed`;
        const full = ups[0]!.uploadedBytes;
        const later = median(ups.slice(1).map((u) => u.uploadedBytes));
        return later < 0.5 * full ? undefined : `median upload ${(later / 1e6).toFixed(2)} MB vs first ${(full / 1e6).toFixed(2)} MB (${Math.round((100 * later) / full)} %)`;
      },
    },
  ],
});
