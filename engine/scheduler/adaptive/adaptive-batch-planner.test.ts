import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileJobGraph, type JobGraph } from "../../graph/job-graph";
import { DynamicExecutionGraph } from "../../graph/dynamic-execution-graph";
import { GraphBuilder } from "../../graph/testkit";
import { AdaptiveBatchPlanner } from "./adaptive-batch-planner";
import { defaultParallelismDecider, DEFAULT_DECIDER_OPTIONS } from "./parallelism-decider";
import { propSeed } from "../../../test/prop";

const MiB = 1024 * 1024;

/** BATCH, all blocking, undecided vertices at max parallelism `max`. */
function compile(b: GraphBuilder, max = 8): JobGraph {
  return compileJobGraph(b.graph, { runtimeMode: "BATCH", batchShuffleMode: "ALL_EXCHANGES_BLOCKING", defaultParallelism: 1, maxParallelism: max, chainingEnabled: false });
}

function planner(jg: JobGraph, user: (number | undefined)[], avg = 1 * MiB): AdaptiveBatchPlanner {
  const decider = defaultParallelismDecider({ ...DEFAULT_DECIDER_OPTIONS, maxParallelism: 8, avgDataVolumePerTaskBytes: avg });
  return new AdaptiveBatchPlanner(jg, new DynamicExecutionGraph(jg), decider, user);
}

/** source (p=2) → hash → reduce (undecided) → forward → sink (undecided). */
function sourceReduceSink(): JobGraph {
  const b = new GraphBuilder();
  const source = b.node("Source: in", { parallelism: 2 });
  const reduce = b.node("Reduce");
  const sink = b.node("Sink: out");
  b.edge(source, reduce, "hash");
  b.edge(reduce, sink, "forward");
  return compile(b);
}

