/**
 * The simulated network: reliable, ordered, bidirectional connections between named
 * hosts that can break — what Flink sees through TCP and Netty.
 *
 * Delivery model. A message from host X to host Y is cut-through over
 * [egress(X), core?, ingress(Y)] (sim/link.ts) from the moment it is sent, then takes a
 * latency sample from the stream `net/X→Y` (one stream per host-pair direction, so the
 * traffic of other pairs never shifts its draws: common random numbers), plus the
 * direction's current clog delay. Per connection direction delivery is FIFO:
 * deliverAt = max(deliverAt, previous deliverAt). Every delivery is its own kernel event,
 * never a synchronous call inside `send`. Same-host connections skip NICs and latency.
 *
 * Faults, modelled on TCP's behaviour:
 * - partition: a message whose delivery falls while its direction is blocked, or that is
 *   sent while blocked with nothing in flight ahead of it, is *held* (TCP keeps
 *   retransmitting), never lost. Heal re-sends a connection direction's undelivered
 *   messages in order from the heal time (go-back-N: in-flight messages behind a held
 *   one are re-sent too, so order holds). A direction that has had a message held for
 *   `resetAfterHeldNs` resets its connection ("timeout").
 * - clog: extra delay on messages sent in that direction while clogged.
 * - reset: undelivered messages are dropped and both live endpoints get onClose(reason).
 * - host crash: see `onHostCrash`.
 *
 * Invariants (asserted where they can break):
 * - per connection direction, `pending` holds every undelivered message in send order;
 *   its first `heldCount` entries are held, the rest have exactly one kernel event each,
 *   and those events fire in `pending` order (FIFO deliverAt, ties broken by seq);
 * - a message is delivered at most once, and only while its direction is not blocked;
 * - each endpoint gets at most one onClose, never synchronously inside an API call,
 *   never after the endpoint's host died (its process is gone), never if it closed itself.
 */
import { InputError, InvariantError, assert, unknownNameProblem } from "./errors";
import { parseBandwidth, parseDurationDist, type DurationDistSpec, type DurationSampler } from "./distributions";
import type { Host } from "./host";
import type { Kernel } from "./kernel";
import { Fifo } from "./fifo";
import { Link, reservePath } from "./link";
import type { Rng } from "./rng";
import { describe, parseDuration, type Ns } from "./time";
import type { Trace } from "./trace/recorder";

export interface NetworkSpec {
  /** One-way latency per message (added after the bandwidth-limited transfer). */
  latency?: DurationDistSpec;
  /** Each host's NIC, per direction (egress and ingress are separate links). */
  hostBandwidthBytesPerS?: number;
  /** A shared core link crossed by all inter-host traffic; none (unlimited) if unset. */
  linkBandwidthBytesPerS?: number;
  /** How long a connection direction may have a message held before the connection resets. */
  resetAfterHeldNs?: string | number;
}

/** Same-rack datacenter one-way latency is tens to hundreds of µs (RTT/2). */
export const DEFAULT_LATENCY = "100us";
/** A 10 Gbit/s NIC, per direction. */
export const DEFAULT_HOST_BANDWIDTH_BYTES_PER_S = 1.25e9;
/**
 * Linux gives up on an unacknowledged segment after tcp_retries2 = 15 retransmissions
 * with exponential backoff capped at TCP_RTO_MAX = 120 s: about 924.6 s (tcp(7)).
 */
export const DEFAULT_RESET_AFTER_HELD = "924s";
/** A limit on undelivered messages per connection direction (DESIGN style rule 3). */
export const MAX_PENDING_PER_DIRECTION = 1_000_000;

const SPEC_FIELDS = ["latency", "hostBandwidthBytesPerS", "linkBandwidthBytesPerS", "resetAfterHeldNs"];

/** The application side of one end of a connection. */
export interface EndpointHandler {
  onMessage(payload: unknown, sizeBytes: number): void;
  onClose(reason: string): void;
}

/**
 * Connection lifecycle: open → (closing →) closed. "closing": an endpoint closed it and
 * its already-sent messages and the FIN are still on their way to the peer.
 */
