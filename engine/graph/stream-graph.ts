/**
 * The StreamGraph: what the DataStream API builds — one node per transformation, one edge
 * per connection with its partitioner. The compiler turns it into a JobGraph (chaining),
 * then an ExecutionGraph (subtasks, partitions, regions).
 *
 * Invariants: node ids are dense counters in creation order (0, 1, ...), which is also a
 * topological order, because a transformation can only consume existing ones.
 */
import type { KeySelector, OperatorCost, OperatorFactory, PartitionerKind, SourceSpec } from "../api/types";

/** Flink's ChainingStrategy: ALWAYS chains both ways, HEAD only to its downstream, NEVER not at all. */
export type ChainingStrategy = "ALWAYS" | "HEAD" | "NEVER";

export interface WatermarkStrategySpec {
  /** forBoundedOutOfOrderness(d): watermark = maxTimestamp − d − 1 (ms). */
  outOfOrdernessMs: number;
  /** withIdleness(t): a split quiet for t ms is excluded from the min (ms); undefined = never. */
  idlenessMs?: number;
}

export interface StreamNode {
  readonly id: number;
  /** Operator name as Flink shows it, e.g. "Source: words", "Flat Map", "Keyed Reduce". */
  readonly name: string;
  readonly kind: "source" | "operator" | "sink";
  /** Set by setParallelism; undefined means parallelism.default. */
  parallelism: number | undefined;
  /** Set by setMaxParallelism; undefined means pipeline.max-parallelism. */
  maxParallelism: number | undefined;
  readonly operator: OperatorFactory;
  /** Sources only. */
  readonly source?: SourceSpec;
  readonly watermarks?: WatermarkStrategySpec;
  /** Keyed operators: the key of their input records (from the upstream keyBy). */
  readonly keySelector?: KeySelector;
  /**
   * Two-input keyed operators: the key of second-input records (Flink's second state
   * partitioner). Undefined for a broadcast second input: its elements have no key.
   */
  readonly keySelector2?: KeySelector;
  cost: OperatorCost;
  chainingStrategy: ChainingStrategy;
  slotSharingGroup: string;
  /** Library tag used by the oracle: sinks collect into the external store under this name. */
  readonly sinkName?: string;
}

export interface StreamEdge {
  readonly id: number;
  readonly sourceId: number;
  readonly targetId: number;
  readonly partitioner: PartitionerKind;
  /** hash partitioner: the key that picks the key group. */
  readonly keySelector?: KeySelector;
  /**
   * Which input of the target this edge feeds: 0, or 1 for the second input of a two-input
   * operator. Every edge of a union feeds the same input.
   */
  readonly typeNumber: number;
}

export class StreamGraph {
  readonly nodes: StreamNode[] = [];
  readonly edges: StreamEdge[] = [];
  jobName = "flowsim job";

  inEdges(nodeId: number): StreamEdge[] {
    return this.edges.filter((e) => e.targetId === nodeId);
  }

  outEdges(nodeId: number): StreamEdge[] {
    return this.edges.filter((e) => e.sourceId === nodeId);
  }
}
