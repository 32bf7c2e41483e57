/**
 * Buffer debloating (FLIP-183, Flink's BufferDebloater + BufferSizeEMA + ThroughputCalculator):
 * every `period` each input gate sizes its buffers so that the data in flight to it takes
 * about `target` time to consume at the rate the task has been consuming:
 *   desired total = throughput × target;  size = EMA(desired / max(1, buffers in use)),
 * clamped to [min-segment-size, segment size]; a new size is announced to the producers
 * only when it differs from the last announced one by at least `threshold-percentages`.
 * Throughput is bytes consumed per second of the task's non-idle time, so a task starved
 * of input is not mistaken for a slow one.
 *
 * Pure arithmetic on numbers the caller measures; the caller (the task) owns the timer.
 */
import { assert } from "../../../sim/errors";

export interface DebloatParams {
  /** taskmanager.network.memory.buffer-debloat.target, ns. */
  targetNs: number;
  /** ...buffer-debloat.samples: the EMA's window. */
  samples: number;
  /** ...buffer-debloat.threshold-percentages. */
  thresholdPercent: number;
  /** taskmanager.memory.min-segment-size, bytes. */
  minBufferBytes: number;
  /** taskmanager.memory.segment-size, bytes. */
  maxBufferBytes: number;
}

/** Throughput over one period: bytes consumed per second of non-idle time (undefined if the task was idle throughout). */
export function throughputBytesPerS(bytes: number, periodNs: number, idleNs: number): number | undefined {
  const activeNs = periodNs - idleNs;
  if (activeNs <= 0) return undefined;
  return (bytes * 1e9) / activeNs;
}

export class BufferDebloater {
  private readonly alpha: number;
  /** The EMA's current estimate, bytes (starts at the full segment, as Flink's does). */
  private estimate: number;
  /** The size last announced to the producers. */
  lastAnnounced: number;

  constructor(private readonly p: DebloatParams) {
    assert(p.samples >= 1 && p.minBufferBytes >= 1 && p.minBufferBytes <= p.maxBufferBytes, "buffer debloater: bad parameters");
    this.alpha = 2 / (p.samples + 1);
    this.estimate = p.maxBufferBytes;
    this.lastAnnounced = p.maxBufferBytes;
  }

  /** The new buffer size to announce, or undefined when the change is below the threshold. */
  recalculate(throughput: number, buffersInUse: number): number | undefined {
    const desiredTotal = (throughput * this.p.targetNs) / 1e9;
    const desired = Math.min(desiredTotal / Math.max(1, buffersInUse), this.p.maxBufferBytes);
    this.estimate += this.alpha * (desired - this.estimate);
    const size = Math.round(Math.max(this.p.minBufferBytes, Math.min(this.p.maxBufferBytes, this.estimate)));
    if (size === this.lastAnnounced) return undefined;
    const change = Math.abs(1 - this.lastAnnounced / size) * 100;
    if (change < this.p.thresholdPercent) return undefined;
    this.lastAnnounced = size;
    return size;
  }
}
