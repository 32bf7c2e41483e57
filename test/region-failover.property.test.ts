/**
 * Region failover (flink-mechanics §1, FLIP-1) checked against a naive model.
 *
 * Random StreamGraphs are compiled into ExecutionGraphs (as engine/graph/graph.property.test.ts
 * does, weighted towards BATCH so regions are non-trivial); a random subtask fails while a
 * random set of partitions is unavailable. RestartPipelinedRegionFailoverStrategy must pick
 * exactly what a naive breadth-first search predicts. The naive side imports nothing from
 * engine/failover or engine/scheduler and does not reuse computeRegions: it derives the
 * regions itself from the execution graph's channels (union-find over must-be-pipelined
 * channels, then merging regions on a cycle until the region graph is acyclic) and runs the
 * BFS of §1 on them:
 *   1. the failed subtask's region is involved;
 *   2. the producer region of every unavailable partition an involved region consumes is;
 *   3. every region consuming from an involved region is, even finished ones.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { propRuns } from "./prop";
import { PARTITIONER_KINDS, type PartitionerKind } from "../engine/api/types";
import { buildExecutionGraph, type ExecutionGraph, type ExecutionVertexId, type PartitionId } from "../engine/graph/execution-graph";
import { BATCH_SHUFFLE_MODES, compileJobGraph, type JobGraphOptions } from "../engine/graph/job-graph";
import { computeRegions, regionOfVertexMap, type PipelinedRegion } from "../engine/graph/regions";
import type { ResultPartitionType } from "../engine/graph/result-partition-type";
import type { ChainingStrategy } from "../engine/graph/stream-graph";
import { GraphBuilder, randomStreamGraph, type RandomNodeSpec } from "../engine/graph/testkit";
import {
  type FailoverContext,
  RestartAllFailoverStrategy,
  RestartPipelinedRegionFailoverStrategy,
} from "../engine/failover/failover-strategy";
import { StreamExecutionEnvironment, resolvePartitioners } from "../engine/api/environment";
import { GeneratorSource } from "../engine/api/sources";
import { TransactionalSink } from "../engine/api/sinks";
import { runJob } from "../engine/job-run";
import { runOracle } from "../engine/oracle/oracle";
import { checkExactlyOnce } from "../engine/oracle/checker";
import { MemorySink } from "../sim/trace/recorder";
import { Rng } from "../sim/rng";

// ---- the naive model (nothing from engine/failover or engine/scheduler) ----------------

/** Flink's mustBePipelinedConsumed, written out: only pipelined data glues regions. */
const MUST_BE_PIPELINED: Record<ResultPartitionType, boolean> = {
  PIPELINED_BOUNDED: true,
  BLOCKING: false,
  HYBRID_FULL: false,
  HYBRID_SELECTIVE: false,
};

/** Flink's isReconsumable (1.17+: HYBRID_FULL too), written out. */
const RECONSUMABLE: Record<ResultPartitionType, boolean> = {
  PIPELINED_BOUNDED: false,
  BLOCKING: true,
  HYBRID_FULL: true,
  HYBRID_SELECTIVE: false,
};

interface Channel {
  partition: PartitionId;
  producer: ExecutionVertexId;
  consumer: ExecutionVertexId;
  type: ResultPartitionType;
}

/** Every (partition, producer, consumer) read, from the consumers' input gates. */
function channelsOf(eg: ExecutionGraph): Channel[] {
  const out: Channel[] = [];
  for (const v of eg.vertices) {
    for (const gate of v.inputGates) {
      for (const ch of gate.channels) {
        const part = eg.partitionById.get(ch.partitionId)!;
        out.push({ partition: part.id, producer: part.producer, consumer: v.id, type: part.partitionType });
      }
    }
  }
  return out;
}

