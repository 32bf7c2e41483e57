import { describe, expect, it } from "vitest";
import type { PartitionerKind } from "../api/types";
import { InputError } from "../../sim/errors";
import {
  type BatchShuffleMode,
  compileJobGraph,
  isReconsumable,
  type JobGraphOptions,
  mustBePipelinedConsumed,
  partitionTypeFor,
  RESULT_PARTITION_TYPES,
} from "./job-graph";
import { GraphBuilder, wordCount } from "./testkit";

const STREAMING: JobGraphOptions = {
  runtimeMode: "STREAMING",
  batchShuffleMode: "ALL_EXCHANGES_BLOCKING",
  defaultParallelism: 2,
  maxParallelism: 128,
  chainingEnabled: true,
};
const BATCH: JobGraphOptions = { ...STREAMING, runtimeMode: "BATCH" };

function inputErrorOf(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error("expected an InputError");
}

describe("compileJobGraph: chaining", () => {
  it("STREAMING word count: two chains, one hash edge, one slot sharing group", () => {
    const jg = compileJobGraph(wordCount(2), STREAMING);
    expect(jg.vertices.map((v) => v.name)).toEqual(["Source: words -> Flat Map", "Keyed Reduce -> Sink: out"]);
    expect(jg.vertices.map((v) => v.nodes.map((n) => n.id))).toEqual([[0, 1], [2, 3]]);
    expect(jg.vertices.map((v) => v.chainedEdges.map((e) => e.id))).toEqual([[0], [2]]);
    expect(jg.vertices.map((v) => v.parallelism)).toEqual([2, 2]);
    expect(jg.edges).toHaveLength(1);
    const edge = jg.edges[0]!;
    expect(edge).toMatchObject({
      index: 0,
      sourceVertex: 0,
      targetVertex: 1,
      sourceNodeId: 1,
      targetNodeId: 2,
      partitioner: "hash",
      distribution: "ALL_TO_ALL",
      partitionType: "PIPELINED_BOUNDED",
    });
    expect(edge.keySelector).toBeTypeOf("function");
    expect(jg.vertices[0]!.outputs).toEqual([edge]);
    expect(jg.vertices[1]!.inputs).toEqual([edge]);
    expect(jg.slotSharingGroups).toEqual([{ index: 0, name: "default", vertexIndices: [0, 1] }]);
    expect(jg.vertexOfNode).toEqual([0, 0, 1, 1]);
    expect(jg.nodeMaxParallelism).toEqual([128, 128, 128, 128]);
  });

  it("BATCH word count: blocking edge and one slot sharing group per logical region", () => {
    const jg = compileJobGraph(wordCount(2), BATCH);
    expect(jg.vertices.map((v) => v.name)).toEqual(["Source: words -> Flat Map", "Keyed Reduce -> Sink: out"]);
    expect(jg.edges.map((e) => e.partitionType)).toEqual(["BLOCKING"]);
    expect(jg.logicalRegions).toEqual([
      { index: 0, vertexIndices: [0] },
      { index: 1, vertexIndices: [1] },
    ]);
    expect(jg.slotSharingGroups.map((g) => [g.name, g.vertexIndices])).toEqual([
      ["default (region 0)", [0]],
      ["default (region 1)", [1]],
    ]);
  });

  it("BATCH with ALL_EXCHANGES_PIPELINED: one logical region, one group", () => {
    const jg = compileJobGraph(wordCount(2), { ...BATCH, batchShuffleMode: "ALL_EXCHANGES_PIPELINED" });
    expect(jg.edges.map((e) => e.partitionType)).toEqual(["PIPELINED_BOUNDED"]);
    expect(jg.logicalRegions).toEqual([{ index: 0, vertexIndices: [0, 1] }]);
    expect(jg.slotSharingGroups.map((g) => [g.name, g.vertexIndices])).toEqual([["default (region 0)", [0, 1]]]);
  });

  it("logical regions are not cycle-merged (Flink: the logical topology is a DAG)", () => {
    // A→B pipelined (forward, chaining off), A→C and C→B blocking: regions {A,B} and {C}
    // form a cycle at the region level; Flink keeps them apart for slot sharing.
    const b = new GraphBuilder();
    const a = b.node("Source: a");
    const c = b.node("C");
    const bb = b.node("B");
    b.edge(a, bb, "forward", 1);
    b.edge(a, c, "rebalance");
    b.edge(c, bb, "rebalance", 2);
    const jg = compileJobGraph(b.graph, { ...BATCH, batchShuffleMode: "FORWARD_EDGES_PIPELINED" });
    expect(jg.logicalRegions.map((r) => r.vertexIndices)).toEqual([[0, 2], [1]]);
    expect(jg.slotSharingGroups.map((g) => [g.name, g.vertexIndices])).toEqual([
      ["default (region 0)", [0, 2]],
      ["default (region 1)", [1]],
    ]);
  });

  it("BATCH keeps named slot sharing groups shared across regions", () => {
    const b = new GraphBuilder();
    const s1 = b.node("Source: a", { group: "g" });
    const s2 = b.node("Source: b");
    const m1 = b.node("Map 1", { group: "g" });
    const m2 = b.node("Map 2");
    b.edge(s1, m1, "rebalance");
    b.edge(s2, m2, "rebalance");
    const jg = compileJobGraph(b.graph, BATCH);
    expect(jg.slotSharingGroups.map((g) => [g.name, g.vertexIndices])).toEqual([
      ["g", [0, 2]],
      ["default (region 1)", [1]],
      ["default (region 3)", [3]],
    ]);
    // STREAMING: the default group is one group for everything.
    const streaming = compileJobGraph(b.graph, STREAMING);
    expect(streaming.slotSharingGroups.map((g) => [g.name, g.vertexIndices])).toEqual([
      ["g", [0, 2]],
      ["default", [1, 3]],
    ]);
  });

  it("each isChainable condition breaks the chain on its own", () => {
    const build = (mutate: (b: GraphBuilder, up: number, down: number) => void, chaining = true) => {
      const b = new GraphBuilder();
      const up = b.node("Source: s");
      const down = b.node("Map");
      mutate(b, up, down);
      return compileJobGraph(b.graph, { ...STREAMING, chainingEnabled: chaining }).vertices.length;
    };
    expect(build((b, u, d) => b.edge(u, d, "forward"))).toBe(1);
    expect(build((b, u, d) => b.edge(u, d, "forward"), false)).toBe(2);
    expect(
      build((b, u, d) => {
        b.graph.nodes[d]!.slotSharingGroup = "other";
        b.edge(u, d, "forward");
      }),
    ).toBe(2);
    expect(
      build((b, u, d) => {
        b.graph.nodes[u]!.chainingStrategy = "NEVER";
        b.edge(u, d, "forward");
      }),
    ).toBe(2);
    expect(
      build((b, u, d) => {
        b.graph.nodes[d]!.chainingStrategy = "HEAD";
        b.edge(u, d, "forward");
      }),
    ).toBe(2);
    expect(build((b, u, d) => b.edge(u, d, "rescale"))).toBe(2);
    expect(
      build((b, u, d) => {
        b.graph.nodes[d]!.parallelism = 3;
        b.edge(u, d, "rebalance");
      }),
    ).toBe(2);
    // Two inputs (even both forward) never chain: union inputs go through the network.
    expect(
      build((b, u, d) => {
        b.edge(u, d, "forward");
        b.edge(u, d, "forward");
      }),
    ).toBe(2);
    // Upstream HEAD (a source) still chains to an ALWAYS downstream.
    expect(build((b, u, d) => b.edge(u, d, "forward"))).toBe(1);
  });

  it("a chain is a tree: fan-out is named like Flink, nodes listed topologically", () => {
    const b = new GraphBuilder();
    const s = b.node("Source: s");
    const f = b.node("Filter");
    const m1 = b.node("Map 1");
    const m2 = b.node("Map 2");
    const k = b.node("Sink: k");
    b.edge(s, f, "forward");
    b.edge(f, m1, "forward");
    b.edge(f, m2, "forward");
    b.edge(m1, k, "forward");
    b.edge(m2, k, "rebalance"); // Sink has two inputs: it heads its own chain
    const jg = compileJobGraph(b.graph, STREAMING);
    expect(jg.vertices.map((v) => v.name)).toEqual(["Source: s -> Filter -> (Map 1, Map 2)", "Sink: k"]);
    expect(jg.vertices[0]!.nodes.map((n) => n.id)).toEqual([0, 1, 2, 3]);
    expect(jg.edges.map((e) => [e.sourceNodeId, e.targetNodeId, e.distribution])).toEqual([
      [2, 4, "POINTWISE"],
      [3, 4, "ALL_TO_ALL"],
    ]);
  });

  it("BATCH still chains forward edges (the shuffle mode applies to job edges only)", () => {
    const jg = compileJobGraph(wordCount(3), { ...BATCH, batchShuffleMode: "FORWARD_EDGES_PIPELINED" });
    expect(jg.vertices).toHaveLength(2);
    expect(jg.edges.map((e) => e.partitionType)).toEqual(["BLOCKING"]);
  });
});

