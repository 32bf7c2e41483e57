/**
 * StreamGraph → JobGraph: operator chaining, resolved parallelism, job edges with their
 * distribution pattern and result partition type, and slot sharing groups — Flink's
 * StreamingJobGraphGenerator, reduced to what the simulator runs.
 *
 * Rules (checked against apache/flink StreamingJobGraphGenerator and StreamGraph):
 * - An edge is chained (isChainable) iff chaining is enabled, the target has exactly one
 *   input edge, both nodes are in the same slot sharing group, the upstream strategy is
 *   not NEVER and the downstream strategy is ALWAYS, the partitioner is forward, and the
 *   parallelisms are equal. A chain is therefore a tree rooted at its head.
 * - A forward edge between different parallelisms is an error (StreamGraph.createActualEdge
 *   throws "Forward partitioning does not allow change of parallelism"); picking forward
 *   vs. rebalance for an unspecified partitioner is the API's job.
 * - Partition types: STREAMING → PIPELINED_BOUNDED everywhere; BATCH by
 *   execution.batch-shuffle-mode (determineUndefinedResultPartitionType). A broadcast edge
 *   that would be HYBRID_SELECTIVE becomes HYBRID_FULL (Flink spills broadcast data once).
 * - Slot sharing: STREAMING puts every vertex of the "default" group into one group. BATCH
 *   (isAllVerticesInSameSlotSharingGroupByDefault = false) gives each logical pipelined
 *   region of default-group vertices its own group; named groups stay shared by name.
 *   Hybrid shuffle refuses named groups, as Flink does.
 *
 * Not modelled: partition reuse (Flink may let two blocking edges with the same partitioner
 * and consumer parallelism share one IntermediateDataSet), chained sources
 * (HEAD_WITH_SOURCES), the "[vertex-N]" name prefix, operators flagged output-only-at-end
 * (their edges become BLOCKING in Flink 1.20+), and the max-parallelism chaining check
 * (pipeline.operator-chaining.chain-operators-with-different-max-parallelism, default true
 * = no check).
 *
 * Invariants: job vertices are numbered in ascending order of their head's stream node id,
 * which is a topological order (a non-chained edge always targets a chain head, and node
 * ids are topological); job edges are numbered by stream edge id; a vertex's nodes are in
 * ascending node id (topological, head first); all parallelisms are in
 * [1, maxParallelism] and maxParallelism ≤ 32768.
 */
import type { KeySelector, PartitionerKind, RuntimeMode } from "../api/types";
import { POINTWISE_PARTITIONERS } from "../api/types";
import { assert, InputError } from "../../sim/errors";
import { computeLogicalRegions, type LogicalRegion } from "./logical-regions";
import { isHybrid, type ResultPartitionType } from "./result-partition-type";
import type { StreamEdge, StreamGraph, StreamNode } from "./stream-graph";

export {
  canBePipelinedConsumed,
  isHybrid,
  isReconsumable,
  mustBePipelinedConsumed,
  RESULT_PARTITION_TYPES,
  type ResultPartitionType,
} from "./result-partition-type";
export type { LogicalRegion } from "./logical-regions";

/**
 * execution.batch-shuffle-mode plus Flink's two internal GlobalStreamExchangeModes
 * (FORWARD_EDGES_PIPELINED, POINTWISE_EDGES_PIPELINED) that the option itself cannot reach.
 */
export const BATCH_SHUFFLE_MODES = [
  "ALL_EXCHANGES_BLOCKING",
  "ALL_EXCHANGES_PIPELINED",
  "ALL_EXCHANGES_HYBRID_FULL",
  "ALL_EXCHANGES_HYBRID_SELECTIVE",
  "FORWARD_EDGES_PIPELINED",
  "POINTWISE_EDGES_PIPELINED",
] as const;
export type BatchShuffleMode = (typeof BATCH_SHUFFLE_MODES)[number];

/** POINTWISE connects subtask ranges (forward, rescale); ALL_TO_ALL connects every pair. */
export type DistributionPattern = "POINTWISE" | "ALL_TO_ALL";

