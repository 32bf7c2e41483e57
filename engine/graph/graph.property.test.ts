import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { propRuns } from "../../test/prop";
import { InputError } from "../../sim/errors";
import { PARTITIONER_KINDS, type PartitionerKind } from "../api/types";
import { buildExecutionGraph, getPartition, type ExecutionGraph } from "./execution-graph";
import {
  BATCH_SHUFFLE_MODES,
  compileJobGraph,
  type JobGraph,
  type JobGraphOptions,
  mustBePipelinedConsumed,
  partitionTypeFor,
} from "./job-graph";
import { computeRegions, PipelinedRegionScheduling, type PipelinedRegion, type RegionId } from "./regions";
import type { ChainingStrategy, StreamGraph } from "./stream-graph";
import { randomStreamGraph, type RandomNodeSpec } from "./testkit";


type NodeSpec = RandomNodeSpec;

const nodeSpec: fc.Arbitrary<NodeSpec> = fc.record({
  parallelism: fc.integer({ min: 1, max: 4 }),
  sameAsInput: fc.boolean(),
  chaining: fc.constantFrom<ChainingStrategy>("ALWAYS", "ALWAYS", "ALWAYS", "HEAD", "NEVER"),
  group: fc.constantFrom("default", "default", "default", "g"),
  inputs: fc.array(
    fc.record({ from: fc.nat(), partitioner: fc.constantFrom<PartitionerKind>(...PARTITIONER_KINDS, "forward", "forward") }),
    { maxLength: 2 },
  ),
});

const jobCase = fc.record({
  nodes: fc.array(nodeSpec, { minLength: 1, maxLength: 8 }),
  opts: fc.record({
    runtimeMode: fc.constantFrom<"STREAMING" | "BATCH">("STREAMING", "BATCH"),
    batchShuffleMode: fc.constantFrom(...BATCH_SHUFFLE_MODES),
    defaultParallelism: fc.integer({ min: 1, max: 4 }),
    maxParallelism: fc.constant(128),
    chainingEnabled: fc.boolean(),
  }),
});

const toStreamGraph = (nodes: NodeSpec[]): StreamGraph => randomStreamGraph(nodes);

function checkJobGraph(sg: StreamGraph, jg: JobGraph, opts: JobGraphOptions): void {
  const chainedEdgeIds = new Set(jg.vertices.flatMap((v) => v.chainedEdges.map((e) => e.id)));
  const nodeIds = jg.vertices.flatMap((v) => v.nodes.map((n) => n.id)).sort((a, b) => a - b);
  expect(nodeIds).toEqual(sg.nodes.map((n) => n.id));
  for (const v of jg.vertices) {
    expect(v.nodes[0]!.id).toBe(v.headNodeId);
    for (const n of v.nodes) expect(jg.nodeParallelism[n.id]).toBe(v.parallelism);
  }
  for (const edge of sg.edges) {
    const up = sg.nodes[edge.sourceId]!;
    const down = sg.nodes[edge.targetId]!;
    const chainable =
      opts.chainingEnabled &&
      sg.inEdges(down.id).length === 1 &&
      up.slotSharingGroup === down.slotSharingGroup &&
      up.chainingStrategy !== "NEVER" &&
      down.chainingStrategy === "ALWAYS" &&
      edge.partitioner === "forward" &&
      jg.nodeParallelism[up.id] === jg.nodeParallelism[down.id];
    expect(chainedEdgeIds.has(edge.id)).toBe(chainable);
  }
  expect(jg.edges.length + chainedEdgeIds.size).toBe(sg.edges.length);
  for (const e of jg.edges) {
    expect(e.sourceVertex).toBeLessThan(e.targetVertex);
    expect(e.partitionType).toBe(partitionTypeFor(opts.runtimeMode, opts.batchShuffleMode, e.partitioner));
    expect(e.distribution).toBe(e.partitioner === "forward" || e.partitioner === "rescale" ? "POINTWISE" : "ALL_TO_ALL");
  }
  const grouped = jg.slotSharingGroups.flatMap((g) => g.vertexIndices).sort((a, b) => a - b);
  expect(grouped).toEqual(jg.vertices.map((v) => v.index));
}

function checkExecutionGraph(eg: ExecutionGraph): void {
  const reads = new Map<string, number>();
  for (const v of eg.vertices) {
    for (const gate of v.inputGates) {
      for (const ch of gate.channels) {
        const part = getPartition(eg, ch.partitionId);
        expect(part.subpartitionConsumers[ch.subpartitionIndex]).toBe(v.id);
        const key = `${ch.partitionId}:${ch.subpartitionIndex}`;
        reads.set(key, (reads.get(key) ?? 0) + 1);
      }
    }
  }
  const subpartitionCount = eg.partitions.reduce((n, p) => n + p.numSubpartitions, 0);
  expect(reads.size).toBe(subpartitionCount);
  expect([...reads.values()].every((n) => n === 1)).toBe(true);
}

