/**
 * Buffers as the shuffle layer handles them: a NetworkBuffer that knows the memory
 * segment it was cut from (Flink's BufferBuilder/BufferConsumer slices share one
 * MemorySegment) and its compressed size.
 *
 * A segment is counted by reference: the open builder holds one reference and every
 * queued or in-flight slice holds one per subpartition queue it sits in (a broadcast
 * slice is one object in every subpartition's queue). The segment goes back to its pool
 * when the last reference is dropped.
 *
 * Invariant: refs ≥ 0; a segment is recycled to its pool exactly once. Buffers handed to
 * consumers are read-only for them (a broadcast buffer is shared by all consumers).
 */
import { assert } from "../../../sim/errors";
import { END_OF_PARTITION, NetworkBuffer } from "../buffer";
import type { LocalBufferPool } from "./buffer-pool";

export class Segment {
  refs = 1;
  constructor(
    readonly pool: LocalBufferPool,
    /** The subpartition the pool counts it for (broadcast: 0, as Flink does). */
    readonly subpartition: number,
  ) {}

  retain(): void {
    assert(this.refs > 0, `segment of ${this.pool.label}: retain after it was recycled`);
    this.refs++;
  }

  release(): void {
    assert(this.refs > 0, `segment of ${this.pool.label}: released more often than retained`);
    if (--this.refs === 0) this.pool.recycle(this.subpartition);
  }
}

export class ShuffleBuffer extends NetworkBuffer {
  /** The pooled memory it lives in; undefined for events, file-read and received buffers. */
  segment: Segment | undefined = undefined;
  /** Payload bytes on the wire / on disk when compressed; −1 when sent as is. */
  compressedBytes = -1;

  /** Payload bytes as transferred (compressed size when compressed). */
  get wireBytes(): number {
    return this.compressedBytes >= 0 ? this.compressedBytes : this.sizeBytes;
  }
}

/** Serialized EndOfPartitionEvent: the event's class tag (an int). */
export const END_OF_PARTITION_BYTES = 4;

export function endOfPartitionBuffer(): ShuffleBuffer {
  const b = new ShuffleBuffer();
  b.event = END_OF_PARTITION;
  b.sizeBytes = END_OF_PARTITION_BYTES;
  return b;
}

export function isEndOfPartition(b: NetworkBuffer): boolean {
  return b.event !== undefined && b.event.type === "EndOfPartition";
}