type ConnState = "open" | "closing" | "closed";

/** Per host: its NIC links, its connections (insertion order) and byte counters. */
class HostState {
  readonly conns = new Set<Connection>();
  bytesSent = 0;
  bytesReceived = 0;
  constructor(
    readonly host: Host,
    readonly egress: Link,
    readonly ingress: Link,
  ) {}
}

/** One direction between two distinct hosts: its path, latency stream and fault state. */
class PairState {
  blocked = false;
  clogNs: Ns = 0;
  /** Connection directions on this pair with held messages, in the order they were held. */
  readonly heldDirs = new Set<Direction>();
  private rngNow: Rng | undefined;
  constructor(
    readonly from: string,
    readonly to: string,
    readonly path: readonly Link[],
    private readonly parentRng: Rng,
  ) {}

  /** Created on first use: deriving a stream costs an ARC4 key schedule. */
  get rng(): Rng {
    return (this.rngNow ??= this.parentRng.child(`net/${this.from}→${this.to}`));
  }
}


/** A message (or the FIN of an orderly close) on one connection direction. */
class Message {
  /** Its pending kernel delivery event, or -1 while held / after delivery. */
  timer = -1;
  constructor(
    readonly id: number,
    readonly dir: Direction,
    readonly payload: unknown,
    readonly sizeBytes: number,
    readonly fin: boolean,
  ) {}
}

/** One direction of a connection. */
class Direction {
  readonly pending = new Fifo<Message>();
  heldCount = 0;
  lastDeliverAtNs: Ns = 0;
  /** Fires `resetAfterHeldNs` after the first message was held; -1 when nothing is held. */
  timeoutTimer = -1;
  constructor(
    readonly conn: Connection,
    readonly src: Endpoint,
    readonly dst: Endpoint,
    /** null for a same-host connection (no NICs, no latency, no partitions). */
    readonly pair: PairState | null,
    readonly srcStats: HostState,
    readonly dstStats: HostState,
  ) {}
}

/** One end of a connection, as the application on `host` holds it. */
export class Endpoint {
  /** @internal the direction this endpoint sends on (set once, by the Network). */
  out!: Direction;
  /** @internal onClose was scheduled or this side closed the connection itself. */
  closeNoted = false;

  constructor(
    readonly connection: Connection,
    readonly host: string,
    /** @internal */ readonly handler: EndpointHandler,
    /** @internal */ readonly hostRef: Host,
    /** The host's incarnation when the connection was made: a restart kills the endpoint. */
    readonly incarnation: number,
    private readonly net: Network,
  ) {}

  /** False once the host crashed (even if it has restarted since): the process is gone. */
  get alive(): boolean {
    return this.hostRef.up && this.hostRef.incarnation === this.incarnation;
  }

  /** Sends a message to the peer; false (and no effect) if the connection is closed here. */
  send(payload: unknown, sizeBytes: number): boolean {
    return this.net.sendFrom(this, payload, sizeBytes);
  }

  /** Orderly close from this side (see Network.closeFrom). */
  close(): void {
    this.net.closeFrom(this);
  }
}

export class Connection {
  /** @internal */ state: ConnState = "open";
  /** The endpoint at `from`. */
  readonly a: Endpoint;
  /** The endpoint at `to`. */
  readonly b: Endpoint;

  /** @internal constructed by Network.connect. */
  constructor(
    readonly id: number,
    readonly from: string,
    readonly to: string,
    readonly label: string,
    net: Network,
    fromHost: Host,
    toHost: Host,
    atFrom: EndpointHandler,
    atTo: EndpointHandler,
  ) {
    this.a = new Endpoint(this, from, atFrom, fromHost, fromHost.incarnation, net);
    this.b = new Endpoint(this, to, atTo, toHost, toHost.incarnation, net);
  }

  /**
   * True until the connection is closed or reset. After a silent crash of one host it
   * stays true (the live side has not noticed yet) until the connection resets.
   */
  get open(): boolean {
    return this.state === "open";
  }

