/**
 * Keyed state accesses are charged once: recordCpuNs (engine/costs.ts) charges the accesses
 * an operator declares per record (or its kind's default: a keyed reduce reads and writes,
 * 2), and the runtime charges only the accesses it measures beyond those. Declaring what
 * the operator really does must therefore not change its CPU; declaring more than it does
 * costs more; declaring none leaves the runtime to charge what it measures.
 */
import { describe, expect, it } from "vitest";
import { CollectSink } from "../engine/api/sinks";
import { GeneratorSource } from "../engine/api/sources";
import { runJob } from "../engine/job-run";

type Rec = { key: number; n: number };

function busyOfReduce(stateAccessesPerRecord: number | undefined): number {
  const r = runJob({
    seed: 2,
    scenario: "state-access-cost",
    cluster: { taskManagers: 1, coresPerTaskManager: 2 },
    config: { "taskmanager.numberOfTaskSlots": 2, "parallelism.default": 1 },
    job: (env) => {
      const reduced = env
        .fromSource<Rec>(GeneratorSource({ records: 2000, splits: 1, keys: { count: 50, distribution: "uniform" }, value: (i, key) => ({ key: Number(key), n: i }) }), "none", "gen")
        .keyBy((x) => x.key)
        .reduce((a, b) => ({ key: a.key, n: a.n + b.n }));
      if (stateAccessesPerRecord !== undefined) reduced.withCost({ stateAccessesPerRecord });
      reduced.sinkTo(CollectSink("out"));
    },
  });
  expect(r.status).toBe("FINISHED");
  return r.vertices.find((v) => v.name.startsWith("Keyed"))!.busyNs;
}

describe("keyed state access costs", () => {
  it("declaring the accesses a reduce makes (2, its default) or none charges the same; declaring more charges more", () => {
    const byDefault = busyOfReduce(undefined);
    expect(busyOfReduce(2)).toBe(byDefault);
    expect(busyOfReduce(0)).toBe(byDefault);
    // 3 more declared than made, on each of 2000 records at 250 ns: 1.5 ms more.
    expect(busyOfReduce(5) - byDefault).toBeCloseTo(3 * 2000 * 250, -4);
  });
});
