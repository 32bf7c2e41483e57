/**
 * The changelog keyed state backend (`state.changelog.enabled`, FLIP-158; Flink's
 * ChangelogKeyedStateBackend with its PeriodicMaterializationManager), wrapping `hashmap`
 * or `rocksdb`: every state change goes to the wrapped backend (the real JS values, so
 * results stay exact) and to the operator's DSTL log (changelog-log.ts), which uploads it
 * to the blob store in batches.
 *
 * - A checkpoint's sync phase only asks the log to persist its tail; its keyed state is
 *   the last materialization plus the log segments since — shared blobs, referenced.
 * - Materialization runs on its own timer (first after interval + a per-subtask offset,
 *   as Flink's murmur-hash initial delay, then `interval` after each attempt ends): a
 *   snapshot of the wrapped backend on the task thread (a full copy for hashmap and full
 *   rocksdb, a memtable flush and the live SST files for incremental rocksdb), serialized
 *   and uploaded in the background; once uploaded, checkpoints use it and the log before
 *   it is truncated. No change since the last one: skipped. More consecutive failures
 *   than `state.changelog.max-failures-allowed` fail the task.
 * - Restore downloads the materialization and every segment since and replays them
 *   (resolveChangelogRestore), charging deserialization and one state access per change.
 *
 * Ownership: a materialization's blobs are the task's until a completed checkpoint
 * references them; a superseded one no checkpoint ever used is deleted here, others by the
 * JobManager's shared-state registry when no retained checkpoint needs them.
 *
 * Invariants: the state a restore rebuilds equals the state at the checkpoint's sync
 * phase (the test asserts it); one materialization at a time; nothing is issued after
 * dispose.
 */
import type { BlobStore } from "../../sim/blob-store";
import { InvariantError } from "../../sim/errors";
import type { Host } from "../../sim/host";
import type { Kernel } from "../../sim/kernel";
import type { Key } from "../api/types";
import {
  cloneState,
  serializedBytes,
  snapshotBytes,
  type ChangelogOperatorSnapshot,
  type CheckpointId,
  type MaterializationRef,
  type RocksDbOperatorSnapshot,
  type SharedFileHandle,
  type SubtaskSnapshot,
} from "../checkpoint/snapshot";
import { deserializationNs, serializationNs, stateAccessNs, type CostModel, type StateBackendKind } from "../costs";
import { ChangelogLog, type ChangelogLogSettings, type LogSegment, type SegmentData } from "./changelog-log";
import type { HashMapStateBackend, KeyedStateBackend } from "./keyed-state";
import { RocksDbStateBackend } from "./rocksdb-backend";

export interface ChangelogSettings extends ChangelogLogSettings {
  /** state.changelog.periodic-materialize.enabled */
  materializationEnabled: boolean;
  /** state.changelog.periodic-materialize.interval */
  materializationIntervalNs: number;
  /** state.changelog.max-failures-allowed */
  maxMaterializationFailures: number;
}

/** Counters over every changelog backend of a run (JobRunResult.changelog). */
export interface ChangelogStats {
  backends: number;
  changes: number;
  uploads: number;
  uploadedBytes: number;
  preemptiveUploads: number;
  uploadRetries: number;
  materializations: number;
  materializedBytes: number;
  materializationFailures: number;
  /** Restores: changes replayed and log bytes read. */
  replayedChanges: number;
  replayedBytes: number;
}

export function emptyChangelogStats(): ChangelogStats {
  return { backends: 0, changes: 0, uploads: 0, uploadedBytes: 0, preemptiveUploads: 0, uploadRetries: 0, materializations: 0, materializedBytes: 0, materializationFailures: 0, replayedChanges: 0, replayedBytes: 0 };
}

export interface ChangelogEnvironment {
  settings: ChangelogSettings;
  costs: CostModel;
  kernel: Kernel;
  host: Host;
  blobStore: BlobStore;
  /** Unique per backend instance and attempt: names its blobs. */
  instanceName: string;
  /** Labels background work on the host (the vertex name). */
  label: string;
  /** Offset of the first materialization, in [0, interval) (Flink: a hash of the subtask id). */
  initialDelayNs: number;
  /** Adds CPU time to the task's current work item. */
  charge(ns: number): void;
  /** Runs `fn` as a mail of the task (a work item on the task thread). */
  enqueueMail(fn: () => void): void;
  fail(cause: string): void;
  mark(name: string): void;
  uploaded(e: { bytes: number; changes: number; preemptive: boolean; attempts: number }): void;
  materialized(e: { id: number; bytes: number; uploadedBytes: number; upTo: number }): void;
  stats: ChangelogStats | undefined;
}