export interface JobGraphOptions {
  readonly runtimeMode: RuntimeMode;
  /** Used only in BATCH mode. */
  readonly batchShuffleMode: BatchShuffleMode;
  /** parallelism.default, for nodes without setParallelism. */
  readonly defaultParallelism: number;
  /** pipeline.max-parallelism as resolved by the caller, for nodes without setMaxParallelism. */
  readonly maxParallelism: number;
  /** pipeline.operator-chaining.enabled. */
  readonly chainingEnabled: boolean;
}

/** StreamGraphGenerator.DEFAULT_SLOT_SHARING_GROUP. */
export const DEFAULT_SLOT_SHARING_GROUP = "default";
/** KeyGroupRangeAssignment.UPPER_BOUND_MAX_PARALLELISM (1 << 15). */
export const UPPER_BOUND_MAX_PARALLELISM = 32768;

/** A non-chained connection between two job vertices; its output is one intermediate result. */
export interface JobEdge {
  /** Dense index, by stream edge id; also the id of the intermediate result it carries. */
  readonly index: number;
  readonly streamEdge: StreamEdge;
  /** Producer job vertex index. */
  readonly sourceVertex: number;
  /** Consumer job vertex index. */
  readonly targetVertex: number;
  /** The chained operator of the producer that writes this edge (not always the head). */
  readonly sourceNodeId: number;
  /** The consumer's head operator, which reads it. */
  readonly targetNodeId: number;
  /** Which input of the target operator this feeds (StreamEdge.typeNumber). */
  readonly typeNumber: number;
  readonly partitioner: PartitionerKind;
  readonly keySelector: KeySelector | undefined;
  readonly distribution: DistributionPattern;
  readonly partitionType: ResultPartitionType;
}

/** A task: an operator chain run by one subtask per parallel instance. */
export interface JobVertex {
  /** Dense index in topological order. */
  readonly index: number;
  /** Flink's chained name: "Source: words -> Flat Map", fan-out as "A -> (B, C)". */
  readonly name: string;
  readonly headNodeId: number;
  /** The chain's operators, ascending node id (topological; head first). */
  readonly nodes: readonly StreamNode[];
  /** Forward edges inside the chain, ascending edge id. */
  readonly chainedEdges: readonly StreamEdge[];
  readonly parallelism: number;
  /** The head's max parallelism: the number of key groups of every keyed operator in the task. */
  readonly maxParallelism: number;
  /** Index into JobGraph.slotSharingGroups. */
  readonly slotSharingGroupIndex: number;
  /** Non-chained inputs, ascending edge index; position = input gate index. */
  readonly inputs: readonly JobEdge[];
  /** Non-chained outputs, ascending edge index; position = produced partition index. */
  readonly outputs: readonly JobEdge[];
}

export interface SlotSharingGroup {
  /** Dense index, by first vertex. */
  readonly index: number;
  /** The user's group name, or "default (region N)" for a BATCH per-region group. */
  readonly name: string;
  /** Member job vertex indices, ascending. */
  readonly vertexIndices: readonly number[];
}

export interface JobGraph {
  readonly jobName: string;
  readonly runtimeMode: RuntimeMode;
  readonly streamGraph: StreamGraph;
  readonly vertices: readonly JobVertex[];
  readonly edges: readonly JobEdge[];
  readonly slotSharingGroups: readonly SlotSharingGroup[];
  /** Pipelined regions of job vertices (used for BATCH slot sharing). */
  readonly logicalRegions: readonly LogicalRegion[];
  /** Resolved parallelism by stream node id. */
  readonly nodeParallelism: readonly number[];
  /** Resolved max parallelism by stream node id. */
  readonly nodeMaxParallelism: readonly number[];
  /** Job vertex index by stream node id. */
  readonly vertexOfNode: readonly number[];
}

