/**
 * Pipelined regions of the execution graph and the region scheduling state machine, as in
 * Flink's SchedulingPipelinedRegionComputeUtil and PipelinedRegionSchedulingStrategy.
 *
 * Regions: union-find over execution vertices along every input whose partition type must
 * be consumed pipelined (PIPELINED_BOUNDED); blocking and hybrid inputs split regions. Then
 * regions that form a cycle through non-pipelined results are merged (Tarjan SCC,
 * FLINK-17330: e.g. A→B pointwise pipelined plus A→B all-to-all blocking would otherwise
 * make region {A0,B0} wait for {A1,B1} and vice versa). The cycle search runs on the
 * region graph with one hub node per consumed partition group, which has exactly the
 * reachability of the full producer×consumer edge set but stays linear in its size.
 *
 * Scheduling (a pure state machine; the caller deploys what it returns):
 * - start: the source regions — no external non-pipelined input — plus, transitively,
 *   regions whose only waits are hybrid inputs from regions scheduled in the same step.
 *   With every edge pipelined (STREAMING) that is every region, at once.
 * - A BLOCKING input group is ready when all its partitions produced outside the region
 *   are finished (all producers, for all-to-all). A HYBRID input group is ready by the
 *   hybrid consume constraint (Flink's InputConsumableDeciders): UNFINISHED_PRODUCERS (the
 *   default) when its producers' regions are scheduled, so consumers may start early;
 *   ONLY_FINISHED_PRODUCERS when at least one of its external partitions is finished;
 *   ALL_PRODUCERS_FINISHED when all of them are, as for BLOCKING.
 * - Groups with partitions both inside and outside the region (Flink's cross-region
 *   groups, possible after a cycle merge) wait only for the outside ones.
 * - Candidates are checked in region id order, which is topological; a step returns the
 *   regions it schedules in that order and marks them scheduled at once (Flink adds them
 *   to scheduledRegions when it deploys), so no region is ever returned twice.
 * - reset (Flink's restartTasks): the regions become unscheduled, their produced
 *   partitions unfinished, and they are rescheduled at once when their inputs allow.
 *
 * Differences from Flink, all deliberate: region ids follow a true topological order of the
 * region DAG (ties by smallest vertex), where Flink sorts regions by their first vertex in
 * topological vertex order, which is not always topological; Flink re-checks consumers on
 * a vertex FINISHED event, we also accept single partitions (onPartitionFinished).
 *
 * Invariants: every execution vertex is in exactly one region; the producer and consumer
 * of every pipelined channel share a region; every producer region id is smaller than its
 * consumer's (the region graph is acyclic); a region is scheduled at most once between
 * resets; a partition finishes at most once between resets, only after its region was
 * scheduled.
 */
import { assert } from "../../sim/errors";
import { MinHeap } from "../../sim/min-heap";
import {
  type ConsumedPartitionGroupId,
  type ExecutionGraph,
  type ExecutionVertexId,
  getPartition,
  getVertex,
  type PartitionId,
} from "./execution-graph";
import { mustBePipelinedConsumed, type HybridConsumeConstraint, type ResultPartitionType } from "./result-partition-type";
import { DisjointSet } from "./union-find";

export { computeLogicalRegions, type LogicalRegion } from "./logical-regions";

export type RegionId = number & { readonly __brand: "RegionId" };

/** A non-pipelined consumed partition group of a region that waits on other regions. */
export interface RegionInput {
  readonly groupId: ConsumedPartitionGroupId;
  readonly edgeIndex: number;
  /** BLOCKING, HYBRID_FULL or HYBRID_SELECTIVE — never pipelined. */
  readonly partitionType: ResultPartitionType;
  /** The group's partitions produced outside this region: the ones scheduling waits for. */
  readonly externalPartitionIds: readonly PartitionId[];
  /** Some of the group's partitions are produced inside this region (Flink's cross-region group). */
  readonly crossRegion: boolean;
  /** Regions producing `externalPartitionIds`, ascending. */
  readonly producerRegionIds: readonly RegionId[];
}

