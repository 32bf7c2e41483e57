/**
 * The adaptive batch scheduler's planning half (Flink's AdaptiveBatchScheduler minus the
 * deployment it shares with the default scheduler): which job vertices can be decided and
 * initialized now, with what parallelism and input ranges.
 *
 * Rules, as Flink 1.17–1.19:
 * - A vertex's parallelism is *decided* only if the user left it unset; a vertex with a
 *   user parallelism (operator or environment level, or `parallelism.default` set
 *   explicitly) keeps it.
 * - An undecided vertex is decided when every producer job vertex has finished (all its
 *   subtasks), from the bytes per subpartition they reported; a source by its own
 *   inference if it has one (FLIP-379, bounded by `default-source-parallelism`), else
 *   `default-source-parallelism`.
 * - Forward groups (vertices joined by non-chained forward edges) share one parallelism:
 *   a user value if a member has one, else the first member decided decides for all,
 *   bounded by the smallest member max parallelism.
 * - A vertex whose parallelism is known is *initialized* (its subtasks attached to the
 *   dynamic execution graph) once all its producers are initialized; a decided vertex
 *   reads the decider's ranges, any other splits subpartitions evenly.
 * - Decisions are made once: a later failover reruns subtasks, never re-decides.
 *
 * Pluggable: the decider is an interface (parallelism-decider.ts).
 */
import { assert } from "../../../sim/errors";
import type { ExecutionVertex } from "../../graph/execution-graph";
import type { DynamicExecutionGraph, SubtaskInputRange } from "../../graph/dynamic-execution-graph";
import type { JobGraph } from "../../graph/job-graph";
import { DisjointSet } from "../../graph/union-find";
import { evenSubpartitionRanges, type DecisionRecord, type DeciderInput, type ParallelismDecider } from "./parallelism-decider";

export interface PlannerStep {
  /** Decisions made in this step, in vertex order. */
  readonly decisions: readonly { readonly vertexIndex: number; readonly record: DecisionRecord; readonly ranges: readonly (readonly SubtaskInputRange[])[] }[];
  /** Execution vertices attached in this step, in initialization (topological) order. */
  readonly initialized: readonly ExecutionVertex[];
  /** Job vertices initialized in this step, ascending. */
  readonly initializedJobVertices: readonly number[];
  /** The input ranges each of them was initialized with (the job event log records them). */
  readonly initializedRanges: readonly (readonly (readonly SubtaskInputRange[])[])[];
}

export class AdaptiveBatchPlanner {
  /** Bytes per subpartition of each produced partition, by execution vertex id (latest finished attempt). */
  private readonly producedBytes = new Map<string, number[][]>();
  /** Input ranges of vertices decided by the decider, until they are initialized. */
  private readonly decidedRanges = new Map<number, readonly (readonly SubtaskInputRange[])[]>();
  /** Forward group representative per job vertex. */
  private readonly forwardGroup: number[];
  private readonly groupMembers = new Map<number, number[]>();

  constructor(
    private readonly jobGraph: JobGraph,
    readonly graph: DynamicExecutionGraph,
    private readonly decider: ParallelismDecider,
    /** Per job vertex: its user parallelism, or undefined to decide it. */
    userParallelism: readonly (number | undefined)[],
    /** What a source inferring its parallelism is told (undefined: no source infers). */
    private readonly inference?: { readonly upperBound: number; readonly avgDataVolumePerTaskBytes: number; readonly defaultRecordBytes: number },
  ) {
    const sets = new DisjointSet(jobGraph.vertices.length);
    for (const e of jobGraph.edges) if (e.partitioner === "forward") sets.union(e.sourceVertex, e.targetVertex);
    this.forwardGroup = jobGraph.vertices.map((v) => sets.find(v.index));
    for (const v of jobGraph.vertices) {
      const root = this.forwardGroup[v.index]!;
      let members = this.groupMembers.get(root);
      if (members === undefined) this.groupMembers.set(root, (members = []));
      members.push(v.index);
    }
    // User parallelism fixes a vertex now, and with it its forward group.
    for (const v of jobGraph.vertices) {
      const p = userParallelism[v.index];
      if (p !== undefined) for (const m of this.membersOf(v.index)) graph.setParallelism(m, p);
    }
  }

  get allInitialized(): boolean {
    return this.jobGraph.vertices.every((v) => this.graph.isInitialized(v.index));
  }

  /** A producer subtask finished and reported its bytes per subpartition. */
  recordProducedBytes(vertex: ExecutionVertex, bytes: number[][]): void {
    this.producedBytes.set(vertex.id, bytes);
  }

