/**
 * A task's barrier handling for checkpoints with several input channels (Flink's
 * SingleCheckpointBarrierHandler with its aligned, at-least-once and unaligned strategies).
 *
 * - EXACTLY_ONCE (aligned): a channel that delivered barrier n is blocked — its records
 *   wait in the channel, and its credit runs out so the producer backs up — until n
 *   arrived on every live channel; then the task snapshots, forwards n and unblocks.
 * - AT_LEAST_ONCE: nothing is blocked; the task snapshots when the last barrier n arrives,
 *   so records that overtook the barrier on fast channels are in the snapshot's "before"
 *   and are replayed after a restore (duplicates).
 * - EXACTLY_ONCE, unaligned: the task snapshots at the *first* barrier n; nothing is
 *   blocked; every channel whose barrier has not arrived yet is *recording*: the data it
 *   delivers until its barrier is channel state (the task persists it). The checkpoint's
 *   part here is done when the last barrier arrived.
 * - With an aligned-checkpoint timeout (unaligned enabled, timeout > 0): start aligned, and
 *   switch to unaligned once the checkpoint is older than the timeout — at a barrier, or
 *   when the task's timer calls switchToUnaligned. Channels that already delivered the
 *   barrier were blocked, so their queued data is after it; the others record.
 * A channel that ended (EndOfPartition) counts as aligned. A newer barrier subsumes the
 * older checkpoint (it is aborted locally, as Flink does); older barriers are ignored.
 *
 * Invariant: at most one checkpoint is in progress; blocked channels are exactly the
 * channels that delivered its barrier while aligning, and all are released when the
 * alignment ends (completed, switched, aborted or subsumed).
 */
import { assert } from "../../sim/errors";
import type { CheckpointId } from "./snapshot";

export type CheckpointingMode = "EXACTLY_ONCE" | "AT_LEAST_ONCE";

export interface AlignerOptions {
  mode: CheckpointingMode;
  /** execution.checkpointing.unaligned.enabled (EXACTLY_ONCE only). */
  unaligned: boolean;
  /** execution.checkpointing.aligned-checkpoint-timeout: 0 = unaligned from the first barrier. */
  alignedTimeoutNs: number;
}

export interface AlignerGates {
  /** Channels per input gate. */
  readonly channelsPerGate: readonly number[];
  block(gate: number, channel: number): void;
  unblockAll(): void;
}

export interface AlignmentResult {
  checkpointId: CheckpointId;
  triggerNs: number;
  firstBarrierNs: number;
  lastBarrierNs: number;
}

export type BarrierOutcome =
  | { kind: "waiting"; subsumed: CheckpointId | undefined }
  | { kind: "ignored" }
  /** Aligned or at-least-once: every barrier is in; snapshot now. */
  | { kind: "aligned"; result: AlignmentResult; subsumed: CheckpointId | undefined }
  /** Unaligned: snapshot now; channels still without the barrier record until it arrives. */
  | { kind: "unalignedStart"; result: AlignmentResult; subsumed: CheckpointId | undefined; switched: boolean; done: boolean }
  /** Unaligned: the last barrier arrived; the channel state is complete. */
  | { kind: "unalignedDone"; result: AlignmentResult };

type Phase = "idle" | "aligning" | "recording";

export class BarrierAligner {
  private current: CheckpointId = 0;
  private phase: Phase = "idle";
  private readonly seen: Uint8Array[];
  private readonly ended: Uint8Array[];
  private seenCount = 0;
  private endedCount = 0;
  private readonly total: number;
  private triggerNs = 0;
  private firstBarrierNs = 0;
  private readonly options: AlignerOptions;

  constructor(
    options: AlignerOptions | CheckpointingMode,
    private readonly gates: AlignerGates,
  ) {
    this.options = typeof options === "string" ? { mode: options, unaligned: false, alignedTimeoutNs: 0 } : options;
    assert(!this.options.unaligned || this.options.mode === "EXACTLY_ONCE", "unaligned checkpoints need EXACTLY_ONCE");
    this.seen = gates.channelsPerGate.map((n) => new Uint8Array(n));
    this.ended = gates.channelsPerGate.map((n) => new Uint8Array(n));
    this.total = gates.channelsPerGate.reduce((a, b) => a + b, 0);
  }

  /** The checkpoint in progress (aligning or recording), if any. */
  get pending(): CheckpointId | undefined {
    return this.phase === "idle" ? undefined : this.current;
  }

  /** Unaligned: is data arriving on this channel channel state of the checkpoint in progress? */
  isRecording(gate: number, channel: number): boolean {
    return this.phase === "recording" && this.seen[gate]![channel] === 0 && this.ended[gate]![channel] === 0;
  }