export interface PipelinedRegion {
  /** Dense, in topological order of the region graph. */
  readonly id: RegionId;
  /** Member execution vertices, topological. */
  readonly vertexIds: readonly ExecutionVertexId[];
  /** Non-pipelined input groups with at least one partition from another region, by group id. */
  readonly externalInputs: readonly RegionInput[];
  /** Regions this one consumes from, ascending. */
  readonly producerRegionIds: readonly RegionId[];
  /** Regions consuming from this one, ascending. */
  readonly consumerRegionIds: readonly RegionId[];
}

/** The pipelined regions of an execution graph, ids in topological order. */
export function computeRegions(eg: ExecutionGraph): PipelinedRegion[] {
  const vertexCount = eg.vertices.length;
  const topoOf = (id: ExecutionVertexId): number => getVertex(eg, id).topoIndex;
  const producerTopoOf = (pid: PartitionId): number => topoOf(getPartition(eg, pid).producer);

  // 1. Raw regions: components over must-be-pipelined channels.
  const sets = new DisjointSet(vertexCount);
  for (const v of eg.vertices) {
    for (const gate of v.inputGates) {
      if (!mustBePipelinedConsumed(gate.partitionType)) continue;
      for (const channel of gate.channels) sets.union(producerTopoOf(channel.partitionId), v.topoIndex);
    }
  }
  const raw = sets.components();
  const rawOfVertex = new Array<number>(vertexCount);
  raw.forEach((members, r) => members.forEach((t) => (rawOfVertex[t] = r)));

  // 2. Merge raw regions on cycles through non-pipelined groups (hub node per group).
  const nonPipelinedGroups = eg.groups.filter((g) => !mustBePipelinedConsumed(g.partitionType));
  const adjacency: number[][] = raw.map(() => []);
  for (const group of nonPipelinedGroups) {
    const hub = adjacency.length;
    adjacency.push(uniqueSorted(group.consumerIds.map((id) => rawOfVertex[topoOf(id)]!)));
    for (const r of uniqueSorted(group.partitionIds.map((pid) => rawOfVertex[producerTopoOf(pid)]!))) {
      adjacency[r]!.push(hub);
    }
  }
  const component = stronglyConnectedComponents(adjacency);
  const merged = new DisjointSet(raw.length);
  const firstRawOfComponent = new Map<number, number>();
  for (let r = 0; r < raw.length; r++) {
    const first = firstRawOfComponent.get(component[r]!);
    if (first === undefined) firstRawOfComponent.set(component[r]!, r);
    else merged.union(first, r);
  }
  // Merged regions as sorted vertex topo indices, ordered by smallest vertex.
  const mergedRegions = merged
    .components()
    .map((rawMembers) => rawMembers.flatMap((r) => raw[r]!).sort((a, b) => a - b))
    .sort((a, b) => a[0]! - b[0]!);
  const mergedOfVertex = new Array<number>(vertexCount);
  mergedRegions.forEach((members, m) => members.forEach((t) => (mergedOfVertex[t] = m)));

  // 3. Topological ids: Kahn over the merged region DAG, ties by smallest vertex.
  const successors: Set<number>[] = mergedRegions.map(() => new Set<number>());
  for (const group of nonPipelinedGroups) {
    const producers = uniqueSorted(group.partitionIds.map((pid) => mergedOfVertex[producerTopoOf(pid)]!));
    const consumers = uniqueSorted(group.consumerIds.map((id) => mergedOfVertex[topoOf(id)]!));
    for (const p of producers) for (const c of consumers) if (p !== c) successors[p]!.add(c);
  }
  const indegree = mergedRegions.map(() => 0);
  for (const succ of successors) for (const c of succ) indegree[c]!++;
  const ready = new MinHeap<number>((a, b) => a < b); // merged indices are ordered by smallest vertex
  indegree.forEach((d, m) => d === 0 && ready.push(m));
  const idOfMerged = new Array<RegionId>(mergedRegions.length);
  let next = 0;
  while (ready.size > 0) {
    const m = ready.pop()!;
    idOfMerged[m] = next++ as RegionId;
    for (const c of [...successors[m]!].sort((a, b) => a - b)) if (--indegree[c]! === 0) ready.push(c);
  }
  assert(next === mergedRegions.length, "region graph has a cycle after the SCC merge");

  // 4. Region records with their external inputs.
  const regionOfTopo = (t: number): RegionId => idOfMerged[mergedOfVertex[t]!]!;
  const regionOfProducer = (pid: PartitionId): RegionId => regionOfTopo(producerTopoOf(pid));
  const byId: { vertexTopo: number[] }[] = new Array(mergedRegions.length);
  mergedRegions.forEach((members, m) => (byId[idOfMerged[m]!] = { vertexTopo: members }));

  const inputsOf: RegionInput[][] = byId.map(() => []);
  const groupsOfRegion: Set<ConsumedPartitionGroupId>[] = byId.map(() => new Set());
  for (const group of nonPipelinedGroups) {
    for (const id of group.consumerIds) groupsOfRegion[regionOfTopo(topoOf(id))]!.add(group.id);
  }
  const groupById = new Map(eg.groups.map((g) => [g.id, g] as const));
  groupsOfRegion.forEach((groupIds, region) => {
    for (const gid of [...groupIds].sort((a, b) => a - b)) {
      const group = groupById.get(gid)!;
      const external = group.partitionIds.filter((pid) => regionOfProducer(pid) !== region);
      if (external.length === 0) continue; // produced inside: deployed together, nothing to wait for
      inputsOf[region]!.push({
        groupId: gid,
        edgeIndex: group.edgeIndex,
        partitionType: group.partitionType,
        externalPartitionIds: external,
        crossRegion: external.length < group.partitionIds.length,
        producerRegionIds: uniqueSorted(external.map(regionOfProducer)) as RegionId[],
      });
    }
  });

  const consumersOf: Set<RegionId>[] = byId.map(() => new Set());
  inputsOf.forEach((inputs, region) => {
    for (const input of inputs) for (const p of input.producerRegionIds) consumersOf[p]!.add(region as RegionId);
  });

  return byId.map((r, id) => {
    const inputs = inputsOf[id]!;
    const producers = uniqueSorted(inputs.flatMap((i) => i.producerRegionIds)) as RegionId[];
    for (const p of producers) assert(p < id, `producer region ${p} must precede consumer region ${id}`);
    return {
      id: id as RegionId,
      vertexIds: r.vertexTopo.map((t) => eg.vertices[t]!.id),
      externalInputs: inputs,
      producerRegionIds: producers,
      consumerRegionIds: [...consumersOf[id]!].sort((a, b) => a - b),
    };
  });
}