  /** Orderly close from the `from` side (`a.close()`). */
  close(): void {
    this.a.close();
  }
}

interface CloseNotice {
  endpoint: Endpoint;
  reason: string;
}

export class Network {
  /** The shared core link, when `linkBandwidthBytesPerS` is set. */
  readonly core: Link | undefined;
  readonly resetAfterHeldNs: Ns;
  readonly hostBandwidthBytesPerS: number;
  private readonly sampleLatency: DurationSampler;
  private readonly hostStates = new Map<string, HostState>();
  private readonly hostNames: string[];
  private readonly pairs = new Map<string, Map<string, PairState>>();
  private nextConnId = 0;
  private nextMsgId = 0;
  // Kernel handlers bound once: events carry their state as the argument, no closures.
  private readonly deliverDue = (msg: Message) => this.onDeliverDue(msg);
  private readonly heldTimeoutDue = (dir: Direction) => this.onHeldTimeout(dir);
  private readonly closeDue = (notice: CloseNotice) => {
    if (notice.endpoint.alive) notice.endpoint.handler.onClose(notice.reason);
  };

  constructor(
    private readonly kernel: Kernel,
    private readonly trace: Trace,
    private readonly rng: Rng,
    hosts: ReadonlyMap<string, Host>,
    spec: NetworkSpec = {},
    field = "network",
  ) {
    if (spec === null || typeof spec !== "object" || Array.isArray(spec)) {
      throw new InputError(field, `expected an object, got ${describe(spec)}`);
    }
    for (const key of Object.keys(spec)) {
      if (!SPEC_FIELDS.includes(key)) throw new InputError(`${field}.${key}`, unknownNameProblem("field", key, SPEC_FIELDS));
    }
    this.sampleLatency = parseDurationDist(spec.latency ?? DEFAULT_LATENCY, `${field}.latency`).sampler;
    this.hostBandwidthBytesPerS = parseBandwidth(
      spec.hostBandwidthBytesPerS ?? DEFAULT_HOST_BANDWIDTH_BYTES_PER_S,
      `${field}.hostBandwidthBytesPerS`,
    );
    this.core =
      spec.linkBandwidthBytesPerS === undefined
        ? undefined
        : new Link("core", parseBandwidth(spec.linkBandwidthBytesPerS, `${field}.linkBandwidthBytesPerS`));
    this.resetAfterHeldNs = parseDuration(spec.resetAfterHeldNs ?? DEFAULT_RESET_AFTER_HELD, `${field}.resetAfterHeldNs`);
    this.hostNames = [];
    for (const [name, host] of hosts) {
      assert(host.name === name, `network: host map key "${name}" names host "${host.name}"`);
      this.addHost(host);
    }
  }

  /**
   * Attaches a host (at construction, or later when a cluster grows: a replacement
   * TaskManager's new machine). Its NICs start idle; its pairs' latency streams are
   * derived from the two names, so other pairs' draws do not shift.
   */
  addHost(host: Host): void {
    assert(!this.hostStates.has(host.name), `network: host "${host.name}" added twice`);
    const bw = this.hostBandwidthBytesPerS;
    this.hostStates.set(host.name, new HostState(host, new Link(`${host.name}/egress`, bw), new Link(`${host.name}/ingress`, bw)));
    host.onCrash((h) => this.onHostCrash(h));
    host.onRestart((h) => this.onHostRestart(h));
    this.hostNames.push(host.name);
  }

  /** The host's outgoing NIC direction (shared with the blob store's traffic). */
  egress(host: string): Link {
    return this.state(host, "host").egress;
  }

  /** The host's incoming NIC direction. */
  ingress(host: string): Link {
    return this.state(host, "host").ingress;
  }

  /** Application bytes accepted by `send` on endpoints at `host`. */
  bytesSent(host: string): number {
    return this.state(host, "host").bytesSent;
  }

  /** Application bytes delivered to endpoints at `host`. */
  bytesReceived(host: string): number {
    return this.state(host, "host").bytesReceived;
  }

