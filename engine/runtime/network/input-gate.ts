/**
 * The consumer side (Flink's SingleInputGate with Local/RemoteInputChannel and the
 * channel BufferManager): one gate per input of a task, one channel per
 * (partition, subpartition) it reads.
 *
 * Model:
 * - A channel whose producer runs on this TM is *local*: it reads the producer's
 *   subpartition view directly (no network, no credit; the producer's bounded pool is the
 *   only limit), and new data is announced in a zero-delay kernel event.
 * - A *remote* channel sends PartitionRequest with its exclusive buffers as initial
 *   credit. A received data buffer occupies one of its buffers until the task recycles
 *   it. The backlog in each BufferResponse sets required = backlog + exclusive; the
 *   channel takes floating buffers from the gate's pool (min 1, max floating-per-gate)
 *   until its free buffers reach required, each one a new credit; channels that find the
 *   pool empty wait in FIFO order. A recycled buffer becomes credit again, unless the
 *   channel has more free buffers than required and holds floating ones: then one floating
 *   buffer goes back to the pool (BufferManager.recycle / notifyBufferAvailable).
 * - Exclusive buffers are a fixed reservation of the TM budget taken when the gate is
 *   created (Flink: at task setup); if the budget cannot hold them the gate is not
 *   created (InsufficientNetworkBuffersError).
 * - poll() serves channels in the order data arrived (inputChannelsWithData): it takes
 *   one buffer from the head channel and re-queues the channel at the tail if it has more.
 *   END_OF_PARTITION is returned too (so the task learns which channel ended); the gate is
 *   finished when every channel's has been polled. Events need no recycle.
 * - A channel deployed without its producer's location (Flink's UnknownInputChannel: a
 *   hybrid partition whose producer has not finished, under ONLY_FINISHED_PRODUCERS)
 *   reads nothing until updateChannel names the host; it then becomes local or remote and
 *   is requested. Its exclusive buffers are reserved with the gate's (it may be remote).
 * - A partition the producer TM does not have (yet) is requested again after the
 *   request backoff (100 ms doubling to 10 s, Flink's defaults), then reported as
 *   PartitionNotFound; a lost connection is reported as ConnectionLost; a released or
 *   failed producer as ProducerFailed. The first error is reported once (kernel event).
 *
 * Invariants (asserted): a remote channel never receives a data buffer without a free
 * buffer for it (credit), so buffers in use per channel ≤ exclusive + floating-per-gate;
 * sequence numbers arrive in order; floating buffers held by channels ≤ the pool's size.
 */
import { InvariantError, assert } from "../../../sim/errors";
import type { NetworkBuffer } from "../buffer";
import { Grant, type FixedReservation, type LocalBufferPool } from "./buffer-pool";
import type { ClientConnection, RemoteChannelHandle } from "./connections";
import { Fifo } from "../../../sim/fifo";
import type { ShuffleErrorKind, ShuffleMessage } from "./messages";
import { MAX_CHANNELS_PER_GATE, MAX_QUEUED_BUFFERS, gateBuffersSpec } from "./params";
import { isViewError, type ManagedPartition, type ShuffleContext, type SubpartitionView, type ViewListener } from "./result-partition";
import { isEndOfPartition, type ShuffleBuffer } from "./shuffle-buffer";

export type GateError =
  | { type: "PartitionNotFound"; partitionId: string; channel: number }
  | { type: "ConnectionLost"; host: string; channel: number; reason: string }
  | { type: "ProducerFailed"; partitionId: string; channel: number; reason: string };

export interface InputChannelSpec {
  partitionId: string;
  subpartition: number;
  /** Undefined: not known yet (see updateChannel). */
  producerHost: string | undefined;
}

export interface InputGateSpec {
  gateId: string;
  /** The consuming task attempt. */
  owner: string;
  channels: InputChannelSpec[];
  /** Reads blocking or hybrid partitions (sizes its buffers by the batch limit, see gateBuffersSpec). */
  blocking?: boolean;
}

export type GateState = "created" | "requested" | "finished" | "failed" | "released";

/** Per-channel numbers for metrics and tests. */
export interface ChannelStats {
  local: boolean;
  /** Buffers received and not yet polled (local: readable in the producer's queue). */
  queued: number;
  /** Remote: data buffers received and not yet recycled. */
  inUse: number;
  maxInUseObserved: number;
  exclusive: number;
  floating: number;
  finished: boolean;
}

