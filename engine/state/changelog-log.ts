/**
 * The durable short-term log (DSTL) of one changelog keyed state backend (FLIP-158, as
 * Flink's FsStateChangelogWriter with its batching upload scheduler): every state change
 * is appended to the active change set; a persist request (a checkpoint's sync phase, or
 * a pre-emptive one once the active set exceeds `preemptive-persist-threshold`) closes it
 * into the upload queue, which is uploaded as one segment `persist-delay` after the first
 * request (at once when the queue exceeds `persist-size-threshold`), with Flink's fixed
 * retry policy (a new attempt after `upload.timeout`, or `next-attempt-delay` after a
 * failure, `max-attempts` in all).
 *
 * What is modelled and what is exact: a segment's size is the sum of its changes'
 * serialized sizes (Flink writes every change); its content — what a restore replays — is
 * coalesced: per key touched, whether the key exists and the value (or deletion) of each
 * name touched, copied when the set was closed. Replaying whole values is idempotent, so a
 * segment that straddles a materialization point replays correctly on top of it.
 *
 * Ownership (Flink's TaskChangelogRegistry): a segment belongs to this log until a
 * checkpoint referencing it completes (notifyCheckpointComplete); then the JobManager's
 * shared-state registry deletes it when no retained checkpoint references it. The log
 * deletes a segment itself only once it is truncated (a materialization covers it), no
 * pending checkpoint references it and no completed one ever did.
 *
 * Invariants: sequence numbers increase; segments cover [seqFrom, seqTo) without gaps,
 * in order; a segment is uploaded at most once successfully and deleted at most once;
 * a persist request's callback runs once, after every segment it needs ended its upload.
 */
import { assert } from "../../sim/errors";
import type { Key } from "../api/types";
import type { CheckpointId } from "../checkpoint/snapshot";

export interface ChangelogLogSettings {
  /** state.changelog.dstl.dfs.preemptive-persist-threshold */
  preemptiveThresholdBytes: number;
  /** state.changelog.dstl.dfs.batch.persist-delay */
  persistDelayNs: number;
  /** state.changelog.dstl.dfs.batch.persist-size-threshold */
  persistSizeThresholdBytes: number;
  /** state.changelog.dstl.dfs.upload.timeout */
  uploadTimeoutNs: number;
  /** state.changelog.dstl.dfs.upload.max-attempts */
  maxAttempts: number;
  /** state.changelog.dstl.dfs.upload.next-attempt-delay */
  nextAttemptDelayNs: number;
}

/** One key's changes in a segment: does the key exist, and per name touched its value or deletion. */
export type SegmentEntry = [key: Key, exists: boolean, names: [name: string, deleted: boolean, value: unknown][]];

/** What a segment's blob holds: the coalesced entries to replay. */
export interface SegmentData {
  entries: SegmentEntry[];
  /** Changes appended (before coalescing): the replay's per-change cost. */
  changes: number;
}

export type SegmentState = "queued" | "uploading" | "uploaded" | "failed";

export interface LogSegment {
  readonly blobKey: string;
  readonly seqFrom: number;
  /** Grows while the segment is queued and not sealed. */
  seqTo: number;
  bytes: number;
  changes: number;
  state: SegmentState;
  /** No checkpoint asked for it: only the pre-emptive threshold did. */
  preemptive: boolean;
  /** A checkpoint references it: later requests go to a new segment. */
  sealed: boolean;
  /** Pending checkpoints that reference it. */
  readonly pendingRefs: Set<CheckpointId>;
  /** A completed checkpoint referenced it: the JobManager's registry owns it now. */
  owned: boolean;
  truncated: boolean;
  deleted: boolean;
  /** The first checkpoint that referenced it (what that checkpoint counts as uploaded). */
  firstRef: CheckpointId | undefined;
}

