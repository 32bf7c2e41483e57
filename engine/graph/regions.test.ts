import { describe, expect, it } from "vitest";
import { InvariantError } from "../../sim/errors";
import { buildExecutionGraph, type ExecutionGraph, type PartitionId } from "./execution-graph";
import { type BatchShuffleMode, compileJobGraph, type JobGraph, type JobGraphOptions, type ResultPartitionType } from "./job-graph";
import {
  computeRegions,
  PipelinedRegionScheduling,
  type PipelinedRegion,
  type RegionId,
  sourceRegions,
  stronglyConnectedComponents,
} from "./regions";
import { GraphBuilder, wordCount } from "./testkit";
import type { StreamGraph } from "./stream-graph";

const STREAMING: JobGraphOptions = {
  runtimeMode: "STREAMING",
  batchShuffleMode: "ALL_EXCHANGES_BLOCKING",
  defaultParallelism: 2,
  maxParallelism: 128,
  chainingEnabled: true,
};
const batch = (mode: BatchShuffleMode = "ALL_EXCHANGES_BLOCKING"): JobGraphOptions => ({
  ...STREAMING,
  runtimeMode: "BATCH",
  batchShuffleMode: mode,
});

function build(sg: StreamGraph, opts: JobGraphOptions): { eg: ExecutionGraph; regions: PipelinedRegion[] } {
  const eg = buildExecutionGraph(compileJobGraph(sg, opts));
  return { eg, regions: computeRegions(eg) };
}

/** A copy of a job graph with one edge's partition type replaced. */
function withEdgeType(jg: JobGraph, edgeIndex: number, type: ResultPartitionType): JobGraph {
  const edges = jg.edges.map((e) => (e.index === edgeIndex ? { ...e, partitionType: type } : e));
  const vertices = jg.vertices.map((v) => ({
    ...v,
    inputs: v.inputs.map((e) => edges[e.index]!),
    outputs: v.outputs.map((e) => edges[e.index]!),
  }));
  return { ...jg, edges, vertices };
}

const members = (regions: PipelinedRegion[]) => regions.map((r) => r.vertexIds);
const pid = (s: string) => s as PartitionId;
const rid = (n: number) => n as RegionId;

/** Source(p=2) -rebalance-> Map(p=2) -hash-> Sink(p=1). */
function threeStage(): StreamGraph {
  const b = new GraphBuilder();
  const s = b.node("Source: s", { parallelism: 2 });
  const m = b.node("Map", { parallelism: 2 });
  const k = b.node("Sink: k", { parallelism: 1 });
  b.edge(s, m, "rebalance");
  b.edge(m, k, "hash");
  return b.graph;
}

