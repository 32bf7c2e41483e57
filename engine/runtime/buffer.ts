/**
 * Network buffers: what travels between tasks. A data buffer carries stream elements —
 * records and watermarks, as in Flink's StreamElementSerializer — in two parallel arrays
 * (no object per record); an event buffer carries one event (end of partition, end of data,
 * checkpoint barriers), as Flink serializes events into their own buffers.
 *
 * A watermark in a data buffer is the WATERMARK marker in `values` with the watermark in
 * `timestamps`; a watermark status likewise (WATERMARK_STATUS). `sizeBytes` is the serialized size (records' declared sizes plus a small
 * per-element header), never above the buffer size of the gate it was made for.
 */
import type { SavepointOptions } from "../checkpoint/savepoint";

/** Marks a watermark element inside a data buffer's `values`. */
export const WATERMARK: unique symbol = Symbol("watermark");

/**
 * Marks a latency marker inside a data buffer's `values` (Flink's LatencyMarker): its
 * `timestamps` entry is the virtual ns at which the source emitted it. Markers bypass
 * operators, so they measure queueing and transport, as Flink's do.
 */
export const LATENCY_MARKER: unique symbol = Symbol("latency-marker");
/** Serialized size of a latency marker (tag + long + operator id + subtask), bytes. */
export const LATENCY_MARKER_BYTES = 29;

/**
 * Marks a watermark status element inside a data buffer's `values` (Flink's
 * WatermarkStatus, a stream element like a watermark): its `timestamps` entry is
 * WATERMARK_STATUS_IDLE or WATERMARK_STATUS_ACTIVE (Flink's IDLE_STATUS −1, ACTIVE_STATUS 0).
 * An idle channel is left out of the consumer's watermark (engine/runtime/watermark-status.ts).
 */
export const WATERMARK_STATUS: unique symbol = Symbol("watermark-status");
export const WATERMARK_STATUS_IDLE = -1;
export const WATERMARK_STATUS_ACTIVE = 0;
/** Serialized size of a watermark status element (tag + int), bytes. */
export const WATERMARK_STATUS_BYTES = 5;

/** True for a record; false for the in-band markers (watermarks, statuses, latency markers), which are not channel state. */
export function isRecordValue(value: unknown): boolean {
  return value !== WATERMARK && value !== WATERMARK_STATUS && value !== LATENCY_MARKER;
}

/** Serialized size of a watermark element (tag + long), bytes. */
export const WATERMARK_BYTES = 9;
/** Per-record length prefix and tag in Flink's record serializer, bytes. */
export const RECORD_HEADER_BYTES = 5;
/** taskmanager.memory.segment-size default: 32 KiB. */
export const DEFAULT_BUFFER_SIZE_BYTES = 32 * 1024;

/**
 * Events (each in its own buffer, needing no credit, as in Flink):
 * - EndOfPartition: the producer finished; nothing follows on the channel.
 * - EndOfData (FLIP-147): the producer's input ended, but it stays alive until the final
 *   checkpoint completes, so barriers still follow; EndOfPartition comes after that.
 * - CheckpointBarrier: separates the records before checkpoint `checkpointId` from those
 *   after it; `timestampNs` is when the coordinator triggered it. An unaligned one jumps
 *   the queues (output subpartitions, input channels); what it overtook is channel state.
 */
export type StreamEvent =
  | { readonly type: "EndOfPartition" }
  | { readonly type: "EndOfData" }
  | {
      readonly type: "CheckpointBarrier";
      readonly checkpointId: number;
      readonly timestampNs: number;
      /** An unaligned checkpoint's barrier: a priority event that overtakes queued buffers. */
      readonly unaligned?: boolean;
      /** A savepoint's barrier (Flink's CheckpointOptions with a SavepointType): how to snapshot, whether to stop. */
      readonly savepoint?: SavepointOptions;
    };

export const END_OF_DATA: StreamEvent = { type: "EndOfData" };

/** Serialized CheckpointBarrier: tag, id, timestamp, checkpoint options (EventSerializer). */
export const CHECKPOINT_BARRIER_BYTES = 29;
/** Serialized EndOfData: tag and stop mode. */
export const END_OF_DATA_BYTES = 5;

export const END_OF_PARTITION: StreamEvent = { type: "EndOfPartition" };

export class NetworkBuffer {
  readonly values: unknown[] = [];
  readonly timestamps: number[] = [];
  sizeBytes = 0;
  event: StreamEvent | undefined = undefined;

  get isEvent(): boolean {
    return this.event !== undefined;
  }

  /** Records and watermarks in this buffer. */
  get count(): number {
    return this.values.length;
  }

  static ofEvent(event: StreamEvent, sizeBytes = 8): NetworkBuffer {
    const b = new NetworkBuffer();
    b.event = event;
    b.sizeBytes = sizeBytes;
    return b;
  }
}