/** What the gate needs from its environment. */
export interface GateContext extends ShuffleContext {
  lookupPartition(partitionId: string): ManagedPartition | undefined;
  clientFor(host: string): ClientConnection;
  nextReceiverId(): number;
}

abstract class InputChannel {
  queuedInGate = false;
  finished = false;
  /** Held by an aligned checkpoint: its buffers wait (and its credit runs out) until released. */
  blocked = false;
  protected backoffNs = 0;

  constructor(
    protected readonly gate: InputGate,
    protected readonly ctx: GateContext,
    readonly index: number,
    readonly partitionId: string,
    readonly subpartition: number,
    readonly producerHost: string,
  ) {}

  abstract readonly local: boolean;
  abstract request(): void;
  abstract pollNext(): ShuffleBuffer | undefined;
  abstract hasMore(): boolean;
  abstract recycle(buffer: ShuffleBuffer): void;
  abstract endOfPartitionPolled(): void;
  abstract release(): void;
  abstract stats(): ChannelStats;
  /** Buffer debloating: tell the producer's subpartition the new buffer size. */
  abstract announceBufferSize(bytes: number): void;
  /**
   * The data buffers queued here behind a priority barrier that was just polled: the data
   * it overtook on this side (remote channels; a local channel reads the producer's
   * queue, whose overtaken data the producer keeps as its own channel state).
   */
  abstract overtakenData(): ShuffleBuffer[];
  /** Buffers received and not yet recycled by the task (Flink's buffers in use). */
  abstract buffersInUse(): number;

  /** Flink's InputChannel.increaseBackoff: 0 → initial → ×2 … → max, then give up. */
  protected retryLater(): boolean {
    const { requestBackoffInitialNs: initial, requestBackoffMaxNs: max } = this.ctx.params;
    if (initial === 0) return false;
    if (this.backoffNs === 0) this.backoffNs = initial;
    else if (this.backoffNs < max) this.backoffNs = Math.min(this.backoffNs * 2, max);
    else return false;
    this.ctx.kernel.after(this.backoffNs, () => {
      if (this.ctx.alive() && this.gate.state === "requested" && !this.finished) this.request();
    });
    return true;
  }

  protected partitionNotFound(): void {
    if (this.retryLater()) return;
    this.gate.fail({ type: "PartitionNotFound", partitionId: this.partitionId, channel: this.index });
  }
}

class LocalInputChannel extends InputChannel implements ViewListener {
  readonly local = true;
  private view: SubpartitionView | undefined = undefined;
  notifyPending = false;
  private released = false;

  request(): void {
    const partition = this.ctx.lookupPartition(this.partitionId);
    if (partition === undefined) {
      this.partitionNotFound();
      return;
    }
    const view = partition.createView(this.subpartition);
    if (isViewError(view)) {
      if (view.error === "PartitionNotFound") this.partitionNotFound();
      else this.gate.fail({ type: "ProducerFailed", partitionId: this.partitionId, channel: this.index, reason: view.reason });
      return;
    }
    this.view = view;
    view.setListener(this);
  }

  onDataAvailable(): void {
    if (!this.released) this.gate.localDataAvailable(this);
  }

  onPriorityEvent(): void {
    if (!this.released) this.gate.priorityArrived(this);
  }

  overtakenData(): ShuffleBuffer[] {
    return [];
  }

  onViewFailed(error: ShuffleErrorKind, reason: string): void {
    if (this.released || this.finished) return;
    if (error === "PartitionNotFound") this.gate.fail({ type: "PartitionNotFound", partitionId: this.partitionId, channel: this.index });
    else this.gate.fail({ type: "ProducerFailed", partitionId: this.partitionId, channel: this.index, reason });
  }

  pollNext(): ShuffleBuffer | undefined {
    return this.released ? undefined : this.view?.poll();
  }

  hasMore(): boolean {
    return !this.released && this.view !== undefined && this.view.hasNext();
  }

  recycle(buffer: ShuffleBuffer): void {
    this.view?.recycle(buffer);
  }

  endOfPartitionPolled(): void {
    this.finished = true;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    if (!this.finished) this.view?.release();
  }

  announceBufferSize(bytes: number): void {
    if (!this.released && !this.finished) this.view?.notifyNewBufferSize?.(bytes);
  }

  buffersInUse(): number {
    return this.released ? 0 : (this.view?.queued() ?? 0);
  }

