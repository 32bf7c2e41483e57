import { describe, expect, it } from "vitest";
import { InputError } from "../../sim/errors";
import { resolvePartitioners } from "../../engine/api/environment";
import { compareWithOracle, runOracle } from "../../engine/oracle/oracle";
import { JOBS, buildJob, getJob, jobNames } from "./index";

describe("job library", () => {
  it("has the expected jobs with metadata", () => {
    expect(jobNames()).toEqual(["wordcount", "tumbling-window", "late-data-window", "sliding-window", "session-window", "keyed-timers", "rebalance-rescale", "batch-dag", "co-process-join", "broadcast-rules", "window-join", "item-tracker", "idle-source-windows"]);
    for (const job of JOBS.values()) {
      expect(job.description.length).toBeGreaterThan(10);
      expect(["multiset", "finalPerKey", "conservation"]).toContain(job.compare);
      expect(job.deterministic).toBe(job.compare !== "conservation");
      expect(job.parseParams({})).toEqual(job.defaultParams);
    }
  });

  it("every job builds with its defaults, resolves, and its oracle output agrees with itself in both modes", () => {
    for (const name of jobNames()) {
      const { graph, job, params } = buildJob(name, { records: 60 });
      resolvePartitioners(graph, 2);
      expect(graph.nodes.some((n) => n.sinkName !== undefined), name).toBe(true);
      for (const mode of ["STREAMING", "BATCH"] as const) {
        const out = runOracle(graph, { runtimeMode: mode, seed: 3 });
        expect([...out.values()].some((records) => records.length > 0), `${name} ${mode}`).toBe(true);
        const again = runOracle(buildJob(name, { records: 60 }).graph, { runtimeMode: mode, seed: 3 });
        expect(compareWithOracle(again, out, job.compare, job.compareOptions?.(params)).equal, `${name} ${mode}`).toBe(true);
      }
    }
  });

  it("jobs without rolling aggregates give the same output in STREAMING and BATCH", () => {
    for (const name of ["tumbling-window", "sliding-window", "keyed-timers", "rebalance-rescale"]) {
      const { graph, job, params } = buildJob(name, { records: 80 });
      const s = runOracle(graph, { runtimeMode: "STREAMING", seed: 4 });
      const b = runOracle(graph, { runtimeMode: "BATCH", seed: 4 });
      expect(compareWithOracle(s, b, job.compare, job.compareOptions?.(params)).summary, name).toMatch(/^equal/);
    }
  });

  it("validates params with field-named errors and suggestions", () => {
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(InputError);
        return (e as InputError).message;
      }
      throw new Error("no error");
    };
    expect(err(() => buildJob("wordcount", { records: -1 }))).toMatch(/^params\.records: Too small/);
    expect(err(() => buildJob("wordcount", { recrods: 5 }))).toBe('params.recrods: unknown parameter of job "wordcount" "recrods" (did you mean "records"?)');
    expect(err(() => buildJob("batch-dag", { parallelism: 1.5 }))).toMatch(/^params\.parallelism: /);
    expect(err(() => buildJob("tumbling-window", { sink: "kafka" }))).toMatch(/^params\.sink: Invalid option/);
    expect(err(() => getJob("tumbling-windows").parseParams({ windowMs: 0 }, "scenario.params"))).toMatch(/^job: unknown job "tumbling-windows" \(did you mean "tumbling-window"\?\)/);
    expect(err(() => getJob("tumbling-window").parseParams({ windowMs: 0 }, "scenario.params"))).toMatch(/^scenario\.params\.windowMs: /);
  });

  it("parallelism params shape the graph; data does not depend on them", () => {
    const { graph } = buildJob("rebalance-rescale", { sourceParallelism: 1, mapParallelism: 2, map2Parallelism: 5, sinkParallelism: 3 });
    expect(graph.nodes.map((n) => n.parallelism)).toEqual([1, 2, 5, 3, 3]);
    const a = runOracle(buildJob("wordcount", { parallelism: 1 }).graph, { runtimeMode: "BATCH", seed: 9 });
    const b = runOracle(buildJob("wordcount", { parallelism: 6 }).graph, { runtimeMode: "BATCH", seed: 9 });
    expect(b).toEqual(a);
  });
});
