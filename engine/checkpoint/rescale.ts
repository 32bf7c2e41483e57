/**
 * Restoring a savepoint, at the same or a new parallelism (Flink's StateAssignmentOperation
 * and the key-group / operator-state repartitioners).
 *
 * - Keyed state: new subtask i of a vertex owns key groups keyGroupRangeForOperatorIndex(
 *   maxParallelism, newP, i). It reads, from each old subtask whose range overlaps, only the
 *   overlapping key groups' bytes (a ranged read by the savepoint's key-group offsets, as
 *   Flink's KeyGroupRangeOffsets allow), and keeps the entries and timers of its groups.
 * - Operator (non-keyed) state is list state: at an unchanged parallelism each subtask
 *   keeps its own list; otherwise the lists of all old subtasks are concatenated in
 *   subtask order and cut into newP contiguous, nearly equal parts (Flink's
 *   RoundRobinOperatorStateRepartitioner), so every element goes to exactly one subtask.
 * - Broadcast state (every subtask holds the same copy): new subtask i takes old subtask
 *   (i mod oldP)'s copy, as Flink's repartitioner does for BROADCAST operator state.
 * - Source split state: the splits are reassigned by the enumerator to the new readers
 *   (round-robin, engine/api/sources.ts assignSplits); every reader learns every split's
 *   offset and seeks those it was given.
 * - Max parallelism (the number of key groups) must not change; a parallelism above it
 *   cannot own a key group per subtask and is refused.
 *
 * Invariants: the new subtasks' key-group ranges of a vertex partition [0, maxParallelism);
 * each operator-list element is assigned to exactly one new subtask; a restore reads at
 * most the bytes of the old handles it names.
 */
import type { BlobStore } from "../../sim/blob-store";
import { InputError, assert } from "../../sim/errors";
import type { Host } from "../../sim/host";
import { keyGroupFor, keyGroupRangeForOperatorIndex } from "../api/key-groups";
import type { SplitOffset } from "../api/sources";
import type { ClaimMode, SavepointMetadata, SavepointVertex } from "./savepoint";
import { isBroadcastStateSnapshot, type OperatorSnapshot, type RescaledRestore, type StateHandle, type SubtaskSnapshot } from "./snapshot";

/** What the restored job looks like, per job vertex (by index, as in the savepoint). */
export interface RestoredVertex {
  vertexId: string;
  name: string;
  parallelism: number;
  maxParallelism: number;
  isSource: boolean;
}

/** Header of a private blob read on restore (version, counts, offsets table). */
const HEADER_BYTES = 16;
const OFFSET_BYTES = 16;

/** Handles of every new subtask, by vertex index and subtask index; throws a one-line InputError on a mismatch. */
export function planRestore(meta: SavepointMetadata, vertices: readonly RestoredVertex[], claim: ClaimMode, backend: string): StateHandle[][] {
  const field = "execution.state-recovery.path";
  if (vertices.length !== meta.vertices.length) {
    throw new InputError(field, `savepoint ${meta.path} has ${meta.vertices.length} job vertices, the restored job ${vertices.length}: the job graph must be the same`);
  }
  if (meta.format === "NATIVE" && backend !== meta.backend) {
    throw new InputError(field, `savepoint ${meta.path} is in NATIVE format of the ${meta.backend} backend; restoring with ${backend} needs a CANONICAL savepoint`);
  }
  return vertices.map((v, index) => {
    const old = meta.vertices[index]!;
    if (old.name !== v.name) throw new InputError(field, `job vertex ${index} is "${v.name}" but savepoint ${meta.path} has "${old.name}": the job graph must be the same`);
    if (old.maxParallelism !== v.maxParallelism) {
      throw new InputError("pipeline.max-parallelism", `"${v.name}" has max parallelism ${v.maxParallelism} but savepoint ${meta.path} has ${old.maxParallelism}: the number of key groups cannot change on restore`);
    }
    if (v.parallelism > v.maxParallelism) {
      throw new InputError("parallelism.default", `"${v.name}" cannot run at parallelism ${v.parallelism} above its max parallelism ${v.maxParallelism} (the savepoint's key groups)`);
    }
    return planVertex(meta, old, v, claim);
  });
}

