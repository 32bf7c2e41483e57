/**
 * A task's barrier handling for checkpoints with several input channels (Flink's
 * SingleCheckpointBarrierHandler with the aligned or at-least-once strategy).
 *
 * - EXACTLY_ONCE (aligned): a channel that delivered barrier n is blocked — its records
 *   wait in the channel, and its credit runs out so the producer backs up — until n
 *   arrived on every live channel; then the task snapshots, forwards n and unblocks.
 * - AT_LEAST_ONCE: nothing is blocked; the task snapshots when the last barrier n arrives,
 *   so records that overtook the barrier on fast channels are in the snapshot's "before"
 *   and are replayed after a restore (duplicates).
 * A channel that ended (EndOfPartition) counts as aligned. A newer barrier while aligning
 * subsumes the older checkpoint (it is aborted locally, as Flink does); barriers of a
 * checkpoint older than the current one are ignored.
 *
 * Invariant: at most one checkpoint is being aligned; blocked channels are exactly the
 * channels that delivered its barrier (aligned mode), and all are released when it ends.
 */
import { assert } from "../../sim/errors";
import type { CheckpointId } from "./snapshot";

export type CheckpointingMode = "EXACTLY_ONCE" | "AT_LEAST_ONCE";

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
  | { kind: "aligned"; result: AlignmentResult; subsumed: CheckpointId | undefined };

export class BarrierAligner {
  private current: CheckpointId = 0;
  private aligning = false;
  private readonly seen: Uint8Array[];
  private readonly ended: Uint8Array[];
  private seenCount = 0;
  private endedCount = 0;
  private readonly total: number;
  private triggerNs = 0;
  private firstBarrierNs = 0;

  constructor(
    private readonly mode: CheckpointingMode,
    private readonly gates: AlignerGates,
  ) {
    this.seen = gates.channelsPerGate.map((n) => new Uint8Array(n));
    this.ended = gates.channelsPerGate.map((n) => new Uint8Array(n));
    this.total = gates.channelsPerGate.reduce((a, b) => a + b, 0);
  }

  /** The checkpoint being aligned, if any. */
  get pending(): CheckpointId | undefined {
    return this.aligning ? this.current : undefined;
  }

  onBarrier(gate: number, channel: number, checkpointId: CheckpointId, triggerNs: number, nowNs: number): BarrierOutcome {
    if (checkpointId < this.current || (checkpointId === this.current && !this.aligning)) return { kind: "ignored" };
    let subsumed: CheckpointId | undefined;
    if (checkpointId > this.current) {
      if (this.aligning) subsumed = this.current;
      this.reset();
      this.current = checkpointId;
      this.aligning = true;
      this.triggerNs = triggerNs;
      this.firstBarrierNs = nowNs;
    }
    const seen = this.seen[gate]!;
    assert(seen[channel] === 0, `barrier ${checkpointId} arrived twice on gate ${gate} channel ${channel}`);
    seen[channel] = 1;
    this.seenCount++;
    if (this.mode === "EXACTLY_ONCE") this.gates.block(gate, channel);
    const done = this.completeIfAligned(nowNs);
    if (done !== undefined) return { kind: "aligned", result: done, subsumed };
    return { kind: "waiting", subsumed };
  }

  /** A channel ended (EndOfPartition): it no longer delivers barriers. */
  onChannelEnded(gate: number, channel: number, nowNs: number): AlignmentResult | undefined {
    const ended = this.ended[gate]!;
    if (ended[channel] === 1) return undefined;
    ended[channel] = 1;
    this.endedCount++;
    if (this.seen[gate]![channel] === 1) this.seenCount--;
    return this.aligning ? this.completeIfAligned(nowNs) : undefined;
  }

  /** The coordinator aborted a checkpoint: stop aligning it. */
  abort(checkpointId: CheckpointId): boolean {
    if (!this.aligning || checkpointId !== this.current) return false;
    this.reset();
    return true;
  }

  private completeIfAligned(nowNs: number): AlignmentResult | undefined {
    if (this.seenCount < this.total - this.endedCount) return undefined;
    const result = { checkpointId: this.current, triggerNs: this.triggerNs, firstBarrierNs: this.firstBarrierNs, lastBarrierNs: nowNs };
    this.reset();
    return result;
  }

  private reset(): void {
    if (this.aligning && this.mode === "EXACTLY_ONCE") this.gates.unblockAll();
    this.aligning = false;
    for (let g = 0; g < this.seen.length; g++) {
      const seen = this.seen[g]!;
      const ended = this.ended[g]!;
      // An ended channel's barrier no longer counts; seen flags of live channels reset.
      for (let c = 0; c < seen.length; c++) if (ended[c] === 0) seen[c] = 0;
    }
    this.seenCount = 0;
  }
}
