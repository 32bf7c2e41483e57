/**
 * The broadcast state pattern in STREAMING with checkpoints: threshold rules per category
 * (one slow rule source, parallelism 1) are broadcast to a keyed judge
 * ("Co-Process-Broadcast-Keyed", a two-input operator) over events from four splits. Each
 * event is judged by the rule version in force at its event time, so the verdicts match the
 * oracle whatever order the inputs interleave in. The knock-out twin judges by the newest
 * rule present when the event's timer fires (no versioning): which rules have arrived by
 * then depends on timing, so its verdicts differ from the oracle's (which, like Flink's
 * BATCH mode, has every rule before any event).
 */
import { defineScenario } from "./define";
import { finishes, matchesOracle } from "./expectations";

export default defineScenario({
  name: "broadcast-rules",
  description: "broadcast state: rules broadcast to a keyed judge (two-input operator), checked against the oracle",
  cluster: { taskManagers: 2, coresPerTaskManager: 2 },
  config: {
    "execution.runtime-mode": "STREAMING",
    "taskmanager.numberOfTaskSlots": 2,
    "execution.checkpointing.interval": "200ms",
  },
  job: "broadcast-rules",
  params: { records: 4000, keys: 16, splits: 4, parallelism: 2, ratePerSecond: 1000, intervalMs: 2, maxDisorderMs: 50, categories: 4, rules: 40, ruleSplits: 1, sink: "transactional" },
  knockout: { params: { ruleLookup: "latest" } },
  timeLimit: "10m",
  expect: [finishes(), matchesOracle()],
});