/** What the log needs from its backend and task (all on the simulation's kernel). */
export interface ChangelogLogEnv {
  settings: ChangelogLogSettings;
  /** Unique per backend instance and attempt: names the segment blobs. */
  name: string;
  now(): number;
  /** Runs `fn` after `delayNs` of virtual time (cancelled by `alive()` turning false). */
  after(delayNs: number, fn: () => void): void;
  put(blobKey: string, bytes: number, data: SegmentData, done: (err: string | undefined) => void): void;
  delete(blobKey: string): void;
  /** The backend's current named values of `key` (undefined: the key has no state). */
  peek(key: Key): Record<string, unknown> | undefined;
  /** Deep copy of a value (the running task goes on mutating its objects). */
  copy(value: unknown): unknown;
  alive(): boolean;
  uploaded(e: { bytes: number; changes: number; preemptive: boolean; attempts: number }): void;
  mark(name: string): void;
}

/** Most segments a log keeps (uploaded and not yet deleted): a named limit. */
export const MAX_LOG_SEGMENTS = 1_000_000;

interface ChangeSet {
  bytes: number;
  changes: number;
  /** Names touched per key, in first-touch order. */
  dirty: Map<Key, Set<string>>;
}

/** A queued segment's content: entries copied at each persist request merged into it. */
interface Queued {
  segment: LogSegment;
  closed: Map<Key, { exists: boolean; names: Map<string, [deleted: boolean, value: unknown]> }>;
}

function emptySet(): ChangeSet {
  return { bytes: 0, changes: 0, dirty: new Map() };
}

export class ChangelogLog {
  private seq: number;
  private active: ChangeSet = emptySet();
  /** Closed by persist requests, waiting for the persist delay (its segment is in `segments`). */
  private queued: Queued | undefined;
  /** Segments not deleted, in sequence order (queued, uploading, uploaded, failed). */
  private readonly segments: LogSegment[] = [];
  private nextSegment = 0;
  /** Waiting persist requests: run when every segment they reference has ended its upload. */
  private waiters: { needed: readonly LogSegment[]; done: (err: string | undefined) => void }[] = [];
  /** Sequence numbers below this are covered by a materialization. */
  private truncatedTo: number;
  /** The end of the last segment that failed every attempt: persist requests needing it fail (Flink's highestFailed). */
  private failedTo = -1;

  constructor(
    private readonly env: ChangelogLogEnv,
    startSeq = 0,
  ) {
    this.seq = startSeq;
    this.truncatedTo = startSeq;
  }

  /** The next change's sequence number (a materialization's `upTo`). */
  get sequence(): number {
    return this.seq;
  }

  /** Bytes appended and not yet requested for upload. */
  get activeBytes(): number {
    return this.active.bytes;
  }

  /** Segments not yet deleted, in sequence order. */
  liveSegments(): readonly LogSegment[] {
    return this.segments;
  }

  /** A state change of `name` under `key` (`bytes` serialized); the value is read when the set closes. */
  append(key: Key, name: string, bytes: number): void {
    let names = this.active.dirty.get(key);
    if (names === undefined) this.active.dirty.set(key, (names = new Set()));
    names.add(name);
    this.appendBytes(bytes);
  }

  /** A change that is logged but restored from elsewhere (a timer: restored from the snapshot). */
  appendBytes(bytes: number): void {
    this.seq++;
    this.active.bytes += bytes;
    this.active.changes++;
    if (this.active.bytes >= this.env.settings.preemptiveThresholdBytes) {
      this.env.mark("changelog.preemptivePersist");
      this.request(true);
    }
  }