describe("computeRegions", () => {
  it("STREAMING word count: one region with every subtask, scheduled at once", () => {
    const { eg, regions } = build(wordCount(2), STREAMING);
    expect(members(regions)).toEqual([["v0[0]", "v0[1]", "v1[0]", "v1[1]"]]);
    expect(regions[0]!.externalInputs).toEqual([]);
    expect(new PipelinedRegionScheduling(eg, regions).start()).toEqual([0]);
  });

  it("BATCH word count: every subtask its own region; consumers wait for all producers", () => {
    const { eg, regions } = build(wordCount(2), batch());
    expect(members(regions)).toEqual([["v0[0]"], ["v0[1]"], ["v1[0]"], ["v1[1]"]]);
    expect(regions.map((r) => [r.producerRegionIds, r.consumerRegionIds])).toEqual([
      [[], [2, 3]],
      [[], [2, 3]],
      [[0, 1], []],
      [[0, 1], []],
    ]);
    expect(regions[2]!.externalInputs).toEqual([
      {
        groupId: 0,
        edgeIndex: 0,
        partitionType: "BLOCKING",
        externalPartitionIds: ["r0[0]", "r0[1]"],
        crossRegion: false,
        producerRegionIds: [0, 1],
      },
    ]);
    expect(sourceRegions(regions)).toEqual([0, 1]);
    const s = new PipelinedRegionScheduling(eg, regions);
    expect(s.start()).toEqual([0, 1]);
    expect(s.onPartitionFinished(pid("r0[0]"))).toEqual([]);
    expect(s.onPartitionFinished(pid("r0[1]"))).toEqual([2, 3]);
  });

  it("BATCH with ALL_EXCHANGES_PIPELINED: one region", () => {
    const { eg, regions } = build(wordCount(2), batch("ALL_EXCHANGES_PIPELINED"));
    expect(members(regions)).toEqual([["v0[0]", "v0[1]", "v1[0]", "v1[1]"]]);
    expect(new PipelinedRegionScheduling(eg, regions).start()).toEqual([0]);
  });

  it("POINTWISE_EDGES_PIPELINED: a pipelined rescale 4 → 2 keeps subtask groups apart", () => {
    const b = new GraphBuilder();
    const s = b.node("Source: s", { parallelism: 4 });
    const m = b.node("Map", { parallelism: 2 });
    const k = b.node("Sink: k", { parallelism: 2 });
    b.edge(s, m, "rescale");
    b.edge(m, k, "hash");
    const { eg, regions } = build(b.graph, batch("POINTWISE_EDGES_PIPELINED"));
    expect(eg.jobGraph.edges.map((e) => e.partitionType)).toEqual(["PIPELINED_BOUNDED", "BLOCKING"]);
    expect(members(regions)).toEqual([
      ["v0[0]", "v0[1]", "v1[0]"],
      ["v0[2]", "v0[3]", "v1[1]"],
      ["v2[0]"],
      ["v2[1]"],
    ]);
    const sched = new PipelinedRegionScheduling(eg, regions);
    expect(sched.start()).toEqual([0, 1]);
    expect(sched.onVertexFinished(eg.verticesOfJobVertex[1]![0]!)).toEqual([]);
    expect(sched.onVertexFinished(eg.verticesOfJobVertex[1]![1]!)).toEqual([2, 3]);
  });

  it("FLINK-17330: pointwise pipelined plus all-to-all blocking between the same vertices merge", () => {
    const b = new GraphBuilder();
    const a = b.node("Source: a", { parallelism: 2 });
    const c = b.node("B", { parallelism: 2 });
    b.edge(a, c, "rescale");
    b.edge(a, c, "rebalance", 0);
    const { eg, regions } = build(b.graph, batch("POINTWISE_EDGES_PIPELINED"));
    expect(eg.jobGraph.edges.map((e) => [e.distribution, e.partitionType])).toEqual([
      ["POINTWISE", "PIPELINED_BOUNDED"],
      ["ALL_TO_ALL", "BLOCKING"],
    ]);
    // Without the merge: {a0,b0} waits for a1 and {a1,b1} waits for a0 — a deadlock.
    expect(members(regions)).toEqual([["v0[0]", "v0[1]", "v1[0]", "v1[1]"]]);
    expect(regions[0]!.externalInputs).toEqual([]);
    expect(new PipelinedRegionScheduling(eg, regions).start()).toEqual([0]);
  });

  it("partial cycle merges leave cross-region groups that wait only for outside partitions", () => {
    // a(3) -rescale-> B(4) -rescale-> C(3), plus a -forward-> C pipelined. Cycles
    // {a0,c0} → b0 → {a0,c0} and {a2,c2} → b3 → {a2,c2} merge; C2's group {b2, b3} then
    // has one partition inside its region and one outside (found by the property test).
    const b = new GraphBuilder();
    const a = b.node("Source: a", { parallelism: 3 });
    const bb = b.node("B", { parallelism: 4 });
    const c = b.node("C", { parallelism: 3 });
    b.edge(a, bb, "rescale");
    b.edge(a, c, "forward", 1);
    b.edge(bb, c, "rescale", 2);
    const { eg, regions } = build(b.graph, batch("FORWARD_EDGES_PIPELINED"));
    expect(members(regions)).toEqual([
      ["v0[0]", "v1[0]", "v2[0]"],
      ["v1[1]"],
      ["v0[1]", "v2[1]"],
      ["v1[2]"],
      ["v0[2]", "v1[3]", "v2[2]"],
    ]);
    expect(regions[4]!.externalInputs.map((i) => [i.externalPartitionIds, i.crossRegion, i.producerRegionIds])).toEqual([
      [["r2[2]"], true, [3]],
    ]);
    const s = new PipelinedRegionScheduling(eg, regions);
    const finish = (v: string) => s.onVertexFinished(v as never);
    expect(s.start()).toEqual([0]);
    expect(finish("v0[0]")).toEqual([1]);
    expect(finish("v1[0]")).toEqual([]);
    expect(finish("v1[1]")).toEqual([2]);
    expect(finish("v0[1]")).toEqual([3]);
    // r2[3] (from b3, inside region 4) is not finished; only the outside r2[2] counts.
    expect(finish("v1[2]")).toEqual([4]);
  });

  it("regions get topological ids even when a later source feeds an earlier-starting region", () => {
    // Source a (v0) pipelines into J; source b (v1) feeds J blocking. Region {a, J} starts
    // with the smallest vertex but consumes {b}, so {b} must get the smaller id.
    const b = new GraphBuilder();
    const sa = b.node("Source: a", { parallelism: 1 });
    const sb = b.node("Source: b", { parallelism: 1 });
    const j = b.node("Join", { parallelism: 1 });
    b.edge(sa, j, "rescale", 1);
    b.edge(sb, j, "rebalance", 2);
    const { regions } = build(b.graph, batch("POINTWISE_EDGES_PIPELINED"));
    expect(members(regions)).toEqual([["v1[0]"], ["v0[0]", "v2[0]"]]);
    expect(regions[1]!.producerRegionIds).toEqual([0]);
  });
});

