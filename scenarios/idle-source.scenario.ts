/**
 * Event-time idleness (WatermarkStrategy.withIdleness) in STREAMING with checkpoints: three
 * splits at 100 records/s feed keyed 500 ms tumbling windows; split 0 goes quiet after 20
 * records (at ~0.2 s) for 3 s. With idlenessMs 500 its source subtask turns IDLE after the
 * idle timeout plus the probe anchoring (~1 s), the window task takes its watermark from the
 * other two, and windows fire and commit while split 0 is silent; what split 0 reads after
 * the pause is behind the watermark and goes to the late side output (conservation holds).
 * The knock-out twin has no idleness: split 0's watermark holds every window back until it
 * resumes (~3.6 s), so nothing is committed while it is quiet.
 */
import type { JobRunResult } from "../engine/job-run";
import { defineScenario, type Expectation } from "./define";
import { finishes, matchesOracle } from "./expectations";

/** When the first window result became visible (ns), or Infinity. */
export function firstWindowCommitNs(r: JobRunResult): number {
  return r.firstCommitNs.get("windows") ?? Infinity;
}

/** Split 0 is silent from ~0.2 s to ~3.2 s; a result before 2 s needs its subtask idle. */
export const WINDOWS_BEFORE_NS = 2e9;

const windowsWhileQuiet: Expectation = {
  name: `a window result is committed while split 0 is quiet (before ${WINDOWS_BEFORE_NS / 1e9} s)`,
  check: (r) => {
    const t = firstWindowCommitNs(r);
    return t < WINDOWS_BEFORE_NS ? undefined : `first window result committed at ${Number.isFinite(t) ? `${(t / 1e9).toFixed(3)} s` : "never"}`;
  },
};

export default defineScenario({
  name: "idle-source",
  description: "withIdleness: a quiet split's subtask turns idle, so the other splits' watermarks fire the windows while it is silent",
  cluster: { taskManagers: 2, coresPerTaskManager: 2 },
  config: {
    "execution.runtime-mode": "STREAMING",
    "taskmanager.numberOfTaskSlots": 2,
    "execution.checkpointing.interval": "200ms",
  },
  job: "idle-source-windows",
  params: { records: 600, keys: 4, splits: 3, parallelism: 3, ratePerSecond: 100, intervalMs: 10, maxDisorderMs: 20, windowMs: 500, quietSplits: 1, quietAfterRecords: 20, pauseMs: 3000, idlenessMs: 500, sink: "transactional" },
  knockout: { params: { idlenessMs: undefined } },
  timeLimit: "1m",
  expect: [finishes(), matchesOracle(), windowsWhileQuiet],
});
