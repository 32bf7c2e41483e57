/**
 * The aligned-checkpoint timeout (execution.checkpointing.aligned-checkpoint-timeout):
 * unaligned checkpoints enabled, but each checkpoint starts aligned and switches to
 * unaligned only once it is older than the timeout (500 ms). Under the backpressure job's
 * full queues the alignment would take seconds, so every checkpoint switches (mark
 * `uc.timeoutSwitch`): it persists in-flight data, and it completes soon after the
 * timeout instead of after seconds.
 * Knock-out twin: timeout 0 — unaligned from the first barrier, so nothing ever switches.
 */
import { slowMapJob } from "./workloads";
import { defineScenario } from "./define";
import { backpressuredAbove, checkpointDurationNs } from "./expectations";

const TIMEOUT_MS = 500;

export default defineScenario({
  name: "aligned-timeout",
  description: "checkpoints start aligned and switch to unaligned after 500 ms under backpressure",
  cluster: { taskManagers: 2, coresPerTaskManager: 2 },
  config: {
    "taskmanager.numberOfTaskSlots": 2,
    "parallelism.default": 2,
    "execution.checkpointing.interval": "2s",
    "execution.checkpointing.unaligned.enabled": true,
    "execution.checkpointing.aligned-checkpoint-timeout": `${TIMEOUT_MS}ms`,
  },
  params: { ratePerSecond: 10_000, splits: 2, capacityFraction: 0.2 },
  knockout: { config: { "execution.checkpointing.aligned-checkpoint-timeout": "0ms" } },
  job: slowMapJob,
  timeLimit: "20s",
  expect: [
    backpressuredAbove("Source", 0.5),
    {
      name: "checkpoints switch from aligned to unaligned at the timeout (mark uc.timeoutSwitch)",
      check: (r) => ((r.marks["uc.timeoutSwitch"] ?? 0) > 0 ? undefined : "no switch happened"),
    },
    {
      name: `switched checkpoints complete soon after the timeout (p50 between ${TIMEOUT_MS} ms and 2 × ${TIMEOUT_MS} ms) and persist in-flight data`,
      check: (r) => {
        const p50 = checkpointDurationNs(r, 0.5, 2) / 1e6;
        const persisted = (r.checkpoints?.subtasks ?? []).reduce((n, a) => n + a.persistedBytes, 0);
        if (!(p50 >= TIMEOUT_MS && p50 <= 2 * TIMEOUT_MS)) return `checkpoint duration p50 ${p50.toFixed(1)} ms`;
        return persisted > 0 ? undefined : "no persisted in-flight bytes";
      },
    },
  ],
});
