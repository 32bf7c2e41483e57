/**
 * Network memory of one TaskManager, as Flink's NetworkBufferPool (the TM budget) and
 * LocalBufferPool (one per result partition or input gate). Buffers are counted, not
 * allocated: a "segment" is a unit of the budget held by whoever requested it.
 *
 * Model:
 * - The global pool has floor(networkMemory / segmentSize) segments. Every local pool
 *   reserves its minimum and fixed reservations (exclusive channel buffers, sort-merge
 *   buffers) reserve their count; the sum of reservations may never exceed the total,
 *   else the request fails with Flink's "Insufficient number of network buffers" error.
 * - Segments beyond the reservations are shared out as Flink's redistributeBuffers does:
 *   each resizable pool gets min + a share proportional to min(excess, max − min).
 * - A local pool hands out a segment while requested < size and the global pool has a
 *   free one; at size it may hand out up to maxOverdraft more ("overdraft", only to
 *   finish a record). It is *available* (the task may start a record) when it could hand
 *   out a non-overdraft segment and no subpartition holds maxBuffersPerChannel.
 * - Segments are taken from the global pool lazily, when requested (Flink's pool fetches
 *   one ahead): a simplification that never lets idle segments sit in a pool.
 * - Fixed reservations that find too few free segments (pools shrunk by a redistribution
 *   still hold their old share, or overdraft took them) are owed the rest: returned
 *   segments pay them first, in order, as Flink's requestPooledMemorySegmentsBlocking
 *   waits for recycled ones.
 *
 * Invariants (asserted): used ≤ total; reservations ≤ total; a reservation holds no more
 * than it wants; a pool's requested is ≥ 0 and ≤ its max + overdraft; per-subpartition
 * counts are ≥ 0; availability listeners run once, each in a kernel event, never inside
 * the call that made the pool available.
 */
import { InvariantError, assert } from "../../../sim/errors";
import type { Kernel } from "../../../sim/kernel";

/** Flink's IOException for an over-committed network budget: the task fails with it. */
export class InsufficientNetworkBuffersError extends Error {
  constructor(
    readonly host: string,
    readonly requiredBuffers: number,
    readonly availableBuffers: number,
    readonly totalBuffers: number,
    readonly bufferSizeBytes: number,
    readonly owner: string,
  ) {
    super(
      `Insufficient number of network buffers on ${host} for ${owner}: required ${requiredBuffers}, but only ` +
        `${availableBuffers} available. The total number of network buffers is currently set to ${totalBuffers} ` +
        `of ${bufferSizeBytes} bytes each. You can increase this number by setting the configuration keys ` +
        `'taskmanager.memory.network.fraction', 'taskmanager.memory.network.min', and 'taskmanager.memory.network.max'.`,
    );
    this.name = "InsufficientNetworkBuffersError";
  }
}

export interface LocalPoolSpec {
  label: string;
  minBuffers: number;
  /** Infinity for an unbounded pool (hybrid). */
  maxBuffers: number;
  numSubpartitions: number;
  maxBuffersPerChannel: number;
  maxOverdraftBuffers: number;
}

/** What `LocalBufferPool.request` handed out. */
export const enum Grant {
  None = 0,
  Normal = 1,
  Overdraft = 2,
}

/** A fixed number of segments held outside local pools; `held` < `wanted` while owed. */
export class FixedReservation {
  held = 0;
  private pending = 0;
  private readonly onDue = () => {
    const n = this.pending;
    this.pending = 0;
    if (n > 0 && this.onAcquired !== undefined) this.onAcquired(n);
  };
  constructor(
    public wanted: number,
    readonly owner: string,
    private readonly onAcquired: ((acquired: number) => void) | undefined,
  ) {}

  /** @internal */
  acquired(kernel: Kernel, n: number): void {
    if (this.onAcquired === undefined || n === 0) return;
    if (this.pending === 0) kernel.after(0, this.onDue);
    this.pending += n;
  }
}

export class NetworkBufferPool {
  /** Segments handed out (local pools' requested + fixed reservations in use). */
  private usedNow = 0;
  /** Σ local pool minimums + fixed reservations. */
  private reserved = 0;
  maxUsedObserved = 0;
  private readonly resizable = new Set<LocalBufferPool>();
  /** Pools with listeners that wait for availability (re-checked when segments return). */
  private readonly waiting = new Set<LocalBufferPool>();
  /** Fixed reservations still owed segments, in reservation order. */
  private readonly debts: FixedReservation[] = [];

  constructor(
    readonly kernel: Kernel,
    readonly host: string,
    readonly totalBuffers: number,
    readonly bufferSizeBytes: number,
  ) {}

  get used(): number {
    return this.usedNow;
  }

  /** Segments a local pool could take now (none while reservations are owed some). */
  get free(): number {
    return this.debts.length > 0 ? 0 : this.totalBuffers - this.usedNow;
  }

  get reservedBuffers(): number {
    return this.reserved;
  }