  /** Connections at `host` that are not fully closed, in creation order. */
  connectionsOf(host: string): Connection[] {
    return [...this.state(host, "host").conns];
  }

  /** True while messages from `from` to `to` are blocked by a partition. */
  isBlocked(from: string, to: string): boolean {
    this.state(from, "from");
    this.state(to, "to");
    return this.pairs.get(from)?.get(to)?.blocked ?? false;
  }

  /**
   * Opens a connection. Connecting from or to a crashed host yields a connection that is
   * already closed; the live side gets onClose("refused") after one latency sample. A
   * connection across a partition opens (its messages are held until heal or timeout).
   */
  connect(from: string, to: string, label: string, atFrom: EndpointHandler, atTo: EndpointHandler): Connection {
    const fromState = this.state(from, "connect.from");
    const toState = this.state(to, "connect.to");
    const conn = new Connection(this.nextConnId++, from, to, label, this, fromState.host, toState.host, atFrom, atTo);
    const ab = from === to ? null : this.pair(from, to);
    const ba = from === to ? null : this.pair(to, from);
    conn.a.out = new Direction(conn, conn.a, conn.b, ab, fromState, toState);
    conn.b.out = new Direction(conn, conn.b, conn.a, ba, toState, fromState);
    this.trace.emit("ConnectionOpened", { conn: conn.id, from, to, label });
    if (!fromState.host.up || !toState.host.up) {
      conn.state = "closed";
      this.trace.emit("ConnectionReset", { conn: conn.id, from, to, reason: "refused" });
      this.noticeClose(conn.a, "refused");
      this.noticeClose(conn.b, "refused");
      return conn;
    }
    fromState.conns.add(conn);
    if (to !== from) toState.conns.add(conn);
    return conn;
  }

  /** @internal Endpoint.send. */
  sendFrom(endpoint: Endpoint, payload: unknown, sizeBytes: number): boolean {
    const conn = endpoint.connection;
    if (conn.state !== "open" || !endpoint.alive) return false;
    if (!(sizeBytes >= 0) || !Number.isSafeInteger(sizeBytes)) {
      throw new InvariantError(`connection ${conn.id}: message size must be a whole number of bytes ≥ 0, got ${sizeBytes}`);
    }
    const dir = endpoint.out;
    const peer = dir.dst;
    if (!peer.alive && peer.hostRef.up) {
      // The peer's host restarted since a silent crash: the new OS answers with an RST.
      // The write itself succeeded locally; the message is lost with the connection.
      this.reset(conn, "peer restarted");
      return true;
    }
    const msg = new Message(this.nextMsgId++, dir, payload, sizeBytes, false);
    dir.srcStats.bytesSent += sizeBytes;
    if (this.trace.detailed) {
      this.trace.emit("MessageSent", { conn: conn.id, msg: msg.id, from: endpoint.host, to: peer.host, sizeBytes });
    }
    this.enqueue(dir, msg);
    return true;
  }

  /**
   * @internal Endpoint.close. Orderly close: the connection stops accepting sends on both
   * sides at once (`open` becomes false); messages this side already sent are still
   * delivered, then the peer gets onClose("closed") (the FIN travels behind the data, so
   * partitions hold it too). Messages in flight toward the closing side are dropped (its
   * application stopped reading). The closing side gets no callback.
   */
  closeFrom(endpoint: Endpoint): void {
    const conn = endpoint.connection;
    if (!endpoint.alive) return;
    if (conn.state === "closing") {
      // Closing after the peer already did: no callback for this side either.
      endpoint.closeNoted = true;
      return;
    }
    if (conn.state !== "open") return;
    conn.state = "closing";
    endpoint.closeNoted = true;
    this.trace.emit("ConnectionClosed", { conn: conn.id, from: conn.from, to: conn.to });
    this.dropAll(endpoint.out.dst.out);
    if (!endpoint.out.dst.alive) {
      // The peer died silently: nobody is left to tell.
      this.finish(conn);
      return;
    }
    this.enqueue(endpoint.out, new Message(this.nextMsgId++, endpoint.out, undefined, 0, true));
  }