/** Naive regions: vertex → region representative (a vertex id). */
function naiveRegions(eg: ExecutionGraph, channels: readonly Channel[]): Map<ExecutionVertexId, ExecutionVertexId> {
  const parent = new Map<ExecutionVertexId, ExecutionVertexId>(eg.vertices.map((v) => [v.id, v.id]));
  const find = (x: ExecutionVertexId): ExecutionVertexId => {
    while (parent.get(x) !== x) x = parent.get(x)!;
    return x;
  };
  const union = (a: ExecutionVertexId, b: ExecutionVertexId): boolean => {
    const ra = find(a);
    const rb = find(b);
    if (ra === rb) return false;
    parent.set(rb, ra);
    return true;
  };
  for (const c of channels) if (MUST_BE_PIPELINED[c.type]) union(c.producer, c.consumer);

  // Merge regions that reach each other through the region graph, until none do.
  for (let rounds = 0; ; rounds++) {
    expect(rounds).toBeLessThanOrEqual(eg.vertices.length);
    const succ = new Map<ExecutionVertexId, Set<ExecutionVertexId>>();
    for (const c of channels) {
      const p = find(c.producer);
      const q = find(c.consumer);
      if (p === q) continue;
      if (!succ.has(p)) succ.set(p, new Set());
      succ.get(p)!.add(q);
    }
    const reach = (from: ExecutionVertexId): Set<ExecutionVertexId> => {
      const seen = new Set<ExecutionVertexId>();
      const stack = [from];
      while (stack.length > 0) {
        for (const n of succ.get(stack.pop()!) ?? []) {
          if (!seen.has(n)) {
            seen.add(n);
            stack.push(n);
          }
        }
      }
      return seen;
    };
    const roots = [...new Set(eg.vertices.map((v) => find(v.id)))];
    let mergedAny = false;
    for (const r of roots) {
      const fromR = reach(r);
      if (!fromR.has(r)) continue; // not on a cycle
      for (const s of fromR) if (reach(s).has(r)) mergedAny = union(r, s) || mergedAny;
      break; // the region graph changed: start over
    }
    if (!mergedAny) break;
  }
  return new Map(eg.vertices.map((v) => [v.id, find(v.id)]));
}

interface NaiveResult {
  vertices: ExecutionVertexId[];
  regionOf: Map<ExecutionVertexId, ExecutionVertexId>;
  /** Regions before the cycle merge differed from after it. */
  cycleMerged: boolean;
}

function naiveVerticesToRestart(
  eg: ExecutionGraph,
  failed: ExecutionVertexId,
  available: (p: PartitionId) => boolean,
): NaiveResult {
  const channels = channelsOf(eg);
  const regionOf = naiveRegions(eg, channels);
  const members = new Map<ExecutionVertexId, ExecutionVertexId[]>();
  for (const v of eg.vertices) {
    const r = regionOf.get(v.id)!;
    if (!members.has(r)) members.set(r, []);
    members.get(r)!.push(v.id);
  }
  const consumed = new Map<ExecutionVertexId, Channel[]>();
  const produced = new Map<ExecutionVertexId, Channel[]>();
  for (const c of channels) {
    if (!consumed.has(c.consumer)) consumed.set(c.consumer, []);
    consumed.get(c.consumer)!.push(c);
    if (!produced.has(c.producer)) produced.set(c.producer, []);
    produced.get(c.producer)!.push(c);
  }
  const involved = new Set<ExecutionVertexId>([regionOf.get(failed)!]);
  const queue = [regionOf.get(failed)!];
  while (queue.length > 0) {
    const r = queue.shift()!;
    const add = (v: ExecutionVertexId) => {
      const region = regionOf.get(v)!;
      if (!involved.has(region)) {
        involved.add(region);
        queue.push(region);
      }
    };
    for (const v of members.get(r)!) {
      for (const c of consumed.get(v) ?? []) if (!available(c.partition)) add(c.producer);
      for (const c of produced.get(v) ?? []) add(c.consumer);
    }
  }
  const vertices = eg.vertices.filter((v) => involved.has(regionOf.get(v.id)!)).map((v) => v.id);
  const pipelinedOnly = naiveRegionsWithoutMerge(eg, channels);
  const cycleMerged = new Set(regionOf.values()).size !== new Set(pipelinedOnly.values()).size;
  return { vertices, regionOf, cycleMerged };
}

function naiveRegionsWithoutMerge(eg: ExecutionGraph, channels: readonly Channel[]): Map<ExecutionVertexId, number> {
  // Connected components over pipelined channels by repeated relabelling (tiny graphs).
  const label = new Map<ExecutionVertexId, number>(eg.vertices.map((v, i) => [v.id, i]));
  for (let changed = true; changed; ) {
    changed = false;
    for (const c of channels) {
      if (!MUST_BE_PIPELINED[c.type]) continue;
      const m = Math.min(label.get(c.producer)!, label.get(c.consumer)!);
      if (label.get(c.producer) !== m || label.get(c.consumer) !== m) {
        label.set(c.producer, m);
        label.set(c.consumer, m);
        changed = true;
      }
    }
  }
  return label;
}

