/**
 * The execution graph of the adaptive batch scheduler (Flink's DefaultExecutionGraph in
 * dynamic mode): it starts empty and grows one job vertex at a time, when the scheduler
 * *initializes* the vertex — its parallelism decided and, for every input, which
 * (partition range, subpartition range) each subtask reads.
 *
 * Subpartitions (IntermediateResultPartition.computeNumberOfSubpartitionsForDynamicGraph):
 * a producer is initialized before its consumer may be decided, so it writes for the
 * consumer's *max* parallelism unless the consumer's parallelism is already known
 * (user-set, or shared through a forward group):
 * - ALL_TO_ALL: n = consumer parallelism if known, else its max parallelism. A keyed
 *   writer then sends key group g to subpartition g·n/max — with n = max, exactly g — so a
 *   decided subtask's contiguous subpartition range is a contiguous key-group range.
 * - POINTWISE: n = ceil(that number / producer parallelism).
 * - Broadcast: Flink writes one subpartition that every consumer reads. flowsim's network
 *   gives a subpartition one reader, so a broadcast partition keeps n subpartitions (each
 *   a full copy) and consumer i reads subpartition i; the decider still sees one
 *   subpartition's bytes (the copy), as Flink's does. Copies beyond the consumers' count
 *   are written and never read.
 *
 * Each consumer subtask has one channel per (partition, subpartition) it reads, as Flink
 * 1.17–1.19's input gates do. Consumed partition groups: the subtasks of a gate that read
 * the same set of partitions share one group.
 *
 * Invariants: vertices are appended in initialization order, which is topological (a
 * vertex is initialized only after all its producers); every subpartition is read by at
 * most one channel (exactly one, except broadcast surplus copies); a consumer's channels
 * are ordered by partition, then subpartition.
 */
import { InvariantError, assert } from "../../sim/errors";
import type { JobGraph, JobEdge } from "./job-graph";
import {
  executionVertexId,
  partitionId,
  type ConsumedPartitionGroup,
  type ConsumedPartitionGroupId,
  type ExecutionGraph,
  type ExecutionVertex,
  type ExecutionVertexId,
  type InputChannelSpec,
  type InputGateSpec,
  type IntermediateResultPartition,
  type PartitionId,
} from "./execution-graph";

/** Inclusive index range `[start, end]` (Flink's IndexRange). */
export interface IndexRange {
  readonly start: number;
  readonly end: number;
}

/** What consumer subtask `subtask` reads of one input (Flink's ExecutionVertexInputInfo). */
export interface SubtaskInputRange {
  readonly subtask: number;
  readonly partitionRange: IndexRange;
  readonly subpartitionRange: IndexRange;
}

interface MutablePartition {
  id: PartitionId;
  edgeIndex: number;
  partitionIndex: number;
  producer: ExecutionVertexId;
  partitionType: IntermediateResultPartition["partitionType"];
  distribution: IntermediateResultPartition["distribution"];
  numSubpartitions: number;
  subpartitionConsumers: ExecutionVertexId[];
  groupIds: ConsumedPartitionGroupId[];
}

export class DynamicExecutionGraph implements ExecutionGraph {
  readonly vertices: ExecutionVertex[] = [];
  readonly partitions: IntermediateResultPartition[] = [];
  readonly groups: ConsumedPartitionGroup[] = [];
  readonly vertexById = new Map<ExecutionVertexId, ExecutionVertex>();
  readonly partitionById = new Map<PartitionId, IntermediateResultPartition>();
  /** Empty until the job vertex is initialized. */
  readonly verticesOfJobVertex: ExecutionVertexId[][];
  private readonly partitionsOfEdge: MutablePartition[][];
  /** Known parallelism per job vertex (decided or user-set), undefined while undecided. */
  private readonly parallelismOf: (number | undefined)[];

  constructor(readonly jobGraph: JobGraph) {
    this.verticesOfJobVertex = jobGraph.vertices.map(() => []);
    this.partitionsOfEdge = jobGraph.edges.map(() => []);
    this.parallelismOf = jobGraph.vertices.map(() => undefined);
  }

  parallelism(vertexIndex: number): number | undefined {
    return this.parallelismOf[vertexIndex];
  }

  isInitialized(vertexIndex: number): boolean {
    return this.verticesOfJobVertex[vertexIndex]!.length > 0;
  }

  /** Fixes a job vertex's parallelism (once): its producers initialized later write for it. */
  setParallelism(vertexIndex: number, parallelism: number): void {
    const known = this.parallelismOf[vertexIndex];
    if (known !== undefined && known !== parallelism) {
      throw new InvariantError(`job vertex ${vertexIndex}: parallelism ${known} decided, then ${parallelism}`);
    }
    assert(Number.isSafeInteger(parallelism) && parallelism >= 1, `job vertex ${vertexIndex}: parallelism ${parallelism}`);
    this.parallelismOf[vertexIndex] = parallelism;
  }

  /** Subpartitions each producer partition of `edge` has (see the module comment). */
  numSubpartitions(edge: JobEdge): number {
    const consumer = this.jobGraph.vertices[edge.targetVertex]!;
    const target = this.parallelismOf[consumer.index] ?? consumer.maxParallelism;
    if (edge.distribution === "ALL_TO_ALL") return target;
    const producers = this.parallelismOf[edge.sourceVertex];
    assert(producers !== undefined, `edge ${edge.index}: producer parallelism unknown`);
    return Math.ceil(target / producers);
  }