  /**
   * Reserves `n` segments for a fixed holder (exclusive channel buffers, sort-merge
   * memory) and takes the free ones now. When fewer are free (pools shrunk by a
   * redistribution still hold their old share, or overdraft took them), the rest are
   * owed: returned segments pay debts first, in reservation order, and `onAcquired(k)`
   * runs in a kernel event for each batch — as Flink's requestPooledMemorySegmentsBlocking
   * waits for recycled segments.
   */
  reserveFixed(n: number, owner: string, onAcquired?: (acquired: number) => void): FixedReservation {
    const res = new FixedReservation(n, owner, onAcquired);
    if (n === 0) return res;
    this.reserve(n, owner);
    const now = Math.min(n, this.free);
    res.held = now;
    this.usedNow += now;
    this.noteUsed();
    if (now < n) this.debts.push(res);
    this.redistribute();
    return res;
  }

  /**
   * Changes what a fixed reservation wants (only downwards). Held segments beyond the new
   * amount go back at once; returns how many did.
   */
  shrinkFixed(res: FixedReservation, wanted: number): number {
    assert(wanted >= 0 && wanted <= res.wanted, `network pool on ${this.host}: reservation of ${res.owner} cannot go from ${res.wanted} to ${wanted}`);
    const drop = res.wanted - wanted;
    if (drop === 0) return 0;
    res.wanted = wanted;
    this.reserved -= drop;
    let freed = 0;
    if (res.held > wanted) {
      freed = res.held - wanted;
      res.held = wanted;
      this.usedNow -= freed;
    }
    if (res.held === res.wanted) {
      const i = this.debts.indexOf(res);
      if (i >= 0) this.debts.splice(i, 1);
    }
    this.redistribute();
    this.freed(freed);
    return freed;
  }

  createPool(spec: LocalPoolSpec): LocalBufferPool {
    assert(spec.minBuffers >= 1 && spec.maxBuffers >= spec.minBuffers, `network pool ${spec.label}: bad bounds ${spec.minBuffers}..${spec.maxBuffers}`);
    this.reserve(spec.minBuffers, spec.label);
    const pool = new LocalBufferPool(this, spec);
    if (spec.maxBuffers > spec.minBuffers) this.resizable.add(pool);
    this.redistribute();
    return pool;
  }

  /** @internal LocalBufferPool.destroy. */
  destroyPool(pool: LocalBufferPool): void {
    this.reserved -= pool.minBuffers;
    assert(this.reserved >= 0, `network pool on ${this.host}: negative reservations`);
    this.resizable.delete(pool);
    this.waiting.delete(pool);
    this.redistribute();
    this.freed(0);
  }

  /** @internal one segment to a local pool; false when none is free (or all are owed). */
  takeSegment(): boolean {
    if (this.usedNow >= this.totalBuffers || this.debts.length > 0) return false;
    this.usedNow++;
    this.noteUsed();
    return true;
  }

  /** @internal a local pool's segment comes back. */
  returnSegment(): void {
    assert(this.usedNow > 0, `network pool on ${this.host}: more segments returned than taken`);
    this.usedNow--;
    this.freed(1);
  }

  /** `k` segments just became free: owed reservations take them first, then waiting pools. */
  private freed(k: number): void {
    while (k > 0 && this.debts.length > 0 && this.usedNow < this.totalBuffers) {
      const res = this.debts[0]!;
      const give = Math.min(k, res.wanted - res.held, this.totalBuffers - this.usedNow);
      res.held += give;
      this.usedNow += give;
      k -= give;
      if (res.held === res.wanted) this.debts.shift();
      res.acquired(this.kernel, give);
    }
    this.wakeWaiting();
  }

  /** @internal */
  addWaiting(pool: LocalBufferPool): void {
    this.waiting.add(pool);
  }

  /** @internal */
  removeWaiting(pool: LocalBufferPool): void {
    this.waiting.delete(pool);
  }

  private noteUsed(): void {
    if (this.usedNow > this.maxUsedObserved) this.maxUsedObserved = this.usedNow;
    if (this.usedNow > this.totalBuffers) {
      throw new InvariantError(`network memory of ${this.host} exceeded: ${this.usedNow} of ${this.totalBuffers} buffers in use`);
    }
  }

  private reserve(n: number, owner: string): void {
    if (this.reserved + n > this.totalBuffers) {
      throw new InsufficientNetworkBuffersError(this.host, n, this.totalBuffers - this.reserved, this.totalBuffers, this.bufferSizeBytes, owner);
    }
    this.reserved += n;
  }

  private wakeWaiting(): void {
    // checkListeners may delete the pool being visited, which Set iteration allows.
    for (const pool of this.waiting) pool.checkListeners();
  }

  /** Flink's redistributeBuffers: the excess over reservations, by capacity share. */
  private redistribute(): void {
    if (this.resizable.size === 0) return;
    const excess = this.totalBuffers - this.reserved;
    assert(excess >= 0, `network pool on ${this.host}: reservations exceed the total`);
    let totalCapacity = 0;
    for (const pool of this.resizable) totalCapacity += Math.min(excess, pool.maxBuffers - pool.minBuffers);
    const toDistribute = Math.min(excess, totalCapacity);
    let partsUsed = 0;
    let distributed = 0;
    for (const pool of this.resizable) {
      if (excess === 0 || totalCapacity === 0) {
        pool.setSize(pool.minBuffers);
        continue;
      }
      partsUsed += Math.min(excess, pool.maxBuffers - pool.minBuffers);
      const share = Math.floor((toDistribute * partsUsed) / totalCapacity) - distributed;
      distributed += share;
      pool.setSize(pool.minBuffers + share);
    }
  }
}