describe("compileJobGraph: validation", () => {
  it("rejects a forward edge between different parallelisms, naming both operators", () => {
    const b = new GraphBuilder();
    const s = b.node("Source: s", { parallelism: 2 });
    const m = b.node("Map", { parallelism: 3 });
    b.edge(s, m, "forward");
    const err = inputErrorOf(() => compileJobGraph(b.graph, STREAMING));
    expect(err.field).toBe('job.edges["Source: s" -> "Map"].partitioner');
    expect(err.message).toContain("forward partitioning does not allow change of parallelism");
    expect(err.message).toContain('upstream "Source: s" has 2');
  });

  it("names the node in parallelism errors", () => {
    const g = wordCount(2);
    g.nodes[2]!.parallelism = 0;
    g.nodes[3]!.parallelism = 0; // keep the forward edge consistent
    expect(() => compileJobGraph(g, STREAMING)).toThrow('job.nodes["Keyed Reduce"].parallelism: 0 must be ≥ 1');

    const h = wordCount(2);
    h.nodes[2]!.parallelism = 4;
    h.nodes[2]!.maxParallelism = 3;
    h.nodes[3]!.parallelism = 4;
    expect(() => compileJobGraph(h, STREAMING)).toThrow(
      'job.nodes["Keyed Reduce"].parallelism: 4 must be ≤ the max parallelism 3',
    );

    const dup = new GraphBuilder();
    dup.node("Map", { parallelism: 1 });
    dup.node("Map", { parallelism: 1.5 });
    expect(() => compileJobGraph(dup.graph, STREAMING)).toThrow('job.nodes["Map" #1].parallelism: 1.5 must be an integer');
  });

  it("validates the options and the max parallelism bound", () => {
    expect(() => compileJobGraph(wordCount(), { ...STREAMING, defaultParallelism: 0 })).toThrow(
      "parallelism.default: 0 must be an integer ≥ 1",
    );
    expect(() => compileJobGraph(wordCount(), { ...STREAMING, maxParallelism: 40000 })).toThrow(
      "pipeline.max-parallelism: 40000 must be an integer in [1, 32768]",
    );
    expect(() => compileJobGraph(new GraphBuilder().graph, STREAMING)).toThrow("job: no operators defined");
  });

  it("uses parallelism.default for unset nodes", () => {
    const g = wordCount(2);
    for (const n of g.nodes) n.parallelism = undefined;
    const jg = compileJobGraph(g, { ...STREAMING, defaultParallelism: 5 });
    expect(jg.nodeParallelism).toEqual([5, 5, 5, 5]);
    expect(jg.vertices.map((v) => v.parallelism)).toEqual([5, 5]);
  });

  it("hybrid shuffle refuses named slot sharing groups, as Flink does", () => {
    const b = new GraphBuilder();
    const s = b.node("Source: s");
    const m = b.node("Map", { group: "g" });
    b.edge(s, m, "rebalance");
    expect(() => compileJobGraph(b.graph, { ...BATCH, batchShuffleMode: "ALL_EXCHANGES_HYBRID_FULL" })).toThrow(
      'job.nodes["Map"].slotSharingGroup: hybrid shuffle does not support a non-default slot sharing group ("g")',
    );
    expect(() => compileJobGraph(b.graph, BATCH)).not.toThrow();
  });
});