  stats(): ChannelStats {
    return { local: true, queued: this.released ? 0 : (this.view?.queued() ?? 0), inUse: 0, maxInUseObserved: 0, exclusive: 0, floating: 0, finished: this.finished };
  }
}

/** A channel whose producer's location is not known yet: reads nothing until the gate replaces it. */
class UnknownInputChannel extends InputChannel {
  readonly local = false;
  request(): void {}
  pollNext(): ShuffleBuffer | undefined {
    return undefined;
  }
  hasMore(): boolean {
    return false;
  }
  recycle(_buffer: ShuffleBuffer): void {
    throw new InvariantError(`channel ${this.index} of gate ${this.gate.gateId}: recycle on an unknown channel`);
  }
  endOfPartitionPolled(): void {
    throw new InvariantError(`channel ${this.index} of gate ${this.gate.gateId}: end of partition on an unknown channel`);
  }
  release(): void {}
  announceBufferSize(_bytes: number): void {}
  overtakenData(): ShuffleBuffer[] {
    return [];
  }
  buffersInUse(): number {
    return 0;
  }
  stats(): ChannelStats {
    return { local: false, queued: 0, inUse: 0, maxInUseObserved: 0, exclusive: 0, floating: 0, finished: false };
  }
}

type RemoteState = "idle" | "requested" | "finished" | "released";

class RemoteInputChannel extends InputChannel implements RemoteChannelHandle {
  readonly local = false;
  readonly receiverId: number;
  state: RemoteState = "idle";
  /** Exclusive buffers the channel holds now. */
  exclusive = 0;
  /** Exclusive buffers ever assigned to it (≤ exclusive-per-channel). */
  exclusiveAssigned = 0;
  floatingHeld = 0;
  inUse = 0;
  maxInUseObserved = 0;
  required: number;
  waitingFloating = false;
  private unannounced = 0;
  private expectedSeq = 0;
  private readonly received = new Fifo<ShuffleBuffer>();
  /** The data queued here when the last priority barrier arrived (what it overtook). */
  private overtaken: ShuffleBuffer[] = [];
  private client: ClientConnection | undefined = undefined;

  constructor(gate: InputGate, ctx: GateContext, index: number, spec: InputChannelSpec & { producerHost: string }) {
    super(gate, ctx, index, spec.partitionId, spec.subpartition, spec.producerHost);
    this.receiverId = ctx.nextReceiverId();
    this.required = gate.exclusivePerChannel;
  }

  get free(): number {
    return this.exclusive + this.floatingHeld - this.inUse;
  }

  overtakenData(): ShuffleBuffer[] {
    const out = this.overtaken;
    this.overtaken = [];
    return out;
  }

  announceBufferSize(bytes: number): void {
    if (this.state === "requested") this.client?.send({ kind: "NewBufferSize", receiverId: this.receiverId, bufferSize: bytes });
  }

  buffersInUse(): number {
    return this.inUse;
  }

  request(): void {
    const client = this.ctx.clientFor(this.producerHost);
    this.client = client;
    client.register(this);
    this.state = "requested";
    this.expectedSeq = 0;
    this.unannounced = 0;
    client.send({ kind: "PartitionRequest", partitionId: this.partitionId, subpartition: this.subpartition, receiverId: this.receiverId, credit: this.free });
  }

  onBufferResponse(msg: Extract<ShuffleMessage, { kind: "BufferResponse" }>): void {
    if (this.state !== "requested") return;
    assert(msg.seq === this.expectedSeq, `channel ${this.index} of gate ${this.gate.gateId}: buffer ${msg.seq} arrived, expected ${this.expectedSeq}`);
    this.expectedSeq++;
    const b = msg.buffer;
    assert(this.received.length < MAX_QUEUED_BUFFERS, `channel ${this.index} of gate ${this.gate.gateId}: ${MAX_QUEUED_BUFFERS} buffers queued`);
    if (!b.isEvent) {
      if (this.free <= 0) {
        throw new InvariantError(`channel ${this.index} of gate ${this.gate.gateId} on ${this.ctx.host}: a buffer arrived without credit (${this.inUse} in use of ${this.exclusive} exclusive + ${this.floatingHeld} floating)`);
      }
      this.inUse++;
      if (this.inUse > this.maxInUseObserved) this.maxInUseObserved = this.inUse;
    }
    if (b.event !== undefined && b.event.type === "CheckpointBarrier" && b.event.unaligned === true) {
      // An unaligned barrier jumps the queue: the task reads it before the data it overtook
      // — the data queued now; what arrives after it is after it.
      this.overtaken = [];
      for (let i = 0; i < this.received.length; i++) {
        const q = this.received.at(i)!;
        if (!q.isEvent) this.overtaken.push(q);
      }
      this.received.unshift(b);
      this.gate.priorityArrived(this);
      return;
    }
    this.received.push(b);
    this.gate.remoteDataArrived(this);
    if (!b.isEvent) this.onSenderBacklog(msg.backlog);
  }

