/**
 * StreamExecutionEnvironment: where a DataStream program starts; it owns the StreamGraph
 * the API builds (one node per transformation, ids dense in creation order, so also
 * topological) and the job name.
 *
 * Two things the StreamGraph contract has no field for are carried as extra properties on
 * edge objects (read them with the helpers below; see the report on contract changes):
 * - `partitionerUnset`: the user chose no partitioner. Flink then picks forward when the
 *   parallelisms match and rebalance otherwise — but parallelism can change after the edge
 *   is made, so the edge holds a provisional "forward" and `resolvePartitioners` decides at
 *   compile time (re-runnable: the flag stays);
 * - `sideOutputTag`: the edge carries the producer's side output with that tag (e.g. late
 *   window data), not its main output.
 */
import { InputError } from "../../sim/errors";
import { StreamGraph, type ChainingStrategy, type StreamEdge, type StreamNode, type WatermarkStrategySpec } from "../graph/stream-graph";
import { SingleOutputStream } from "./datastream";
import { SourceOperator } from "./operators";
import type { KeySelector, OperatorFactory, PartitionerKind, SourceSpec } from "./types";

export const DEFAULT_SLOT_SHARING_GROUP = "default";

/** A StreamEdge as the API creates it (the extra fields are optional, so any StreamEdge is one). */
export interface ApiStreamEdge extends StreamEdge {
  readonly partitionerUnset?: boolean;
  readonly sideOutputTag?: string;
}

/** The side output an edge carries, or undefined for the main output. */
export function sideOutputTagOf(edge: StreamEdge): string | undefined {
  return (edge as ApiStreamEdge).sideOutputTag;
}

/** True when the user chose no partitioner for the edge (resolvePartitioners decides). */
export function isPartitionerUnset(edge: StreamEdge): boolean {
  return (edge as ApiStreamEdge).partitionerUnset === true;
}

/**
 * Decides every unset partitioner as Flink's StreamGraphGenerator does — forward if the
 * effective parallelisms (node.parallelism ?? defaultParallelism) are equal, else
 * rebalance — and checks explicit forward edges (Flink: "Forward partitioning does not
 * allow change of parallelism"). Mutates and returns the graph; safe to call again with
 * another default parallelism.
 */
export function resolvePartitioners(graph: StreamGraph, defaultParallelism: number): StreamGraph {
  const parallelismOf = (id: number) => graph.nodes[id]!.parallelism ?? defaultParallelism;
  graph.edges.forEach((edge, i) => {
    const up = parallelismOf(edge.sourceId);
    const down = parallelismOf(edge.targetId);
    if (isPartitionerUnset(edge)) {
      const partitioner: PartitionerKind = up === down ? "forward" : "rebalance";
      if (partitioner !== edge.partitioner) graph.edges[i] = { ...edge, partitioner };
    } else if (edge.partitioner === "forward" && up !== down) {
      const a = graph.nodes[edge.sourceId]!;
      const b = graph.nodes[edge.targetId]!;
      throw new InputError(
        `edge ${a.name} -> ${b.name}`,
        `forward partitioning does not allow a change of parallelism (${up} -> ${down}); use rebalance, rescale, broadcast or global`,
      );
    }
  });
  return graph;
}

/** Everything the API needs to create a node; the environment fills in the rest. */
export interface NodeInit {
  name: string;
  kind: StreamNode["kind"];
  operator: OperatorFactory;
  chainingStrategy: ChainingStrategy;
  source?: SourceSpec;
  watermarks?: WatermarkStrategySpec;
  keySelector?: KeySelector;
  keySelector2?: KeySelector;
  sinkName?: string;
}

export interface EdgeInit {
  from: number;
  /** undefined = unset (resolvePartitioners decides). */
  partitioner: PartitionerKind | undefined;
  keySelector?: KeySelector;
  sideOutputTag?: string;
  /** The target's input this edge feeds (StreamEdge.typeNumber): 0 unless it is a second input. */
  input?: number;
}

export class StreamExecutionEnvironment {
  readonly graph = new StreamGraph();
  private parallelism: number | undefined;
  private maxParallelism: number | undefined;
  private readonly sourceNames = new Set<string>();
  private readonly sinkNames = new Set<string>();

  constructor(jobName = "flowsim job") {
    this.graph.jobName = jobName;
  }

  get jobName(): string {
    return this.graph.jobName;
  }

  /** Default parallelism of nodes created from now on (Flink's env.setParallelism); unset = parallelism.default. */
  setParallelism(parallelism: number): this {
    checkPositiveInt("env.parallelism", parallelism);
    this.parallelism = parallelism;
    return this;
  }