export class LocalBufferPool {
  readonly label: string;
  readonly minBuffers: number;
  readonly maxBuffers: number;
  readonly maxOverdraftBuffers: number;
  readonly maxBuffersPerChannel: number;
  /** Flink's currentPoolSize. */
  size: number;
  /** Segments handed out and not yet recycled (overdraft included). */
  requested = 0;
  maxRequestedObserved = 0;
  /** Grants that were overdraft, ever. */
  overdraftGrants = 0;
  destroyed = false;
  private readonly perSubpartition: number[];
  private unavailableSubpartitions = 0;
  private listeners: (() => void)[] = [];
  private notifyScheduled = false;
  private readonly onNotifyDue = () => this.runListeners();

  constructor(
    private readonly global: NetworkBufferPool,
    spec: LocalPoolSpec,
  ) {
    this.label = spec.label;
    this.minBuffers = spec.minBuffers;
    this.maxBuffers = spec.maxBuffers;
    this.maxOverdraftBuffers = spec.maxOverdraftBuffers;
    this.maxBuffersPerChannel = spec.maxBuffersPerChannel;
    this.size = spec.minBuffers;
    this.perSubpartition = new Array<number>(spec.numSubpartitions).fill(0);
  }

  /** A non-overdraft segment could be handed out now and no subpartition is at its quota. */
  isAvailable(): boolean {
    return !this.destroyed && this.requested < this.size && this.global.free > 0 && this.unavailableSubpartitions === 0;
  }

  /** Segments held by `subpartition`. */
  buffersOf(subpartition: number): number {
    return this.perSubpartition[subpartition] ?? 0;
  }

  /**
   * One segment for `subpartition` (−1: not per subpartition). Like Flink's
   * requestMemorySegment it ignores the per-subpartition quota (that only drives
   * availability) and grants overdraft only once the pool's size is reached.
   */
  request(subpartition: number): Grant {
    assert(!this.destroyed, `buffer pool ${this.label}: request after destroy`);
    let grant: Grant;
    if (this.requested < this.size) grant = Grant.Normal;
    else if (this.requested - this.size < this.maxOverdraftBuffers) grant = Grant.Overdraft;
    else return Grant.None;
    if (!this.global.takeSegment()) return Grant.None;
    this.requested++;
    if (this.requested > this.maxRequestedObserved) this.maxRequestedObserved = this.requested;
    if (grant === Grant.Overdraft) this.overdraftGrants++;
    assert(this.requested <= this.maxBuffers + this.maxOverdraftBuffers, `buffer pool ${this.label}: ${this.requested} buffers exceed max ${this.maxBuffers} + overdraft ${this.maxOverdraftBuffers}`);
    if (subpartition >= 0) {
      if (++this.perSubpartition[subpartition]! === this.maxBuffersPerChannel) this.unavailableSubpartitions++;
    }
    return grant;
  }

  recycle(subpartition: number): void {
    assert(this.requested > 0, `buffer pool ${this.label}: recycle with no buffer requested`);
    this.requested--;
    if (subpartition >= 0) {
      const before = this.perSubpartition[subpartition]!;
      assert(before > 0, `buffer pool ${this.label}: subpartition ${subpartition} recycles more than it requested`);
      this.perSubpartition[subpartition] = before - 1;
      if (before === this.maxBuffersPerChannel) this.unavailableSubpartitions--;
    }
    this.global.returnSegment();
    this.checkListeners();
  }

  /** Calls `cb` once, in a kernel event, when the pool is available (at once if it is now). */
  onAvailable(cb: () => void): void {
    assert(!this.destroyed, `buffer pool ${this.label}: listener after destroy`);
    this.listeners.push(cb);
    this.checkListeners();
  }

  /** @internal re-checks availability for waiting listeners. */
  checkListeners(): void {
    if (this.listeners.length === 0 || this.destroyed) {
      this.global.removeWaiting(this);
      return;
    }
    if (this.notifyScheduled) return;
    if (this.isAvailable()) {
      this.notifyScheduled = true;
      this.global.removeWaiting(this);
      this.global.kernel.after(0, this.onNotifyDue);
    } else {
      this.global.addWaiting(this);
    }
  }

  /** @internal set by redistribution. */
  setSize(size: number): void {
    const grew = size > this.size;
    this.size = size;
    if (grew) this.checkListeners();
  }

  /** Gives the reservation back; segments still out return to the global pool when recycled. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.listeners = [];
    this.global.destroyPool(this);
  }

  private runListeners(): void {
    this.notifyScheduled = false;
    if (this.destroyed) return;
    if (!this.isAvailable()) {
      this.checkListeners();
      return;
    }
    const cbs = this.listeners;
    this.listeners = [];
    for (const cb of cbs) cb();
  }
}
