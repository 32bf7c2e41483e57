/**
 * Test-only helper: builds StreamGraphs by hand (what the DataStream API would produce) with
 * no-op operators, so graph tests do not depend on the API layer.
 *
 * Invariant: node and edge ids are dense counters in creation order, as StreamGraph requires.
 */
import type { OperatorFactory, PartitionerKind, StreamOperator } from "../api/types";
import { type ChainingStrategy, StreamGraph, type StreamNode } from "./stream-graph";

const noopOperator: StreamOperator = {
  open() {},
  processElement() {},
  processWatermark() {},
  onEventTimer() {},
  onProcessingTimer() {},
  endInput() {},
  close() {},
};

export const dummyOperatorFactory: OperatorFactory = () => noopOperator;

export interface NodeOptions {
  parallelism?: number;
  maxParallelism?: number;
  chaining?: ChainingStrategy;
  group?: string;
  kind?: StreamNode["kind"];
}

export class GraphBuilder {
  readonly graph = new StreamGraph();

  node(name: string, opts: NodeOptions = {}): number {
    const id = this.graph.nodes.length;
    const kind = opts.kind ?? (name.startsWith("Source") ? "source" : name.startsWith("Sink") ? "sink" : "operator");
    this.graph.nodes.push({
      id,
      name,
      kind,
      parallelism: opts.parallelism,
      maxParallelism: opts.maxParallelism,
      operator: dummyOperatorFactory,
      cost: {},
      // Flink's sources are HEAD (nothing chains into them); other operators ALWAYS.
      chainingStrategy: opts.chaining ?? (kind === "source" ? "HEAD" : "ALWAYS"),
      slotSharingGroup: opts.group ?? "default",
    });
    return id;
  }

  edge(sourceId: number, targetId: number, partitioner: PartitionerKind, typeNumber = 0): number {
    const id = this.graph.edges.length;
    this.graph.edges.push({
      id,
      sourceId,
      targetId,
      partitioner,
      ...(partitioner === "hash" ? { keySelector: (v: unknown) => String(v) } : {}),
      typeNumber,
    });
    return id;
  }
}

/** source → flatMap → keyBy → sum → sink, every node at parallelism `p`. */
export function wordCount(p = 2): StreamGraph {
  const b = new GraphBuilder();
  const source = b.node("Source: words", { parallelism: p });
  const flatMap = b.node("Flat Map", { parallelism: p });
  const sum = b.node("Keyed Reduce", { parallelism: p });
  const sink = b.node("Sink: out", { parallelism: p });
  b.edge(source, flatMap, "forward");
  b.edge(flatMap, sum, "hash");
  b.edge(sum, sink, "forward");
  return b.graph;
}

/** One node of a random DAG for property tests (see randomStreamGraph). */
export interface RandomNodeSpec {
  parallelism: number;
  sameAsInput: boolean;
  chaining: ChainingStrategy;
  group: string;
  inputs: { from: number; partitioner: PartitionerKind }[];
}

/**
 * A random DAG: node i reads from earlier nodes; forward only where parallelisms match
 * (otherwise rescale). `namedGroupsAllowed: false` keeps every node in "default" (hybrid
 * shuffle refuses named slot sharing groups).
 */
export function randomStreamGraph(nodes: readonly RandomNodeSpec[], namedGroupsAllowed = true): StreamGraph {
  const b = new GraphBuilder();
  nodes.forEach((spec, i) => {
    const inputs = i === 0 ? [] : spec.inputs.map((input) => ({ ...input, from: input.from % i }));
    const p = spec.sameAsInput && inputs.length > 0 ? b.graph.nodes[inputs[0]!.from]!.parallelism! : spec.parallelism;
    const id = b.node(inputs.length === 0 ? `Source: s${i}` : `Op ${i}`, {
      parallelism: p,
      chaining: inputs.length === 0 ? "HEAD" : spec.chaining,
      group: namedGroupsAllowed ? spec.group : "default",
    });
    inputs.forEach((input, k) => {
      const upP = b.graph.nodes[input.from]!.parallelism;
      const partitioner = input.partitioner === "forward" && upP !== p ? "rescale" : input.partitioner;
      b.edge(input.from, id, partitioner, inputs.length > 1 ? k + 1 : 0);
    });
  });
  return b.graph;
}