  /** When the aligned phase of the checkpoint in progress must switch to unaligned (undefined: never). */
  get switchAtNs(): number | undefined {
    if (this.phase !== "aligning" || !this.options.unaligned) return undefined;
    return this.triggerNs + this.options.alignedTimeoutNs;
  }

  /**
   * Barrier n on (gate, channel). `priority`: it is an unaligned (priority) barrier — one a
   * producer switched at the timeout — so an alignment in progress switches at once.
   */
  onBarrier(gate: number, channel: number, checkpointId: CheckpointId, triggerNs: number, nowNs: number, priority = false): BarrierOutcome {
    if (checkpointId < this.current || (checkpointId === this.current && this.phase === "idle")) return { kind: "ignored" };
    let subsumed: CheckpointId | undefined;
    const fresh = checkpointId > this.current;
    if (fresh) {
      if (this.phase !== "idle") subsumed = this.current;
      this.reset();
      this.current = checkpointId;
      this.triggerNs = triggerNs;
      this.firstBarrierNs = nowNs;
    }
    const seen = this.seen[gate]!;
    assert(seen[channel] === 0, `barrier ${checkpointId} arrived twice on gate ${gate} channel ${channel}`);
    seen[channel] = 1;
    this.seenCount++;
    if (fresh) {
      const unalignedNow = this.options.unaligned && (priority || nowNs - triggerNs >= this.options.alignedTimeoutNs);
      if (unalignedNow) {
        this.phase = "recording";
        const done = this.allSeen();
        const result = this.result(nowNs);
        if (done) this.reset();
        return { kind: "unalignedStart", result, subsumed, switched: this.options.alignedTimeoutNs > 0, done };
      }
      this.phase = "aligning";
    }
    if (this.phase === "aligning" && priority && this.options.unaligned) {
      // The producer switched at the timeout: so does this alignment, now.
      this.gates.unblockAll();
      this.phase = "recording";
      const done = this.allSeen();
      const result = this.result(nowNs);
      if (done) this.reset();
      return { kind: "unalignedStart", result, subsumed, switched: true, done };
    }
    if (this.phase === "aligning") {
      if (this.options.mode === "EXACTLY_ONCE") this.gates.block(gate, channel);
      if (this.allSeen()) {
        const result = this.result(nowNs);
        this.reset();
        return { kind: "aligned", result, subsumed };
      }
      return { kind: "waiting", subsumed };
    }
    // Recording: the last barrier completes the channel state.
    if (this.allSeen()) {
      const result = this.result(nowNs);
      this.reset();
      return { kind: "unalignedDone", result };
    }
    return { kind: "waiting", subsumed };
  }

  /**
   * The aligned-checkpoint timeout passed while aligning: unblock every channel and go on
   * unaligned. Returns the checkpoint to snapshot now, or undefined if none is aligning.
   */
  switchToUnaligned(nowNs: number): AlignmentResult | undefined {
    if (this.phase !== "aligning" || !this.options.unaligned) return undefined;
    this.gates.unblockAll();
    this.phase = "recording";
    return this.result(nowNs);
  }

  /** A channel ended (EndOfPartition): it no longer delivers barriers. */
  onChannelEnded(gate: number, channel: number, nowNs: number): BarrierOutcome | undefined {
    const ended = this.ended[gate]!;
    if (ended[channel] === 1) return undefined;
    ended[channel] = 1;
    this.endedCount++;
    if (this.seen[gate]![channel] === 1) this.seenCount--;
    if (this.phase === "idle" || !this.allSeen()) return undefined;
    const result = this.result(nowNs);
    const kind = this.phase === "aligning" ? "aligned" : "unalignedDone";
    this.reset();
    return kind === "aligned" ? { kind, result, subsumed: undefined } : { kind, result };
  }

  /** The coordinator aborted a checkpoint: stop aligning or recording it. */
  abort(checkpointId: CheckpointId): boolean {
    if (this.phase === "idle" || checkpointId !== this.current) return false;
    this.reset();
    return true;
  }

  private allSeen(): boolean {
    return this.seenCount >= this.total - this.endedCount;
  }

  private result(nowNs: number): AlignmentResult {
    return { checkpointId: this.current, triggerNs: this.triggerNs, firstBarrierNs: this.firstBarrierNs, lastBarrierNs: nowNs };
  }

  private reset(): void {
    if (this.phase === "aligning" && this.options.mode === "EXACTLY_ONCE") this.gates.unblockAll();
    this.phase = "idle";
    for (let g = 0; g < this.seen.length; g++) {
      const seen = this.seen[g]!;
      const ended = this.ended[g]!;
      // An ended channel's barrier no longer counts; seen flags of live channels reset.
      for (let c = 0; c < seen.length; c++) if (ended[c] === 0) seen[c] = 0;
    }
    this.seenCount = 0;
  }
}