  onBacklogAnnouncement(backlog: number): void {
    if (this.state === "requested") this.onSenderBacklog(backlog);
  }

  onErrorResponse(error: ShuffleErrorKind, reason: string): void {
    if (this.state !== "requested") return;
    this.client = undefined;
    this.state = "idle";
    if (error === "PartitionNotFound") this.partitionNotFound();
    else this.gate.fail({ type: "ProducerFailed", partitionId: this.partitionId, channel: this.index, reason });
  }

  onConnectionLost(reason: string): void {
    if (this.state !== "requested") return;
    this.client = undefined;
    this.state = "idle";
    this.gate.fail({ type: "ConnectionLost", host: this.producerHost, channel: this.index, reason });
  }

  takeUnannouncedCredit(): number {
    if (this.state !== "requested") return 0;
    const n = this.unannounced;
    this.unannounced = 0;
    return n;
  }

  /** New free buffers: announced in the next credit drain (a request carries them itself). */
  addCredit(n: number): void {
    if (this.state !== "requested" || n === 0) return;
    const before = this.unannounced;
    this.unannounced += n;
    if (before === 0) this.client?.queueCredit(this);
  }

  pollNext(): ShuffleBuffer | undefined {
    return this.received.shift();
  }

  hasMore(): boolean {
    return this.received.length > 0;
  }

  recycle(buffer: ShuffleBuffer): void {
    if (buffer.isEvent) return;
    assert(this.inUse > 0, `channel ${this.index} of gate ${this.gate.gateId}: recycled more buffers than it received`);
    this.inUse--;
    if (this.state === "requested" || this.state === "idle") {
      if (this.free > this.required && this.floatingHeld > 0) {
        this.floatingHeld--;
        this.gate.returnFloating(1);
      } else {
        this.addCredit(1);
      }
    } else if (this.floatingHeld > 0) {
      this.floatingHeld--;
      this.gate.returnFloating(1);
    } else {
      assert(this.exclusive > 0, `channel ${this.index} of gate ${this.gate.gateId}: buffer owner unknown`);
      this.exclusive--;
      this.gate.exclusiveNoLongerNeeded(1, 1);
    }
  }

  endOfPartitionPolled(): void {
    this.finished = true;
    this.stop("finished");
  }

  release(): void {
    if (this.state === "released" || this.state === "finished") return;
    if (this.state === "requested") this.client?.send({ kind: "CancelPartitionRequest", receiverId: this.receiverId });
    // Buffers still queued were never handed to the task: they come back now.
    for (let b = this.received.shift(); b !== undefined; b = this.received.shift()) {
      if (!b.isEvent) this.inUse--;
    }
    this.stop("released");
  }

  /** Gives back the free buffers and what was never assigned (Flink's releaseAllResources). */
  private stop(state: "finished" | "released"): void {
    this.client?.unregister(this);
    this.client = undefined;
    this.state = state;
    this.unannounced = 0;
    const free = Math.max(0, this.free);
    const floatingFree = Math.min(this.floatingHeld, free);
    this.floatingHeld -= floatingFree;
    this.gate.returnFloating(floatingFree);
    const exclusiveFree = free - floatingFree;
    this.exclusive -= exclusiveFree;
    const neverAssigned = this.gate.exclusivePerChannel - this.exclusiveAssigned;
    this.exclusiveAssigned = this.gate.exclusivePerChannel;
    this.gate.exclusiveNoLongerNeeded(exclusiveFree + neverAssigned, exclusiveFree);
  }

  /** @internal sets required from a backlog and asks the gate for floating buffers. */
  onSenderBacklog(backlog: number): void {
    this.required = backlog + this.gate.exclusivePerChannel;
    this.gate.requestFloating(this);
  }

  stats(): ChannelStats {
    return {
      local: false,
      queued: this.received.length,
      inUse: this.inUse,
      maxInUseObserved: this.maxInUseObserved,
      exclusive: this.exclusive,
      floating: this.floatingHeld,
      finished: this.finished,
    };
  }
}

