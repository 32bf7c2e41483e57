/**
 * Failover strategies (`jobmanager.execution.failover-strategy`): which subtasks restart
 * when one fails. `full` restarts everything; `region` is Flink's
 * RestartPipelinedRegionFailoverStrategy (FLIP-1): starting from the failed subtask's
 * pipelined region, a breadth-first search adds
 *   1. the producer region of every partition an involved region consumes that is not
 *      available (not re-consumable like pipelined data, lost with its TaskManager, or
 *      marked failed after PartitionNotFound), and
 *   2. every consumer region of an involved region's partitions, even finished ones.
 * Pluggable (DESIGN style rule 6): a researcher can add a strategy and compare it.
 *
 * Invariant: the result contains the failed subtask, lists each subtask once, and is in
 * the execution graph's topological order.
 */
import type { ExecutionGraph, ExecutionVertexId, PartitionId } from "../graph/execution-graph";
import type { PipelinedRegion, RegionId } from "../graph/regions";

export interface FailoverContext {
  readonly executionGraph: ExecutionGraph;
  readonly regions: readonly PipelinedRegion[];
  regionOf(vertex: ExecutionVertexId): RegionId;
  /** False when a consumer could not read the partition again (see the module comment). */
  isPartitionAvailable(partition: PartitionId): boolean;
}

export interface FailoverStrategy {
  readonly name: string;
  /** Subtasks to restart after `failed` failed, in topological order. */
  verticesToRestart(failed: ExecutionVertexId, ctx: FailoverContext): ExecutionVertexId[];
}

export class RestartAllFailoverStrategy implements FailoverStrategy {
  readonly name = "full";
  verticesToRestart(_failed: ExecutionVertexId, ctx: FailoverContext): ExecutionVertexId[] {
    return ctx.executionGraph.vertices.map((v) => v.id);
  }
}

export class RestartPipelinedRegionFailoverStrategy implements FailoverStrategy {
  readonly name = "region";

  verticesToRestart(failed: ExecutionVertexId, ctx: FailoverContext): ExecutionVertexId[] {
    return this.regionsToRestart(failed, ctx)
      .flatMap((r) => ctx.regions[r]!.vertexIds)
      .sort((a, b) => topoIndex(ctx, a) - topoIndex(ctx, b));
  }

  /** The involved regions, ascending. */
  regionsToRestart(failed: ExecutionVertexId, ctx: FailoverContext): RegionId[] {
    const eg = ctx.executionGraph;
    const involved = new Set<RegionId>();
    const queue: RegionId[] = [ctx.regionOf(failed)];
    involved.add(queue[0]!);
    const visit = (r: RegionId) => {
      if (involved.has(r)) return;
      involved.add(r);
      queue.push(r);
    };
    for (let head = 0; head < queue.length; head++) {
      const region = ctx.regions[queue[head]!]!;
      for (const vid of region.vertexIds) {
        const v = eg.vertexById.get(vid)!;
        // 1. Producers of consumed partitions that cannot be read again.
        for (const gate of v.inputGates) {
          for (const channel of gate.channels) {
            if (ctx.isPartitionAvailable(channel.partitionId)) continue;
            visit(ctx.regionOf(eg.partitionById.get(channel.partitionId)!.producer));
          }
        }
        // 2. Every consumer of what this region produced, finished or not.
        for (const pid of v.producedPartitions) {
          // Unread subpartitions (broadcast copies in a dynamic graph, consumers not yet initialized) have none.
          for (const consumer of eg.partitionById.get(pid)!.subpartitionConsumers) if (consumer !== undefined) visit(ctx.regionOf(consumer));
        }
      }
    }
    return [...involved].sort((a, b) => a - b);
  }
}

function topoIndex(ctx: FailoverContext, vid: ExecutionVertexId): number {
  return ctx.executionGraph.vertexById.get(vid)!.topoIndex;
}

export function createFailoverStrategy(name: "full" | "region"): FailoverStrategy {
  return name === "full" ? new RestartAllFailoverStrategy() : new RestartPipelinedRegionFailoverStrategy();
}
