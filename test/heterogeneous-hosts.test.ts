/** Heterogeneous hosts (issue 7 workload knobs): per-TaskManager cores and speeds. */
import { describe, expect, it } from "vitest";
import { CollectSink } from "../engine/api/sinks";
import { GeneratorSource } from "../engine/api/sources";
import { runJob, type ClusterShape } from "../engine/job-run";

function makespanOn(cluster: ClusterShape): number {
  const r = runJob({
    seed: 1,
    scenario: "heterogeneous",
    cluster,
    config: { "execution.runtime-mode": "BATCH", "taskmanager.numberOfTaskSlots": 4, "parallelism.default": 4 },
    job: (env) => {
      env
        .fromSource<{ key: number; seq: number }>(GeneratorSource({ records: 400, splits: 4 }), "none", "gen")
        .map((r) => r, "Work")
        .withCost({ cpuNsPerRecord: 10_000_000 })
        .sinkTo(CollectSink("out"));
    },
  });
  expect(r.status).toBe("FINISHED");
  expect(r.outputs.get("out")).toHaveLength(400);
  return r.makespanNs!;
}

describe("heterogeneous hosts", () => {
  it("four subtasks in one TaskManager's slots run 4× longer on 1 core than on 4", () => {
    const one = makespanOn({ taskManagers: 1, cores: [1] });
    const four = makespanOn({ taskManagers: 1, cores: [4] });
    // 100 records × 10 ms per subtask: 1 s each on 4 cores; the 4 share 1 core: 4 s.
    expect(one / four).toBeGreaterThan(3.5);
    expect(one / four).toBeLessThan(4.5);
  });

  it("a per-TaskManager core count overrides coresPerTaskManager, and a bad one is one clear error", () => {
    expect(makespanOn({ taskManagers: 1, coresPerTaskManager: 1, cores: [4] })).toBe(makespanOn({ taskManagers: 1, cores: [4] }));
    expect(() => makespanOn({ taskManagers: 2, cores: [2, 0] })).toThrow(/^cluster\.cores\[1\]: must be a positive integer, got 0$/);
  });
});