export class InputGate {
  readonly gateId: string;
  readonly owner: string;
  readonly numChannels: number;
  /** Exclusive buffers per remote channel and the floating pool's largest size (gateBuffersSpec). */
  readonly exclusivePerChannel: number;
  private readonly floatingMax: number;
  state: GateState = "created";
  bytesReceived = 0;
  buffersReceived = 0;
  private readonly channels: InputChannel[] = [];
  private readonly remote: RemoteInputChannel[] = [];
  /** Channels still waiting for their producer's location. */
  private unknownChannels = 0;
  private readonly withData = new Fifo<InputChannel>();
  /** Channels with a priority event (an unaligned barrier) at their head, read first. */
  private readonly priority = new Fifo<InputChannel>();
  private priorityListener: (() => void) | undefined;
  private readonly pendingLocal = new Fifo<LocalInputChannel>();
  private dispatchScheduled = false;
  private listeners: (() => void)[] = [];
  private errorListeners: ((err: GateError) => void)[] = [];
  private error: GateError | undefined = undefined;
  private finishedChannels = 0;
  private readonly floatingPool: LocalBufferPool;
  private readonly exclusiveReservation: FixedReservation;
  /** Exclusive segments held by the reservation but not yet given to a channel. */
  private exclusiveUnassigned: number;
  private readonly waitingFloating = new Fifo<RemoteInputChannel>();
  private floatingArmed = false;
  private readonly onDispatchDue = () => this.dispatch();
  private readonly onFloatingAvailable = () => this.floatingAvailable();

  constructor(
    private readonly ctx: GateContext,
    spec: InputGateSpec,
  ) {
    if (!Array.isArray(spec.channels) || spec.channels.length === 0 || spec.channels.length > MAX_CHANNELS_PER_GATE) {
      throw new InvariantError(`input gate ${spec.gateId}: needs 1..${MAX_CHANNELS_PER_GATE} channels, got ${spec.channels?.length}`);
    }
    this.gateId = spec.gateId;
    this.owner = spec.owner;
    this.numChannels = spec.channels.length;
    const buffers = gateBuffersSpec(spec.channels.length, ctx.params, spec.blocking === true);
    this.exclusivePerChannel = buffers.exclusivePerChannel;
    this.floatingMax = ctx.params.floatingBuffersPerGate === 0 && buffers.exclusivePerChannel > 0 ? 0 : buffers.totalFloating;
    spec.channels.forEach((c, i) => {
      if (!Number.isInteger(c.subpartition) || c.subpartition < 0) throw new InvariantError(`input gate ${spec.gateId}: channel ${i} has subpartition ${c.subpartition}`);
      if (c.producerHost === undefined) {
        this.channels.push(new UnknownInputChannel(this, ctx, i, c.partitionId, c.subpartition, ""));
        this.unknownChannels++;
        return;
      }
      ctx.world.host(c.producerHost, `gate ${spec.gateId}.channels[${i}].producerHost`);
      if (c.producerHost === ctx.host) {
        this.channels.push(new LocalInputChannel(this, ctx, i, c.partitionId, c.subpartition, c.producerHost));
      } else {
        const ch = new RemoteInputChannel(this, ctx, i, { ...c, producerHost: c.producerHost });
        this.channels.push(ch);
        this.remote.push(ch);
      }
    });
    const label = `gate ${spec.gateId}@${ctx.host}`;
    // Flink's gate pool: the required floating buffers (at least 1, kept for local channel
    // state recovery) up to the total; floating-per-gate for a gate under its limit.
    this.floatingPool = ctx.bufferPool.createPool({
      label: `${label} (floating)`,
      minBuffers: buffers.requiredFloating,
      maxBuffers: Math.max(buffers.requiredFloating, this.floatingMax),
      numSubpartitions: 0,
      maxBuffersPerChannel: Infinity,
      maxOverdraftBuffers: 0,
    });
    try {
      this.exclusiveReservation = ctx.bufferPool.reserveFixed((this.remote.length + this.unknownChannels) * this.exclusivePerChannel, `${label} (exclusive)`, (n) => this.exclusiveAcquired(n));
    } catch (e) {
      this.floatingPool.destroy();
      throw e;
    }
    this.exclusiveUnassigned = this.exclusiveReservation.held;
  }

  /** Connects every channel (call once, when the task starts). */
  requestPartitions(): void {
    if (!this.ctx.alive()) return;
    if (this.state !== "created") throw new InvariantError(`input gate ${this.gateId}: requestPartitions called twice`);
    this.state = "requested";
    this.assignExclusive();
    for (const ch of this.channels) ch.request();
  }