/** The partition type of a non-chained edge, by runtime mode and shuffle mode. */
export function partitionTypeFor(
  runtimeMode: RuntimeMode,
  batchShuffleMode: BatchShuffleMode,
  partitioner: PartitionerKind,
): ResultPartitionType {
  if (runtimeMode === "STREAMING") return "PIPELINED_BOUNDED";
  let type: ResultPartitionType;
  switch (batchShuffleMode) {
    case "ALL_EXCHANGES_BLOCKING":
      type = "BLOCKING";
      break;
    case "ALL_EXCHANGES_PIPELINED":
      type = "PIPELINED_BOUNDED";
      break;
    case "ALL_EXCHANGES_HYBRID_FULL":
      type = "HYBRID_FULL";
      break;
    case "ALL_EXCHANGES_HYBRID_SELECTIVE":
      type = "HYBRID_SELECTIVE";
      break;
    case "FORWARD_EDGES_PIPELINED":
      type = partitioner === "forward" ? "PIPELINED_BOUNDED" : "BLOCKING";
      break;
    case "POINTWISE_EDGES_PIPELINED":
      type = POINTWISE_PARTITIONERS.has(partitioner) ? "PIPELINED_BOUNDED" : "BLOCKING";
      break;
  }
  // Broadcast data is spilled once for all consumers, so selective spilling buys nothing.
  if (type === "HYBRID_SELECTIVE" && partitioner === "broadcast") type = "HYBRID_FULL";
  return type;
}

export function distributionOf(partitioner: PartitionerKind): DistributionPattern {
  return POINTWISE_PARTITIONERS.has(partitioner) ? "POINTWISE" : "ALL_TO_ALL";
}

