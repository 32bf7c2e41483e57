import { describe, expect, it } from "vitest";
import type { PartitionerKind } from "../api/types";
import { buildExecutionGraph, type ExecutionGraph } from "./execution-graph";
import { compileJobGraph, type JobGraphOptions } from "./job-graph";
import { GraphBuilder, wordCount } from "./testkit";

const STREAMING: JobGraphOptions = {
  runtimeMode: "STREAMING",
  batchShuffleMode: "ALL_EXCHANGES_BLOCKING",
  defaultParallelism: 1,
  maxParallelism: 128,
  chainingEnabled: true,
};

/** Producer (p) → consumer (c) over one edge, the consumer never chained. */
function twoStage(p: number, c: number, partitioner: PartitionerKind): ExecutionGraph {
  const b = new GraphBuilder();
  const s = b.node("Source: s", { parallelism: p });
  const m = b.node("Map", { parallelism: c, chaining: "HEAD" });
  b.edge(s, m, partitioner);
  return buildExecutionGraph(compileJobGraph(b.graph, STREAMING));
}

/** Each consumer's channels as "partition:subpartition". */
function channels(eg: ExecutionGraph): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const v of eg.vertices.filter((v) => v.vertexIndex === 1)) {
    out[v.id] = v.inputGates[0]!.channels.map((ch) => `${ch.partitionId}:${ch.subpartitionIndex}`);
  }
  return out;
}

function subpartitions(eg: ExecutionGraph): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const p of eg.partitions) out[p.id] = [...p.subpartitionConsumers];
  return out;
}

