/**
 * Speculative execution (flink-mechanics §3) on a BATCH job with stragglers: 8 TaskManager
 * hosts, two of them at speed 0.5 and, throughout the run, in a "slow" window that halves
 * them again (4× slower than the rest). Default detector options: a Parse subtask runs
 * ~100 s on a fast host, so the 1 min lower bound and the 1.5× median baseline apply as in
 * Flink. Speculation launches attempts of the slow subtasks on fast hosts, blocks the slow
 * hosts, and the speculative attempts win. The knock-out twin (speculation off) waits for
 * the stragglers and fails the effect expectations.
 *
 * Why 4× and not just speed 0.5: with a 2× straggler the baseline (1.5 × median) is reached
 * at 1.5 T and a fresh attempt needs another T, so it can never beat the original (2 T) —
 * Flink's defaults speculate profitably only for stragglers slower than 2.5×.
 */
import { CollectSink } from "../engine/api/sinks";
import { GeneratorSource } from "../engine/api/sources";
import { defineScenario } from "./define";
import { finishes, matchesOracle } from "./expectations";

export const SLOW_HOSTS = ["tm-3", "tm-7"];
const PARALLELISM = 16;

export default defineScenario({
  name: "speculative-stragglers",
  description: "two straggling hosts in a BATCH job: speculative attempts on fast hosts win and the slow hosts are blocklisted; without speculation the job waits",
  cluster: { taskManagers: 8, coresPerTaskManager: 2, speeds: [1, 1, 0.5, 1, 1, 1, 0.5, 1] },
  config: {
    "execution.runtime-mode": "BATCH",
    "taskmanager.numberOfTaskSlots": 2,
    "parallelism.default": PARALLELISM,
    "execution.batch.speculative.enabled": true,
  },
  knockout: { config: { "execution.batch.speculative.enabled": false } },
  faults: SLOW_HOSTS.map((target) => ({ trigger: { from: "0s", to: "1h" }, fault: { type: "slow", factor: 0.5 }, target })),
  params: { records: 1600, cpuNsPerRecord: 500_000_000 },
  job: (env, params) => {
    const records = Number(params.records);
    const cpuNsPerRecord = Number(params.cpuNsPerRecord);
    env
      .fromSource<{ key: number; seq: number }>(GeneratorSource({ records, splits: PARALLELISM, keys: { count: 2000, distribution: "uniform" } }), "none", "numbers")
      .map((r) => ({ key: r.key, seq: r.seq * 2 }), "Parse")
      .withCost({ cpuNsPerRecord })
      .keyBy((r) => r.key)
      .map((r) => r, "Enrich")
      .withCost({ cpuNsPerRecord })
      .keyBy((r) => r.key)
      .reduce((a, b) => ({ key: a.key, seq: a.seq + b.seq }), "Sum")
      .sinkTo(CollectSink("out"));
  },
  expect: [
    finishes(),
    matchesOracle(),
    {
      name: "speculative attempts win (numEffectiveSpeculativeExecutions > 0)",
      check: (r) => {
        const n = r.speculation?.numEffectiveSpeculativeExecutions ?? 0;
        return n > 0 ? undefined : `numEffectiveSpeculativeExecutions ${n}`;
      },
    },
    {
      name: "the slow hosts are blocklisted",
      check: (r) => {
        const blocked = r.jobManager.speculation?.everBlocked() ?? [];
        const missing = SLOW_HOSTS.filter((h) => !blocked.includes(h));
        return missing.length === 0 ? undefined : `never blocked: ${missing.join(", ")} (blocked: ${blocked.join(", ") || "none"})`;
      },
    },
  ],
});