/** Compiles a StreamGraph into a JobGraph; bad user input throws InputError naming the node. */
export function compileJobGraph(streamGraph: StreamGraph, opts: JobGraphOptions): JobGraph {
  validateOptions(opts);
  const nodes = streamGraph.nodes;
  if (nodes.length === 0) {
    throw new InputError("job", "no operators defined in the streaming topology; cannot execute");
  }
  nodes.forEach((node, i) => assert(node.id === i, `stream node ids must be dense: node at ${i} has id ${node.id}`));

  const nodeField = nodeFieldNamer(nodes);
  const edges = [...streamGraph.edges].sort((a, b) => a.id - b.id);
  const inEdges: StreamEdge[][] = nodes.map(() => []);
  const outEdges: StreamEdge[][] = nodes.map(() => []);
  for (let i = 0; i < edges.length; i++) {
    const edge = edges[i]!;
    assert(i === 0 || edges[i - 1]!.id !== edge.id, `duplicate stream edge id ${edge.id}`);
    assert(
      edge.sourceId >= 0 && edge.targetId < nodes.length && edge.sourceId < edge.targetId,
      `stream edge ${edge.id} (${edge.sourceId} -> ${edge.targetId}) must go from an earlier to a later node`,
    );
    assert(edge.partitioner !== "hash" || edge.keySelector !== undefined, `hash edge ${edge.id} has no key selector`);
    outEdges[edge.sourceId]!.push(edge);
    inEdges[edge.targetId]!.push(edge);
  }

  // Parallelism and max parallelism, resolved and validated per node.
  const nodeMaxParallelism = nodes.map((node) => {
    const max = node.maxParallelism ?? opts.maxParallelism;
    if (!Number.isInteger(max) || max < 1 || max > UPPER_BOUND_MAX_PARALLELISM) {
      throw new InputError(
        `${nodeField(node)}.maxParallelism`,
        `${max} must be an integer in [1, ${UPPER_BOUND_MAX_PARALLELISM}]`,
      );
    }
    return max;
  });
  const nodeParallelism = nodes.map((node, i) => {
    const p = node.parallelism ?? opts.defaultParallelism;
    const field = `${nodeField(node)}.parallelism`;
    if (!Number.isInteger(p)) throw new InputError(field, `${p} must be an integer`);
    if (p < 1) throw new InputError(field, `${p} must be ≥ 1`);
    const max = nodeMaxParallelism[i]!;
    if (p > max) throw new InputError(field, `${p} must be ≤ the max parallelism ${max}`);
    return p;
  });

  for (const edge of edges) {
    const up = nodes[edge.sourceId]!;
    const down = nodes[edge.targetId]!;
    const pUp = nodeParallelism[up.id]!;
    const pDown = nodeParallelism[down.id]!;
    if (edge.partitioner === "forward" && pUp !== pDown) {
      throw new InputError(
        `job.edges["${up.name}" -> "${down.name}"].partitioner`,
        `forward partitioning does not allow change of parallelism (upstream "${up.name}" has ${pUp}, ` +
          `downstream "${down.name}" has ${pDown}); use another partitioner such as rebalance, rescale, hash, broadcast or global`,
      );
    }
  }

  // Chaining: each node joins the chain of its single upstream when the edge is chainable.
  const isChainable = (edge: StreamEdge): boolean => {
    const up = nodes[edge.sourceId]!;
    const down = nodes[edge.targetId]!;
    return (
      opts.chainingEnabled &&
      inEdges[down.id]!.length === 1 &&
      up.slotSharingGroup === down.slotSharingGroup &&
      up.chainingStrategy !== "NEVER" &&
      down.chainingStrategy === "ALWAYS" &&
      edge.partitioner === "forward" &&
      nodeParallelism[up.id] === nodeParallelism[down.id]
    );
  };
  const chained = new Set<number>(); // stream edge ids inside a chain
  const headOf: number[] = [];
  for (const node of nodes) {
    const ins = inEdges[node.id]!;
    if (ins.length === 1 && isChainable(ins[0]!)) {
      chained.add(ins[0]!.id);
      headOf.push(headOf[ins[0]!.sourceId]!);
    } else {
      headOf.push(node.id);
    }
  }

  // Chained names, bottom-up: children have larger ids than their chain parent.
  const chainedName: string[] = new Array<string>(nodes.length);
  for (let id = nodes.length - 1; id >= 0; id--) {
    const outs = outEdges[id]!.filter((e) => chained.has(e.id)).map((e) => chainedName[e.targetId]!);
    const own = nodes[id]!.name;
    chainedName[id] = outs.length === 0 ? own : outs.length === 1 ? `${own} -> ${outs[0]}` : `${own} -> (${outs.join(", ")})`;
  }

  // Vertices, by ascending head id.
  const heads = nodes.filter((n) => headOf[n.id] === n.id).map((n) => n.id);
  const vertexOfHead = new Map<number, number>();
  heads.forEach((head, index) => vertexOfHead.set(head, index));
  const vertexOfNode = nodes.map((n) => vertexOfHead.get(headOf[n.id]!)!);
  const members: StreamNode[][] = heads.map(() => []);
  for (const node of nodes) members[vertexOfNode[node.id]!]!.push(node);

  // Job edges: every non-chained stream edge, typed.
  const jobEdges: JobEdge[] = edges
    .filter((e) => !chained.has(e.id))
    .map((edge, index) => {
      assert(headOf[edge.targetId] === edge.targetId, `non-chained edge ${edge.id} must target a chain head`);
      return {
        index,
        streamEdge: edge,
        sourceVertex: vertexOfNode[edge.sourceId]!,
        targetVertex: vertexOfNode[edge.targetId]!,
        sourceNodeId: edge.sourceId,
        targetNodeId: edge.targetId,
        typeNumber: edge.typeNumber,
        partitioner: edge.partitioner,
        keySelector: edge.keySelector,
        distribution: distributionOf(edge.partitioner),
        partitionType: partitionTypeFor(opts.runtimeMode, opts.batchShuffleMode, edge.partitioner),
      };
    });
  for (const edge of jobEdges) {
    assert(edge.sourceVertex < edge.targetVertex, `job edge ${edge.index} must go forward in topological order`);
  }

  if (jobEdges.some((e) => isHybrid(e.partitionType))) {
    for (const head of heads) {
      const node = nodes[head]!;
      if (node.slotSharingGroup !== DEFAULT_SLOT_SHARING_GROUP) {
        throw new InputError(
          `${nodeField(node)}.slotSharingGroup`,
          `hybrid shuffle does not support a non-default slot sharing group ("${node.slotSharingGroup}")`,
        );
      }
    }
  }

  const logicalRegions = computeLogicalRegions({
    vertices: heads.map((_, index) => ({ index })),
    edges: jobEdges,
  });

  // Slot sharing: the group key of each vertex is its head's group, except BATCH default
  // vertices, which share by logical region.
  const regionOfVertex: number[] = new Array<number>(heads.length);
  for (const region of logicalRegions) for (const v of region.vertexIndices) regionOfVertex[v] = region.index;
  const groupKeyOf = (vertexIndex: number): string => {
    const group = nodes[heads[vertexIndex]!]!.slotSharingGroup;
    if (group !== DEFAULT_SLOT_SHARING_GROUP || opts.runtimeMode === "STREAMING") return group;
    return `${DEFAULT_SLOT_SHARING_GROUP} (region ${regionOfVertex[vertexIndex]})`;
  };
  const groupIndexByKey = new Map<string, number>();
  const groupMembers: { name: string; vertexIndices: number[] }[] = [];
  const vertexGroup = heads.map((_, v) => {
    const key = groupKeyOf(v);
    let g = groupIndexByKey.get(key);
    if (g === undefined) {
      g = groupMembers.length;
      groupIndexByKey.set(key, g);
      groupMembers.push({ name: key, vertexIndices: [] });
    }
    groupMembers[g]!.vertexIndices.push(v);
    return g;
  });

  const vertices: JobVertex[] = heads.map((head, index) => {
    const chainNodes = members[index]!;
    const chainNodeIds = new Set(chainNodes.map((n) => n.id));
    return {
      index,
      name: chainedName[head]!,
      headNodeId: head,
      nodes: chainNodes,
      chainedEdges: edges.filter((e) => chained.has(e.id) && chainNodeIds.has(e.targetId)),
      parallelism: nodeParallelism[head]!,
      maxParallelism: nodeMaxParallelism[head]!,
      slotSharingGroupIndex: vertexGroup[index]!,
      inputs: jobEdges.filter((e) => e.targetVertex === index),
      outputs: jobEdges.filter((e) => e.sourceVertex === index),
    };
  });
  for (const v of vertices) {
    for (const n of v.nodes) {
      assert(nodeParallelism[n.id] === v.parallelism, `chained node ${n.id} must share its vertex's parallelism`);
    }
  }

  return {
    jobName: streamGraph.jobName,
    runtimeMode: opts.runtimeMode,
    streamGraph,
    vertices,
    edges: jobEdges,
    slotSharingGroups: groupMembers.map((g, index) => ({ index, name: g.name, vertexIndices: g.vertexIndices })),
    logicalRegions,
    nodeParallelism,
    nodeMaxParallelism,
    vertexOfNode,
  };
}

function validateOptions(opts: JobGraphOptions): void {
  if (!Number.isInteger(opts.defaultParallelism) || opts.defaultParallelism < 1) {
    throw new InputError("parallelism.default", `${opts.defaultParallelism} must be an integer ≥ 1`);
  }
  if (
    !Number.isInteger(opts.maxParallelism) ||
    opts.maxParallelism < 1 ||
    opts.maxParallelism > UPPER_BOUND_MAX_PARALLELISM
  ) {
    throw new InputError(
      "pipeline.max-parallelism",
      `${opts.maxParallelism} must be an integer in [1, ${UPPER_BOUND_MAX_PARALLELISM}]`,
    );
  }
}

/** `job.nodes["Keyed Reduce"]`, or with the node id when two nodes share the name. */
function nodeFieldNamer(nodes: readonly StreamNode[]): (node: StreamNode) => string {
  const counts = new Map<string, number>();
  for (const n of nodes) counts.set(n.name, (counts.get(n.name) ?? 0) + 1);
  return (node) =>
    counts.get(node.name) === 1 ? `job.nodes["${node.name}"]` : `job.nodes["${node.name}" #${node.id}]`;
}