describe("PipelinedRegionScheduling", () => {
  it("schedules a 3-stage batch DAG stage by stage; all-to-all needs all producers", () => {
    const { eg, regions } = build(threeStage(), batch());
    expect(members(regions)).toEqual([["v0[0]"], ["v0[1]"], ["v1[0]"], ["v1[1]"], ["v2[0]"]]);
    const s = new PipelinedRegionScheduling(eg, regions);
    expect(s.start()).toEqual([0, 1]);
    expect(s.onPartitionFinished(pid("r0[1]"))).toEqual([]);
    expect(s.onPartitionFinished(pid("r0[0]"))).toEqual([2, 3]);
    expect(s.onPartitionFinished(pid("r1[0]"))).toEqual([]);
    expect(s.onPartitionFinished(pid("r1[1]"))).toEqual([4]);
    expect(s.scheduledRegionIds()).toEqual([0, 1, 2, 3, 4]);
  });

  it("pointwise blocking inputs wait only for their own producers", () => {
    const b = new GraphBuilder();
    const src = b.node("Source: s", { parallelism: 2 });
    const m = b.node("Map", { parallelism: 2, chaining: "HEAD" });
    b.edge(src, m, "forward");
    const { eg, regions } = build(b.graph, batch());
    const s = new PipelinedRegionScheduling(eg, regions);
    expect(s.start()).toEqual([0, 1]);
    expect(s.onPartitionFinished(pid("r0[1]"))).toEqual([3]);
    expect(s.onPartitionFinished(pid("r0[0]"))).toEqual([2]);
  });

  it("hybrid inputs only need their producer scheduled: the whole DAG starts at once", () => {
    const { eg, regions } = build(threeStage(), batch("ALL_EXCHANGES_HYBRID_FULL"));
    expect(regions).toHaveLength(5);
    expect(sourceRegions(regions)).toEqual([0, 1]);
    expect(new PipelinedRegionScheduling(eg, regions).start()).toEqual([0, 1, 2, 3, 4]);
  });

  it("a region with a hybrid and a blocking input waits for the blocking one", () => {
    const b = new GraphBuilder();
    const s1 = b.node("Source: a", { parallelism: 1 });
    const s2 = b.node("Source: b", { parallelism: 1 });
    const j = b.node("Join", { parallelism: 1 });
    b.edge(s1, j, "rebalance", 1);
    b.edge(s2, j, "rebalance", 2);
    // No shuffle mode mixes hybrid and blocking edges; retype the second edge by hand.
    const jg = withEdgeType(compileJobGraph(b.graph, batch("ALL_EXCHANGES_HYBRID_SELECTIVE")), 1, "BLOCKING");
    const eg = buildExecutionGraph(jg);
    const regions = computeRegions(eg);
    expect(regions.map((r) => r.externalInputs.map((i) => i.partitionType))).toEqual([
      [],
      [],
      ["HYBRID_SELECTIVE", "BLOCKING"],
    ]);
    const s = new PipelinedRegionScheduling(eg, regions);
    expect(s.start()).toEqual([0, 1]);
    expect(s.onVertexFinished(eg.verticesOfJobVertex[0]![0]!)).toEqual([]);
    expect(s.onVertexFinished(eg.verticesOfJobVertex[1]![0]!)).toEqual([2]);
  });

  it("reset reschedules the restarted regions whose inputs are still there", () => {
    const { eg, regions } = build(threeStage(), batch());
    const s = new PipelinedRegionScheduling(eg, regions);
    s.start();
    s.onPartitionFinished(pid("r0[0]"));
    expect(s.onPartitionFinished(pid("r0[1]"))).toEqual([2, 3]);
    // Map subtask 0 fails: its inputs are blocking and re-consumable, so it restarts alone.
    expect(s.reset([rid(2)])).toEqual([2]);
    // Source 0's output is lost: restart the producer and every consumer region.
    expect(s.reset([rid(0), rid(2), rid(3)])).toEqual([0]);
    expect(s.isPartitionFinished(pid("r0[0]"))).toBe(false);
    expect(s.isPartitionFinished(pid("r0[1]"))).toBe(true);
    expect(s.onPartitionFinished(pid("r0[0]"))).toEqual([2, 3]);
  });

  it("asserts its invariants: start once, a partition finishes once and only after scheduling", () => {
    const { eg, regions } = build(threeStage(), batch());
    const s = new PipelinedRegionScheduling(eg, regions);
    expect(() => s.onPartitionFinished(pid("r0[0]"))).toThrow(InvariantError);
    s.start();
    expect(() => s.start()).toThrow("region scheduling started twice");
    s.onPartitionFinished(pid("r0[0]"));
    expect(() => s.onPartitionFinished(pid("r0[0]"))).toThrow("partition r0[0] finished twice");
    expect(() => s.onPartitionFinished(pid("r9[0]"))).toThrow("unknown result partition r9[0]");
  });

  it("ignores the end of pipelined partitions", () => {
    const { eg, regions } = build(wordCount(2), STREAMING);
    const s = new PipelinedRegionScheduling(eg, regions);
    s.start();
    expect(s.onPartitionFinished(pid("r0[0]"))).toEqual([]);
    expect(s.isPartitionFinished(pid("r0[0]"))).toBe(false);
  });
});

describe("stronglyConnectedComponents", () => {
  it("finds cycles and singletons", () => {
    // 0 → 1 → 2 → 0, 2 → 3, 4 alone, 5 ↔ 3
    const comp = stronglyConnectedComponents([[1], [2], [0, 3], [5], [], [3]]);
    expect(comp[0]).toBe(comp[1]);
    expect(comp[1]).toBe(comp[2]);
    expect(comp[3]).toBe(comp[5]);
    expect(new Set(comp).size).toBe(3);
  });

  it("handles a long chain without recursion limits", () => {
    const n = 200_000;
    const adjacency = Array.from({ length: n }, (_, i) => (i + 1 < n ? [i + 1] : [0]));
    expect(new Set(stronglyConnectedComponents(adjacency)).size).toBe(1);
  });
});