/**
 * Regions of newly initialized vertices of a dynamic graph whose edges are all
 * non-pipelined (the adaptive batch scheduler's precondition): one region per vertex, ids
 * from `firstId`; each gate's group is an external input. Producer regions learn their new
 * consumers (their `consumerRegionIds` grow).
 */
export function appendSingletonRegions(
  eg: ExecutionGraph,
  regions: PipelinedRegion[],
  vertices: readonly ExecutionVertexId[],
  regionOf: Map<ExecutionVertexId, RegionId>,
): PipelinedRegion[] {
  const added: PipelinedRegion[] = [];
  const groupById = new Map(eg.groups.map((g) => [g.id, g] as const));
  for (const vid of vertices) {
    const id = regions.length as RegionId;
    const v = getVertex(eg, vid);
    const externalInputs: RegionInput[] = v.inputGates.map((gate) => {
      assert(!mustBePipelinedConsumed(gate.partitionType), `${vid}: a pipelined input in a dynamic graph`);
      const group = groupById.get(gate.groupId)!;
      const producerRegionIds = uniqueSorted(group.partitionIds.map((pid) => regionOf.get(getPartition(eg, pid).producer)!)) as RegionId[];
      return { groupId: group.id, edgeIndex: group.edgeIndex, partitionType: group.partitionType, externalPartitionIds: group.partitionIds, crossRegion: false, producerRegionIds };
    });
    const producerRegionIds = uniqueSorted(externalInputs.flatMap((i) => i.producerRegionIds)) as RegionId[];
    const region: PipelinedRegion = { id, vertexIds: [vid], externalInputs, producerRegionIds, consumerRegionIds: [] };
    for (const p of producerRegionIds) (regions[p]!.consumerRegionIds as RegionId[]).push(id);
    regions.push(region);
    regionOf.set(vid, id);
    added.push(region);
  }
  return added;
}