  /**
   * Breaks a connection: undelivered messages (both directions) are dropped and both live
   * endpoints get onClose(reason) after one latency sample each. No-op if already closed.
   */
  reset(conn: Connection, reason = "reset"): void {
    if (conn.state === "closed") return;
    this.finish(conn);
    this.trace.emit("ConnectionReset", { conn: conn.id, from: conn.from, to: conn.to, reason });
    this.noticeClose(conn.a, reason);
    this.noticeClose(conn.b, reason);
  }

  /** Resets every connection between hosts `a` and `b` (either direction). */
  resetBetween(a: string, b: string, reason = "reset"): void {
    const stateA = this.state(a, "resetBetween.a");
    this.state(b, "resetBetween.b");
    for (const conn of [...stateA.conns]) {
      if ((conn.from === a && conn.to === b) || (conn.from === b && conn.to === a)) this.reset(conn, reason);
    }
  }

  /** Blocks a→b, and b→a unless `oneWay`. */
  partition(a: string, b: string, oneWay = false): void {
    this.distinctPair(a, b, "partition");
    this.pair(a, b).blocked = true;
    if (!oneWay) this.pair(b, a).blocked = true;
    this.trace.emit("LinkPartitioned", { from: a, to: b, oneWay });
  }

  /** Unblocks both directions between a and b; held messages are re-sent in order from now. */
  heal(a: string, b: string): void {
    this.distinctPair(a, b, "heal");
    const ab = this.pair(a, b);
    const ba = this.pair(b, a);
    ab.blocked = false;
    ba.blocked = false;
    this.trace.emit("LinkHealed", { from: a, to: b });
    this.resendHeld(ab);
    this.resendHeld(ba);
  }

  /** Partitions `host` from every other host (both directions). */
  isolate(host: string): void {
    this.state(host, "isolate.host");
    for (const other of this.hostNames) if (other !== host) this.partition(host, other);
  }

  /** Heals every partitioned pair. */
  healAll(): void {
    for (const [from, row] of this.pairs) {
      for (const [to, pair] of row) {
        if (pair.blocked || this.pairs.get(to)?.get(from)?.blocked === true) this.heal(from, to);
      }
    }
  }

  /** Adds `extraDelay` to messages sent a→b (and b→a unless `oneWay`) until `unclog`. */
  clog(a: string, b: string, extraDelay: Ns | string, oneWay = false): void {
    this.distinctPair(a, b, "clog");
    const extraDelayNs = parseDuration(extraDelay, "clog.extraDelayNs");
    this.pair(a, b).clogNs = extraDelayNs;
    this.trace.emit("LinkClogged", { from: a, to: b, extraDelayNs });
    if (!oneWay) {
      this.pair(b, a).clogNs = extraDelayNs;
      this.trace.emit("LinkClogged", { from: b, to: a, extraDelayNs });
    }
  }

  /** Removes the clog in both directions between a and b (messages already sent keep theirs). */
  unclog(a: string, b: string): void {
    this.distinctPair(a, b, "unclog");
    this.pair(a, b).clogNs = 0;
    this.pair(b, a).clogNs = 0;
    this.trace.emit("LinkUnclogged", { from: a, to: b });
  }

  // ---- internals ----

  private state(name: string, field: string): HostState {
    const s = this.hostStates.get(name);
    if (s === undefined) throw new InputError(field, unknownNameProblem("host", name, this.hostNames));
    return s;
  }

  private distinctPair(a: string, b: string, op: string): void {
    this.state(a, `${op}.a`);
    this.state(b, `${op}.b`);
    if (a === b) throw new InputError(`${op}.b`, `"${b}" is the same host as ${op}.a; a host is never cut off from itself`);
  }

  private pair(from: string, to: string): PairState {
    let row = this.pairs.get(from);
    if (row === undefined) {
      row = new Map();
      this.pairs.set(from, row);
    }
    let p = row.get(to);
    if (p === undefined) {
      const src = this.hostStates.get(from)!;
      const dst = this.hostStates.get(to)!;
      const path = this.core === undefined ? [src.egress, dst.ingress] : [src.egress, this.core, dst.ingress];
      p = new PairState(from, to, path, this.rng);
      row.set(to, p);
    }
    return p;
  }

