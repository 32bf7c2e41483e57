/**
 * The adaptive batch scheduler end to end: decisions in the trace, wide fan-in through the
 * FLIP-266 gate buffers, and failover after a decision (decided once, never again).
 */
import { describe, expect, it } from "vitest";
import { CollectSink } from "../engine/api/sinks";
import { GeneratorSource } from "../engine/api/sources";
import { runJob, type JobRunOptions } from "../engine/job-run";
import { MemorySink } from "../sim/trace/recorder";

interface Rec {
  key: number;
  seq: number;
}

/** records over 40 keys → keyed sum of seq → sink; every parallelism but the source's (if given) left to the scheduler. */
function job(records: number, failAt?: number, sourceParallelism?: number): JobRunOptions["job"] {
  return (env) => {
    let seen = 0;
    const source = env.fromSource<Rec>(GeneratorSource({ records, splits: sourceParallelism ?? 8, keys: { count: 40, distribution: "uniform" } }), "none", "gen");
    if (sourceParallelism !== undefined) source.setParallelism(sourceParallelism);
    source
      .withCost({ recordBytes: 1000 })
      .keyBy((r) => r.key)
      .reduce((a, b) => ({ key: a.key, seq: a.seq + b.seq }), "Sum")
      .map((r, ctx) => {
        if (failAt !== undefined && ctx.attemptNumber === 0 && ctx.subtaskIndex === 0 && ++seen === failAt) throw new Error("injected");
        return r;
      }, "Check")
      .sinkTo(CollectSink("out"));
  };
}

function run(records: number, config: Record<string, unknown>, failAt?: number, sourceParallelism?: number) {
  const sink = new MemorySink();
  const result = runJob({
    seed: 5,
    scenario: "adaptive-batch",
    cluster: { taskManagers: 4, coresPerTaskManager: 4 },
    config: { "execution.runtime-mode": "BATCH", "taskmanager.numberOfTaskSlots": 4, ...config },
    job: job(records, failAt, sourceParallelism),
    trace: { sink, level: "summary" },
  });
  const events = sink.lines.map((l) => JSON.parse(l) as Record<string, unknown> & { kind: string });
  return { result, events };
}

/** The expected final sums: Σ seq per key, from the generator's own assignment. */
function sums(out: readonly unknown[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const r of out as Rec[]) m.set(r.key, Math.max(m.get(r.key) ?? -1, r.seq));
  return m;
}

describe("adaptive batch scheduler", () => {
  it("traces each decision with its inputs and ranges; undecided vertices are submitted as -1", () => {
    const { result, events } = run(20_000, { "execution.batch.adaptive.auto-parallelism.avg-data-volume-per-task": "4mb" });
    expect(result.status).toBe("FINISHED");
    const submitted = events.find((e) => e.kind === "JobSubmitted") as unknown as { vertices: { name: string; parallelism: number }[] };
    expect(submitted.vertices.every((v) => v.parallelism === -1)).toBe(true);
    const decided = events.filter((e) => e.kind === "VertexParallelismDecided") as unknown as { name: string; parallelism: number; path: string; inputBytes: number; inputs: { bytes: number }[]; ranges?: string }[];
    // The generator infers its parallelism (FLIP-379), bounded by default-source-parallelism (1).
    expect(decided.map((d) => d.path)).toEqual(["source-inferred", "even-data"]);
    const sum = decided[1]!;
    // ≈ 20 MB into Sum at 4 MiB per task (40 keys in 128 key groups: whole groups, so uneven).
    expect(sum.inputBytes).toBe(sum.inputs[0]!.bytes);
    expect(sum.inputBytes).toBeGreaterThan(20_000 * 1000);
    expect(sum.parallelism).toBeGreaterThanOrEqual(5);
    expect(sum.ranges!.split(" ")).toHaveLength(sum.parallelism);
    expect(result.vertices.map((v) => v.parallelism)).toEqual([1, sum.parallelism]);
  });

  it("a source infers its parallelism from its data volume, bounded by default-source-parallelism and its splits", () => {
    // 20,000 × 1000 B ≈ 19 MiB at 4 MiB per task: 5 subtasks wanted, within the bound 6 and the 8 splits.
    const inferred = run(20_000, { "execution.batch.adaptive.auto-parallelism.avg-data-volume-per-task": "4mb", "execution.batch.adaptive.auto-parallelism.default-source-parallelism": 6 });
    expect(inferred.result.vertices[0]!.parallelism).toBe(5);
    // Bounded by the option…
    expect(run(20_000, { "execution.batch.adaptive.auto-parallelism.avg-data-volume-per-task": "4mb", "execution.batch.adaptive.auto-parallelism.default-source-parallelism": 3 }).result.vertices[0]!.parallelism).toBe(3);
    // …and by the 8 splits.
    expect(run(20_000, { "execution.batch.adaptive.auto-parallelism.avg-data-volume-per-task": "1mb", "execution.batch.adaptive.auto-parallelism.default-source-parallelism": 64 }).result.vertices[0]!.parallelism).toBe(8);
    expect(sums(inferred.result.outputs.get("out")!)).toEqual(sums(run(20_000, { "parallelism.default": 2 }).result.outputs.get("out")!));
  });

  it("a decided consumer of 48 producers × 128 subpartitions runs: its gate takes floating buffers (FLIP-266)", () => {
    const { result } = run(4_000, {}, undefined, 48);
    expect(result.status, result.failureCause).toBe("FINISHED");
    expect(result.vertices.map((v) => v.parallelism)).toEqual([48, 1]);
    const reference = run(4_000, { "parallelism.default": 2 }, undefined, 48).result;
    expect(sums(result.outputs.get("out")!)).toEqual(sums(reference.outputs.get("out")!));
  });

  it("a failure after the decision reruns subtasks at the decided parallelism, never deciding again", () => {
    const clean = run(20_000, { "execution.batch.adaptive.auto-parallelism.avg-data-volume-per-task": "4mb" });
    const failed = run(20_000, { "execution.batch.adaptive.auto-parallelism.avg-data-volume-per-task": "4mb", "restart-strategy.type": "fixed-delay" }, 3);
    expect(failed.result.status, failed.result.failureCause).toBe("FINISHED");
    expect(failed.result.restarts).toBe(1);
    expect(failed.events.filter((e) => e.kind === "VertexParallelismDecided")).toHaveLength(2);
    expect(failed.result.vertices.map((v) => v.parallelism)).toEqual(clean.result.vertices.map((v) => v.parallelism));
    expect(sums(failed.result.outputs.get("out")!)).toEqual(sums(clean.result.outputs.get("out")!));
  });
});