  /**
   * Attaches the subtasks of a job vertex whose parallelism is set and whose producers are
   * all initialized. `inputs[g]` lists, per subtask, what it reads of input gate g
   * (JobVertex.inputs order). Returns the new execution vertices.
   */
  initialize(vertexIndex: number, inputs: readonly (readonly SubtaskInputRange[])[]): ExecutionVertex[] {
    const jv = this.jobGraph.vertices[vertexIndex]!;
    const p = this.parallelismOf[vertexIndex];
    assert(p !== undefined, `${jv.name}: initialized before its parallelism is set`);
    assert(!this.isInitialized(vertexIndex), `${jv.name}: initialized twice`);
    assert(inputs.length === jv.inputs.length, `${jv.name}: ${inputs.length} input range lists for ${jv.inputs.length} inputs`);
    const ids = Array.from({ length: p }, (_, s) => executionVertexId(vertexIndex, s));

    // Produced partitions: their subpartition counts are fixed now.
    for (const edge of jv.outputs) {
      const n = this.numSubpartitions(edge);
      const own: MutablePartition[] = ids.map((producer, k) => ({
        id: partitionId(edge.index, k),
        edgeIndex: edge.index,
        partitionIndex: k,
        producer,
        partitionType: edge.partitionType,
        distribution: edge.distribution,
        numSubpartitions: n,
        subpartitionConsumers: [],
        groupIds: [],
      }));
      this.partitionsOfEdge[edge.index] = own;
      for (const part of own) {
        this.partitions.push(part);
        this.partitionById.set(part.id, part);
      }
    }

    // Input gates from the ranges.
    const gates: InputGateSpec[][] = ids.map(() => []);
    jv.inputs.forEach((edge, gateIndex) => {
      const own = this.partitionsOfEdge[edge.index]!;
      assert(own.length > 0, `${jv.name}: producer of edge ${edge.index} is not initialized`);
      const perSubtask = inputs[gateIndex]!;
      assert(perSubtask.length === p, `${jv.name} gate ${gateIndex}: ${perSubtask.length} ranges for parallelism ${p}`);
      const broadcast = edge.partitioner === "broadcast";
      const groupOf = new Map<string, ConsumedPartitionGroup & { consumerIds: ExecutionVertexId[] }>();
      for (const r of perSubtask) {
        const consumer = ids[r.subtask]!;
        assert(r.partitionRange.start >= 0 && r.partitionRange.end < own.length && r.partitionRange.start <= r.partitionRange.end, `${jv.name} gate ${gateIndex}: partition range [${r.partitionRange.start},${r.partitionRange.end}] of ${own.length}`);
        const channels: InputChannelSpec[] = [];
        for (let k = r.partitionRange.start; k <= r.partitionRange.end; k++) {
          const part = own[k]!;
          // Broadcast: subtask i reads its own full copy (see the module comment).
          const [first, last] = broadcast ? [r.subtask, r.subtask] : [r.subpartitionRange.start, r.subpartitionRange.end];
          assert(first >= 0 && last < part.numSubpartitions && first <= last, `${jv.name} gate ${gateIndex}: subpartitions [${first},${last}] of ${part.numSubpartitions}`);
          for (let s = first; s <= last; s++) {
            if (part.subpartitionConsumers[s] !== undefined) throw new InvariantError(`subpartition ${s} of ${part.id} read twice`);
            part.subpartitionConsumers[s] = consumer;
            channels.push({ partitionId: part.id, subpartitionIndex: s });
          }
        }
        const key = `${r.partitionRange.start}-${r.partitionRange.end}`;
        let group = groupOf.get(key);
        if (group === undefined) {
          const id = this.groups.length as ConsumedPartitionGroupId;
          group = { id, edgeIndex: edge.index, partitionType: edge.partitionType, partitionIds: own.slice(r.partitionRange.start, r.partitionRange.end + 1).map((x) => x.id), consumerIds: [] };
          groupOf.set(key, group);
          this.groups.push(group);
          for (let k = r.partitionRange.start; k <= r.partitionRange.end; k++) own[k]!.groupIds.push(id);
        }
        group.consumerIds.push(consumer);
        gates[r.subtask]![gateIndex] = { gateIndex, edgeIndex: edge.index, partitionType: edge.partitionType, channels, groupId: group.id };
      }
    });

    const created: ExecutionVertex[] = ids.map((id, s) => {
      const inputGates = gates[s]!;
      jv.inputs.forEach((e, g) => assert(inputGates[g] !== undefined, `gate ${g} (edge ${e.index}) of ${id} unset`));
      return {
        id,
        vertexIndex,
        subtaskIndex: s,
        topoIndex: this.vertices.length + s,
        producedPartitions: jv.outputs.map((e) => this.partitionsOfEdge[e.index]![s]!.id),
        inputGates,
      };
    });
    for (const v of created) {
      this.vertices.push(v);
      this.vertexById.set(v.id, v);
    }
    this.verticesOfJobVertex[vertexIndex]!.push(...ids);
    return created;
  }
}