describe("buildExecutionGraph", () => {
  it("creates one vertex per subtask with stable ids, in topological order", () => {
    const eg = buildExecutionGraph(compileJobGraph(wordCount(3), STREAMING));
    expect(eg.vertices.map((v) => v.id)).toEqual(["v0[0]", "v0[1]", "v0[2]", "v1[0]", "v1[1]", "v1[2]"]);
    expect(eg.vertices.map((v) => v.topoIndex)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(eg.verticesOfJobVertex).toEqual([
      ["v0[0]", "v0[1]", "v0[2]"],
      ["v1[0]", "v1[1]", "v1[2]"],
    ]);
    expect(eg.vertices[1]!.producedPartitions).toEqual(["r0[1]"]);
    expect(eg.vertices[3]!.producedPartitions).toEqual([]);
  });

  it("rebalance 2 → 3: every partition has 3 subpartitions, consumer j reads subpartition j of each", () => {
    const eg = twoStage(2, 3, "rebalance");
    expect(eg.partitions.map((p) => [p.id, p.producer, p.numSubpartitions, p.distribution])).toEqual([
      ["r0[0]", "v0[0]", 3, "ALL_TO_ALL"],
      ["r0[1]", "v0[1]", 3, "ALL_TO_ALL"],
    ]);
    expect(channels(eg)).toEqual({
      "v1[0]": ["r0[0]:0", "r0[1]:0"],
      "v1[1]": ["r0[0]:1", "r0[1]:1"],
      "v1[2]": ["r0[0]:2", "r0[1]:2"],
    });
    expect(subpartitions(eg)).toEqual({
      "r0[0]": ["v1[0]", "v1[1]", "v1[2]"],
      "r0[1]": ["v1[0]", "v1[1]", "v1[2]"],
    });
    // One consumed partition group for the whole all-to-all edge.
    expect(eg.groups).toEqual([
      { id: 0, edgeIndex: 0, partitionType: "PIPELINED_BOUNDED", partitionIds: ["r0[0]", "r0[1]"], consumerIds: ["v1[0]", "v1[1]", "v1[2]"] },
    ]);
    expect(eg.vertices.filter((v) => v.vertexIndex === 1).map((v) => v.inputGates[0]!.groupId)).toEqual([0, 0, 0]);
  });

  it("broadcast and global use the same all-to-all wiring", () => {
    expect(channels(twoStage(2, 3, "broadcast"))).toEqual(channels(twoStage(2, 3, "rebalance")));
    expect(channels(twoStage(2, 3, "global"))).toEqual(channels(twoStage(2, 3, "rebalance")));
  });

  it("pointwise 6 → 3: consumer i reads partitions [2i, 2i+2), one subpartition each", () => {
    const eg = twoStage(6, 3, "rescale");
    expect(channels(eg)).toEqual({
      "v1[0]": ["r0[0]:0", "r0[1]:0"],
      "v1[1]": ["r0[2]:0", "r0[3]:0"],
      "v1[2]": ["r0[4]:0", "r0[5]:0"],
    });
    expect(eg.partitions.map((p) => p.numSubpartitions)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(eg.groups.map((g) => [g.partitionIds, g.consumerIds])).toEqual([
      [["r0[0]", "r0[1]"], ["v1[0]"]],
      [["r0[2]", "r0[3]"], ["v1[1]"]],
      [["r0[4]", "r0[5]"], ["v1[2]"]],
    ]);
  });

  it("pointwise 5 → 2: ranges ⌊i·p/c⌋", () => {
    expect(channels(twoStage(5, 2, "rescale"))).toEqual({
      "v1[0]": ["r0[0]:0", "r0[1]:0"],
      "v1[1]": ["r0[2]:0", "r0[3]:0", "r0[4]:0"],
    });
  });

  it("pointwise 2 → 6: partition k feeds consumers [3k, 3k+3), one subpartition each", () => {
    const eg = twoStage(2, 6, "rescale");
    expect(channels(eg)).toEqual({
      "v1[0]": ["r0[0]:0"],
      "v1[1]": ["r0[0]:1"],
      "v1[2]": ["r0[0]:2"],
      "v1[3]": ["r0[1]:0"],
      "v1[4]": ["r0[1]:1"],
      "v1[5]": ["r0[1]:2"],
    });
    expect(subpartitions(eg)).toEqual({
      "r0[0]": ["v1[0]", "v1[1]", "v1[2]"],
      "r0[1]": ["v1[3]", "v1[4]", "v1[5]"],
    });
    expect(eg.groups.map((g) => [g.partitionIds, g.consumerIds])).toEqual([
      [["r0[0]"], ["v1[0]", "v1[1]", "v1[2]"]],
      [["r0[1]"], ["v1[3]", "v1[4]", "v1[5]"]],
    ]);
  });

  it("pointwise 2 → 5: uneven ranges use Flink's subtask % numConsumers subpartition", () => {
    const eg = twoStage(2, 5, "rescale");
    expect(channels(eg)).toEqual({
      "v1[0]": ["r0[0]:0"],
      "v1[1]": ["r0[0]:1"],
      "v1[2]": ["r0[0]:2"],
      "v1[3]": ["r0[1]:1"],
      "v1[4]": ["r0[1]:0"],
    });
    expect(subpartitions(eg)).toEqual({
      "r0[0]": ["v1[0]", "v1[1]", "v1[2]"],
      "r0[1]": ["v1[4]", "v1[3]"],
    });
  });

  it("forward 3 → 3 (chaining off): one-to-one", () => {
    const b = new GraphBuilder();
    const s = b.node("Source: s", { parallelism: 3 });
    const m = b.node("Map", { parallelism: 3 });
    b.edge(s, m, "forward");
    const eg = buildExecutionGraph(compileJobGraph(b.graph, { ...STREAMING, chainingEnabled: false }));
    expect(channels(eg)).toEqual({ "v1[0]": ["r0[0]:0"], "v1[1]": ["r0[1]:0"], "v1[2]": ["r0[2]:0"] });
    expect(eg.groups).toHaveLength(3);
  });

  it("orders gates by job edge and keeps the input typeNumber on the edge", () => {
    const b = new GraphBuilder();
    const a = b.node("Source: a", { parallelism: 2 });
    const c = b.node("Source: b", { parallelism: 1 });
    const j = b.node("Join", { parallelism: 2 });
    b.edge(a, j, "hash", 1);
    b.edge(c, j, "broadcast", 2);
    const eg = buildExecutionGraph(compileJobGraph(b.graph, STREAMING));
    const join = eg.vertexById.get(eg.verticesOfJobVertex[2]![1]!)!;
    expect(join.inputGates.map((g) => [g.gateIndex, g.edgeIndex, g.channels.length])).toEqual([
      [0, 0, 2],
      [1, 1, 1],
    ]);
    expect(eg.jobGraph.edges.map((e) => e.typeNumber)).toEqual([1, 2]);
  });
});