/** Region of every execution vertex. */
export function regionOfVertexMap(regions: readonly PipelinedRegion[]): Map<ExecutionVertexId, RegionId> {
  const out = new Map<ExecutionVertexId, RegionId>();
  for (const region of regions) for (const v of region.vertexIds) out.set(v, region.id);
  return out;
}

/** Regions without external non-pipelined inputs: scheduled first. */
export function sourceRegions(regions: readonly PipelinedRegion[]): RegionId[] {
  return regions.filter((r) => r.externalInputs.length === 0).map((r) => r.id);
}

/**
 * Region scheduling as a pure state machine (PipelinedRegionSchedulingStrategy). Every
 * method that returns region ids has already marked them scheduled; the caller deploys
 * them, in the returned (topological) order, all-or-nothing per region.
 */
export class PipelinedRegionScheduling {
  private readonly scheduled: boolean[];
  private readonly finished = new Set<PartitionId>();
  /** Regions that wait on a group (it is one of their external inputs). */
  private readonly consumersOfGroup = new Map<ConsumedPartitionGroupId, RegionId[]>();
  /**
   * Per region: regions with a hybrid input from it (candidates once it is scheduled);
   * empty unless the constraint is UNFINISHED_PRODUCERS.
   */
  private readonly hybridConsumers: RegionId[][];
  private readonly regionOfVertex: Map<ExecutionVertexId, RegionId>;
  private started = false;

  constructor(
    private readonly eg: ExecutionGraph,
    private readonly regions: readonly PipelinedRegion[],
    private readonly hybridConstraint: HybridConsumeConstraint = "UNFINISHED_PRODUCERS",
  ) {
    regions.forEach((r, i) => assert(r.id === i, `region ids must be dense: region at ${i} has id ${r.id}`));
    this.scheduled = regions.map(() => false);
    this.regionOfVertex = regionOfVertexMap(regions);
    assert(this.regionOfVertex.size === eg.vertices.length, "regions must cover every execution vertex once");
    this.hybridConsumers = regions.map(() => []);
    for (const region of regions) this.registerInputs(region);
  }

  private registerInputs(region: PipelinedRegion): void {
    for (const input of region.externalInputs) {
      let consumers = this.consumersOfGroup.get(input.groupId);
      if (consumers === undefined) this.consumersOfGroup.set(input.groupId, (consumers = []));
      consumers.push(region.id);
      if (input.partitionType !== "BLOCKING" && this.hybridConstraint === "UNFINISHED_PRODUCERS") {
        for (const p of input.producerRegionIds) {
          const list = this.hybridConsumers[p]!;
          if (list[list.length - 1] !== region.id) list.push(region.id);
        }
      }
    }
  }

  /** Source regions (and the hybrid consumers they unlock): what to deploy first. */
  start(): RegionId[] {
    assert(!this.started, "region scheduling started twice");
    this.started = true;
    return this.maybeSchedule(sourceRegions(this.regions));
  }

