/**
 * The two ends of a data connection between TaskManagers, after Flink's Netty handlers:
 * the client (consumer TM: NettyPartitionRequestClient + CreditBasedPartitionRequest-
 * ClientHandler) and the server (producer TM: PartitionRequestServerHandler +
 * PartitionRequestQueue). One sim connection per (consumer TM → producer TM), shared by
 * all channels between them; messages carry the receiving channel's id.
 *
 * Model:
 * - Server: a PartitionRequest creates a reader on the subpartition's view with the
 *   announced credit; AddCredit adds to it. Readers that have data and credit (or an
 *   event next: events need no credit) wait in one FIFO; a zero-delay drain event sends
 *   one buffer per reader per turn, round-robin, each BufferResponse carrying the backlog
 *   left behind it. The producer's buffer is recycled once handed to the connection
 *   (Netty releases it after the socket write). After END_OF_PARTITION the reader ends.
 * - With zero exclusive credits a reader that has data but no credit announces its
 *   backlog (BacklogAnnouncement), so the receiver can grant floating buffers.
 * - Client: routes responses to channels; AddCredit messages are batched per drain event
 *   (all unannounced credit of a channel in one message, as Flink's netty thread does).
 * - Closing (reset, peer crash): the server releases the readers' views; the client tells
 *   every channel (ConnectionLost) and is forgotten, so the next request reconnects.
 *
 * Invariants (asserted): a reader's credit never goes negative; sequence numbers arrive
 * in order; no message is handled after the TM died.
 */
import { InvariantError, assert } from "../../../sim/errors";
import type { Endpoint, EndpointHandler } from "../../../sim/network";
import { Fifo } from "../../../sim/fifo";
import { messageBytes, type ShuffleErrorKind, type ShuffleMessage } from "./messages";
import { isViewError, type ManagedPartition, type ShuffleContext, type SubpartitionView, type ViewListener } from "./result-partition";
import { isEndOfPartition } from "./shuffle-buffer";

/** The client-side view of a remote input channel. */
export interface RemoteChannelHandle {
  readonly receiverId: number;
  onBufferResponse(msg: Extract<ShuffleMessage, { kind: "BufferResponse" }>): void;
  onBacklogAnnouncement(backlog: number): void;
  onErrorResponse(error: ShuffleErrorKind, reason: string): void;
  onConnectionLost(reason: string): void;
  /** Takes the credit not yet announced (0 if the channel stopped). */
  takeUnannouncedCredit(): number;
}

export interface ServerContext extends ShuffleContext {
  lookupPartition(partitionId: string): ManagedPartition | undefined;
  countWireBytes(bytes: number): void;
}

class NetworkReader implements ViewListener {
  seq = 0;
  queued = false;
  released = false;
  lastAnnouncedBacklog = -1;
  constructor(
    private readonly server: ServerConnection,
    readonly receiverId: number,
    readonly partitionId: string,
    readonly view: SubpartitionView,
    public credit: number,
    readonly initialCredit: number,
  ) {}

  isAvailable(): boolean {
    return !this.released && this.view.hasNext() && (this.credit > 0 || this.view.nextIsEvent());
  }

  onDataAvailable(): void {
    this.server.enqueue(this);
  }

  onViewFailed(error: ShuffleErrorKind, reason: string): void {
    this.server.readerFailed(this, error, reason);
  }
}

export class ServerConnection implements EndpointHandler {
  private endpoint: Endpoint | undefined = undefined;
  private readonly readers = new Map<number, NetworkReader>();
  private readonly available = new Fifo<NetworkReader>();
  private drainScheduled = false;
  private closed = false;
  private readonly onDrainDue = () => this.drain();

  constructor(
    private readonly ctx: ServerContext,
    readonly peer: string,
  ) {}

  bind(endpoint: Endpoint): void {
    this.endpoint = endpoint;
  }

  get readerCount(): number {
    return this.readers.size;
  }