  /**
   * A checkpoint's sync phase: the tail (changes not yet requested) is requested now; returns
   * the segments after the last materialization — the checkpoint's log part, sealed — and
   * calls `done` once all of them ended their upload (with an error if one failed).
   */
  persist(checkpointId: CheckpointId, done: (err: string | undefined) => void): LogSegment[] {
    if (this.active.changes > 0) this.request(false);
    if (this.queued !== undefined) {
      this.queued.segment.sealed = true;
      this.queued.segment.preemptive = false;
    }
    const refs = this.segments.filter((s) => s.seqTo > this.truncatedTo);
    for (const s of refs) {
      s.pendingRefs.add(checkpointId);
      s.firstRef ??= checkpointId;
    }
    if (this.failedTo > this.truncatedTo) {
      const failedTo = this.failedTo;
      this.env.after(0, () => done(`changelog upload failed earlier (sequence numbers below ${failedTo} are lost until the next materialization)`));
      return refs;
    }
    this.waiters.push({ needed: refs, done });
    this.checkWaiters();
    return refs;
  }

  /** A materialization covering every change below `upTo` is part of the checkpoints from now on. */
  truncate(upTo: number): void {
    assert(upTo <= this.seq, `changelog truncated to ${upTo} beyond its sequence ${this.seq}`);
    if (upTo <= this.truncatedTo) return;
    this.truncatedTo = upTo;
    for (const s of this.segments) if (s.seqTo <= upTo) s.truncated = true;
    this.collect();
    this.checkWaiters();
  }

  notifyCheckpointComplete(checkpointId: CheckpointId): void {
    for (const s of this.segments) {
      if (s.pendingRefs.has(checkpointId)) s.owned = true;
      for (const id of [...s.pendingRefs]) if (id <= checkpointId) s.pendingRefs.delete(id);
    }
    this.collect();
  }

  notifyCheckpointAborted(checkpointId: CheckpointId): void {
    for (const s of this.segments) s.pendingRefs.delete(checkpointId);
    this.collect();
  }

  /** Segments restored from a checkpoint (owned by it) continue this log. */
  adopt(restored: readonly { blobKey: string; seqFrom: number; seqTo: number; bytes: number; changes: number }[], truncatedTo: number): void {
    assert(this.segments.length === 0 && this.active.changes === 0, "changelog adopted restored segments after changes");
    for (const r of restored) {
      this.segments.push({ ...r, state: "uploaded", preemptive: false, sealed: true, pendingRefs: new Set(), owned: true, truncated: false, deleted: false, firstRef: undefined });
    }
    this.seq = Math.max(truncatedTo, ...restored.map((r) => r.seqTo));
    this.truncatedTo = truncatedTo;
  }

  // ---- internals ----

  /** Closes the active set into the queued segment (copying the current values); schedules its upload. */
  private request(preemptive: boolean): void {
    const a = this.active;
    this.active = emptySet();
    let q = this.queued;
    if (q === undefined || q.segment.sealed) {
      assert(this.segments.length < MAX_LOG_SEGMENTS, `changelog ${this.env.name} holds more than ${MAX_LOG_SEGMENTS} segments`);
      const segment: LogSegment = {
        blobKey: `changelog/${this.env.name}/${String(this.nextSegment++).padStart(6, "0")}`,
        seqFrom: this.seq - a.changes,
        seqTo: this.seq - a.changes,
        bytes: 0,
        changes: 0,
        state: "queued",
        preemptive: true,
        sealed: false,
        pendingRefs: new Set(),
        owned: false,
        truncated: false,
        deleted: false,
        firstRef: undefined,
      };
      this.segments.push(segment);
      const fresh: Queued = { segment, closed: new Map() };
      this.queued = q = fresh;
      // Flink's BatchingStateChangeUploadScheduler: wait `persist-delay` for more requests.
      this.env.after(this.env.settings.persistDelayNs, () => {
        if (this.queued === fresh) this.queued = undefined;
        if (segment.state === "queued") this.startUpload(fresh);
      });
    }
    const seg = q.segment;
    seg.seqTo = this.seq;
    seg.bytes += a.bytes;
    seg.changes += a.changes;
    if (!preemptive) seg.preemptive = false;
    for (const [key, names] of a.dirty) {
      const values = this.env.peek(key);
      let e = q.closed.get(key);
      if (e === undefined) q.closed.set(key, (e = { exists: false, names: new Map() }));
      e.exists = values !== undefined;
      for (const name of names) {
        const has = values !== undefined && name in values;
        e.names.set(name, [!has, has ? this.env.copy(values[name]) : undefined]);
      }
    }
    if (seg.bytes >= this.env.settings.persistSizeThresholdBytes) {
      if (this.queued === q) this.queued = undefined;
      this.startUpload(q);
    }
  }

