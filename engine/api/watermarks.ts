/**
 * Watermark generation helpers for the runtime (WatermarkStrategySpec on source nodes).
 * Flink's BoundedOutOfOrdernessWatermarks: watermark = max timestamp seen − d − 1, MIN
 * before any record. The runtime keeps one generator per split (per-split watermarks,
 * min-combined over a reader's active splits) when a reader reports split ids, else one per
 * reader, and emits periodically (pipeline.auto-watermark-interval) when it increases.
 */
import { MIN_WATERMARK } from "./types";

export class BoundedOutOfOrdernessWatermarks {
  private maxTimestampMs = -Infinity;

  constructor(readonly outOfOrdernessMs: number) {}

  onEvent(timestampMs: number): void {
    // NaN (no timestamp) is ignored: comparisons with NaN are false.
    if (timestampMs > this.maxTimestampMs) this.maxTimestampMs = timestampMs;
  }

  currentWatermark(): number {
    return this.maxTimestampMs === -Infinity ? MIN_WATERMARK : this.maxTimestampMs - this.outOfOrdernessMs - 1;
  }
}