/** Regions as a canonical list of sorted member lists, for comparing two partitions. */
function partitionOf(groups: Iterable<readonly string[]>): string[] {
  return [...groups].map((g) => [...g].sort().join(",")).sort();
}

// ---- random graphs (as engine/graph/graph.property.test.ts) -----------------------------


type NodeSpec = RandomNodeSpec;

const nodeSpec: fc.Arbitrary<NodeSpec> = fc.record({
  parallelism: fc.integer({ min: 1, max: 4 }),
  sameAsInput: fc.boolean(),
  chaining: fc.constantFrom<ChainingStrategy>("ALWAYS", "ALWAYS", "HEAD", "NEVER"),
  group: fc.constantFrom("default", "default", "default", "g"),
  inputs: fc.array(
    fc.record({
      from: fc.nat(),
      // Pointwise partitioners are over-weighted: they make pointwise-pipelined regions.
      partitioner: fc.constantFrom<PartitionerKind>(...PARTITIONER_KINDS, "forward", "forward", "rescale", "rescale"),
    }),
    { maxLength: 2 },
  ),
});

const jobOptions: fc.Arbitrary<JobGraphOptions> = fc.record({
  runtimeMode: fc.constantFrom<"STREAMING" | "BATCH">("BATCH", "BATCH", "BATCH", "BATCH", "STREAMING"),
  batchShuffleMode: fc.constantFrom(
    ...BATCH_SHUFFLE_MODES,
    "ALL_EXCHANGES_BLOCKING",
    "POINTWISE_EDGES_PIPELINED",
    "POINTWISE_EDGES_PIPELINED",
    "FORWARD_EDGES_PIPELINED",
  ),
  defaultParallelism: fc.integer({ min: 1, max: 4 }),
  maxParallelism: fc.constant(128),
  chainingEnabled: fc.boolean(),
});

const toStreamGraph = randomStreamGraph;

function compile(nodes: readonly NodeSpec[], opts: JobGraphOptions): ExecutionGraph {
  const hybrid = opts.runtimeMode === "BATCH" && opts.batchShuffleMode.includes("HYBRID");
  return buildExecutionGraph(compileJobGraph(toStreamGraph(nodes, !hybrid), opts));
}

function contextOf(eg: ExecutionGraph, regions: readonly PipelinedRegion[], available: (p: PartitionId) => boolean): FailoverContext {
  const regionOf = regionOfVertexMap(regions);
  return {
    executionGraph: eg,
    regions,
    regionOf: (v) => regionOf.get(v)!,
    isPartitionAvailable: available,
  };
}

const failoverCase = fc.record({
  nodes: fc.array(nodeSpec, { minLength: 1, maxLength: 8 }),
  opts: jobOptions,
  failedSeed: fc.nat(),
  /** Indices (mod #partitions) of partitions lost or marked failed. */
  lostSeeds: fc.array(fc.nat(), { maxLength: 5 }),
  /** As the JobManager does: a partition that cannot be read again is unavailable too. */
  nonReconsumableUnavailable: fc.boolean(),
});

// ---- properties --------------------------------------------------------------------------

