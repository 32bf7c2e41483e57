/**
 * JobGraph → ExecutionGraph: one execution vertex per (job vertex, subtask), one result
 * partition per (producer subtask, job edge), and the exact subpartition each consumer
 * subtask reads — Flink's EdgeManagerBuildUtil plus VertexInputInfoComputationUtils for a
 * static (non-adaptive) graph.
 *
 * Connection patterns (p producer subtasks, c consumer subtasks):
 * - ALL_TO_ALL: every partition has c subpartitions; consumer j reads subpartition j of
 *   every partition. All consumers share one consumed partition group (all p partitions).
 *   Broadcast is the same wiring: its writer copies every record into every subpartition;
 *   global writes only to subpartition 0. Which subpartition a record goes to is the
 *   writer's business, not the graph's.
 * - POINTWISE, p == c: partition i → consumer i, one subpartition.
 * - POINTWISE, p > c: consumer i reads partitions [⌊i·p/c⌋, ⌊(i+1)·p/c⌋), subpartition 0 of
 *   each; one group per consumer.
 * - POINTWISE, p < c: partition k feeds consumers [⌈k·c/p⌉, ⌈(k+1)·c/p⌉), n of them, so it
 *   has n subpartitions; consumer j reads subpartition j mod n (Flink's
 *   computeConsumedSubpartitionRange: consumerSubtaskIndex % numConsumers — for uneven
 *   ranges, e.g. 2 → 5, consumer 3 reads subpartition 1 and consumer 4 subpartition 0).
 *   One group per partition.
 *
 * Ids: execution vertex "v<jobVertex>[<subtask>]", partition "r<jobEdge>[<producer subtask>]"
 * (result r of job edge r), consumed partition group: a dense number.
 *
 * Invariants: vertices are listed by job vertex then subtask (a topological order, its
 * position is `topoIndex`); every subpartition of every partition is read by exactly one
 * input channel; a consumer's channels in a gate are in ascending producer subtask order;
 * a partition's groups and a vertex's gates are in ascending job edge order.
 */
import { assert } from "../../sim/errors";
import type { DistributionPattern, JobGraph, JobVertex } from "./job-graph";
import type { ResultPartitionType } from "./result-partition-type";

export type ExecutionVertexId = string & { readonly __brand: "ExecutionVertexId" };
export type PartitionId = string & { readonly __brand: "PartitionId" };
export type ConsumedPartitionGroupId = number & { readonly __brand: "ConsumedPartitionGroupId" };

export function executionVertexId(vertexIndex: number, subtaskIndex: number): ExecutionVertexId {
  return `v${vertexIndex}[${subtaskIndex}]` as ExecutionVertexId;
}

export function partitionId(edgeIndex: number, partitionIndex: number): PartitionId {
  return `r${edgeIndex}[${partitionIndex}]` as PartitionId;
}

/** One input channel: which subpartition of which partition it reads. */
export interface InputChannelSpec {
  readonly partitionId: PartitionId;
  readonly subpartitionIndex: number;
}

/** A consumer subtask's input for one job edge. */
export interface InputGateSpec {
  /** Position among the vertex's inputs (= JobVertex.inputs index). */
  readonly gateIndex: number;
  readonly edgeIndex: number;
  readonly partitionType: ResultPartitionType;
  readonly channels: readonly InputChannelSpec[];
  /** The consumed partition group this gate reads. */
  readonly groupId: ConsumedPartitionGroupId;
}

export interface ExecutionVertex {
  readonly id: ExecutionVertexId;
  readonly vertexIndex: number;
  readonly subtaskIndex: number;
  /** Position in ExecutionGraph.vertices (topological). */
  readonly topoIndex: number;
  /** One per output job edge, in JobVertex.outputs order. */
  readonly producedPartitions: readonly PartitionId[];
  /** One per input job edge, in JobVertex.inputs order. */
  readonly inputGates: readonly InputGateSpec[];
}

export interface IntermediateResultPartition {
  readonly id: PartitionId;
  /** The job edge (= intermediate result) it belongs to. */
  readonly edgeIndex: number;
  /** = the producer's subtask index. */
  readonly partitionIndex: number;
  readonly producer: ExecutionVertexId;
  readonly partitionType: ResultPartitionType;
  readonly distribution: DistributionPattern;
  readonly numSubpartitions: number;
  /** Consumer execution vertex of each subpartition (index = subpartition). */
  readonly subpartitionConsumers: readonly ExecutionVertexId[];
  /** Groups containing this partition (one in a static graph). */
  readonly groupIds: readonly ConsumedPartitionGroupId[];
}