  /** Appends a message to its direction and either holds it or puts it on the wire. */
  private enqueue(dir: Direction, msg: Message): void {
    const pending = dir.pending;
    if (pending.length >= MAX_PENDING_PER_DIRECTION) {
      throw new InvariantError(`connection ${dir.conn.id}: more than ${MAX_PENDING_PER_DIRECTION} undelivered messages one way`);
    }
    pending.push(msg);
    // Hold at once only if nothing is in flight ahead (else it would overtake it on heal);
    // otherwise it goes on the wire and is held when its delivery falls, if still blocked.
    const allAheadHeld = dir.heldCount === pending.length - 1;
    if (allAheadHeld && this.cannotDeliver(dir)) this.hold(dir, msg);
    else {
      // Held messages only exist while the direction cannot deliver (heal re-sends them).
      assert(!(allAheadHeld && dir.heldCount > 0), `connection ${dir.conn.id}: held messages on a deliverable direction`);
      this.transmit(msg);
    }
  }

  /** True while the direction is blocked or its receiver's host is down (silent crash). */
  private cannotDeliver(dir: Direction): boolean {
    return (dir.pair !== null && dir.pair.blocked) || !dir.dst.hostRef.up;
  }

  /** Reserves the path from now and schedules the delivery event. */
  private transmit(msg: Message): void {
    const dir = msg.dir;
    const pair = dir.pair;
    const now = this.kernel.now;
    let atNs = now;
    if (pair !== null) {
      atNs = reservePath(pair.path, now, msg.sizeBytes) + this.sampleLatency(pair.rng) + pair.clogNs;
    }
    if (atNs < dir.lastDeliverAtNs) atNs = dir.lastDeliverAtNs;
    dir.lastDeliverAtNs = atNs;
    msg.timer = this.kernel.schedule(atNs, this.deliverDue, msg);
  }

  private hold(dir: Direction, msg: Message): void {
    dir.heldCount++;
    if (dir.heldCount === 1) {
      dir.timeoutTimer = this.kernel.schedule(this.kernel.now + this.resetAfterHeldNs, this.heldTimeoutDue, dir);
      dir.pair?.heldDirs.add(dir);
    }
    if (this.trace.detailed && !msg.fin) {
      this.trace.emit("MessageHeld", { conn: dir.conn.id, msg: msg.id, from: dir.src.host, to: dir.dst.host });
    }
  }

  private onDeliverDue(msg: Message): void {
    msg.timer = -1;
    const dir = msg.dir;
    assert(dir.pending.length > dir.heldCount && dir.pending.at(dir.heldCount) === msg, `connection ${dir.conn.id}: delivery out of order (message ${msg.id})`);
    if (this.cannotDeliver(dir)) {
      this.hold(dir, msg);
      return;
    }
    if (!dir.dst.alive) {
      // The receiver's host came back after a silent crash: its new OS answers with an RST.
      this.reset(dir.conn, "peer restarted");
      return;
    }
    assert(dir.heldCount === 0, `connection ${dir.conn.id}: delivering past held messages`);
    dir.pending.shift();
    const conn = dir.conn;
    if (msg.fin) {
      this.finish(conn);
      if (!dir.dst.closeNoted) {
        dir.dst.closeNoted = true;
        dir.dst.handler.onClose("closed");
      }
      return;
    }
    dir.dstStats.bytesReceived += msg.sizeBytes;
    if (this.trace.detailed) {
      this.trace.emit("MessageDelivered", { conn: conn.id, msg: msg.id, from: dir.src.host, to: dir.dst.host, sizeBytes: msg.sizeBytes });
    }
    dir.dst.handler.onMessage(msg.payload, msg.sizeBytes);
  }

  private onHeldTimeout(dir: Direction): void {
    dir.timeoutTimer = -1;
    this.reset(dir.conn, "timeout");
  }