/** Serialized bytes of a timer change in the log (key group, timestamp, key reference). */
export const TIMER_CHANGE_BYTES = 24;
/** Per change: the key-group and state-id prefix and the change type (Flink's StateChangeFormat). */
const CHANGE_OVERHEAD_BYTES = 10;

/** What a materialization's blob holds. */
interface MaterializationData {
  keyed: [Key, Record<string, unknown>][];
  rocksdb?: RocksDbOperatorSnapshot;
}

interface Materialization {
  ref: MaterializationRef;
  /** Its blobs (private blob and SST files), as shared handles. */
  blobs: SharedFileHandle[];
  /** Blobs it uploaded itself (a superseded, never-used materialization deletes them). */
  fresh: string[];
  pendingRefs: Set<CheckpointId>;
  owned: boolean;
  superseded: boolean;
}

export class ChangelogStateBackend implements KeyedStateBackend {
  readonly log: ChangelogLog;
  private key: Key | undefined;
  private keyBytes = 0;
  private disposed = false;
  private timer = -1;
  /** The materialization checkpoints use now, and older ones not yet released. */
  private current: Materialization | undefined;
  private readonly older: Materialization[] = [];
  private nextMaterializationId = 1;
  private materializing = false;
  private consecutiveFailures = 0;
  /** The first checkpoint that referenced each materialization blob. */
  private readonly firstRef = new Map<string, CheckpointId>();
  /** Checkpoints whose log part finished uploading (null) or failed (the cause), and those waiting for it. */
  private readonly persisted = new Map<CheckpointId, string | null>();
  private readonly awaiting = new Map<CheckpointId, (err: string | undefined) => void>();

  constructor(
    readonly inner: HashMapStateBackend,
    private readonly env: ChangelogEnvironment,
  ) {
    this.log = new ChangelogLog({
      settings: env.settings,
      name: env.instanceName,
      now: () => env.kernel.now,
      after: (delayNs, fn) => {
        env.kernel.after(delayNs, () => {
          if (this.alive) fn();
        });
      },
      put: (blobKey, bytes, data, done) => env.blobStore.put(env.host, blobKey, bytes, data, (err) => done(err === undefined ? undefined : err.code)),
      delete: (blobKey) => env.blobStore.delete(env.host, blobKey, () => {}),
      peek: (key) => inner.peek(key),
      copy: (value) => cloneState(value, `changelog of ${env.label}`),
      alive: () => this.alive,
      uploaded: (e) => {
        const s = env.stats;
        if (s !== undefined) {
          s.uploads++;
          s.uploadedBytes += e.bytes;
          if (e.preemptive) s.preemptiveUploads++;
          s.uploadRetries += e.attempts - 1;
        }
        env.uploaded(e);
      },
      mark: (name) => env.mark(name),
    });
    if (env.stats !== undefined) env.stats.backends++;
  }

  private get alive(): boolean {
    return !this.disposed && this.env.host.up;
  }

  // ---- KeyedStateBackend: the wrapped backend, and a log entry per change ----

  setCurrentKey(key: Key): void {
    this.inner.setCurrentKey(key);
    if (key !== this.key) {
      this.key = key;
      this.keyBytes = serializedBytes(key) + CHANGE_OVERHEAD_BYTES;
    }
  }

  get currentKey(): Key | undefined {
    return this.inner.currentKey;
  }

  get keyCount(): number {
    return this.inner.keyCount;
  }

  get accesses(): number {
    return this.inner.accesses;
  }

  get(name: string): unknown {
    return this.inner.get(name);
  }

  set(name: string, value: unknown): void {
    this.inner.set(name, value);
    this.logged(name, this.keyBytes + name.length + serializedBytes(value));
  }

  clear(name: string): void {
    this.inner.clear(name);
    this.logged(name, this.keyBytes + name.length);
  }

  // List and map state log the one element or entry changed (Flink's ADD_ELEMENT,
  // ADD_OR_UPDATE_ELEMENT and REMOVE_ELEMENT changes), not the whole list or map.

  addToList(name: string, element: unknown): void {
    this.inner.addToList(name, element);
    this.logged(name, this.keyBytes + name.length + serializedBytes(element));
  }