describe("partition types", () => {
  const partitioners: PartitionerKind[] = ["forward", "rescale", "rebalance", "hash", "broadcast", "global"];
  const expected: Record<BatchShuffleMode, (p: PartitionerKind) => string> = {
    ALL_EXCHANGES_BLOCKING: () => "BLOCKING",
    ALL_EXCHANGES_PIPELINED: () => "PIPELINED_BOUNDED",
    ALL_EXCHANGES_HYBRID_FULL: () => "HYBRID_FULL",
    ALL_EXCHANGES_HYBRID_SELECTIVE: (p) => (p === "broadcast" ? "HYBRID_FULL" : "HYBRID_SELECTIVE"),
    FORWARD_EDGES_PIPELINED: (p) => (p === "forward" ? "PIPELINED_BOUNDED" : "BLOCKING"),
    POINTWISE_EDGES_PIPELINED: (p) => (p === "forward" || p === "rescale" ? "PIPELINED_BOUNDED" : "BLOCKING"),
  };

  it("follow the runtime mode and batch shuffle mode", () => {
    for (const mode of Object.keys(expected) as BatchShuffleMode[]) {
      for (const p of partitioners) {
        expect(partitionTypeFor("STREAMING", mode, p)).toBe("PIPELINED_BOUNDED");
        expect([mode, p, partitionTypeFor("BATCH", mode, p)]).toEqual([mode, p, expected[mode](p)]);
      }
    }
  });

  it("have Flink's re-consumption and consume constraints", () => {
    expect(RESULT_PARTITION_TYPES.map((t) => [t, isReconsumable(t), mustBePipelinedConsumed(t)])).toEqual([
      ["PIPELINED_BOUNDED", false, true],
      ["BLOCKING", true, false],
      ["HYBRID_FULL", true, false],
      ["HYBRID_SELECTIVE", false, false],
    ]);
  });
});
