/**
 * PIPELINED_BOUNDED result partition (Flink's PipelinedResultPartition +
 * PipelinedSubpartition): each subpartition is a FIFO of finished buffers read by exactly
 * one reader — a remote reader that sends under credit, or a local input channel that
 * takes the producer's buffers directly.
 *
 * Model:
 * - Pool: min = numSubpartitions + 1, max = numSubpartitions × buffers-per-channel +
 *   floating-buffers-per-gate (NettyShuffleUtils.getMinMaxNetworkBuffersPerResultPartition;
 *   max-buffers-per-channel is a per-subpartition quota on availability, not part of the
 *   size), plus max-overdraft-buffers-per-gate overdraft.
 * - The first `visible` entries of a queue may be read; entries finished during a hold
 *   become visible at unhold. Backlog = visible data buffers not yet read.
 * - A subpartition is consumed when its reader took END_OF_PARTITION, or released when
 *   the reader went away first (its later output is discarded, as Flink's released
 *   subpartition drops it). When every subpartition is consumed and the partition is
 *   finished, it leaves the partition manager (release on consumption).
 *
 * Invariants: visible ≤ queue length; visibleData counts the data buffers among the
 * visible entries; one view per subpartition ever (pipelined results are not
 * re-consumable).
 */
import { assert } from "../../../sim/errors";
import { BufferWritingPartition } from "./buffer-writing-partition";
import { Fifo } from "../../../sim/fifo";
import type { ShuffleErrorKind } from "./messages";
import { MAX_QUEUED_BUFFERS } from "./params";
import type { ResultPartitionSpec, ShuffleContext, SubpartitionView, ViewListener, ViewOrError } from "./result-partition";
import { endOfPartitionBuffer, isEndOfPartition, type ShuffleBuffer } from "./shuffle-buffer";

class PipelinedSubpartition {
  readonly queue = new Fifo<ShuffleBuffer>();
  visible = 0;
  visibleData = 0;
  view: PipelinedSubpartitionView | undefined = undefined;
  consumed = false;
  released = false;
  constructor(readonly index: number) {}
}

/** Pool bounds of a pipelined output, as NettyShuffleUtils computes them. */
export function pipelinedPoolBounds(numSubpartitions: number, buffersPerChannel: number, floatingPerGate: number): { min: number; max: number } {
  const min = numSubpartitions + 1;
  return { min, max: Math.max(min, numSubpartitions * buffersPerChannel + floatingPerGate) };
}

export class PipelinedResultPartition extends BufferWritingPartition {
  private readonly subs: PipelinedSubpartition[] = [];
  private readonly eop = endOfPartitionBuffer();
  private consumedCount = 0;
  private unregistered = false;

  constructor(ctx: ShuffleContext, spec: ResultPartitionSpec) {
    const p = ctx.params;
    const { min, max } = pipelinedPoolBounds(spec.numSubpartitions, p.exclusiveBuffersPerChannel, p.floatingBuffersPerGate);
    super(ctx, spec, {
      label: `${spec.partitionId}@${ctx.host}`,
      minBuffers: min,
      maxBuffers: max,
      numSubpartitions: spec.numSubpartitions,
      maxBuffersPerChannel: p.maxBuffersPerChannel,
      maxOverdraftBuffers: p.maxOverdraftBuffersPerGate,
    });
    for (let i = 0; i < spec.numSubpartitions; i++) this.subs.push(new PipelinedSubpartition(i));
  }

  outputQueueLengthBuffers(subpartition: number): number {
    return this.subs[subpartition]?.queue.length ?? 0;
  }

  queuedBuffers(): number {
    let n = 0;
    for (const sp of this.subs) n += sp.queue.length;
    return n;
  }

  createView(subpartition: number): ViewOrError {
    if (this.state === "released" || this.state === "failed") return { error: "ProducerFailed", reason: `partition ${this.partitionId} was released` };
    const sp = this.subs[subpartition];
    if (sp === undefined) return { error: "ProducerFailed", reason: `partition ${this.partitionId} has no subpartition ${subpartition}` };
    if (sp.view !== undefined || sp.consumed || sp.released) {
      return { error: "ProducerFailed", reason: `subpartition ${subpartition} of ${this.partitionId} is being or has been consumed; pipelined subpartitions can only be consumed once` };
    }
    sp.view = new PipelinedSubpartitionView(this, sp);
    return sp.view;
  }

  protected addSlice(target: number, slice: ShuffleBuffer): void {
    if (target >= 0) this.enqueue(this.subs[target]!, slice);
    else for (const sp of this.subs) this.enqueue(sp, slice);
  }

  protected publishAll(): void {
    for (const sp of this.subs) this.publish(sp);
  }

  protected prependEvent(buffer: ShuffleBuffer, out: ShuffleBuffer[][]): void {
    for (const sp of this.subs) {
      if (sp.released) continue;
      for (let i = 0; i < sp.queue.length; i++) {
        const b = sp.queue.at(i)!;
        if (!b.isEvent) out[sp.index]!.push(b);
      }
      // The event is visible at once (it has no data to wait for) and read before the rest.
      sp.queue.unshift(buffer);
      sp.visible++;
      sp.view?.priorityAvailable();
    }
  }