describe("AdaptiveBatchPlanner", () => {
  it("initializes a source at once, decides a consumer only when its producers finished, from their bytes", () => {
    const jg = sourceReduceSink();
    const p = planner(jg, [2, undefined, undefined]);
    const finished = new Set<number>();
    const first = p.advance((v) => finished.has(v));
    expect(first.initializedJobVertices).toEqual([0]);
    expect(first.decisions).toEqual([]);
    // The source writes for the reduce's max parallelism: 8 subpartitions per partition.
    expect(p.graph.partitions.map((x) => x.numSubpartitions)).toEqual([8, 8]);
    // Not finished yet: nothing more.
    expect(p.advance((v) => finished.has(v)).initialized).toEqual([]);
    // 2 producers × 8 subpartitions; subpartition 0 holds 2.5 MiB, the rest 0.25 MiB each.
    const row = [2.5 * MiB, ...new Array(7).fill(0.25 * MiB)];
    for (const v of p.graph.vertices) p.recordProducedBytes(v, [row.map((x) => x / 2)]);
    finished.add(0);
    const second = p.advance((v) => finished.has(v));
    // Reduce and sink form a forward group: one decision, both initialized with it.
    expect(second.decisions.map((d) => d.vertexIndex)).toEqual([1]);
    // Greedy at 1 MiB: [0] (2.5 MiB overshoots alone), [1..4], [5..7].
    expect(second.decisions[0]!.record.parallelism).toBe(3);
    expect(second.decisions[0]!.ranges[0]!.map((r) => [r.subpartitionRange.start, r.subpartitionRange.end])).toEqual([[0, 0], [1, 4], [5, 7]]);
    expect(second.initializedJobVertices).toEqual([1, 2]);
    expect(p.graph.parallelism(2)).toBe(3);
    // Reduce subtask 1 reads subpartitions 1..4 of both source partitions, partition-major.
    const reduce1 = p.graph.vertexById.get("v1[1]" as never)!;
    expect(reduce1.inputGates[0]!.channels.map((c) => `${c.partitionId}/${c.subpartitionIndex}`)).toEqual(
      ["r0[0]/1", "r0[0]/2", "r0[0]/3", "r0[0]/4", "r0[1]/1", "r0[1]/2", "r0[1]/3", "r0[1]/4"],
    );
    // The sink is in the reduce's forward group, known before the reduce ran: one subpartition each.
    expect(p.graph.partitions.filter((x) => x.edgeIndex === 1).map((x) => x.numSubpartitions)).toEqual([1, 1, 1]);
    expect(p.allInitialized).toBe(true);
  });

  it("initializes a vertex with a user parallelism as soon as its producers are initialized, without waiting for them", () => {
    const jg = sourceReduceSink();
    const p = planner(jg, [2, 4, 4]);
    const step = p.advance(() => false);
    expect(step.decisions).toEqual([]);
    expect(step.initializedJobVertices).toEqual([0, 1, 2]);
    // Known consumer parallelism: the source writes 4 subpartitions, one per reduce subtask.
    expect(p.graph.partitions.filter((x) => x.edgeIndex === 0).map((x) => x.numSubpartitions)).toEqual([4, 4]);
  });

  it("gives a broadcast consumer subtask its own full copy and decides on one copy's bytes", () => {
    const b = new GraphBuilder();
    const big = b.node("Source: big", { parallelism: 1 });
    const small = b.node("Source: small", { parallelism: 1 });
    const join = b.node("Join");
    const sink = b.node("Sink: out", { parallelism: 1 });
    b.edge(big, join, "rebalance", 0);
    b.edge(small, join, "broadcast", 1);
    b.edge(join, sink, "rebalance");
    const jg = compile(b);
    const p = planner(jg, [1, 1, undefined, 1]);
    p.advance(() => false);
    for (const v of p.graph.vertices) p.recordProducedBytes(v, [new Array(8).fill(v.vertexIndex === 0 ? MiB : 5 * MiB)]);
    const step = p.advance((v) => v <= 1);
    const d = step.decisions[0]!;
    // 8 MiB of data at 1 MiB per task; the 40 MiB of broadcast copies are not counted.
    expect(d.record.nonBroadcastBytes).toBe(8 * MiB);
    expect(d.record.parallelism).toBe(8);
    const broadcastGate = jg.vertices[2]!.inputs.findIndex((e) => e.partitioner === "broadcast");
    for (let i = 0; i < 8; i++) {
      const v = p.graph.vertexById.get(`v2[${i}]` as never)!;
      expect(v.inputGates[broadcastGate]!.channels).toEqual([{ partitionId: expect.stringMatching(/^r\d+\[0\]$/), subpartitionIndex: i }]);
    }
  });

  it("property: any bytes ⇒ every (partition, subpartition) of a data input is read by exactly one subtask, vertices in topological order", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.nat({ max: 4 * MiB }), { minLength: 8, maxLength: 8 }),
        fc.constantFrom(256 * 1024, MiB, 4 * MiB),
        (sources, bytes, avg) => {
          const jg = sourceReduceSink();
          const p = planner(jg, [sources, undefined, undefined], avg);
          p.advance(() => false);
          for (const v of p.graph.vertices) p.recordProducedBytes(v, [bytes]);
          p.advance((v) => v === 0);
          const reads = new Map<string, number>();
          for (const v of p.graph.vertices) {
            for (const g of v.inputGates) for (const c of g.channels) reads.set(`${c.partitionId}/${c.subpartitionIndex}`, (reads.get(`${c.partitionId}/${c.subpartitionIndex}`) ?? 0) + 1);
          }
          for (const part of p.graph.partitions.filter((x) => x.edgeIndex === 0)) {
            for (let s = 0; s < part.numSubpartitions; s++) expect(reads.get(`${part.id}/${s}`)).toBe(1);
          }
          p.graph.vertices.forEach((v, i) => {
            expect(v.topoIndex).toBe(i);
            for (const g of v.inputGates) for (const c of g.channels) expect(p.graph.vertexById.get(p.graph.partitionById.get(c.partitionId)!.producer)!.topoIndex).toBeLessThan(i);
          });
        },
      ),
      { seed: propSeed(), numRuns: 200 },
    );
  });
});