  /**
   * The producer of `partitionId` finished on `producerHost` (Flink's updatePartitionInfo):
   * its unknown channels become local or remote and, once the gate is requested, read it.
   * Channels that are already known ignore it. Returns how many channels were updated.
   */
  updateChannel(partitionId: string, producerHost: string): number {
    if (this.state === "released" || this.state === "failed" || !this.ctx.alive()) return 0;
    let updated = 0;
    for (let i = 0; i < this.channels.length; i++) {
      const old = this.channels[i]!;
      if (!(old instanceof UnknownInputChannel) || old.partitionId !== partitionId) continue;
      this.ctx.world.host(producerHost, `gate ${this.gateId}.channels[${i}].producerHost`);
      this.unknownChannels--;
      updated++;
      this.ctx.mark("network.unknownChannelUpdated");
      let ch: InputChannel;
      if (producerHost === this.ctx.host) {
        ch = new LocalInputChannel(this, this.ctx, i, partitionId, old.subpartition, producerHost);
        this.channels[i] = ch;
        // A local channel needs no exclusive buffers: give back the ones reserved for it.
        this.exclusiveNoLongerNeeded(this.exclusivePerChannel, 0);
      } else {
        const remote = new RemoteInputChannel(this, this.ctx, i, { partitionId, subpartition: old.subpartition, producerHost });
        ch = remote;
        this.channels[i] = remote;
        this.remote.push(remote);
        if (this.state === "requested") this.assignExclusive();
      }
      if (this.state === "requested") ch.request();
    }
    return updated;
  }

  /** The next buffer, round-robin over channels in the order data arrived. */
  poll(): { buffer: NetworkBuffer; channel: number } | undefined {
    if (this.state !== "requested" || !this.ctx.alive()) return undefined;
    const priority = this.pollPriority();
    if (priority !== undefined) return priority;
    for (let ch = this.withData.shift(); ch !== undefined; ch = this.withData.shift()) {
      ch.queuedInGate = false;
      if (ch.blocked) continue; // queued again when the alignment releases it
      const buffer = ch.pollNext();
      if (buffer === undefined) continue;
      if (ch.hasMore()) this.queue(ch);
      if (isEndOfPartition(buffer)) {
        ch.endOfPartitionPolled();
        if (++this.finishedChannels === this.numChannels) this.state = "finished";
      } else if (!buffer.isEvent) {
        this.bytesReceived += buffer.sizeBytes;
        this.buffersReceived++;
      }
      return { buffer, channel: ch.index };
    }
    return undefined;
  }

  /**
   * Aligned checkpoints: a channel that delivered the barrier is not polled until the
   * barrier arrived on every channel; what it receives meanwhile stays queued in it.
   */
  blockChannel(channel: number): void {
    const ch = this.channels[channel];
    if (ch === undefined) throw new InvariantError(`input gate ${this.gateId}: no channel ${channel}`);
    ch.blocked = true;
  }

  /** Ends an alignment: every blocked channel is polled again. */
  unblockAll(): void {
    for (const ch of this.channels) {
      if (!ch.blocked) continue;
      ch.blocked = false;
      if (ch.hasMore()) this.queue(ch);
    }
    if (this.withData.length > 0 && this.listeners.length > 0) this.scheduleDispatch();
  }

  /** Buffer debloating: announce a new buffer size on every channel. */
  announceBufferSize(bytes: number): void {
    if (this.state !== "requested" || !this.ctx.alive()) return;
    for (const ch of this.channels) ch.announceBufferSize(bytes);
  }

  /** Buffers received and not yet processed, over all channels. */
  buffersInUse(): number {
    let n = 0;
    for (const ch of this.channels) n += ch.buffersInUse();
    return n;
  }

  /** Data bytes the task took from this gate so far. */
  get consumedBytes(): number {
    return this.bytesReceived;
  }

  /** `cb` runs once, in a kernel event, when a buffer can be polled (now or later). */
  onAvailable(cb: () => void): void {
    if (!this.ctx.alive()) return;
    // One registration per listener: a task registers on every unfinished gate each time it
    // waits, and a gate that stays empty meanwhile must not pile up copies (each would wake
    // the task again when data comes, and every wake registers again: an endless loop).
    if (!this.listeners.includes(cb)) this.listeners.push(cb);
    if (this.withData.length > 0 || this.priority.length > 0 || this.pendingLocal.length > 0) this.scheduleDispatch();
  }

