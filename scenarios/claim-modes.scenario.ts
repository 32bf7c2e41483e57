/**
 * Restore claim modes (FLIP-193, `execution.state-recovery.claim-mode`): a keyed rolling
 * sum on incremental rocksdb stops with a NATIVE savepoint (its SST files uploaded into
 * the savepoint's directory) at 2 s and is restored at the same parallelism, checkpointing
 * every 300 ms.
 *
 * NO_CLAIM (the default, this scenario): the savepoint belongs to the user. The restored
 * job never references its files, so its first checkpoint is full — every SST file is
 * uploaded again — and it never deletes anything of the savepoint.
 *
 * Knock-out twin, CLAIM: the job owns the savepoint. Its first checkpoint is incremental
 * (it references the savepoint's SST files instead of uploading them), and the
 * savepoint's files are deleted once no retained checkpoint references them: the private
 * blobs when the first checkpoint subsumes the savepoint, each SST file once compaction
 * replaced it and the last checkpoint using it was discarded (test/claim-modes.test.ts).
 */
import type { JobRunResult } from "../engine/job-run";
import { phasesOf } from "../engine/savepoint-run";
import { defineScenario } from "./define";
import { exactlyOnce, finishes } from "./expectations";
import { paddedRollingSumJob, type PaddedRecord } from "./workloads";

type Rec = PaddedRecord;

/** The restored phase, the savepoint it restored, and its first checkpoint's per-subtask acks. */
export function restoredPhase(r: JobRunResult) {
  const ps = phasesOf(r);
  const p2 = ps[1]!;
  const sp = ps[0]!.savepoints?.completed.at(-1);
  const acks = p2.checkpoints?.subtasks ?? [];
  const first = acks.length === 0 ? undefined : Math.min(...acks.map((a) => a.checkpoint));
  return { p2, sp, firstAcks: acks.filter((a) => a.checkpoint === first) };
}

export default defineScenario({
  name: "claim-modes",
  description: "restore a NATIVE rocksdb savepoint in NO_CLAIM mode: first checkpoint full, savepoint untouched; twin CLAIM: incremental first checkpoint, savepoint files deleted once unreferenced",
  cluster: { taskManagers: 2, coresPerTaskManager: 2 },
  config: {
    "taskmanager.numberOfTaskSlots": 2,
    "parallelism.default": 2,
    "execution.checkpointing.interval": "300ms",
    "state.backend.type": "rocksdb",
    "state.backend.incremental": true,
    // Small memtables: several SST files per second, and compactions that replace the restored ones.
    "state.backend.rocksdb.writebuffer.size": "64kb",
    "execution.state-recovery.claim-mode": "NO_CLAIM",
  },
  params: { records: 4000, keys: 400, padBytes: 500 },
  phases: [{ stopWithSavepoint: { at: "2s", format: "NATIVE" } }, {}],
  knockout: { config: { "execution.state-recovery.claim-mode": "CLAIM" } },
  job: (env, p) => paddedRollingSumJob(env, { records: Number(p.records), keys: Number(p.keys), padBytes: Number(p.padBytes), splits: 4, ratePerSecond: 200 }),
  timeLimit: "5m",
  expect: [
    finishes(),
    exactlyOnce({ compare: "finalPerKey", keyOf: (r) => (r as Rec).key }),
    {
      name: "the first checkpoint after the restore is full: every subtask uploaded its whole state",
      check: (r) => {
        const { firstAcks } = restoredPhase(r);
        if (firstAcks.length === 0) return "no checkpoint completed after the restore";
        const partial = firstAcks.filter((a) => a.uploadedBytes < a.stateBytes);
        return partial.length === 0 ? undefined : `${partial.length} subtasks uploaded less than their state (e.g. ${partial[0]!.subtask}: ${partial[0]!.uploadedBytes} of ${partial[0]!.stateBytes} B)`;
      },
    },
    {
      name: "no file of the savepoint was deleted: every one is still in the blob store",
      check: (r) => {
        const { p2, sp } = restoredPhase(r);
        if (sp === undefined) return "phase 1 took no savepoint";
        const deleted = p2.world.blobStore.deletions.filter((d) => d.key.startsWith(`${sp.path}/`));
        const requested = p2.jobManager.checkpoints?.restoredBlobsDeleted ?? [];
        if (deleted.length + requested.length > 0) return `${Math.max(deleted.length, requested.length)} savepoint files deleted, e.g. ${(deleted[0] ?? requested[0])!.key}`;
        return undefined;
      },
    },
  ],
});