describe("region failover vs a naive breadth-first model", () => {
  it("RestartPipelinedRegionFailoverStrategy restarts exactly what the naive BFS predicts", () => {
    const region = new RestartPipelinedRegionFailoverStrategy();
    const full = new RestartAllFailoverStrategy();
    const seen = { cycleMerged: 0, partial: 0, viaLostInput: 0, multiRegion: 0 };
    fc.assert(
      fc.property(failoverCase, ({ nodes, opts, failedSeed, lostSeeds, nonReconsumableUnavailable }) => {
        const eg = compile(nodes, opts);
        const regions = computeRegions(eg);
        const failed = eg.vertices[failedSeed % eg.vertices.length]!.id;
        const lost = new Set(lostSeeds.map((i) => eg.partitions[i % Math.max(1, eg.partitions.length)]?.id).filter((p) => p !== undefined));
        const available = (pid: PartitionId): boolean => {
          const part = eg.partitionById.get(pid)!;
          if (lost.has(pid)) return false;
          return !nonReconsumableUnavailable || RECONSUMABLE[part.partitionType];
        };
        const ctx = contextOf(eg, regions, available);
        const naive = naiveVerticesToRestart(eg, failed, available);

        // The naive regions are the engine's regions (same partition of the vertices).
        const naiveGroups = new Map<string, string[]>();
        for (const [v, r] of naive.regionOf) {
          if (!naiveGroups.has(r)) naiveGroups.set(r, []);
          naiveGroups.get(r)!.push(v);
        }
        expect(partitionOf(regions.map((r) => r.vertexIds))).toEqual(partitionOf(naiveGroups.values()));

        const got = region.verticesToRestart(failed, ctx);
        expect(got).toEqual(naive.vertices);
        // The strategy's invariants: contains the failed subtask, each once, topological.
        expect(got).toContain(failed);
        expect(new Set(got).size).toBe(got.length);
        const topo = got.map((v) => eg.vertexById.get(v)!.topoIndex);
        expect(topo).toEqual([...topo].sort((a, b) => a - b));

        const everything = full.verticesToRestart(failed, ctx);
        expect(everything).toEqual(eg.vertices.map((v) => v.id));

        if (naive.cycleMerged) seen.cycleMerged++;
        if (regions.length > 1) seen.multiRegion++;
        if (got.length < everything.length) seen.partial++;
        const failedRegion = regions.find((r) => r.vertexIds.includes(failed))!;
        if (got.some((v) => eg.vertexById.get(v)!.topoIndex < eg.vertexById.get(failedRegion.vertexIds[0]!)!.topoIndex)) {
          seen.viaLostInput++; // an upstream producer region joined because its output was unavailable
        }
      }),
      { numRuns: propRuns(300) },
    );
    // Coverage: the interesting shapes really occurred (style rule 9), at the suite's budget.
    if (propRuns(300) >= 300) {
      expect(seen.multiRegion).toBeGreaterThan(100);
      expect(seen.partial).toBeGreaterThan(50);
      expect(seen.viaLostInput).toBeGreaterThan(10);
      expect(seen.cycleMerged).toBeGreaterThan(0);
    }
  });

  it("a cycle through a blocking edge merges the regions (FLINK-17330) and the naive model agrees", () => {
    // A(p2) → B(p2) forward pipelined + A → B hash blocking: {A0,B0} and {A1,B1} wait on each other.
    const b = new GraphBuilder();
    const a = b.node("Source: a", { parallelism: 2 });
    const op = b.node("Op b", { parallelism: 2, chaining: "NEVER" });
    b.edge(a, op, "forward", 1);
    b.edge(a, op, "hash", 2);
    const eg = buildExecutionGraph(
      compileJobGraph(b.graph, {
        runtimeMode: "BATCH",
        batchShuffleMode: "POINTWISE_EDGES_PIPELINED",
        defaultParallelism: 2,
        maxParallelism: 128,
        chainingEnabled: true,
      }),
    );
    const regions = computeRegions(eg);
    expect(regions.length).toBe(1);
    const naive = naiveVerticesToRestart(eg, eg.vertices[0]!.id, () => true);
    expect(naive.cycleMerged).toBe(true);
    const got = new RestartPipelinedRegionFailoverStrategy().verticesToRestart(eg.vertices[0]!.id, contextOf(eg, regions, () => true));
    expect(got).toEqual(naive.vertices);
    expect(got.length).toBe(4);
  });
});

// ---- pointwise-heavy BATCH DAGs: region failover saves work -----------------------------

const ALL_BLOCKING_NO_CHAINING: JobGraphOptions = {
  runtimeMode: "BATCH",
  batchShuffleMode: "ALL_EXCHANGES_BLOCKING",
  defaultParallelism: 2,
  maxParallelism: 128,
  chainingEnabled: false,
};

/** A chain of stages with the given parallelisms, joined by forward (equal p) or rescale edges. */
function pointwiseChain(parallelisms: readonly number[]): ExecutionGraph {
  const b = new GraphBuilder();
  let prev = -1;
  parallelisms.forEach((p, i) => {
    const id = b.node(i === 0 ? "Source: s" : i === parallelisms.length - 1 ? "Sink: out" : `Map ${i}`, { parallelism: p });
    if (prev >= 0) b.edge(prev, id, parallelisms[i - 1] === p ? "forward" : "rescale");
    prev = id;
  });
  return buildExecutionGraph(compileJobGraph(b.graph, ALL_BLOCKING_NO_CHAINING));
}