  private startUpload(q: Queued): void {
    const entries: SegmentEntry[] = [];
    for (const [key, e] of q.closed) entries.push([key, e.exists, [...e.names].map(([name, [deleted, value]]): [string, boolean, unknown] => [name, deleted, value])]);
    q.segment.sealed = true;
    q.segment.state = "uploading";
    this.upload(q.segment, { entries, changes: q.segment.changes });
  }

  /** Flink's RetryingExecutor with the fixed policy: a new attempt on timeout, or after a delay on failure. */
  private upload(segment: LogSegment, data: SegmentData): void {
    let attempts = 0;
    let outstanding = 0;
    let finished = false;
    const settings = this.env.settings;
    const attempt = () => {
      if (finished || !this.env.alive()) return;
      attempts++;
      outstanding++;
      const n = attempts;
      if (n > 1) this.env.mark("changelog.uploadRetry");
      this.env.put(segment.blobKey, segment.bytes, data, (err) => {
        outstanding--;
        if (finished || !this.env.alive()) return;
        if (err === undefined) {
          finished = true;
          segment.state = "uploaded";
          this.env.uploaded({ bytes: segment.bytes, changes: segment.changes, preemptive: segment.preemptive, attempts });
          this.collect();
          this.checkWaiters();
          return;
        }
        if (attempts < settings.maxAttempts) {
          // Unless a timeout already started the next attempt.
          if (attempts === n) this.env.after(settings.nextAttemptDelayNs, attempt);
          return;
        }
        if (outstanding === 0) {
          finished = true;
          segment.state = "failed";
          this.failedTo = Math.max(this.failedTo, segment.seqTo);
          this.env.mark("changelog.uploadFailed");
          this.collect();
          this.checkWaiters();
        }
      });
      this.env.after(settings.uploadTimeoutNs, () => {
        if (!finished && attempts === n && attempts < settings.maxAttempts) attempt();
      });
    };
    attempt();
  }

  /** Runs the persist requests whose segments all ended their upload. */
  private checkWaiters(): void {
    if (this.waiters.length === 0) return;
    const keep: typeof this.waiters = [];
    const ready: { done: (err: string | undefined) => void; err: string | undefined }[] = [];
    for (const w of this.waiters) {
      const needed = w.needed;
      const failed = needed.find((s) => s.state === "failed");
      if (failed !== undefined) ready.push({ done: w.done, err: `changelog segment ${failed.blobKey} could not be uploaded (${this.env.settings.maxAttempts} attempts)` });
      else if (needed.every((s) => s.state === "uploaded")) ready.push({ done: w.done, err: undefined });
      else keep.push(w);
    }
    this.waiters = keep;
    for (const r of ready) r.done(r.err);
  }

  /** Drops truncated segments whose upload ended and that no pending checkpoint references; deletes those no checkpoint owns. */
  private collect(): void {
    for (let i = 0; i < this.segments.length; i++) {
      const s = this.segments[i]!;
      if (!s.truncated || s.state === "queued" || s.state === "uploading") continue;
      if (!s.owned && s.pendingRefs.size > 0) continue;
      // Owned: the JobManager's registry deletes it once no retained checkpoint uses it.
      if (!s.owned && s.state === "uploaded" && this.env.alive()) {
        this.env.delete(s.blobKey);
        s.deleted = true;
      }
      this.segments.splice(i--, 1);
    }
  }
}