  getMapEntry(name: string, userKey: Key): unknown {
    return this.inner.getMapEntry(name, userKey);
  }

  putMapEntry(name: string, userKey: Key, value: unknown): void {
    this.inner.putMapEntry(name, userKey, value);
    this.logged(name, this.keyBytes + name.length + serializedBytes(userKey) + serializedBytes(value));
  }

  removeMapEntry(name: string, userKey: Key): void {
    this.inner.removeMapEntry(name, userKey);
    this.logged(name, this.keyBytes + name.length + serializedBytes(userKey));
  }

  /** Each visited key is current here too, so the visit's changes are logged under it. */
  forEachKeyWith(name: string, visit: (key: Key) => void): void {
    const previous = this.key;
    this.inner.forEachKeyWith(name, (key) => {
      this.setCurrentKey(key);
      visit(key);
    });
    if (previous !== undefined) this.setCurrentKey(previous);
    else this.key = undefined;
  }

  /** A timer was registered or deleted: logged (its restore comes from the snapshot's timers). */
  timerChanged(): void {
    this.env.charge(serializationNs(TIMER_CHANGE_BYTES, 1, this.env.costs));
    if (this.env.stats !== undefined) this.env.stats.changes++;
    this.log.appendBytes(TIMER_CHANGE_BYTES);
  }

  private logged(name: string, bytes: number): void {
    // The change is serialized into the writer's buffer on the task thread.
    this.env.charge(serializationNs(bytes, 1, this.env.costs));
    if (this.env.stats !== undefined) this.env.stats.changes++;
    this.log.append(this.key!, name, bytes);
  }

  // ---- checkpoints ----

  /**
   * The sync phase: the log's tail is requested for upload; the keyed state is the current
   * materialization and the segments since. The async phase waits for them (awaitUploads).
   */
  snapshot(checkpointId: CheckpointId): ChangelogOperatorSnapshot {
    const segments = this.log.persist(checkpointId, (err) => {
      const waiting = this.awaiting.get(checkpointId);
      if (waiting !== undefined) {
        this.awaiting.delete(checkpointId);
        waiting(err);
      } else {
        this.persisted.set(checkpointId, err ?? null);
      }
    });
    const m = this.current;
    const shared: SharedFileHandle[] = [];
    if (m !== undefined) {
      m.pendingRefs.add(checkpointId);
      for (const b of m.blobs) {
        let first = this.firstRef.get(b.blobKey);
        if (first === undefined) this.firstRef.set(b.blobKey, (first = checkpointId));
        shared.push({ ...b, checkpointId: first, changelog: true });
      }
    }
    for (const s of segments) shared.push(segmentHandle(s));
    return {
      materialization: m?.ref,
      segments: segments.map((s) => ({ blobKey: s.blobKey, seqFrom: s.seqFrom, seqTo: s.seqTo, bytes: s.bytes, changes: s.changes })),
      shared,
    };
  }

  /** Calls `done` once the log segments of checkpoint n are uploaded (or failed). */
  awaitUploads(checkpointId: CheckpointId, done: (err: string | undefined) => void): void {
    const result = this.persisted.get(checkpointId);
    if (result === undefined) {
      this.awaiting.set(checkpointId, done);
      return;
    }
    this.persisted.delete(checkpointId);
    done(result ?? undefined);
  }

  notifyCheckpointComplete(checkpointId: CheckpointId): void {
    this.log.notifyCheckpointComplete(checkpointId);
    for (const m of [this.current, ...this.older]) {
      if (m === undefined || !m.pendingRefs.has(checkpointId)) continue;
      m.owned = true;
      // Flink confirms the wrapped backend's materialization when a checkpoint using it completes.
      if (this.inner instanceof RocksDbStateBackend && m.ref.rocksdb !== undefined) this.inner.notifyCheckpointComplete(m.ref.id);
    }
    for (const m of [this.current, ...this.older]) if (m !== undefined) for (const id of [...m.pendingRefs]) if (id <= checkpointId) m.pendingRefs.delete(id);
    for (const id of [...this.persisted.keys()]) if (id <= checkpointId) this.persisted.delete(id);
    this.collect();
  }