  /** Default max parallelism of nodes created from now on; unset = pipeline.max-parallelism. */
  setMaxParallelism(maxParallelism: number): this {
    checkPositiveInt("env.maxParallelism", maxParallelism);
    this.maxParallelism = maxParallelism;
    return this;
  }

  /**
   * A FLIP-27 source. `name` must be unique in the job: the source's data streams are named
   * after it (job-rng.ts). Watermarks "none" = WatermarkStrategy.noWatermarks() (records
   * still carry the source's timestamps).
   */
  fromSource<T = unknown>(source: SourceSpec, watermarks: WatermarkStrategySpec | "none", name: string): SingleOutputStream<T> {
    if (typeof name !== "string" || name.length === 0) throw new InputError("fromSource.name", "must be a non-empty string");
    if (this.sourceNames.has(name)) throw new InputError("fromSource.name", `duplicate source name "${name}" (source data streams are named after it)`);
    if (watermarks !== "none") {
      if (!Number.isSafeInteger(watermarks.outOfOrdernessMs) || watermarks.outOfOrdernessMs < 0) {
        throw new InputError("fromSource.watermarks.outOfOrdernessMs", `must be a non-negative integer, got ${watermarks.outOfOrdernessMs}`);
      }
      if (watermarks.idlenessMs !== undefined && !(Number.isSafeInteger(watermarks.idlenessMs) && watermarks.idlenessMs > 0)) {
        throw new InputError("fromSource.watermarks.idlenessMs", `must be a positive integer, got ${watermarks.idlenessMs}`);
      }
    }
    this.sourceNames.add(name);
    const node = this.addNode(
      {
        name: `Source: ${name}`,
        kind: "source",
        operator: () => new SourceOperator(),
        chainingStrategy: "HEAD",
        source,
        ...(watermarks === "none" ? {} : { watermarks: { ...watermarks } }),
      },
      [],
    );
    return new SingleOutputStream<T>(this, node.id);
  }

  /** The graph built so far (what the compiler consumes; call resolvePartitioners on it). */
  getStreamGraph(): StreamGraph {
    if (this.graph.nodes.length === 0) throw new InputError("job", "no operators defined in the streaming topology");
    return this.graph;
  }

  /** @internal Registers a sink's store name (unique per job). */
  claimSinkName(sinkName: string): void {
    if (this.sinkNames.has(sinkName)) throw new InputError("sinkTo", `duplicate sink name "${sinkName}" (it names the sink's output in the store)`);
    this.sinkNames.add(sinkName);
  }

  /** @internal Adds a node fed by `inputs`; parallelism and slot sharing group as Flink defaults them. */
  addNode(init: NodeInit, inputs: readonly EdgeInit[]): StreamNode {
    const g = this.graph;
    const inputGroups = new Set(inputs.map((e) => g.nodes[e.from]!.slotSharingGroup));
    const node: StreamNode = {
      id: g.nodes.length,
      name: init.name,
      kind: init.kind,
      parallelism: this.parallelism,
      maxParallelism: this.maxParallelism,
      operator: init.operator,
      cost: {},
      chainingStrategy: init.chainingStrategy,
      // Flink: an operation whose inputs share one group, and that sets none, joins it.
      slotSharingGroup: inputGroups.size === 1 ? [...inputGroups][0]! : DEFAULT_SLOT_SHARING_GROUP,
      ...(init.source !== undefined ? { source: init.source } : {}),
      ...(init.watermarks !== undefined ? { watermarks: init.watermarks } : {}),
      ...(init.keySelector !== undefined ? { keySelector: init.keySelector } : {}),
      ...(init.keySelector2 !== undefined ? { keySelector2: init.keySelector2 } : {}),
      ...(init.sinkName !== undefined ? { sinkName: init.sinkName } : {}),
    };
    g.nodes.push(node);
    for (const input of inputs) {
      const edge: ApiStreamEdge = {
        id: g.edges.length,
        sourceId: input.from,
        targetId: node.id,
        partitioner: input.partitioner ?? "forward",
        typeNumber: input.input ?? 0,
        ...(input.partitioner === undefined ? { partitionerUnset: true } : {}),
        ...(input.keySelector !== undefined ? { keySelector: input.keySelector } : {}),
        ...(input.sideOutputTag !== undefined ? { sideOutputTag: input.sideOutputTag } : {}),
      };
      g.edges.push(edge);
    }
    return node;
  }

  /** @internal Replaces a node's readonly fields (StreamNode.name is readonly in the contract). */
  updateNode(id: number, patch: Partial<StreamNode>): void {
    const node = this.graph.nodes[id]!;
    this.graph.nodes[id] = { ...node, ...patch };
  }
}

export function checkPositiveInt(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) throw new InputError(field, `must be a positive integer, got ${value}`);
}