  /**
   * Decides and initializes everything that can be, given which job vertices have fully
   * finished. Loops to a fixpoint: initializing a vertex can make its consumers initializable.
   */
  advance(isJobVertexFinished: (vertexIndex: number) => boolean): PlannerStep {
    const decisions: { vertexIndex: number; record: DecisionRecord; ranges: readonly (readonly SubtaskInputRange[])[] }[] = [];
    const initialized: ExecutionVertex[] = [];
    const initializedJobVertices: number[] = [];
    const initializedRanges: (readonly (readonly SubtaskInputRange[])[])[] = [];
    for (let changed = true; changed; ) {
      changed = false;
      for (const jv of this.jobGraph.vertices) {
        if (this.graph.isInitialized(jv.index)) continue;
        const producers = jv.inputs.map((e) => e.sourceVertex);
        if (this.graph.parallelism(jv.index) === undefined) {
          if (!producers.every((p) => this.graph.isInitialized(p) && isJobVertexFinished(p))) continue;
          const record = this.decide(jv.index);
          decisions.push({ vertexIndex: jv.index, record, ranges: this.decidedRanges.get(jv.index)! });
        }
        if (!producers.every((p) => this.graph.isInitialized(p))) continue;
        const ranges = this.decidedRanges.get(jv.index) ?? this.evenRanges(jv.index);
        this.decidedRanges.delete(jv.index);
        initialized.push(...this.graph.initialize(jv.index, ranges));
        initializedJobVertices.push(jv.index);
        initializedRanges.push(ranges);
        changed = true;
      }
    }
    return { decisions, initialized, initializedJobVertices, initializedRanges };
  }

  /**
   * Batch job recovery: initializes a vertex with the decision its event logged (the
   * forward group shares the parallelism, as when it was decided). Not decided again.
   */
  replayInitialization(vertexIndex: number, parallelism: number, inputRanges: readonly (readonly SubtaskInputRange[])[]): ExecutionVertex[] {
    for (const m of this.membersOf(vertexIndex)) if (this.graph.parallelism(m) === undefined || m === vertexIndex) this.graph.setParallelism(m, parallelism);
    this.decidedRanges.delete(vertexIndex);
    return this.graph.initialize(vertexIndex, inputRanges);
  }

  private membersOf(vertexIndex: number): number[] {
    return this.groupMembers.get(this.forwardGroup[vertexIndex]!)!;
  }

  private decide(vertexIndex: number): DecisionRecord {
    const jv = this.jobGraph.vertices[vertexIndex]!;
    const members = this.membersOf(vertexIndex);
    const head = jv.nodes[0]!;
    const inferred =
      jv.inputs.length === 0 && this.inference !== undefined && head.source?.inferParallelism !== undefined
        ? head.source.inferParallelism({ upperBound: this.inference.upperBound, avgDataVolumePerTaskBytes: this.inference.avgDataVolumePerTaskBytes, recordBytes: head.cost.recordBytes ?? this.inference.defaultRecordBytes })
        : undefined;
    const decision = this.decider.decide({
      name: jv.name,
      inputs: jv.inputs.map((e) => this.deciderInput(e.index)),
      // A forward group's parallelism must fit every member.
      maxParallelism: Math.min(...members.map((m) => this.jobGraph.vertices[m]!.maxParallelism)),
      ...(inferred !== undefined ? { inferredSourceParallelism: inferred } : {}),
    });
    for (const m of members) this.graph.setParallelism(m, decision.parallelism);
    this.decidedRanges.set(vertexIndex, decision.inputRanges);
    return decision.record;
  }

  private deciderInput(edgeIndex: number): DeciderInput {
    const edge = this.jobGraph.edges[edgeIndex]!;
    const producer = this.jobGraph.vertices[edge.sourceVertex]!;
    const broadcast = edge.partitioner === "broadcast";
    const outputIndex = producer.outputs.indexOf(edge);
    const producerIds = this.graph.verticesOfJobVertex[producer.index]!;
    const numSubpartitions = this.graph.numSubpartitions(edge);
    const rows = producerIds.map((id) => {
      const row = this.producedBytes.get(id)?.[outputIndex] ?? new Array<number>(numSubpartitions).fill(0);
      assert(row.length === numSubpartitions, `${id}: ${row.length} subpartition byte counts for ${numSubpartitions} subpartitions`);
      // Each broadcast subpartition is a full copy: the decider sees one.
      return broadcast ? [row[0]!] : row;
    });
    return {
      name: producer.name,
      pattern: edge.distribution,
      broadcast,
      numPartitions: producerIds.length,
      numSubpartitions: broadcast ? 1 : numSubpartitions,
      subpartitionBytes: rows,
    };
  }

  /** Ranges of a vertex whose parallelism was not decided from data: subpartitions split evenly. */
  private evenRanges(vertexIndex: number): SubtaskInputRange[][] {
    const jv = this.jobGraph.vertices[vertexIndex]!;
    const p = this.graph.parallelism(vertexIndex)!;
    return jv.inputs.map((e) => {
      const input = this.deciderInput(e.index);
      return evenSubpartitionRanges(p, { ...input, subpartitionBytes: [] });
    });
  }
}