  onMessage(payload: unknown): void {
    if (this.closed || !this.ctx.alive()) return;
    const msg = payload as ShuffleMessage;
    switch (msg.kind) {
      case "PartitionRequest":
        this.handleRequest(msg);
        return;
      case "AddCredit": {
        const r = this.readers.get(msg.receiverId);
        if (r === undefined) return; // the reader ended; credit for it is moot
        assert(msg.credit > 0, `AddCredit of ${msg.credit} for channel ${msg.receiverId}`);
        r.credit += msg.credit;
        this.enqueue(r);
        return;
      }
      case "CancelPartitionRequest": {
        const r = this.readers.get(msg.receiverId);
        if (r === undefined) return;
        this.endReader(r);
        r.view.release();
        return;
      }
      case "NewBufferSize":
        this.readers.get(msg.receiverId)?.view.notifyNewBufferSize?.(msg.bufferSize);
        return;
      default:
        throw new InvariantError(`shuffle server on ${this.ctx.host}: unexpected ${msg.kind} from ${this.peer}`);
    }
  }

  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const r of [...this.readers.values()]) {
      this.endReader(r);
      r.view.release();
    }
    this.available.clear();
  }

  /** @internal */
  enqueue(r: NetworkReader): void {
    if (r.queued || r.released || this.closed) return;
    if (r.isAvailable()) {
      r.queued = true;
      this.available.push(r);
      if (!this.drainScheduled) {
        this.drainScheduled = true;
        this.ctx.kernel.after(0, this.onDrainDue);
      }
    } else {
      this.maybeAnnounceBacklog(r);
    }
  }

  /** @internal */
  readerFailed(r: NetworkReader, error: ShuffleErrorKind, reason: string): void {
    if (r.released || this.closed) return;
    this.endReader(r);
    this.send({ kind: "ErrorResponse", receiverId: r.receiverId, error, partitionId: r.partitionId, reason });
  }

  private handleRequest(msg: Extract<ShuffleMessage, { kind: "PartitionRequest" }>): void {
    assert(!this.readers.has(msg.receiverId), `shuffle server on ${this.ctx.host}: channel ${msg.receiverId} requested twice`);
    const partition = this.ctx.lookupPartition(msg.partitionId);
    if (partition === undefined) {
      this.send({ kind: "ErrorResponse", receiverId: msg.receiverId, error: "PartitionNotFound", partitionId: msg.partitionId, reason: `no partition ${msg.partitionId} on ${this.ctx.host}` });
      return;
    }
    const view = partition.createView(msg.subpartition);
    if (isViewError(view)) {
      this.send({ kind: "ErrorResponse", receiverId: msg.receiverId, error: view.error, partitionId: msg.partitionId, reason: view.reason });
      return;
    }
    const r = new NetworkReader(this, msg.receiverId, msg.partitionId, view, msg.credit, msg.credit);
    this.readers.set(msg.receiverId, r);
    view.setListener(r);
  }

  private maybeAnnounceBacklog(r: NetworkReader): void {
    if (r.initialCredit > 0 || r.credit > 0 || r.released) return;
    const backlog = r.view.backlog();
    if (backlog === 0 || backlog === r.lastAnnouncedBacklog) return;
    r.lastAnnouncedBacklog = backlog;
    this.send({ kind: "BacklogAnnouncement", receiverId: r.receiverId, backlog });
  }

  private drain(): void {
    this.drainScheduled = false;
    if (this.closed || !this.ctx.alive()) return;
    for (let r = this.available.shift(); r !== undefined; r = this.available.shift()) {
      r.queued = false;
      if (!r.isAvailable()) continue;
      const buffer = r.view.poll()!;
      if (!buffer.isEvent) {
        r.credit--;
        assert(r.credit >= 0, `shuffle server on ${this.ctx.host}: negative credit for channel ${r.receiverId}`);
      }
      this.send({ kind: "BufferResponse", receiverId: r.receiverId, seq: r.seq++, backlog: r.view.backlog(), buffer });
      // The response carried the backlog: a later announcement must not be taken for a repeat.
      r.lastAnnouncedBacklog = -1;
      if (!buffer.isEvent) r.view.recycle(buffer);
      if (isEndOfPartition(buffer)) {
        this.endReader(r);
        continue;
      }
      if (r.isAvailable()) {
        r.queued = true;
        this.available.push(r);
      } else {
        this.maybeAnnounceBacklog(r);
      }
    }
  }

  private endReader(r: NetworkReader): void {
    r.released = true;
    this.readers.delete(r.receiverId);
  }

  private send(msg: ShuffleMessage): void {
    const bytes = messageBytes(msg);
    if (this.endpoint?.send(msg, bytes) === true) this.ctx.countWireBytes(bytes);
  }
}

export class ClientConnection implements EndpointHandler {
  private endpoint: Endpoint | undefined = undefined;
  private readonly channels = new Map<number, RemoteChannelHandle>();
  private readonly creditQueue = new Fifo<RemoteChannelHandle>();
  private creditScheduled = false;
  closed = false;
  private readonly onCreditDue = () => this.sendCredits();

  constructor(
    private readonly ctx: ServerContext,
    readonly peer: string,
    private readonly onClosed: (client: ClientConnection) => void,
  ) {}

  bind(endpoint: Endpoint): void {
    this.endpoint = endpoint;
  }

  register(ch: RemoteChannelHandle): void {
    this.channels.set(ch.receiverId, ch);
  }

  unregister(ch: RemoteChannelHandle): void {
    this.channels.delete(ch.receiverId);
  }

  send(msg: ShuffleMessage): void {
    const bytes = messageBytes(msg);
    if (this.endpoint?.send(msg, bytes) === true) this.ctx.countWireBytes(bytes);
  }

  /** The channel has credit to announce: one AddCredit per channel per drain event. */
  queueCredit(ch: RemoteChannelHandle): void {
    if (this.closed) return;
    this.creditQueue.push(ch);
    if (!this.creditScheduled) {
      this.creditScheduled = true;
      this.ctx.kernel.after(0, this.onCreditDue);
    }
  }

  onMessage(payload: unknown): void {
    if (this.closed || !this.ctx.alive()) return;
    const msg = payload as ShuffleMessage;
    switch (msg.kind) {
      case "BufferResponse":
        this.channels.get(msg.receiverId)?.onBufferResponse(msg);
        return;
      case "BacklogAnnouncement":
        this.channels.get(msg.receiverId)?.onBacklogAnnouncement(msg.backlog);
        return;
      case "ErrorResponse": {
        const ch = this.channels.get(msg.receiverId);
        if (ch === undefined) return;
        this.channels.delete(msg.receiverId);
        ch.onErrorResponse(msg.error, msg.reason);
        return;
      }
      default:
        throw new InvariantError(`shuffle client on ${this.ctx.host}: unexpected ${msg.kind} from ${this.peer}`);
    }
  }

  onClose(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.onClosed(this);
    const channels = [...this.channels.values()];
    this.channels.clear();
    this.creditQueue.clear();
    if (!this.ctx.alive()) return;
    for (const ch of channels) ch.onConnectionLost(reason);
  }

  private sendCredits(): void {
    this.creditScheduled = false;
    if (this.closed || !this.ctx.alive()) return;
    for (let ch = this.creditQueue.shift(); ch !== undefined; ch = this.creditQueue.shift()) {
      const credit = ch.takeUnannouncedCredit();
      if (credit > 0) this.send({ kind: "AddCredit", receiverId: ch.receiverId, credit });
    }
  }
}