/**
 * Flink's ConsumedPartitionGroup: partitions of one result read together by a set of
 * consumers. The scheduler waits for groups, not single partitions.
 */
export interface ConsumedPartitionGroup {
  readonly id: ConsumedPartitionGroupId;
  readonly edgeIndex: number;
  readonly partitionType: ResultPartitionType;
  /** Ascending partition index. */
  readonly partitionIds: readonly PartitionId[];
  /** Ascending subtask index. */
  readonly consumerIds: readonly ExecutionVertexId[];
}

export interface ExecutionGraph {
  readonly jobGraph: JobGraph;
  /** Topological: by job vertex, then subtask. */
  readonly vertices: readonly ExecutionVertex[];
  /** By job edge, then partition index. */
  readonly partitions: readonly IntermediateResultPartition[];
  readonly groups: readonly ConsumedPartitionGroup[];
  readonly vertexById: ReadonlyMap<ExecutionVertexId, ExecutionVertex>;
  readonly partitionById: ReadonlyMap<PartitionId, IntermediateResultPartition>;
  /** Execution vertex ids per job vertex index, by subtask. */
  readonly verticesOfJobVertex: readonly (readonly ExecutionVertexId[])[];
}

export function getVertex(eg: ExecutionGraph, id: ExecutionVertexId): ExecutionVertex {
  const v = eg.vertexById.get(id);
  assert(v !== undefined, `unknown execution vertex ${id}`);
  return v;
}

export function getPartition(eg: ExecutionGraph, id: PartitionId): IntermediateResultPartition {
  const p = eg.partitionById.get(id);
  assert(p !== undefined, `unknown result partition ${id}`);
  return p;
}

/** Consumer subtask ranges of a pointwise edge with p < c: partition k feeds [start, end). */
export function pointwiseConsumerRange(partitionIndex: number, p: number, c: number): [number, number] {
  return [Math.ceil((partitionIndex * c) / p), Math.ceil(((partitionIndex + 1) * c) / p)];
}

/** Producer partitions read by consumer i of a pointwise edge with p ≥ c: [start, end). */
export function pointwiseProducerRange(consumerIndex: number, p: number, c: number): [number, number] {
  return [Math.floor((consumerIndex * p) / c), Math.floor(((consumerIndex + 1) * p) / c)];
}

interface MutablePartition {
  id: PartitionId;
  edgeIndex: number;
  partitionIndex: number;
  producer: ExecutionVertexId;
  partitionType: ResultPartitionType;
  distribution: DistributionPattern;
  numSubpartitions: number;
  subpartitionConsumers: ExecutionVertexId[];
  groupIds: ConsumedPartitionGroupId[];
}

