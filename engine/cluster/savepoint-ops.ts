/**
 * Savepoint operations of one run, on the JobManager's side: triggering savepoints (and
 * stop-with-savepoint, with or without --drain) at given virtual times, writing each
 * savepoint's `_metadata`, and starting the job from a savepoint named by
 * `execution.state-recovery.path` with `execution.state-recovery.claim-mode` — the restore
 * plan (engine/checkpoint/rescale.ts) redistributes its state to the job's parallelism.
 *
 * Invariants: the restore plan is set before the job is submitted; a savepoint's subtasks
 * hear it completed only after its metadata is durable; requests fire once each.
 */
import { InputError } from "../../sim/errors";
import type { Trace } from "../../sim/trace/recorder";
import type { KernelEvents } from "../../sim/trace/events";
import type { World } from "../../sim/world";
import type { EngineConfig } from "../config";
import { executionVertexId, type ExecutionVertexId } from "../graph/execution-graph";
import type { JobGraph } from "../graph/job-graph";
import type { EngineEvents } from "../trace-events";
import { planRestore, type RestoredVertex } from "../checkpoint/rescale";
import { METADATA_FILE, metadataBytes, savepointPath, type ClaimMode, type SavepointMetadata, type SavepointOptions } from "../checkpoint/savepoint";
import type { StateHandle } from "../checkpoint/snapshot";
import type { JobManager } from "./job-manager";

/** A savepoint to take at a virtual time (terminate: stop-with-savepoint). */
export interface SavepointRequest extends SavepointOptions {
  atNs: number;
}

export interface SavepointRunInfo {
  /** Savepoints completed (metadata durable), in order. */
  completed: SavepointMetadata[];
  /** Savepoints that failed, with why. */
  failed: { atNs: number; reason: string }[];
  /** The savepoint the job started from, if any. */
  restoredFrom: { path: string; id: number; claimMode: ClaimMode; handles: StateHandle[][]; oldParallelism: number[]; newParallelism: number[] } | undefined;
}

export class SavepointOps {
  readonly info: SavepointRunInfo = { completed: [], failed: [], restoredFrom: undefined };
  private readonly restoreMeta: SavepointMetadata | undefined;
  private readonly claim: ClaimMode;

  constructor(
    private readonly world: World,
    private readonly trace: Trace<EngineEvents & KernelEvents>,
    config: EngineConfig,
    private readonly jobGraph: JobGraph,
    private readonly requests: readonly SavepointRequest[],
    private readonly backend: string,
  ) {
    this.claim = config.get("execution.state-recovery.claim-mode") as ClaimMode;
    const path = config.get("execution.state-recovery.path") as string | undefined;
    if (path !== undefined && path !== null && path !== "") {
      const meta = world.blobStore.peek(`${path}/${METADATA_FILE}`) as SavepointMetadata | undefined;
      if (meta === undefined) throw new InputError("execution.state-recovery.path", `no savepoint at "${path}" (no ${path}/${METADATA_FILE} in the blob store)`);
      this.restoreMeta = meta;
    }
    for (const r of requests) {
      if (jobGraph.runtimeMode !== "STREAMING") throw new InputError("savepoint", "savepoints are taken of STREAMING jobs (BATCH jobs do not checkpoint)");
      if (config.get("execution.checkpointing.interval") === undefined || config.get("execution.checkpointing.interval") === null) {
        throw new InputError("savepoint", "needs execution.checkpointing.interval: flowsim's checkpoint coordinator (which takes savepoints) and the transactional sink's commits run only with checkpointing on");
      }
      if (config.get("execution.checkpointing.unaligned.enabled")) throw new InputError("savepoint", "savepoints with execution.checkpointing.unaligned.enabled are not modelled (Flink takes savepoints aligned)");
      if (!Number.isFinite(r.atNs) || r.atNs < 0) throw new InputError("savepoint.at", `must be a time ≥ 0, got ${r.atNs}`);
    }
  }

  /** Attempt numbers of a job started from a savepoint start above the old job's (sink fencing epochs only grow). */
  get attemptBase(): number {
    return this.restoreMeta === undefined ? 0 : this.restoreMeta.maxAttemptNumber + 1;
  }

