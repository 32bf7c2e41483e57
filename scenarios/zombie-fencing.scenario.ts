/**
 * Zombie fencing: a one-way partition stops the JobManager from hearing TaskManager tm-1,
 * whose task keeps running. After the heartbeat timeout the JobManager restarts the task
 * on tm-2; the new attempt's transactional writer fences the old one (Kafka-style epochs
 * in the external store), so when the zombie reaches the end of its input its commit is
 * rejected and the output stays exactly once. Its late status reports are dropped as
 * stale. Knock-out twin: per-attempt transaction ids (no fencing) — the zombie commits
 * too, and the output is duplicated.
 */
import { TransactionalSink } from "../engine/api/sinks";
import { GeneratorSource } from "../engine/api/sources";
import { defineScenario } from "./define";
import { exactlyOnce, finishes } from "./expectations";

export default defineScenario({
  name: "zombie-fencing",
  description: "one-way partition tm-1 -> jm: the restarted attempt fences the zombie's transactions",
  cluster: { taskManagers: 2, coresPerTaskManager: 2 },
  config: {
    "taskmanager.numberOfTaskSlots": 1,
    "parallelism.default": 1,
    "restart-strategy.type": "fixed-delay",
    "restart-strategy.fixed-delay.attempts": 3,
    "heartbeat.interval": "1s",
    "heartbeat.timeout": "5s",
  },
  params: { fencing: true, records: 1000 },
  knockout: { params: { fencing: false } },
  faults: [{ trigger: { from: "2s", to: "12s" }, fault: { type: "partition", oneWay: true }, target: "tm-1|jm" }],
  job: (env, p) => {
    env
      .fromSource<{ key: number; seq: number }>(GeneratorSource({ records: Number(p.records), splits: 1, ratePerSecond: 100 }), "none", "events")
      .map((r) => ({ key: r.key, seq: r.seq }), "Enrich")
      .sinkTo(TransactionalSink("out", { fencing: p.fencing !== false }));
  },
  timeLimit: "5m",
  expect: [finishes(), exactlyOnce({ compare: "multiset" })],
});