export function buildExecutionGraph(jobGraph: JobGraph): ExecutionGraph {
  const verticesOfJobVertex = jobGraph.vertices.map((jv) =>
    Array.from({ length: jv.parallelism }, (_, s) => executionVertexId(jv.index, s)),
  );

  const partitions: MutablePartition[] = [];
  const partitionsOfEdge: MutablePartition[][] = [];
  const groups: ConsumedPartitionGroup[] = [];
  /** gates[vertexIndex][subtask][gateIndex] */
  const gates: InputGateSpec[][][] = jobGraph.vertices.map((jv) =>
    Array.from({ length: jv.parallelism }, () => new Array<InputGateSpec>(jv.inputs.length)),
  );

  for (const edge of jobGraph.edges) {
    const producer = jobGraph.vertices[edge.sourceVertex]!;
    const consumer = jobGraph.vertices[edge.targetVertex]!;
    const p = producer.parallelism;
    const c = consumer.parallelism;
    const own: MutablePartition[] = Array.from({ length: p }, (_, k) => ({
      id: partitionId(edge.index, k),
      edgeIndex: edge.index,
      partitionIndex: k,
      producer: verticesOfJobVertex[producer.index]![k]!,
      partitionType: edge.partitionType,
      distribution: edge.distribution,
      numSubpartitions: 0,
      subpartitionConsumers: [],
      groupIds: [],
    }));
    partitions.push(...own);
    partitionsOfEdge.push(own);

    const gateIndex = consumer.inputs.indexOf(edge);
    assert(gateIndex >= 0, `job edge ${edge.index} missing from its consumer's inputs`);
    const consumerIds = verticesOfJobVertex[consumer.index]!;

    const addGroup = (partitionIndices: number[], consumerIndices: number[]): ConsumedPartitionGroupId => {
      const id = groups.length as ConsumedPartitionGroupId;
      groups.push({
        id,
        edgeIndex: edge.index,
        partitionType: edge.partitionType,
        partitionIds: partitionIndices.map((k) => own[k]!.id),
        consumerIds: consumerIndices.map((j) => consumerIds[j]!),
      });
      for (const k of partitionIndices) own[k]!.groupIds.push(id);
      return id;
    };
    const setGate = (j: number, groupId: ConsumedPartitionGroupId, channels: InputChannelSpec[]): void => {
      gates[consumer.index]![j]![gateIndex] = {
        gateIndex,
        edgeIndex: edge.index,
        partitionType: edge.partitionType,
        channels,
        groupId,
      };
    };

    if (edge.distribution === "ALL_TO_ALL") {
      const groupId = addGroup(range(0, p), range(0, c));
      for (const part of own) {
        part.numSubpartitions = c;
        part.subpartitionConsumers = [...consumerIds];
      }
      for (let j = 0; j < c; j++) {
        setGate(j, groupId, own.map((part) => ({ partitionId: part.id, subpartitionIndex: j })));
      }
    } else if (p >= c) {
      // p == c is the special case where every range has one partition.
      for (let j = 0; j < c; j++) {
        const [start, end] = pointwiseProducerRange(j, p, c);
        assert(end > start, `pointwise ${p} -> ${c}: consumer ${j} reads no partition`);
        const groupId = addGroup(range(start, end), [j]);
        for (let k = start; k < end; k++) {
          own[k]!.numSubpartitions = 1;
          own[k]!.subpartitionConsumers = [consumerIds[j]!];
        }
        setGate(
          j,
          groupId,
          range(start, end).map((k) => ({ partitionId: own[k]!.id, subpartitionIndex: 0 })),
        );
      }
    } else {
      for (let k = 0; k < p; k++) {
        const [start, end] = pointwiseConsumerRange(k, p, c);
        const n = end - start;
        assert(n >= 1, `pointwise ${p} -> ${c}: partition ${k} has no consumer`);
        const groupId = addGroup([k], range(start, end));
        const part = own[k]!;
        part.numSubpartitions = n;
        part.subpartitionConsumers = new Array<ExecutionVertexId>(n);
        for (let j = start; j < end; j++) {
          const sub = j % n;
          assert(part.subpartitionConsumers[sub] === undefined, `subpartition ${sub} of ${part.id} read twice`);
          part.subpartitionConsumers[sub] = consumerIds[j]!;
          setGate(j, groupId, [{ partitionId: part.id, subpartitionIndex: sub }]);
        }
      }
    }
  }

  const vertices: ExecutionVertex[] = [];
  for (const jv of jobGraph.vertices) {
    for (let s = 0; s < jv.parallelism; s++) {
      const inputGates = gates[jv.index]![s]!;
      jv.inputs.forEach((e, g) => assert(inputGates[g] !== undefined, `gate ${g} (edge ${e.index}) of v${jv.index}[${s}] unset`));
      vertices.push({
        id: verticesOfJobVertex[jv.index]![s]!,
        vertexIndex: jv.index,
        subtaskIndex: s,
        topoIndex: vertices.length,
        producedPartitions: jv.outputs.map((e) => partitionsOfEdge[e.index]![s]!.id),
        inputGates,
      });
    }
  }
  for (const part of partitions) {
    assert(part.numSubpartitions >= 1, `partition ${part.id} has no subpartition`);
    for (let i = 0; i < part.numSubpartitions; i++) {
      assert(part.subpartitionConsumers[i] !== undefined, `subpartition ${i} of ${part.id} has no consumer`);
    }
  }

  const vertexById = new Map<ExecutionVertexId, ExecutionVertex>();
  for (const v of vertices) vertexById.set(v.id, v);
  const partitionById = new Map<PartitionId, IntermediateResultPartition>();
  for (const part of partitions) partitionById.set(part.id, part);

  return {
    jobGraph,
    vertices,
    partitions,
    groups,
    vertexById,
    partitionById,
    verticesOfJobVertex,
  };
}

/** Execution vertices of a job vertex. */
export function subtasksOf(eg: ExecutionGraph, jobVertex: JobVertex): ExecutionVertex[] {
  return eg.verticesOfJobVertex[jobVertex.index]!.map((id) => getVertex(eg, id));
}

function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i);
}