  /** After a heal: re-sends, in order, everything undelivered on the pair's held directions. */
  private resendHeld(pair: PairState): void {
    for (const dir of [...pair.heldDirs]) {
      if (!dir.dst.hostRef.up) continue; // still unreachable: the receiver is down
      const pending = dir.pending;
      // Go-back-N: in-flight messages behind the held ones are re-sent too, or they
      // would arrive before the held ones.
      for (let i = dir.heldCount; i < pending.length; i++) this.cancelDelivery(pending.at(i)!);
      this.clearHeld(dir);
      // Every earlier delivery happened at or before now; the rest are being re-sent.
      dir.lastDeliverAtNs = this.kernel.now;
      for (let i = 0; i < pending.length; i++) this.transmit(pending.at(i)!);
    }
  }

  private cancelDelivery(msg: Message): void {
    if (msg.timer >= 0) this.kernel.cancel(msg.timer);
    msg.timer = -1;
  }

  private clearHeld(dir: Direction): void {
    dir.heldCount = 0;
    if (dir.timeoutTimer >= 0) this.kernel.cancel(dir.timeoutTimer);
    dir.timeoutTimer = -1;
    dir.pair?.heldDirs.delete(dir);
  }

  /** Drops every undelivered message of one direction. */
  private dropAll(dir: Direction): void {
    const pending = dir.pending;
    for (let i = 0; i < pending.length; i++) this.cancelDelivery(pending.at(i)!);
    pending.clear();
    this.clearHeld(dir);
  }

  /** Marks a connection fully closed and forgets it; no callbacks. */
  private finish(conn: Connection): void {
    conn.state = "closed";
    this.dropAll(conn.a.out);
    this.dropAll(conn.b.out);
    this.hostStates.get(conn.from)!.conns.delete(conn);
    this.hostStates.get(conn.to)!.conns.delete(conn);
  }

  /** Schedules onClose(reason) for a live endpoint that has not had one, one latency sample out. */
  private noticeClose(endpoint: Endpoint, reason: string): void {
    if (endpoint.closeNoted || !endpoint.alive) return;
    endpoint.closeNoted = true;
    // The news comes from the peer's side, so it takes the peer→endpoint latency.
    const pair = endpoint.out.dst.out.pair;
    const delayNs = pair === null ? 0 : this.sampleLatency(pair.rng);
    const notice: CloseNotice = { endpoint, reason };
    this.kernel.schedule(this.kernel.now + delayNs, this.closeDue, notice);
  }

  /**
   * A host crashed. Its endpoints die without callbacks and its queued NIC work is
   * forgotten. A process kill (not silent): the OS sends RSTs, so every connection closes
   * and each remote endpoint gets onClose("peer crashed") after one latency sample. A
   * silent crash (power loss): messages in flight from the host are dropped; remote
   * endpoints notice only through their own sends, which are held until the connection
   * times out or the host restarts.
   */
  private onHostCrash(host: Host): void {
    const s = this.hostStates.get(host.name)!;
    const now = this.kernel.now;
    s.egress.reset(now);
    s.ingress.reset(now);
    for (const conn of [...s.conns]) {
      const here = conn.from === host.name ? conn.a : conn.b;
      const remote = here.out.dst;
      if (!host.silentCrash || conn.state !== "open" || !remote.alive) {
        // Also when closing: the FIN or the data behind it may be lost, so tell the peer now.
        this.reset(conn, "peer crashed");
      } else {
        this.dropAll(here.out);
      }
    }
  }

  /**
   * A host restarted. Connections from its previous life that still have messages on
   * their way to it reset at once (its new OS answers with an RST); idle ones reset when
   * their live side next sends.
   */
  private onHostRestart(host: Host): void {
    const s = this.hostStates.get(host.name)!;
    for (const conn of [...s.conns]) {
      const here = conn.from === host.name ? conn.a : conn.b;
      if (here.alive) continue;
      if (here.out.dst.out.pending.length > 0) this.reset(conn, "peer restarted");
    }
  }
}
