/**
 * Exactly-once through a failover: a keyed rolling sum into a transactional sink (Sink V2:
 * writer + committer) with aligned checkpoints every second. The writer pre-commits its
 * transaction before each barrier and the committer commits it when the checkpoint
 * completes. TaskManager tm-1 crashes at 3 s and comes back at 5 s; the job restores the
 * last completed checkpoint (sources rewind to its offsets, the committer re-commits what
 * it holds, the writer's lingering transactions are aborted), and the committed output is
 * exactly the oracle's; the final checkpoint (FLIP-147) commits the rest.
 * Knock-out twin: a non-transactional (collect) sink — what was written after the restored
 * checkpoint stays visible, and the replay writes it again: duplicates.
 */
import { CollectSink, TransactionalSink } from "../engine/api/sinks";
import { GeneratorSource } from "../engine/api/sources";
import { defineScenario } from "./define";
import { exactlyOnce, finishes } from "./expectations";

type Rec = { key: number; seq: number };

export default defineScenario({
  name: "exactly-once-sink",
  description: "a TaskManager crash and a restart: the transactional sink commits exactly once; a collect sink duplicates",
  cluster: { taskManagers: 2, coresPerTaskManager: 2 },
  config: {
    "taskmanager.numberOfTaskSlots": 2,
    "parallelism.default": 2,
    "restart-strategy.type": "fixed-delay",
    "restart-strategy.fixed-delay.attempts": 3,
    "heartbeat.interval": "1s",
    "heartbeat.timeout": "5s",
    "execution.checkpointing.interval": "1s",
  },
  params: { sink: "transactional", records: 2000, inject: true },
  knockout: { params: { sink: "collect" } },
  faults: [{ trigger: { from: "3s", to: "5s" }, fault: "crash", target: "tm-1" }],
  job: (env, p) => {
    const sum = env
      .fromSource<Rec>(GeneratorSource({ records: Number(p.records), splits: 4, ratePerSecond: 100, keys: { count: 20, distribution: "uniform" } }), "none", "events")
      .keyBy((r) => r.key)
      .reduce((a, b) => ({ key: a.key, seq: a.seq + b.seq }));
    sum.sinkTo(p.sink === "collect" ? CollectSink("sums") : TransactionalSink("sums"));
  },
  timeLimit: "10m",
  expect: [finishes(), exactlyOnce({ compare: "finalPerKey", keyOf: (r) => (r as Rec).key })],
});
