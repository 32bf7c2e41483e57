/**
 * Event-time window assigners, as Flink's TumblingEventTimeWindows and
 * SlidingEventTimeWindows. Both give windows of one fixed size, so a window is identified by
 * its start alone (the WindowOperator keys its state and derives windows from timer
 * timestamps that way). A window [start, start + size) fires when the watermark reaches
 * its maxTimestamp, start + size − 1.
 * - tumbling: start = TimeWindow.getWindowStartWithOffset(ts, offset, size), correct for
 *   negative timestamps too; invariant start ≤ ts < start + size, exactly one window;
 * - sliding: lastStart = getWindowStartWithOffset(ts, offset, slide), then every
 *   start = lastStart, lastStart − slide, … while start > ts − size (Flink's loop, same
 *   order): ceil(size / slide) windows when slide divides size, and each contains ts.
 */
import { InputError } from "../../sim/errors";

/** Flink's TimeWindow.getWindowStartWithOffset (the version that handles negative remainders). */
export function windowStartWithOffset(timestampMs: number, offsetMs: number, sizeMs: number): number {
  // JS % keeps the dividend's sign like Java's, so the branch is the same as Flink's.
  const remainder = (timestampMs - offsetMs) % sizeMs;
  return remainder < 0 ? timestampMs - (remainder + sizeMs) : timestampMs - remainder;
}

/** What the WindowOperator needs of an assigner: fixed-size windows and their starts per timestamp. */
export interface EventTimeWindowAssigner {
  readonly sizeMs: number;
  /** Starts of the windows `timestampMs` belongs to (Flink's assignWindows order). */
  assignWindows(timestampMs: number): number[];
  toString(): string;
}

export class TumblingEventTimeWindows implements EventTimeWindowAssigner {
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

  assignWindows(timestampMs: number): number[] {
    return [this.windowStart(timestampMs)];
  }

  /** As Flink prints it in operator names. */
  toString(): string {
    return `TumblingEventTimeWindows(${this.sizeMs})`;
  }
}

export class SlidingEventTimeWindows implements EventTimeWindowAssigner {
  private constructor(
    readonly sizeMs: number,
    readonly slideMs: number,
    readonly offsetMs: number,
  ) {}

  /** Windows of `sizeMs` starting every `slideMs` (Flink: size > 0, slide > 0, |offset| < slide). */
  static of(sizeMs: number, slideMs: number, offsetMs = 0): SlidingEventTimeWindows {
    if (!Number.isSafeInteger(sizeMs) || sizeMs <= 0) {
      throw new InputError("SlidingEventTimeWindows.size", `must be a positive integer number of ms, got ${sizeMs}`);
    }
    if (!Number.isSafeInteger(slideMs) || slideMs <= 0) {
      throw new InputError("SlidingEventTimeWindows.slide", `must be a positive integer number of ms, got ${slideMs}`);
    }
    if (!Number.isSafeInteger(offsetMs) || Math.abs(offsetMs) >= slideMs) {
      throw new InputError("SlidingEventTimeWindows.offset", `must be an integer with |offset| < slide (${slideMs}), got ${offsetMs}`);
    }
    return new SlidingEventTimeWindows(sizeMs, slideMs, offsetMs);
  }

  assignWindows(timestampMs: number): number[] {
    const starts: number[] = [];
    const lastStart = windowStartWithOffset(timestampMs, this.offsetMs, this.slideMs);
    for (let start = lastStart; start > timestampMs - this.sizeMs; start -= this.slideMs) starts.push(start);
    return starts;
  }

  /** As Flink prints it in operator names. */
  toString(): string {
    return `SlidingEventTimeWindows(${this.sizeMs}, ${this.slideMs})`;
  }
}

/**
 * Flink's EventTimeSessionWindows (a MergingWindowAssigner): each element gets the window
 * [ts, ts + gap); windows of one key that intersect (TimeWindow.intersects: start ≤
 * other.end and end ≥ other.start, so touching windows merge too) merge into their cover.
 * The SessionWindowOperator does the merging.
 */
export class EventTimeSessionWindows {
  private constructor(readonly gapMs: number) {}

  static withGap(gapMs: number): EventTimeSessionWindows {
    if (!Number.isSafeInteger(gapMs) || gapMs <= 0) {
      throw new InputError("EventTimeSessionWindows.gap", `must be a positive integer number of ms, got ${gapMs}`);
    }
    return new EventTimeSessionWindows(gapMs);
  }

  /** As Flink prints it in operator names. */
  toString(): string {
    return `EventTimeSessionWindows(${this.gapMs})`;
  }
}