  /**
   * Starts scheduling after a batch job recovery (JobManager failover): the regions of the
   * recovered finished vertices count as scheduled and their partitions as finished; returns
   * every other region whose inputs allow scheduling. Recovery resets whole regions, so a
   * region is either all finished or not at all.
   */
  startRecovered(finishedVertices: readonly ExecutionVertexId[]): RegionId[] {
    assert(!this.started, "region scheduling started twice");
    this.started = true;
    const finished = new Set(finishedVertices);
    const regions = new Set(finishedVertices.map((v) => this.regionOf(v)));
    for (const id of regions) {
      const region = this.regions[id]!;
      assert(region.vertexIds.every((v) => finished.has(v)), `region ${id} is partly finished after recovery`);
      this.scheduled[id] = true;
      for (const v of region.vertexIds) {
        for (const pid of getVertex(this.eg, v).producedPartitions) if (!mustBePipelinedConsumed(getPartition(this.eg, pid).partitionType)) this.finished.add(pid);
      }
    }
    return this.maybeSchedule(this.regions.map((r) => r.id));
  }

  /** A partition's producer finished it; returns regions that became schedulable. */
  onPartitionFinished(partitionId: PartitionId): RegionId[] {
    return this.maybeSchedule(this.markFinished(partitionId));
  }

  /**
   * A vertex finished: all its non-pipelined partitions are finished at once (Flink's
   * FINISHED event); returns regions that became schedulable.
   */
  onVertexFinished(vertexId: ExecutionVertexId): RegionId[] {
    const candidates = getVertex(this.eg, vertexId).producedPartitions.flatMap((pid) => this.markFinished(pid));
    return this.maybeSchedule(candidates);
  }

  /**
   * Failover restart of whole regions (Flink's restartTasks): unschedules them, forgets
   * their finished partitions, and returns those of them (plus hybrid consumers) whose
   * inputs allow scheduling right away. Choosing the set (failed region, producers of lost
   * inputs, all consumers) is the failover strategy's job.
   */
  reset(regionIds: readonly RegionId[]): RegionId[] {
    for (const id of regionIds) {
      const region = this.regions[id];
      assert(region !== undefined, `unknown region ${id}`);
      this.scheduled[id] = false;
      for (const v of region.vertexIds) {
        for (const pid of getVertex(this.eg, v).producedPartitions) this.finished.delete(pid);
      }
    }
    return this.maybeSchedule(regionIds);
  }

  /**
   * Adaptive batch scheduling: the regions of newly initialized vertices join (the caller
   * has appended them to the regions array it passed in; ids continue the dense
   * numbering). Returns those schedulable now, with the hybrid consumers they unlock.
   */
  addRegions(added: readonly PipelinedRegion[]): RegionId[] {
    for (const region of added) {
      assert(region.id === this.scheduled.length && this.regions[region.id] === region, `added region ${region.id} is not the next one`);
      this.scheduled.push(false);
      this.hybridConsumers.push([]);
      for (const v of region.vertexIds) {
        assert(!this.regionOfVertex.has(v), `vertex ${v} is in two regions`);
        this.regionOfVertex.set(v, region.id);
      }
      this.registerInputs(region);
    }
    return this.started ? this.maybeSchedule(added.map((r) => r.id)) : [];
  }

  isScheduled(regionId: RegionId): boolean {
    const s = this.scheduled[regionId];
    assert(s !== undefined, `unknown region ${regionId}`);
    return s;
  }

  isPartitionFinished(partitionId: PartitionId): boolean {
    return this.finished.has(partitionId);
  }

  regionOf(vertexId: ExecutionVertexId): RegionId {
    const r = this.regionOfVertex.get(vertexId);
    assert(r !== undefined, `unknown execution vertex ${vertexId}`);
    return r;
  }

  scheduledRegionIds(): RegionId[] {
    return this.regions.filter((r) => this.scheduled[r.id]).map((r) => r.id);
  }