describe("region failover on pointwise BATCH DAGs restarts strictly less than full failover", () => {
  it("source p=4 → forward map → rescale map p=2 → rescale sink p=4: a failed source restarts 5 of 14", () => {
    const eg = pointwiseChain([4, 4, 2, 4]);
    const regions = computeRegions(eg);
    expect(regions.length).toBe(14); // all blocking: one subtask per region
    const ctx = contextOf(eg, regions, () => true);
    const got = new RestartPipelinedRegionFailoverStrategy().verticesToRestart(eg.verticesOfJobVertex[0]![0]!, ctx);
    // source[0] → map[0] → map2[0] (reads sources 0,1 via rescale 4→2) → sink[0], sink[1] (rescale 2→4).
    expect(got).toEqual(["v0[0]", "v1[0]", "v2[0]", "v3[0]", "v3[1]"]);
    expect(new RestartAllFailoverStrategy().verticesToRestart(eg.verticesOfJobVertex[0]![0]!, ctx).length).toBe(14);
  });

  it("any pointwise all-blocking chain with source parallelism ≥ 2, any failed subtask", () => {
    const region = new RestartPipelinedRegionFailoverStrategy();
    const full = new RestartAllFailoverStrategy();
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 4 }),
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 5 }),
        (sourceP, rest) => {
          const eg = pointwiseChain([sourceP, ...rest]);
          const ctx = contextOf(eg, computeRegions(eg), () => true);
          for (const v of eg.vertices) {
            const got = region.verticesToRestart(v.id, ctx);
            expect(got.length).toBeLessThan(full.verticesToRestart(v.id, ctx).length);
            expect(got).toEqual(naiveVerticesToRestart(eg, v.id, () => true).vertices);
          }
        },
      ),
      { numRuns: propRuns(100) },
    );
  });

  it("end to end: a failing map in a pointwise BATCH job restarts fewer subtasks under region than full, both exactly once", () => {
    type Rec = { key: number; seq: number };
    const build = (env: StreamExecutionEnvironment, inject: boolean) => {
      let seen = 0;
      env
        .fromSource<Rec>(GeneratorSource({ records: 400, splits: 4, keys: { count: 10, distribution: "uniform" } }), "none", "gen")
        .setParallelism(4)
        .map((r, ctx) => {
          if (inject && ctx.attemptNumber === 0 && ctx.subtaskIndex === 0 && ++seen === 20) throw new Error("injected failure");
          return r;
        }, "Failing Map")
        .setParallelism(4)
        .disableChaining()
        .rescale()
        .map((r) => ({ ...r, seq: r.seq * 2 }), "Double")
        .setParallelism(2)
        .rescale()
        .sinkTo(TransactionalSink("out"));
    };
    const oracleEnv = new StreamExecutionEnvironment();
    build(oracleEnv, false);
    const graph = oracleEnv.getStreamGraph();
    resolvePartitioners(graph, 4);
    const expected = runOracle(graph, { runtimeMode: "BATCH", seed: Rng.root(3) });
    const restarted: Record<string, number> = {};
    for (const strategy of ["region", "full"] as const) {
      const sink = new MemorySink();
      const result = runJob({
        seed: 3,
        scenario: "pointwise-region-failover",
        config: {
          "execution.runtime-mode": "BATCH",
          "parallelism.default": 4,
          "taskmanager.numberOfTaskSlots": 4,
          "restart-strategy.type": "fixed-delay",
          "jobmanager.execution.failover-strategy": strategy,
        },
        cluster: { taskManagers: 2, coresPerTaskManager: 2 },
        job: (env) => build(env, true),
        trace: { sink },
      });
      expect(result.status, result.failureCause).toBe("FINISHED");
      const failovers = sink.lines.map((l) => JSON.parse(l) as { kind: string; vertices?: string[] }).filter((e) => e.kind === "FailoverTriggered");
      expect(failovers.length).toBe(1);
      restarted[strategy] = failovers[0]!.vertices!.length;
      const check = checkExactlyOnce(new Map([...result.outputs].map(([k, v]) => [k, [...v]])), expected, { compare: "multiset" });
      expect(check.ok, check.summary).toBe(true);
    }
    expect(restarted.region!).toBeLessThan(restarted.full!);
  });
});
