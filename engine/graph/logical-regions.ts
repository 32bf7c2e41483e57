/**
 * Logical pipelined regions: the pipelined regions of the JobGraph (job vertices, not
 * subtasks), as Flink's LogicalPipelinedRegionComputeUtil computes them — the connected
 * components of job vertices over edges whose partition type must be consumed pipelined.
 *
 * Flink uses them for one thing the simulator needs too: in BATCH mode every logical region
 * gets its own slot sharing group (StreamingJobGraphGenerator.buildVertexRegionSlotSharingGroups
 * when StreamGraph.isAllVerticesInSameSlotSharingGroupByDefault() is false).
 *
 * Unlike execution-level regions there is no cycle merge: Flink argues the logical topology
 * is a DAG. The *region* graph can still have a cycle (A→B pipelined, A→C and C→B
 * blocking), which does not matter for slot sharing, so we follow Flink and do not merge.
 *
 * Invariants: every job vertex is in exactly one logical region; regions are numbered by
 * their smallest vertex index (the order Flink's topological vertex walk meets them), and
 * list their vertices in ascending order.
 */
import type { JobEdge, JobVertex } from "./job-graph";
import { mustBePipelinedConsumed } from "./result-partition-type";
import { DisjointSet } from "./union-find";

export interface LogicalRegion {
  /** Dense index, by smallest member vertex. */
  readonly index: number;
  /** Job vertex indices, ascending (a topological order). */
  readonly vertexIndices: readonly number[];
}

/** Logical regions of a job graph (or of its vertices and typed edges while it is built). */
export function computeLogicalRegions(graph: {
  readonly vertices: readonly Pick<JobVertex, "index">[];
  readonly edges: readonly Pick<JobEdge, "sourceVertex" | "targetVertex" | "partitionType">[];
}): LogicalRegion[] {
  const sets = new DisjointSet(graph.vertices.length);
  for (const edge of graph.edges) {
    if (mustBePipelinedConsumed(edge.partitionType)) sets.union(edge.sourceVertex, edge.targetVertex);
  }
  return sets.components().map((vertexIndices, index) => ({ index, vertexIndices }));
}