  /** The task is done with a polled buffer: its memory becomes credit again. */
  recycle(buffer: NetworkBuffer, channel: number): void {
    if (!this.ctx.alive() || buffer.isEvent) return;
    const ch = this.channels[channel];
    if (ch === undefined) throw new InvariantError(`input gate ${this.gateId}: no channel ${channel}`);
    ch.recycle(buffer as ShuffleBuffer);
  }

  isFinished(): boolean {
    return this.finishedChannels === this.numChannels;
  }

  /** `cb` runs once, in a kernel event, with the gate's first error. */
  onError(cb: (err: GateError) => void): void {
    if (this.error !== undefined) {
      const err = this.error;
      this.ctx.kernel.after(0, () => cb(err));
    } else this.errorListeners.push(cb);
  }

  get failure(): GateError | undefined {
    return this.error;
  }

  /** Releases channels and buffers (task end or cancellation); unfinished remote reads are cancelled. */
  release(): void {
    if (this.state === "released" || !this.ctx.alive()) return;
    this.state = "released";
    for (const ch of this.channels) ch.release();
    this.withData.clear();
    this.priority.clear();
    this.listeners = [];
    this.errorListeners = [];
    this.floatingPool.destroy();
  }

  buffersQueued(channel: number): number {
    return this.channels[channel]?.stats().queued ?? 0;
  }

  queuedBuffers(): number {
    let n = 0;
    for (const ch of this.channels) n += ch.stats().queued;
    return n;
  }

  channelStats(channel: number): ChannelStats {
    const ch = this.channels[channel];
    if (ch === undefined) throw new InvariantError(`input gate ${this.gateId}: no channel ${channel}`);
    return ch.stats();
  }

  isLocal(channel: number): boolean {
    return this.channels[channel]?.local ?? false;
  }

  /** The partition a channel reads (to name it when the channel fails). */
  partitionOf(channel: number): string | undefined {
    return this.channels[channel]?.partitionId;
  }

  /** Floating buffers the gate's pool lends now, and its current size. */
  get floatingInUse(): number {
    return this.floatingPool.requested;
  }

  get floatingPoolSize(): number {
    return this.floatingPool.size;
  }

  // ---- for channels ----

  /** @internal */
  fail(err: GateError): void {
    if (this.state === "failed" || this.state === "released") return;
    this.state = "failed";
    this.error = err;
    if (err.type === "PartitionNotFound") this.ctx.mark("network.partitionNotFound");
    else if (err.type === "ConnectionLost") this.ctx.mark("network.connectionLost");
    else this.ctx.mark("network.producerFailed");
    const cbs = this.errorListeners;
    this.errorListeners = [];
    if (cbs.length > 0) this.ctx.kernel.after(0, () => cbs.forEach((cb) => cb(err)));
  }

  /** A priority event (an unaligned barrier) waits to be read. */
  hasPriority(): boolean {
    return this.priority.length > 0 && this.state === "requested";
  }

  /** Reads only a priority event, if one waits (the task may be in the middle of a buffer). */
  pollPriority(): { buffer: NetworkBuffer; channel: number } | undefined {
    if (this.state !== "requested" || !this.ctx.alive()) return undefined;
    for (let ch = this.priority.shift(); ch !== undefined; ch = this.priority.shift()) {
      const buffer = ch.pollNext();
      if (buffer === undefined) continue;
      if (ch.hasMore() && !ch.queuedInGate) this.queue(ch);
      return { buffer, channel: ch.index };
    }
    return undefined;
  }

  /** @internal a priority event is at the head of a channel. */
  priorityArrived(ch: InputChannel): void {
    this.priority.push(ch);
    if (this.listeners.length > 0) this.scheduleDispatch();
    // The task handles priority events even while it waits for output, not for input.
    const cb = this.priorityListener;
    if (cb !== undefined) this.ctx.kernel.after(0, () => this.state === "requested" && this.ctx.alive() && cb());
  }

  /** Called (in a kernel event) whenever a priority event arrives: the task's wake-up. */
  setPriorityListener(cb: () => void): void {
    this.priorityListener = cb;
  }

  /** The data a priority barrier just polled from `channel` overtook there (see InputChannel.overtakenData). */
  overtakenData(channel: number): ShuffleBuffer[] {
    const ch = this.channels[channel];
    if (ch === undefined) throw new InvariantError(`input gate ${this.gateId}: no channel ${channel}`);
    return ch.overtakenData();
  }