  notifyCheckpointAborted(checkpointId: CheckpointId): void {
    this.log.notifyCheckpointAborted(checkpointId);
    for (const m of [this.current, ...this.older]) m?.pendingRefs.delete(checkpointId);
    this.persisted.delete(checkpointId);
    this.awaiting.delete(checkpointId);
    this.collect();
  }

  /** Restore: the wrapped backend already holds the replayed state; checkpoints go on from the restored blobs. */
  restore(snapshot: ChangelogOperatorSnapshot): void {
    const m = snapshot.materialization;
    if (m !== undefined) {
      const keys = new Set([m.blobKey, ...(m.rocksdb?.shared ?? []).map((s) => s.blobKey)]);
      const blobs = snapshot.shared.filter((s) => keys.has(s.blobKey));
      for (const b of blobs) this.firstRef.set(b.blobKey, b.checkpointId);
      this.current = { ref: m, blobs, fresh: [], pendingRefs: new Set(), owned: true, superseded: false };
      this.nextMaterializationId = m.id + 1;
    }
    this.log.adopt(snapshot.segments, m?.upTo ?? 0);
  }

  // ---- materialization ----

  /** The task runs (after restore): periodic materialization starts. */
  start(): void {
    const s = this.env.settings;
    if (!s.materializationEnabled) return;
    this.schedule(s.materializationIntervalNs + this.env.initialDelayNs);
  }

  private schedule(delayNs: number): void {
    if (!this.alive) return;
    this.timer = this.env.kernel.after(delayNs, () => {
      this.timer = -1;
      if (this.alive) this.env.enqueueMail(() => this.materialize());
    });
  }

  /** The sync phase of a materialization, on the task thread; the upload runs in the background. */
  private materialize(): void {
    if (!this.alive || this.materializing) return;
    const interval = this.env.settings.materializationIntervalNs;
    const upTo = this.log.sequence;
    if (upTo === (this.current?.ref.upTo ?? 0)) {
      this.schedule(interval); // no change since the last materialization: skipped, as in Flink
      return;
    }
    this.materializing = true;
    const id = this.nextMaterializationId++;
    const costs = this.env.costs;
    const rocks = this.inner instanceof RocksDbStateBackend ? this.inner.snapshotFiles(id, "mat") : undefined;
    const keyed = cloneState(this.inner.entries(), `materialization of ${this.env.label}`);
    this.env.charge(costs.snapshotSyncNsPerCheckpoint + (rocks !== undefined ? rocks.files.length : keyed.length) * costs.snapshotNsPerEntry);
    const bytes = snapshotBytes({ operators: [{ node: "", keyed, eventTimers: [], processingTimers: [], operator: undefined, ...(rocks !== undefined ? { rocksdb: rocks } : {}) }], sourceOffsets: undefined });
    const blobKey = `changelog/${this.env.instanceName}/materialization-${id}`;
    const data: MaterializationData = { keyed, ...(rocks !== undefined ? { rocksdb: rocks } : {}) };
    const freshSst = (rocks?.shared ?? []).filter((s) => s.checkpointId === id);
    const puts: [string, number, unknown][] = [[blobKey, bytes, data], ...freshSst.map((s): [string, number, unknown] => [s.blobKey, s.bytes, s.name])];
    const env = this.env;
    env.host.run(serializationNs(bytes, 0, costs), () => {
      if (!this.alive) return;
      let pending = puts.length;
      let failed = false;
      const stored: string[] = [];
      for (const [key, size, payload] of puts) {
        env.blobStore.put(env.host, key, size, payload, (err) => {
          if (!this.alive) return;
          if (err !== undefined) failed = true;
          else stored.push(key);
          if (--pending > 0) return;
          // Flink hands the result to the task thread.
          env.enqueueMail(() => {
            this.materializing = false;
            if (failed) return this.materializationFailed(stored);
            this.consecutiveFailures = 0;
            const blobs: SharedFileHandle[] = [{ name: blobKey, blobKey, bytes, checkpointId: id }, ...(rocks?.shared ?? [])];
            const m: Materialization = {
              ref: { id, upTo, blobKey, bytes, ...(rocks !== undefined ? { rocksdb: rocks } : {}) },
              blobs,
              fresh: puts.map(([k]) => k),
              pendingRefs: new Set(),
              owned: false,
              superseded: false,
            };
            if (this.current !== undefined) {
              this.current.superseded = true;
              this.older.push(this.current);
            }
            this.current = m;
            this.log.truncate(upTo);
            this.collect();
            let uploadedBytes = 0;
            for (const [, size] of puts) uploadedBytes += size;
            if (env.stats !== undefined) {
              env.stats.materializations++;
              env.stats.materializedBytes += uploadedBytes;
            }
            env.materialized({ id, bytes: blobs.reduce((n, b) => n + b.bytes, 0), uploadedBytes, upTo });
            this.schedule(interval);
          });
        });
      }
    }, env.label, "changelog");
  }