function planVertex(meta: SavepointMetadata, old: SavepointVertex, v: RestoredVertex, claim: ClaimMode): StateHandle[] {
  const oldP = old.parallelism;
  const newP = v.parallelism;
  const maxP = v.maxParallelism;
  const oldRanges = Array.from({ length: oldP }, (_, j) => keyGroupRangeForOperatorIndex(maxP, oldP, j));
  const allFinished = old.handles.every((h) => h.finished === true);
  // Operator lists: element ranges per old subtask, in the concatenated order.
  const listNodes = [...new Set(old.handles.flatMap((h) => (h.operatorLists ?? []).map((l) => l.node)))].sort();
  const listTotals = new Map(listNodes.map((node) => [node, old.handles.reduce((n, h) => n + (h.operatorLists?.find((l) => l.node === node)?.count ?? 0), 0)]));
  return Array.from({ length: newP }, (_, i) => {
    const r = keyGroupRangeForOperatorIndex(maxP, newP, i);
    const base = { savepointId: meta.id, maxParallelism: maxP, newIndex: i, newParallelism: newP, oldParallelism: oldP, keyGroups: { start: r.startKeyGroup, end: r.endKeyGroup } };
    if (allFinished) {
      // FLIP-147: a vertex that had finished everywhere is deployed finished; it reads nothing.
      const rescale: RescaledRestore = { ...base, parts: [], lists: [], nativeFiles: false, noClaim: claim === "NO_CLAIM" };
      return { checkpointId: meta.id, blobKey: `${meta.path}/(finished)`, stateBytes: 0, finished: true, rescale };
    }
    const parts: RescaledRestore["parts"] = [];
    let shared: StateHandle["shared"];
    let nativeFiles = false;
    old.handles.forEach((h, j) => {
      let bytes = 0;
      let needed = false;
      if (newP === oldP) {
        if (j !== i) return;
        // Same range: the whole private blob; NATIVE rocksdb opens the SST files as they are.
        needed = true;
        bytes = h.stateBytes - (h.shared ?? []).reduce((n, s) => n + s.bytes, 0);
        if (meta.format === "NATIVE" && (h.shared?.length ?? 0) > 0) {
          nativeFiles = true;
          shared = h.shared;
        }
      } else {
        const o = oldRanges[j]!;
        if (o.startKeyGroup <= r.endKeyGroup && r.startKeyGroup <= o.endKeyGroup) {
          for (const [g, n] of h.keyGroupBytes ?? []) if (g >= r.startKeyGroup && g <= r.endKeyGroup) bytes += n;
          needed ||= bytes > 0;
        }
        for (const l of h.operatorLists ?? []) {
          const [from, to] = elementRange(listTotals.get(l.node)!, newP, i);
          const first = listOffset(old.handles, j, l.node);
          const overlap = Math.max(0, Math.min(to, first + l.count) - Math.max(from, first));
          if (overlap > 0) {
            needed = true;
            bytes += Math.ceil((l.bytes * overlap) / l.count);
          }
        }
        // Broadcast state: new subtask i reads the copy of old subtask i mod oldP (Flink's
        // RoundRobinOperatorStateRepartitioner for BROADCAST state).
        if (j === i % oldP) {
          for (const b of h.broadcastStates ?? []) {
            needed = true;
            bytes += b.bytes;
          }
        }
        // Every reader learns every split's offset (the enumerator reassigns the splits).
        if (v.isSource) needed = true;
        bytes += HEADER_BYTES + (v.isSource ? OFFSET_BYTES * 8 : 0);
      }
      if (needed) parts.push({ oldSubtask: j, blobKey: h.blobKey, readBytes: Math.max(1, bytes) });
    });
    const lists: RescaledRestore["lists"] =
      newP === oldP
        ? []
        : listNodes.map((node) => {
            const [from, to] = elementRange(listTotals.get(node)!, newP, i);
            return { node, from, to, offsets: parts.map((p): [number, number] => [p.oldSubtask, listOffset(old.handles, p.oldSubtask, node)]) };
          });
    const rescale: RescaledRestore = { ...base, parts, lists, nativeFiles, noClaim: claim === "NO_CLAIM" };
    let stateBytes = 0;
    for (const p of parts) stateBytes += p.readBytes;
    for (const s of shared ?? []) stateBytes += s.bytes;
    return { checkpointId: meta.id, blobKey: parts[0]?.blobKey ?? `${meta.path}/(empty)`, stateBytes, ...(shared !== undefined ? { shared } : {}), rescale };
  });
}

/** [from, to) of the concatenated list elements that new subtask i of p gets (contiguous, nearly equal). */
export function elementRange(total: number, p: number, i: number): [number, number] {
  return [Math.floor((i * total) / p), Math.floor(((i + 1) * total) / p)];
}

function listOffset(handles: readonly StateHandle[], j: number, node: string): number {
  let n = 0;
  for (let k = 0; k < j; k++) n += handles[k]!.operatorLists?.find((l) => l.node === node)?.count ?? 0;
  return n;
}

/**
 * Builds the snapshot a new subtask restores from the old subtasks' snapshots it read
 * (by old subtask index): keyed entries and timers of its key groups, its share of each
 * operator list, every split offset.
 */
