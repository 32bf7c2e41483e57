/**
 * Buffer debloating (FLIP-183) under backpressure: the backpressure scenario's job — a
 * source at 5× the capacity of a slow map — with aligned checkpoints every 2 s. Without
 * debloating every input channel of the slow map holds full 32 KiB buffers, so a barrier
 * waits behind seconds of queued records. With debloating the slow map measures its
 * throughput every 200 ms and shrinks the buffers its producers fill until the data in
 * flight takes about `target` (1 s) to consume: the barrier's wait (the checkpoint's start
 * delay at the slow map) drops to about the target, and checkpoints get faster.
 * Knock-out twin: debloating off.
 */
import { LatencyTracker } from "../engine/runtime/latency-tracker";
import { slowMapJob } from "./workloads";
import { defineScenario, type Expectation } from "./define";
import { backpressuredAbove, checkpointDurationNs } from "./expectations";

const TARGET_S = 1;

/** Start delays (ns) of the slow map's subtasks in checkpoints after the first few seconds. */
function slowMapStartDelays(r: Parameters<Expectation["check"]>[0]): number[] {
  const slow = new Set(r.vertices.filter((v) => v.name.startsWith("Slow Map")).map((v) => v.id));
  return (r.checkpoints?.subtasks ?? []).filter((a) => a.checkpoint >= 3 && slow.has(a.subtask.replace(/\[\d+\]$/, ""))).map((a) => a.startDelayNs);
}

const p50 = (xs: readonly number[]) => LatencyTracker.percentile(xs, 0.5) ?? NaN;

export default defineScenario({
  name: "buffer-debloat",
  description: "backpressure with aligned checkpoints: debloating bounds in-flight data to ~1 s and speeds up checkpoints",
  cluster: { taskManagers: 2, coresPerTaskManager: 2 },
  config: {
    "taskmanager.numberOfTaskSlots": 2,
    "parallelism.default": 2,
    "execution.checkpointing.interval": "2s",
    "taskmanager.network.memory.buffer-debloat.enabled": true,
    "taskmanager.network.memory.buffer-debloat.target": `${TARGET_S}s`,
  },
  params: { ratePerSecond: 10_000, splits: 2, capacityFraction: 0.2 },
  knockout: { config: { "taskmanager.network.memory.buffer-debloat.enabled": false } },
  job: slowMapJob,
  timeLimit: "20s",
  expect: [
    backpressuredAbove("Source", 0.5),
    {
      name: `the slow map's in-flight input takes about the target (${TARGET_S} s) to consume: barrier start delay p50 within ±50 %`,
      check: (r) => {
        const delays = slowMapStartDelays(r);
        if (delays.length === 0) return "no completed checkpoint after the warm-up";
        const s = p50(delays) / 1e9;
        return s >= TARGET_S * 0.5 && s <= TARGET_S * 1.5 ? undefined : `start delay p50 ${s.toFixed(3)} s`;
      },
    },
    {
      name: "aligned checkpoints under backpressure complete within 1.5 × the target (p50)",
      check: (r) => {
        const s = checkpointDurationNs(r, 0.5, 2) / 1e9;
        if (Number.isNaN(s)) return "no completed checkpoint after the warm-up";
        return s <= TARGET_S * 1.5 ? undefined : `checkpoint duration p50 ${s.toFixed(3)} s`;
      },
    },
  ],
});
