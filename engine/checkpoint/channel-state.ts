/**
 * Channel state of unaligned checkpoints (FLIP-76): the in-flight data a barrier overtook.
 *
 * - Output channel state: per (output, subpartition), the records queued in the producer's
 *   subpartition — not yet sent — when the priority barrier jumped ahead of them.
 * - Input channel state: per (gate, channel), the records that arrived before that
 *   channel's barrier but after the task's snapshot: the data queued in the channel that
 *   a priority barrier overtook, and everything the channel delivers until its barrier.
 * Either way the task still processes the data normally; the copy in the checkpoint is
 * what a restore replays — output state is written again before any new output, input
 * state is processed before any new input — so every record is processed exactly once.
 * Watermarks, watermark statuses and latency markers are not channel state (watermarks come
 * after the replay; a restored task starts with every channel active, as Flink's does).
 */
import { isRecordValue, type NetworkBuffer } from "../runtime/buffer";
import type { OvertakenData } from "../runtime/network/result-partition";

export interface ChannelRecords {
  values: unknown[];
  timestamps: number[];
  /** Serialized bytes of the buffers the records came in (what is persisted). */
  bytes: number;
}

export interface InputChannelState extends ChannelRecords {
  gate: number;
  channel: number;
}

export interface OutputChannelState extends ChannelRecords {
  output: number;
  subpartition: number;
}

/** Collects one unaligned checkpoint's channel state while its barriers come in. */
export class ChannelStateRecorder {
  readonly input: InputChannelState[] = [];
  readonly output: OutputChannelState[] = [];
  private readonly inputByChannel = new Map<string, InputChannelState>();

  /** A data buffer of (gate, channel) that is before that channel's barrier. */
  recordInput(gate: number, channel: number, buffer: Pick<NetworkBuffer, "values" | "timestamps" | "sizeBytes">): void {
    const key = `${gate}/${channel}`;
    let entry = this.inputByChannel.get(key);
    if (entry === undefined) {
      entry = { gate, channel, values: [], timestamps: [], bytes: 0 };
      this.inputByChannel.set(key, entry);
      this.input.push(entry);
    }
    let records = 0;
    for (let i = 0; i < buffer.values.length; i++) {
      const v = buffer.values[i];
      if (!isRecordValue(v)) continue;
      entry.values.push(v);
      entry.timestamps.push(buffer.timestamps[i]!);
      records++;
    }
    if (records > 0) entry.bytes += buffer.sizeBytes;
  }

  /** The unprocessed rest of a buffer the task was in the middle of when it snapshotted. */
  recordInputRest(gate: number, channel: number, buffer: Pick<NetworkBuffer, "values" | "timestamps" | "sizeBytes">, from: number): void {
    const values = buffer.values.slice(from);
    const timestamps = buffer.timestamps.slice(from);
    // Its bytes: the buffer's, in proportion to the records left.
    const sizeBytes = Math.ceil((buffer.sizeBytes * values.length) / Math.max(1, buffer.values.length));
    this.recordInput(gate, channel, { values, timestamps, sizeBytes });
  }

  /** What a priority barrier overtook in one output's subpartitions. */
  recordOutput(output: number, overtaken: readonly OvertakenData[]): void {
    for (const d of overtaken) this.output.push({ output, subpartition: d.subpartition, values: d.values, timestamps: d.timestamps, bytes: d.bytes });
  }

  /** In-flight bytes persisted (Flink's "persisted in-flight data"). */
  get bytes(): number {
    let n = 0;
    for (const e of this.input) n += e.bytes;
    for (const e of this.output) n += e.bytes;
    return n;
  }
}

/**
 * A restored task's channel state, replayed in slices before anything new: first the
 * output state (records written again to their subpartitions), then the input state
 * (records processed as if they had just arrived on their channels).
 */
export class ChannelStateReplay {
  private outputIndex = 0;
  private outputRecord = 0;
  private inputIndex = 0;
  private inputRecord = 0;

  constructor(
    private readonly outputs: readonly OutputChannelState[],
    private readonly inputs: readonly InputChannelState[],
  ) {}

  get done(): boolean {
    return this.outputIndex >= this.outputs.length && this.inputIndex >= this.inputs.length;
  }

  /**
   * Emits output records through `emit` while `canContinue()`; returns false when stopped
   * early (no output buffer free), true when the output state is exhausted.
   */
  replayOutput(canContinue: () => boolean, emit: (output: number, subpartition: number, value: unknown, timestampMs: number) => void): boolean {
    for (; this.outputIndex < this.outputs.length; this.outputIndex++, this.outputRecord = 0) {
      const e = this.outputs[this.outputIndex]!;
      for (; this.outputRecord < e.values.length; this.outputRecord++) {
        if (!canContinue()) return false;
        emit(e.output, e.subpartition, e.values[this.outputRecord], e.timestamps[this.outputRecord]!);
      }
    }
    return true;
  }

  /** Processes input records through `process` while `canContinue()`; as replayOutput. */
  replayInput(canContinue: () => boolean, process: (value: unknown, timestampMs: number, gate: number) => void): boolean {
    for (; this.inputIndex < this.inputs.length; this.inputIndex++, this.inputRecord = 0) {
      const e = this.inputs[this.inputIndex]!;
      for (; this.inputRecord < e.values.length; this.inputRecord++) {
        if (!canContinue()) return false;
        process(e.values[this.inputRecord], e.timestamps[this.inputRecord]!, e.gate);
      }
    }
    return true;
  }
}
