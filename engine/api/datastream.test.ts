import { describe, expect, it } from "vitest";
import { StreamExecutionEnvironment, isPartitionerUnset, resolvePartitioners, sideOutputTagOf } from "./environment";
import { CollectSink, TransactionalSink } from "./sinks";
import { GeneratorSource } from "./sources";
import { TumblingEventTimeWindows } from "./windows";

const source = () => GeneratorSource({ records: 10, splits: 2 });
const shape = (env: StreamExecutionEnvironment) => ({
  nodes: env.graph.nodes.map((n) => `${n.id} ${n.name} ${n.kind} p=${n.parallelism ?? "-"} ${n.chainingStrategy} ${n.slotSharingGroup}${n.keySelector ? " keyed" : ""}`),
  edges: env.graph.edges.map((e) => `${e.sourceId}->${e.targetId} ${e.partitioner}${isPartitionerUnset(e) ? " (unset)" : ""}${e.keySelector ? " key" : ""}${sideOutputTagOf(e) ? ` side:${sideOutputTagOf(e)}` : ""}`),
});

describe("DataStream API → StreamGraph", () => {
  it("builds nodes with Flink's names and chaining strategies, and edges with their partitioners", () => {
    const env = new StreamExecutionEnvironment("wc");
    env
      .fromSource<string>(source(), "none", "lines")
      .flatMap<{ w: string; n: number }>((s, out) => out.collect({ w: s, n: 1 }))
      .keyBy((x) => x.w)
      .sum("n")
      .sinkTo(TransactionalSink("counts"));
    expect(env.jobName).toBe("wc");
    expect(shape(env)).toEqual({
      nodes: [
        "0 Source: lines source p=- HEAD default",
        "1 Flat Map operator p=- ALWAYS default",
        "2 Keyed Aggregation operator p=- ALWAYS default keyed",
        "3 counts: Writer sink p=- ALWAYS default",
        "4 counts: Committer sink p=- ALWAYS default",
      ],
      edges: ["0->1 forward (unset)", "1->2 hash key", "2->3 forward (unset)", "3->4 forward"],
    });
    expect(env.graph.nodes[3]!.sinkName).toBe("counts");
    expect(env.graph.nodes[4]!.sinkName).toBe("counts");
    // The keyed node and its hash edge carry the same selector.
    expect(env.graph.nodes[2]!.keySelector!({ w: "x" })).toBe("x");
    expect(env.graph.edges[1]!.keySelector!({ w: "y" })).toBe("y");
  });

  it("resolvePartitioners: unset edges become forward (equal parallelism) or rebalance; re-runnable", () => {
    const env = new StreamExecutionEnvironment();
    env
      .fromSource(source(), "none", "s")
      .setParallelism(2)
      .map((x) => x)
      .setParallelism(3)
      .rescale()
      .filter(() => true)
      .setParallelism(3)
      .sinkTo(CollectSink("out"))
      .setParallelism(3);
    const g = env.getStreamGraph();
    resolvePartitioners(g, 3);
    expect(g.edges.map((e) => e.partitioner)).toEqual(["rebalance", "rescale", "forward"]);
    g.nodes[3]!.parallelism = undefined; // the sink now takes the default
    resolvePartitioners(g, 4);
    expect(g.edges.map((e) => e.partitioner)).toEqual(["rebalance", "rescale", "rebalance"]);
    expect(g.edges.every((e, i) => i === 1 || isPartitionerUnset(e))).toBe(true);
  });

  it("an explicit forward edge between different parallelisms is rejected at resolve time", () => {
    const env = new StreamExecutionEnvironment();
    env.fromSource(source(), "none", "s").setParallelism(2).forward().map((x) => x).setParallelism(4);
    expect(() => resolvePartitioners(env.graph, 1)).toThrow(/forward partitioning does not allow a change of parallelism \(2 -> 4\)/);
  });

  it("partitioning methods set the next edge's partitioner; node settings apply to the node", () => {
    const env = new StreamExecutionEnvironment();
    const s = env.fromSource(source(), "none", "s");
    s.broadcast().map((x) => x, "B");
    s.global().map((x) => x, "G");
    s.rebalance().map((x) => x, "R").name("Renamed").setMaxParallelism(64).setParallelism(8).slotSharingGroup("other").disableChaining().withCost({ cpuNsPerRecord: 500 });
    s.map((x) => x, "N").startNewChain().filter(() => true);
    expect(shape(env)).toEqual({
      nodes: [
        "0 Source: s source p=- HEAD default",
        "1 B operator p=- ALWAYS default",
        "2 G operator p=- ALWAYS default",
        "3 Renamed operator p=8 NEVER other",
        "4 N operator p=- HEAD default",
        "5 Filter operator p=- ALWAYS default",
      ],
      edges: ["0->1 broadcast", "0->2 global", "0->3 rebalance", "0->4 forward (unset)", "4->5 forward (unset)"],
    });
    expect(env.graph.nodes[3]!.maxParallelism).toBe(64);
    expect(env.graph.nodes[3]!.cost).toEqual({ cpuNsPerRecord: 500 });
  });

  it("a node inherits its input's slot sharing group; env.setParallelism sets later nodes' parallelism", () => {
    const env = new StreamExecutionEnvironment().setParallelism(5);
    env.fromSource(source(), "none", "s").map((x) => x).slotSharingGroup("g1").map((x) => x);
    expect(env.graph.nodes.map((n) => [n.parallelism, n.slotSharingGroup])).toEqual([
      [5, "default"],
      [5, "g1"],
      [5, "g1"],
    ]);
  });

  it("a window with late data: the late side output is its own edge to its own sink", () => {
    const env = new StreamExecutionEnvironment();
    const windows = env
      .fromSource<{ k: string }>(source(), { outOfOrdernessMs: 10 }, "s")
      .keyBy((r) => r.k)
      .window(TumblingEventTimeWindows.of(1000))
      .sideOutputLateData("lateOnes")
      .reduce((a) => a);
    windows.sinkTo(CollectSink("w"));
    windows.getSideOutput("lateOnes").sinkTo(CollectSink("late"));
    expect(shape(env).nodes[1]).toBe("1 Window(TumblingEventTimeWindows(1000), EventTimeTrigger, ReduceFunction) operator p=- ALWAYS default keyed");
    expect(shape(env).edges).toEqual(["0->1 hash key", "1->2 forward (unset)", "1->3 forward (unset) side:lateOnes"]);
    expect(env.graph.nodes[0]!.watermarks).toEqual({ outOfOrdernessMs: 10 });
  });

  it("sink settings apply to writer and committer; names are validated and unique", () => {
    const env = new StreamExecutionEnvironment();
    const s = env.fromSource(source(), "none", "s");
    s.sinkTo(TransactionalSink("t")).setParallelism(3).name("MySink").slotSharingGroup("sinks");
    expect(env.graph.nodes.slice(1).map((n) => `${n.name} p=${n.parallelism} ${n.slotSharingGroup} ${n.sinkName}`)).toEqual([
      "MySink: Writer p=3 sinks t",
      "MySink: Committer p=3 sinks t",
    ]);
    expect(() => s.sinkTo(CollectSink("t"))).toThrow(/duplicate sink name "t"/);
    expect(() => env.fromSource(source(), "none", "s")).toThrow(/duplicate source name "s"/);
    expect(() => CollectSink("")).toThrow(/CollectSink.name/);
    expect(() => s.map((x) => x).setParallelism(0)).toThrow(/Map.parallelism: must be a positive integer/);
    expect(() => s.map((x) => x).setMaxParallelism(4).setParallelism(8)).toThrow(/exceeds the max parallelism 4/);
    expect(() => s.map((x) => x).withCost({ cpuNs: 1 } as never)).toThrow(/withCost.cpuNs: unknown cost field/);
    expect(() => env.fromSource(source(), { outOfOrdernessMs: -1 }, "x")).toThrow(/outOfOrdernessMs/);
    expect(() => new StreamExecutionEnvironment().getStreamGraph()).toThrow(/no operators/);
  });

  it("keyBy checks the selector's keys", () => {
    const env = new StreamExecutionEnvironment();
    env.fromSource(source(), "none", "s").keyBy((r) => r as never).reduce((a) => a);
    expect(() => env.graph.edges[0]!.keySelector!({ not: "a key" })).toThrow(/keyBy: key selector returned object/);
  });
});