  protected replaceWithPriority(old: ShuffleBuffer, priority: ShuffleBuffer, out: ShuffleBuffer[][]): void {
    for (const sp of this.subs) {
      if (sp.released) continue;
      const items: ShuffleBuffer[] = [];
      for (let b = sp.queue.shift(); b !== undefined; b = sp.queue.shift()) items.push(b);
      const at = items.indexOf(old);
      if (at < 0) {
        for (const b of items) sp.queue.push(b); // already sent from this subpartition
        continue;
      }
      for (let i = 0; i < at; i++) if (!items[i]!.isEvent) out[sp.index]!.push(items[i]!);
      sp.queue.push(priority);
      items.forEach((b, i) => {
        if (i !== at) sp.queue.push(b);
      });
      // The old event's place (visible or not) is the priority event's, which is visible.
      if (at >= sp.visible) sp.visible++;
      sp.view?.priorityAvailable();
    }
  }

  protected liveSubpartitions(): number {
    let n = 0;
    for (const sp of this.subs) if (!sp.released) n++;
    return n;
  }

  protected addEndOfPartition(): void {
    for (const sp of this.subs) this.enqueue(sp, this.eop);
  }

  protected subpartitionAccepts(subpartition: number): boolean {
    return !this.subs[subpartition]!.released;
  }

  protected afterFinish(): void {
    this.notifyFinished();
    this.maybeUnregister();
  }

  protected dropData(error: ShuffleErrorKind, reason: string): void {
    for (const sp of this.subs) {
      dropQueue(sp);
      const view = sp.view;
      if (view !== undefined && !sp.consumed && !sp.released) view.fail(error, reason);
    }
    this.unregistered = true;
  }

  /** @internal the view took END_OF_PARTITION, or its reader went away. */
  subpartitionDone(sp: PipelinedSubpartition, released: boolean): void {
    if (released) {
      sp.released = true;
      dropQueue(sp);
      this.dropBuilder(sp.index);
      this.ctx.mark("network.subpartitionReleasedEarly");
    } else {
      sp.consumed = true;
    }
    this.consumedCount++;
    assert(this.consumedCount <= this.numSubpartitions, `partition ${this.partitionId}: consumed more subpartitions than it has`);
    this.maybeUnregister();
  }

  /** @internal */
  noteTaken(buffer: ShuffleBuffer): void {
    this.bytesSent += buffer.sizeBytes;
    this.buffersSent++;
  }

  private maybeUnregister(): void {
    if (this.unregistered || this.state !== "finished" || this.consumedCount < this.numSubpartitions) return;
    this.unregistered = true;
    this.ctx.unregisterPartition(this);
  }

  private enqueue(sp: PipelinedSubpartition, b: ShuffleBuffer): void {
    if (sp.released) return;
    assert(sp.queue.length < MAX_QUEUED_BUFFERS, `partition ${this.partitionId}: subpartition ${sp.index} holds ${MAX_QUEUED_BUFFERS} buffers`);
    sp.queue.push(b);
    b.segment?.retain();
    if (this.holdDepth === 0) this.publish(sp);
  }

  private publish(sp: PipelinedSubpartition): void {
    const from = sp.visible;
    const to = sp.queue.length;
    if (from === to) return;
    for (let i = from; i < to; i++) if (!sp.queue.at(i)!.isEvent) sp.visibleData++;
    sp.visible = to;
    if (from === 0) sp.view?.dataAvailable();
  }
}

function dropQueue(sp: PipelinedSubpartition): void {
  for (let b = sp.queue.shift(); b !== undefined; b = sp.queue.shift()) b.segment?.release();
  sp.visible = 0;
  sp.visibleData = 0;
}

class PipelinedSubpartitionView implements SubpartitionView {
  private listener: ViewListener | undefined = undefined;
  private done = false;

  constructor(
    private readonly partition: PipelinedResultPartition,
    private readonly sp: PipelinedSubpartition,
  ) {}

  setListener(listener: ViewListener): void {
    assert(this.listener === undefined, "subpartition view: listener set twice");
    this.listener = listener;
    if (this.sp.visible > 0) listener.onDataAvailable();
  }

  poll(): ShuffleBuffer | undefined {
    const sp = this.sp;
    if (this.done || sp.visible === 0) return undefined;
    const b = sp.queue.shift()!;
    sp.visible--;
    if (!b.isEvent) {
      sp.visibleData--;
      this.partition.noteTaken(b);
    } else if (isEndOfPartition(b)) {
      this.done = true;
      this.partition.subpartitionDone(sp, false);
    } else {
      this.partition.eventTaken(b);
    }
    return b;
  }

  hasNext(): boolean {
    return !this.done && this.sp.visible > 0;
  }

  nextIsEvent(): boolean {
    return this.hasNext() && this.sp.queue.peek()!.isEvent;
  }

  backlog(): number {
    return this.sp.visibleData;
  }

  recycle(buffer: ShuffleBuffer): void {
    buffer.segment?.release();
  }

  release(): void {
    if (this.done) return;
    this.done = true;
    if (!this.sp.consumed && !this.sp.released) this.partition.subpartitionDone(this.sp, true);
  }

  queued(): number {
    return this.done ? 0 : this.sp.visible;
  }

  notifyNewBufferSize(bytes: number): void {
    if (!this.done) this.partition.setSubpartitionBufferSize(this.sp.index, bytes);
  }

  /** @internal */
  dataAvailable(): void {
    if (!this.done) this.listener?.onDataAvailable();
  }

  /** @internal a priority event is now at the head. */
  priorityAvailable(): void {
    if (this.done || this.listener === undefined) return;
    if (this.listener.onPriorityEvent !== undefined) this.listener.onPriorityEvent();
    else this.listener.onDataAvailable();
  }

  /** @internal */
  fail(error: ShuffleErrorKind, reason: string): void {
    if (this.done) return;
    this.done = true;
    this.listener?.onViewFailed(error, reason);
  }
}