  /** @internal a remote buffer arrived (inside a network event). */
  remoteDataArrived(ch: InputChannel): void {
    this.queue(ch);
    if (this.listeners.length > 0) this.scheduleDispatch();
  }

  /** @internal a local producer made data readable (inside the producer's call). */
  localDataAvailable(ch: LocalInputChannel): void {
    if (ch.notifyPending) return;
    ch.notifyPending = true;
    this.pendingLocal.push(ch);
    this.scheduleDispatch();
  }

  /** @internal */
  requestFloating(ch: RemoteInputChannel): void {
    if (this.floatingMax === 0 || this.floatingPool.destroyed) return;
    let added = 0;
    while (ch.free < ch.required && this.floatingPool.requested < this.floatingMax) {
      if (this.floatingPool.request(-1) === Grant.None) break;
      ch.floatingHeld++;
      added++;
    }
    if (ch.free < ch.required && !ch.waitingFloating) {
      ch.waitingFloating = true;
      this.waitingFloating.push(ch);
      this.armFloating();
    }
    if (added > 0) ch.addCredit(added);
  }

  /** @internal */
  returnFloating(n: number): void {
    for (let i = 0; i < n; i++) this.floatingPool.recycle(-1);
    if (n > 0 && this.waitingFloating.length > 0) this.armFloating();
  }

  /**
   * @internal A channel needs `n` fewer exclusive segments and gives back `returned` it
   * held. The reservation shrinks by n; segments it then holds beyond what it wants come
   * from the unassigned ones (held − wanted = unassigned − still lacking ≥ 0), and what is
   * left unassigned goes to channels still lacking theirs.
   */
  exclusiveNoLongerNeeded(n: number, returned: number): void {
    if (n === 0) return;
    this.exclusiveUnassigned += returned;
    const freed = this.ctx.bufferPool.shrinkFixed(this.exclusiveReservation, this.exclusiveReservation.wanted - n);
    this.exclusiveUnassigned -= freed;
    assert(this.exclusiveUnassigned >= 0, `input gate ${this.gateId}: negative unassigned exclusive buffers`);
    if (this.state === "requested") this.assignExclusive();
  }

  // ---- internals ----

  private queue(ch: InputChannel): void {
    if (ch.queuedInGate) return;
    ch.queuedInGate = true;
    this.withData.push(ch);
  }

  private scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    this.ctx.kernel.after(0, this.onDispatchDue);
  }

  private dispatch(): void {
    this.dispatchScheduled = false;
    if (!this.ctx.alive() || this.state === "released") return;
    for (let ch = this.pendingLocal.shift(); ch !== undefined; ch = this.pendingLocal.shift()) {
      ch.notifyPending = false;
      if (ch.hasMore()) this.queue(ch);
    }
    if ((this.withData.length === 0 && this.priority.length === 0) || this.listeners.length === 0) return;
    const cbs = this.listeners;
    this.listeners = [];
    for (const cb of cbs) cb();
  }

  private armFloating(): void {
    if (this.floatingArmed || this.floatingPool.destroyed) return;
    this.floatingArmed = true;
    this.floatingPool.onAvailable(this.onFloatingAvailable);
  }

  private floatingAvailable(): void {
    this.floatingArmed = false;
    if (!this.ctx.alive() || this.state !== "requested") return;
    const n = this.waitingFloating.length;
    for (let i = 0; i < n; i++) {
      const ch = this.waitingFloating.shift()!;
      ch.waitingFloating = false;
      if (ch.state === "requested") this.requestFloating(ch);
    }
  }

  /** Gives held exclusive segments to channels that lack theirs, in channel order. */
  private assignExclusive(): void {
    const per = this.exclusivePerChannel;
    for (const ch of this.remote) {
      if (this.exclusiveUnassigned === 0) return;
      if (ch.state === "finished" || ch.state === "released") continue;
      const give = Math.min(per - ch.exclusiveAssigned, this.exclusiveUnassigned);
      if (give <= 0) continue;
      ch.exclusive += give;
      ch.exclusiveAssigned += give;
      this.exclusiveUnassigned -= give;
      ch.addCredit(give);
    }
  }

  private exclusiveAcquired(n: number): void {
    if (!this.ctx.alive() || this.state === "released") return;
    this.exclusiveUnassigned += n;
    if (this.state !== "created") this.assignExclusive();
  }
}
