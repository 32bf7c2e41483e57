/**
 * The messages of the data plane between TaskManagers, after Flink's NettyMessage: one
 * multiplexed connection per (consumer TM → producer TM), messages addressed by the
 * consumer's input channel id (receiverId). Sizes approximate Flink's encoding.
 *
 * Invariant: every message has a size ≥ its frame header; a BufferResponse carries one
 * buffer, whose payload counts at its wire size (compressed when the partition is).
 */
import type { ShuffleBuffer } from "./shuffle-buffer";

/** Netty frame header: frame length (4) + magic number (4) + message id (1). */
export const FRAME_HEADER_BYTES = 9;
/** InputChannelID: two longs. */
export const RECEIVER_ID_BYTES = 16;
/** ResultPartitionID: IntermediateResultPartitionID (16 + 4) + ExecutionAttemptID (16 + 4 + 4 ...), rounded. */
export const PARTITION_ID_BYTES = 48;
/** receiverId + sequence number (4) + backlog (4) + data type (1) + compressed flag (1) + size (4) + subpartition id (4). */
export const BUFFER_RESPONSE_HEADER_BYTES = FRAME_HEADER_BYTES + RECEIVER_ID_BYTES + 18;
/** A serialized exception (class name + message), rounded. */
export const ERROR_BODY_BYTES = 256;

export type ShuffleErrorKind = "PartitionNotFound" | "ProducerFailed";

export type ShuffleMessage =
  | { kind: "PartitionRequest"; partitionId: string; subpartition: number; receiverId: number; credit: number }
  | { kind: "BufferResponse"; receiverId: number; seq: number; backlog: number; buffer: ShuffleBuffer }
  | { kind: "AddCredit"; receiverId: number; credit: number }
  | { kind: "BacklogAnnouncement"; receiverId: number; backlog: number }
  | { kind: "CancelPartitionRequest"; receiverId: number }
  /** Buffer debloating: the consumer's new buffer size for this channel (Flink's NewBufferSize). */
  | { kind: "NewBufferSize"; receiverId: number; bufferSize: number }
  | { kind: "ErrorResponse"; receiverId: number; error: ShuffleErrorKind; partitionId: string; reason: string };

export function messageBytes(msg: ShuffleMessage): number {
  switch (msg.kind) {
    case "PartitionRequest":
      return FRAME_HEADER_BYTES + PARTITION_ID_BYTES + 4 + RECEIVER_ID_BYTES + 4;
    case "BufferResponse":
      return BUFFER_RESPONSE_HEADER_BYTES + msg.buffer.wireBytes;
    case "AddCredit":
      return FRAME_HEADER_BYTES + 4 + RECEIVER_ID_BYTES;
    case "BacklogAnnouncement":
      return FRAME_HEADER_BYTES + 4 + RECEIVER_ID_BYTES;
    case "CancelPartitionRequest":
      return FRAME_HEADER_BYTES + RECEIVER_ID_BYTES;
    case "NewBufferSize":
      return FRAME_HEADER_BYTES + 4 + RECEIVER_ID_BYTES;
    case "ErrorResponse":
      return FRAME_HEADER_BYTES + RECEIVER_ID_BYTES + ERROR_BODY_BYTES;
  }
}
