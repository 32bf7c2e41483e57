/**
 * A tumbling-window join, coGroup and median ProcessWindowFunction (window-join) in
 * STREAMING with checkpoints, and a TaskManager crash in the middle: the windows' elements
 * (list state) are restored from the last checkpoint and the committed pairs, groups and
 * medians equal the oracle's. The knock-out twin sets the watermark bound below the
 * disorder: elements that arrive after their window fired are dropped (a join has no late
 * side output), so pairs go missing and the output no longer equals the oracle's.
 */
import { defineScenario } from "./define";
import { finishes, matchesOracle } from "./expectations";

export default defineScenario({
  name: "window-join",
  description: "tumbling-window join and coGroup (tagged union + window) and a ProcessWindowFunction, through a TaskManager crash",
  cluster: { taskManagers: 2, coresPerTaskManager: 2 },
  config: {
    "execution.runtime-mode": "STREAMING",
    "taskmanager.numberOfTaskSlots": 2,
    "execution.checkpointing.interval": "200ms",
    "restart-strategy.type": "fixed-delay",
    "restart-strategy.fixed-delay.delay": "500ms",
    "pipeline.auto-watermark-interval": "10ms",
  },
  job: "window-join",
  params: { records: 3000, paymentRecords: 1500, keys: 20, splits: 4, parallelism: 2, ratePerSecond: 500, intervalMs: 2, maxDisorderMs: 40, windowMs: 100, slideMs: 50, sink: "transactional" },
  faults: [{ trigger: { at: "900ms" }, fault: "crash", target: "tm-1" }],
  knockout: { params: { watermarkOutOfOrdernessMs: 0 } },
  timeLimit: "10m",
  expect: [finishes(), matchesOracle()],
});