  /** Records a finished partition; returns the regions to re-check. */
  private markFinished(partitionId: PartitionId): RegionId[] {
    const part = getPartition(this.eg, partitionId);
    // Pipelined partitions never gate scheduling; their end is the runtime's business.
    if (mustBePipelinedConsumed(part.partitionType)) return [];
    assert(
      this.scheduled[this.regionOf(part.producer)],
      `partition ${partitionId} finished but its producer's region is not scheduled`,
    );
    assert(!this.finished.has(partitionId), `partition ${partitionId} finished twice`);
    this.finished.add(partitionId);
    // Under UNFINISHED_PRODUCERS hybrid consumers wait for their producers' scheduling, not their end.
    if (part.partitionType !== "BLOCKING" && this.hybridConstraint === "UNFINISHED_PRODUCERS") return [];
    return part.groupIds.flatMap((g) => this.consumersOfGroup.get(g) ?? []);
  }

  private maybeSchedule(candidates: readonly RegionId[]): RegionId[] {
    const pending = new Set<RegionId>();
    let next = uniqueSorted(candidates) as RegionId[];
    // Each round accepts at least one region or ends; a region is accepted at most once.
    const maxRounds = this.regions.length + 1;
    for (let round = 0; next.length > 0; round++) {
      assert(round <= maxRounds, "region scheduling did not reach a fixpoint");
      const following: RegionId[] = [];
      for (const id of next) {
        if (!this.isSchedulable(id, pending)) continue;
        pending.add(id);
        following.push(...this.hybridConsumers[id]!);
      }
      next = uniqueSorted(following) as RegionId[];
    }
    const out = [...pending].sort((a, b) => a - b);
    for (const id of out) {
      assert(!this.scheduled[id], `region ${id} scheduled twice`);
      this.scheduled[id] = true;
    }
    return out;
  }

  private isSchedulable(id: RegionId, pending: ReadonlySet<RegionId>): boolean {
    const region = this.regions[id];
    assert(region !== undefined, `unknown region ${id}`);
    if (this.scheduled[id] || pending.has(id)) return false;
    for (const input of region.externalInputs) {
      if (input.partitionType === "BLOCKING" || this.hybridConstraint === "ALL_PRODUCERS_FINISHED") {
        if (!input.externalPartitionIds.every((pid) => this.finished.has(pid))) return false;
      } else if (this.hybridConstraint === "ONLY_FINISHED_PRODUCERS") {
        // Flink's NUM_FINISHED_PARTITIONS_AS_CONSUMABLE = 1.
        if (!input.externalPartitionIds.some((pid) => this.finished.has(pid))) return false;
      } else if (!input.producerRegionIds.every((p) => this.scheduled[p] || pending.has(p))) {
        return false;
      }
    }
    return true;
  }
}

/**
 * Tarjan's strongly connected components, iterative (no recursion depth limit). Returns a
 * component number per node; numbers depend only on the adjacency lists' order.
 */
export function stronglyConnectedComponents(adjacency: readonly (readonly number[])[]): number[] {
  const n = adjacency.length;
  const index = new Array<number>(n).fill(-1);
  const low = new Array<number>(n).fill(0);
  const onStack = new Array<boolean>(n).fill(false);
  const component = new Array<number>(n).fill(-1);
  const stack: number[] = [];
  const frames: { node: number; next: number }[] = [];
  let counter = 0;
  let components = 0;
  const visit = (v: number): void => {
    index[v] = low[v] = counter++;
    stack.push(v);
    onStack[v] = true;
    frames.push({ node: v, next: 0 });
  };
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    visit(root);
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const v = frame.node;
      const edges = adjacency[v]!;
      if (frame.next < edges.length) {
        const w = edges[frame.next++]!;
        if (index[w] === -1) visit(w);
        else if (onStack[w]) low[v] = Math.min(low[v]!, index[w]!);
        continue;
      }
      frames.pop();
      if (frames.length > 0) {
        const parent = frames[frames.length - 1]!.node;
        low[parent] = Math.min(low[parent]!, low[v]!);
      }
      if (low[v] === index[v]) {
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = false;
          component[w] = components;
        } while (w !== v);
        components++;
      }
    }
  }
  return component;
}

function uniqueSorted(values: readonly number[]): number[] {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.filter((v, i) => i === 0 || sorted[i - 1] !== v);
}
