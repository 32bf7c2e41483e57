/**
 * Savepoints and rescaling (issue 8): a keyed rolling sum (500 keys, ~1 KB of state each)
 * into a transactional sink runs at parallelism 4, stops with a savepoint at 1.5 s, is
 * restored at parallelism 7 — each new subtask reads from the old subtasks only the key
 * groups of its range — stops again at 1.5 s, and is restored at parallelism 2 with the
 * rocksdb backend (the CANONICAL savepoint does not depend on the backend), which runs to
 * the end of the input. The output committed over the three phases is exactly the
 * oracle's: nothing lost or repeated across two stops and two rescales.
 *
 * Knock-out twin: the later phases start without the savepoint (a restart that forgot
 * `execution.state-recovery.path`): sources read from the start again and the sums start
 * from zero — duplicates and wrong sums in the committed output.
 */
import type { JobRunResult } from "../engine/job-run";
import { phasesOf } from "../engine/savepoint-run";
import { defineScenario } from "./define";
import { exactlyOnce, finishes } from "./expectations";
import { paddedRollingSumJob, type PaddedRecord } from "./workloads";

type Rec = PaddedRecord;

/** The keyed vertex's old → new parallelism in each restored phase. */
export function keyedRescales(r: JobRunResult): string[] {
  return phasesOf(r)
    .slice(1)
    .map((p) => {
      const from = p.savepoints?.restoredFrom;
      if (from === undefined) return "none";
      const keyed = p.vertices.findIndex((v) => v.name.includes("Reduce"));
      return `${from.oldParallelism[keyed]}→${from.newParallelism[keyed]}`;
    });
}

export default defineScenario({
  name: "savepoint-rescale",
  description: "stop-with-savepoint and restore at 4 → 7 → 2 subtasks (hashmap, then rocksdb): key groups redistributed, exactly-once across both restores",
  cluster: { taskManagers: 4, coresPerTaskManager: 2 },
  config: {
    "taskmanager.numberOfTaskSlots": 2,
    "execution.checkpointing.interval": "500ms",
    "state.backend.type": "hashmap",
    "parallelism.default": 4,
  },
  params: { records: 4000, keys: 500, padBytes: 1000 },
  phases: [
    { stopWithSavepoint: { at: "1.5s" } },
    { config: { "parallelism.default": 7 }, stopWithSavepoint: { at: "1.5s" } },
    { config: { "parallelism.default": 2, "state.backend.type": "rocksdb" } },
  ],
  knockout: { phases: [{}, { restore: false }, { restore: false }] },
  job: (env, p) => paddedRollingSumJob(env, { records: Number(p.records), keys: Number(p.keys), padBytes: Number(p.padBytes), splits: 8, ratePerSecond: 100 }),
  timeLimit: "5m",
  expect: [
    finishes(),
    // A rolling sum's intermediate values depend on how records of a key from different
    // splits interleave (timing), so the final sum per key is compared, and the count below.
    exactlyOnce({ compare: "finalPerKey", keyOf: (r) => (r as Rec).key }),
    {
      name: "one committed sum per input record (nothing repeated across the stops)",
      check: (r) => {
        const n = r.outputs.get("sums")?.length ?? 0;
        return n === 4000 ? undefined : `${n} committed sums for 4000 records`;
      },
    },
    {
      name: "each phase restored its predecessor's savepoint: the keyed operator went 4 → 7 → 2",
      check: (r) => {
        const got = keyedRescales(r).join(", ");
        return got === "4→7, 7→2" ? undefined : `rescales ${got}`;
      },
    },
    {
      // Ranged reads: each byte of keyed state is read by the one new subtask owning its key group.
      name: "restores read only their key-group ranges: Σ bytes read ≤ 1.05 × the savepoint's size",
      check: (r) => {
        const ps = phasesOf(r);
        for (let i = 1; i < ps.length; i++) {
          const sp = ps[i - 1]!.savepoints?.completed.at(-1);
          if (sp === undefined) return `phase ${i} took no savepoint`;
          const read = ps[i]!.restores.reduce((n, x) => n + x.stateBytes, 0);
          if (read === 0 || read > 1.05 * sp.stateBytes) return `phase ${i + 1} read ${read} B of a ${sp.stateBytes} B savepoint`;
        }
        return undefined;
      },
    },
  ],
});
