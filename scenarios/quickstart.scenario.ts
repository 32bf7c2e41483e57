/**
 * Quickstart (what `npm start` runs): WordCount in STREAMING mode on three TaskManagers —
 * sentences from a bounded generator, flatMap to words, keyBy word, rolling sum, into a
 * transactional sink that commits at the end of input. The committed output is checked
 * against the oracle; latency markers every 100 ms measure processing and visibility
 * latency.
 */
import { defineScenario } from "./define";
import { finishes, matchesOracle } from "./expectations";

export default defineScenario({
  name: "quickstart",
  description: "WordCount, STREAMING, 3 TaskManagers, transactional sink, checked against the oracle",
  cluster: { taskManagers: 3, coresPerTaskManager: 2 },
  config: {
    "execution.runtime-mode": "STREAMING",
    "taskmanager.numberOfTaskSlots": 2,
    "metrics.latency.interval": "100ms",
  },
  job: "wordcount",
  params: { records: 20_000, wordsPerSentence: 8, vocabulary: 500, skew: 1.1, splits: 6, parallelism: 3, ratePerSecond: 2000, sink: "transactional" },
  timeLimit: "10m",
  expect: [finishes(), matchesOracle()],
});