export function assembleRestoredSnapshot(r: RescaledRestore, old: ReadonlyMap<number, SubtaskSnapshot>): SubtaskSnapshot {
  const inRange = (g: number) => g >= r.keyGroups.start && g <= r.keyGroups.end;
  const same = r.newParallelism === r.oldParallelism;
  const byNode = new Map<string, OperatorSnapshot>();
  const offsets: SplitOffset[] = [];
  const seenSplits = new Set<string>();
  for (const j of [...old.keys()].sort((a, b) => a - b)) {
    const s = old.get(j)!;
    for (const o of s.sourceOffsets ?? []) {
      if (seenSplits.has(o.splitId)) continue;
      seenSplits.add(o.splitId);
      offsets.push(o);
    }
    for (const op of s.operators) {
      let into = byNode.get(op.node);
      if (into === undefined) {
        into = { node: op.node, keyed: [], eventTimers: [], processingTimers: [], operator: undefined };
        byNode.set(op.node, into);
      }
      for (const e of op.keyed) if (same || inRange(keyGroupFor(e[0], r.maxParallelism))) into.keyed.push(e);
      for (const t of op.eventTimers) if (same || inRange(t.keyGroup)) into.eventTimers.push(t);
      for (const t of op.processingTimers) if (same || inRange(t.keyGroup)) into.processingTimers.push(t);
      if (r.nativeFiles && op.rocksdb !== undefined) into.rocksdb = r.noClaim ? { files: op.rocksdb.files, shared: [] } : op.rocksdb;
      if (op.operator === undefined) continue;
      if (!same && isBroadcastStateSnapshot(op.operator)) {
        if (j === r.newIndex % r.oldParallelism) into.operator = op.operator;
        continue;
      }
      if (same) {
        into.operator = op.operator;
        continue;
      }
      // Rescaled: keep the elements of this subtask's share of the concatenated lists.
      const l = r.lists.find((x) => x.node === op.node);
      const first = l?.offsets.find((o) => o[0] === j)?.[1];
      if (l === undefined || first === undefined) continue;
      const elements = Array.isArray(op.operator) ? op.operator : [op.operator];
      const mine = elements.filter((_, k) => first + k >= l.from && first + k < l.to);
      if (mine.length === 0) continue;
      if (!Array.isArray(op.operator)) {
        if (into.operator !== undefined) {
          throw new InputError("execution.state-recovery.path", `operator ${op.node}'s state is not a list: it cannot be redistributed from ${r.oldParallelism} to ${r.newParallelism} subtasks`);
        }
        into.operator = mine[0];
      } else {
        into.operator = [...((into.operator as unknown[] | undefined) ?? []), ...mine];
      }
    }
  }
  return { operators: [...byNode.values()], sourceOffsets: offsets.length > 0 ? offsets : undefined };
}

/**
 * Downloads the parts (ranged reads of old private blobs, plus NATIVE SST files) and
 * assembles the snapshot; `done` gets it, or the first error.
 */
export function downloadRescaled(
  blobStore: BlobStore,
  host: Host,
  handle: StateHandle,
  done: (err: string | undefined, snapshot: SubtaskSnapshot | undefined) => void,
): void {
  const r = handle.rescale!;
  const reads: [string, number | undefined][] = [...r.parts.map((p): [string, number] => [p.blobKey, p.readBytes]), ...(handle.shared ?? []).map((s): [string, undefined] => [s.blobKey, undefined])];
  const got = new Map<number, SubtaskSnapshot>();
  let pending = reads.length;
  let firstError: string | undefined;
  const finish = () => {
    if (firstError !== undefined) {
      done(firstError, undefined);
      return;
    }
    try {
      done(undefined, assembleRestoredSnapshot(r, got));
    } catch (e) {
      done((e as Error).message, undefined);
    }
  };
  if (pending === 0) {
    finish();
    return;
  }
  for (const [blobKey, range] of reads) {
    blobStore.get(
      host,
      blobKey,
      (err, obj) => {
        if (err !== undefined || obj === undefined) firstError ??= `${blobKey}: ${err?.code ?? "missing"}`;
        else {
          const part = r.parts.find((p) => p.blobKey === blobKey);
          if (part !== undefined) got.set(part.oldSubtask, obj.data as SubtaskSnapshot);
        }
        if (--pending === 0) finish();
      },
      range,
    );
  }
}

/** Owner of every key group, by vertex: for each vertex, key group → the new subtask indices that own it. */
export function keyGroupOwners(handles: readonly StateHandle[]): number[][] {
  const r0 = handles[0]?.rescale;
  assert(r0 !== undefined, "keyGroupOwners: not a restore plan");
  const owners: number[][] = Array.from({ length: r0.maxParallelism }, () => []);
  for (const h of handles) for (let g = h.rescale!.keyGroups.start; g <= h.rescale!.keyGroups.end; g++) owners[g]!.push(h.rescale!.newIndex);
  return owners;
}