  /** The first leader, before it submits: the restore plan; and the savepoint triggers (fired on the leader of the moment). */
  attach(leader: JobManager, current: () => JobManager): void {
    if (this.restoreMeta !== undefined) this.restore(leader, this.restoreMeta);
    for (const r of this.requests) this.world.kernel.schedule(r.atNs, () => this.trigger(current(), r));
  }

  private restore(leader: JobManager, meta: SavepointMetadata): void {
    const eg = leader.executionGraph;
    const vertices: RestoredVertex[] = this.jobGraph.vertices.map((v) => ({
      vertexId: `v${v.index}`,
      name: v.name,
      parallelism: eg.verticesOfJobVertex[v.index]!.length,
      maxParallelism: v.maxParallelism,
      isSource: v.nodes[0]!.kind === "source",
    }));
    const plan = planRestore(meta, vertices, this.claim, this.backend);
    const handles = new Map<ExecutionVertexId, StateHandle>();
    plan.forEach((hs, vi) => hs.forEach((h, si) => handles.set(executionVertexId(vi, si), h)));
    leader.setInitialRestore(handles);
    leader.checkpoints?.restoreFrom(meta.id, handles, this.claim, meta.path);
    let plannedReadBytes = 0;
    for (const h of handles.values()) plannedReadBytes += h.stateBytes;
    this.trace.emit("JobRestoredFromSavepoint", {
      checkpoint: meta.id,
      path: meta.path,
      claimMode: this.claim,
      format: meta.format,
      vertices: vertices.map((v, i) => ({ vertex: v.vertexId, name: v.name, oldParallelism: meta.vertices[i]!.parallelism, newParallelism: v.parallelism, maxParallelism: v.maxParallelism })),
      plannedReadBytes,
    });
    this.info.restoredFrom = {
      path: meta.path,
      id: meta.id,
      claimMode: this.claim,
      handles: plan,
      oldParallelism: meta.vertices.map((v) => v.parallelism),
      newParallelism: vertices.map((v) => v.parallelism),
    };
  }

  private trigger(leader: JobManager, r: SavepointRequest): void {
    const fail = (reason: string) => this.info.failed.push({ atNs: r.atNs, reason });
    const coordinator = leader.checkpoints;
    if (coordinator === undefined || leader.isTerminal) {
      fail(leader.isTerminal ? `the job was ${leader.status}` : "checkpointing is off");
      return;
    }
    coordinator.triggerSavepoint({ terminate: r.terminate, drain: r.drain, format: r.format }, (outcome) => {
      if (!outcome.ok) {
        fail(outcome.reason);
        return;
      }
      const path = savepointPath(outcome.id);
      const meta: Omit<SavepointMetadata, "stateBytes"> = {
        id: outcome.id,
        path,
        format: r.format,
        drained: r.drain,
        triggerNs: outcome.triggerNs,
        completedNs: outcome.completedNs,
        vertices: this.jobGraph.vertices.map((v) => {
          const ids = leader.executionGraph.verticesOfJobVertex[v.index]!;
          return { vertexId: `v${v.index}`, name: v.name, parallelism: ids.length, maxParallelism: v.maxParallelism, handles: ids.map((id) => outcome.handles.get(id)!) };
        }),
        maxAttemptNumber: leader.maxAttemptNumber,
        backend: this.backend,
      };
      let stateBytes = 0;
      for (const h of outcome.handles.values()) stateBytes += h.stateBytes;
      const full: SavepointMetadata = { ...meta, stateBytes };
      const bytes = metadataBytes(meta);
      // Flink finalizes the savepoint (writes _metadata) before the tasks hear it completed.
      this.world.blobStore.put(this.world.host(leader.host), `${path}/${METADATA_FILE}`, bytes, full, (err) => {
        if (err !== undefined) {
          fail(`writing ${path}/${METADATA_FILE} failed: ${err.code}`);
          return;
        }
        this.info.completed.push(full);
        this.trace.emit("SavepointStored", { checkpoint: outcome.id, path, stateBytes, metadataBytes: bytes });
        outcome.notify();
      });
    });
  }
}