function checkRegions(eg: ExecutionGraph, regions: PipelinedRegion[]): void {
  const regionOf = new Map<string, number>();
  regions.forEach((r, i) => {
    expect(r.id).toBe(i);
    for (const v of r.vertexIds) {
      expect(regionOf.has(v)).toBe(false);
      regionOf.set(v, r.id);
    }
  });
  expect(regionOf.size).toBe(eg.vertices.length);
  for (const v of eg.vertices) {
    for (const gate of v.inputGates) {
      for (const ch of gate.channels) {
        const producerRegion = regionOf.get(getPartition(eg, ch.partitionId).producer)!;
        if (mustBePipelinedConsumed(gate.partitionType)) expect(producerRegion).toBe(regionOf.get(v.id));
        // Acyclic: a consumer never precedes its producer.
        else expect(producerRegion).toBeLessThanOrEqual(regionOf.get(v.id)!);
      }
    }
  }
  for (const r of regions) for (const p of r.producerRegionIds) expect(p).toBeLessThan(r.id);
}

/** Runs regions to completion: each scheduled region finishes, in id order. */
function checkScheduling(eg: ExecutionGraph, regions: PipelinedRegion[], streaming: boolean): void {
  const s = new PipelinedRegionScheduling(eg, regions);
  const timesScheduled = regions.map(() => 0);
  const finishedParts = new Set<string>();
  const accept = (ids: RegionId[]): void => {
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    for (const id of ids) {
      timesScheduled[id]!++;
      for (const input of regions[id]!.externalInputs) {
        if (input.partitionType === "BLOCKING") {
          for (const pid of input.externalPartitionIds) expect(finishedParts.has(pid)).toBe(true);
        } else {
          for (const p of input.producerRegionIds) expect(s.isScheduled(p)).toBe(true);
        }
      }
    }
  };
  const started = s.start();
  if (streaming) expect(started).toEqual(regions.map((r) => r.id));
  accept(started);
  const queue = [...started];
  for (let steps = 0; queue.length > 0; steps++) {
    expect(steps).toBeLessThanOrEqual(regions.length);
    queue.sort((a, b) => a - b);
    const id = queue.shift()!;
    for (const v of regions[id]!.vertexIds) {
      for (const pid of eg.vertexById.get(v)!.producedPartitions) finishedParts.add(pid);
      const next = s.onVertexFinished(v);
      accept(next);
      queue.push(...next);
    }
  }
  expect(timesScheduled.every((n) => n === 1)).toBe(true);
}

function summary(jg: JobGraph, eg: ExecutionGraph, regions: PipelinedRegion[]): unknown {
  return {
    vertices: jg.vertices.map((v) => [v.name, v.parallelism, v.slotSharingGroupIndex]),
    edges: jg.edges.map((e) => [e.sourceVertex, e.targetVertex, e.partitionType]),
    channels: eg.vertices.map((v) => v.inputGates.map((g) => g.channels)),
    regions: regions.map((r) => [r.vertexIds, r.producerRegionIds]),
  };
}

describe("graph compilation properties", () => {
  it("random DAGs: chaining, wiring, regions and scheduling invariants hold", () => {
    fc.assert(
      fc.property(jobCase, ({ nodes, opts }) => {
        const sg = toStreamGraph(nodes);
        let jg: JobGraph;
        try {
          jg = compileJobGraph(sg, opts);
        } catch (e) {
          // The one user error the generator can produce: hybrid shuffle with a named group.
          expect(e).toBeInstanceOf(InputError);
          expect(opts.runtimeMode === "BATCH" && opts.batchShuffleMode.includes("HYBRID")).toBe(true);
          expect((e as InputError).field).toMatch(/\.slotSharingGroup$/);
          return;
        }
        checkJobGraph(sg, jg, opts);
        const eg = buildExecutionGraph(jg);
        checkExecutionGraph(eg);
        const regions = computeRegions(eg);
        checkRegions(eg, regions);
        checkScheduling(eg, regions, opts.runtimeMode === "STREAMING");
        // Deterministic: the same input compiles to the same structure.
        const again = buildExecutionGraph(compileJobGraph(toStreamGraph(nodes), opts));
        expect(summary(again.jobGraph, again, computeRegions(again))).toEqual(summary(jg, eg, regions));
      }),
      { numRuns: propRuns(300) },
    );
  });
});