  private materializationFailed(stored: string[]): void {
    for (const k of stored) this.env.blobStore.delete(this.env.host, k, () => {});
    this.env.mark("changelog.materializationFailed");
    if (this.env.stats !== undefined) this.env.stats.materializationFailures++;
    if (++this.consecutiveFailures > this.env.settings.maxMaterializationFailures) {
      this.env.fail(`IOException: materialization of ${this.env.label} failed ${this.consecutiveFailures} times in a row (state.changelog.max-failures-allowed: ${this.env.settings.maxMaterializationFailures})`);
      return;
    }
    this.schedule(this.env.settings.materializationIntervalNs);
  }

  /** Releases superseded materializations no pending checkpoint uses; deletes those no completed one owned. */
  private collect(): void {
    for (let i = 0; i < this.older.length; i++) {
      const m = this.older[i]!;
      if (!m.owned && m.pendingRefs.size > 0) continue;
      if (!m.owned && this.alive) for (const k of m.fresh) this.env.blobStore.delete(this.env.host, k, () => {});
      this.older.splice(i--, 1);
    }
  }

  /** The task ends: no more materializations or uploads. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.timer >= 0) this.env.kernel.cancel(this.timer);
    this.timer = -1;
    if (this.inner instanceof RocksDbStateBackend) this.inner.dispose();
  }
}

function segmentHandle(s: LogSegment): SharedFileHandle {
  return { name: s.blobKey, blobKey: s.blobKey, bytes: s.bytes, checkpointId: s.firstRef!, changelog: true };
}

/** Replay totals of a restore, for its cost and the run's statistics. */
export interface ReplayTotals {
  changes: number;
  logBytes: number;
  /** CPU ns of deserializing the materialization and the log and re-applying each change. */
  cpuNs: number;
}

/**
 * Restore of a snapshot with changelog operators: each one's keyed state becomes its
 * materialization's entries with every log segment since replayed on top, in order (the
 * blobs were downloaded with the handle). The snapshot is not mutated.
 */
export function resolveChangelogRestore(
  snapshot: SubtaskSnapshot,
  blobs: ReadonlyMap<string, unknown>,
  costs: CostModel,
  backend: StateBackendKind,
): { snapshot: SubtaskSnapshot; totals: ReplayTotals } {
  const totals: ReplayTotals = { changes: 0, logBytes: 0, cpuNs: 0 };
  if (!snapshot.operators.some((op) => op.changelog !== undefined)) return { snapshot, totals };
  const blob = (key: string) => {
    if (!blobs.has(key)) throw new InvariantError(`changelog restore: blob ${key} was not downloaded`);
    return blobs.get(key);
  };
  const operators = snapshot.operators.map((op) => {
    const c = op.changelog;
    if (c === undefined) return op;
    const state = new Map<Key, Record<string, unknown>>();
    if (c.materialization !== undefined) {
      const data = blob(c.materialization.blobKey) as MaterializationData;
      for (const [key, values] of data.keyed) state.set(key, { ...values });
      totals.cpuNs += deserializationNs(c.materialization.bytes, 0, costs);
    }
    for (const seg of c.segments) {
      const data = blob(seg.blobKey) as SegmentData;
      for (const [key, exists, names] of data.entries) {
        if (!exists) continue; // keys are never removed: absent then, absent in every older state
        let values = state.get(key);
        if (values === undefined) state.set(key, (values = {}));
        for (const [name, deleted, value] of names) {
          if (deleted) delete values[name];
          else values[name] = value;
        }
      }
      totals.changes += data.changes;
      totals.logBytes += seg.bytes;
      totals.cpuNs += deserializationNs(seg.bytes, data.changes, costs) + data.changes * stateAccessNs(backend, costs);
    }
    const rocksdb = c.materialization?.rocksdb;
    return { ...op, keyed: [...state], ...(rocksdb !== undefined ? { rocksdb } : {}) };
  });
  return { snapshot: { ...snapshot, operators }, totals };
}
