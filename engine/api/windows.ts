/**
 * Window assigners. Only tumbling event-time windows for now, as Flink's
 * TumblingEventTimeWindows: window start = TimeWindow.getWindowStartWithOffset(ts, offset,
 * size), which is correct for negative timestamps too; a window [start, start + size)
 * fires when the watermark reaches its maxTimestamp, start + size − 1.
 * Invariant: start ≤ ts < start + size for every integral ts.
 */
import { InputError } from "../../sim/errors";

/** Flink's TimeWindow.getWindowStartWithOffset (the version that handles negative remainders). */
export function windowStartWithOffset(timestampMs: number, offsetMs: number, sizeMs: number): number {
  // JS % keeps the dividend's sign like Java's, so the branch is the same as Flink's.
  const remainder = (timestampMs - offsetMs) % sizeMs;
  return remainder < 0 ? timestampMs - (remainder + sizeMs) : timestampMs - remainder;
}

export class TumblingEventTimeWindows {
  private constructor(
    readonly sizeMs: number,
    readonly offsetMs: number,
  ) {}

  /** Windows of `sizeMs`, aligned to the epoch plus `offsetMs` (Flink: |offset| < size). */
  static of(sizeMs: number, offsetMs = 0): TumblingEventTimeWindows {
    if (!Number.isSafeInteger(sizeMs) || sizeMs <= 0) {
      throw new InputError("TumblingEventTimeWindows.size", `must be a positive integer number of ms, got ${sizeMs}`);
    }
    if (!Number.isSafeInteger(offsetMs) || Math.abs(offsetMs) >= sizeMs) {
      throw new InputError("TumblingEventTimeWindows.offset", `must be an integer with |offset| < size (${sizeMs}), got ${offsetMs}`);
    }
    return new TumblingEventTimeWindows(sizeMs, offsetMs);
  }

  windowStart(timestampMs: number): number {
    return windowStartWithOffset(timestampMs, this.offsetMs, this.sizeMs);
  }

  /** As Flink prints it in operator names. */
  toString(): string {
    return `TumblingEventTimeWindows(${this.sizeMs})`;
  }
}
