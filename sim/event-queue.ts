/**
 * The event queue: a binary min-heap on (time, seq), `seq` a global insertion counter, so
 * events at equal times run in the order they were scheduled (a total order, no ties).
 *
 * Layout is chosen for the hot path (see bench/kernel.bench.ts): the heap arrays hold each
 * entry's time, seq and slot side by side in typed arrays, so sifting compares without
 * indirection; a slot holds the handler, its argument and a generation number, and slots
 * are recycled through a free list, so steady-state scheduling allocates nothing.
 *
 * Cancellation is lazy: a cancelled entry stays in the heap, marked dead, and is skipped
 * when it reaches the top; when dead entries outnumber live ones (plus a floor) the heap
 * is rebuilt without them, so memory stays O(live). `size` counts live events only.
 * A handle is `generation * SLOT_SPAN + slot`; a stale handle (already run or cancelled)
 * is recognised by its generation and ignored.
 */
import { assert } from "./errors";

export type Handler<A = unknown> = (arg: A) => void;
export type TimerHandle = number;

/** Maximum pending events at once (a named limit, DESIGN style rule 3). */
export const MAX_PENDING_EVENTS = 1 << 24;
const SLOT_SPAN = MAX_PENDING_EVENTS;
/** Dead entries tolerated beyond the live count before the heap is compacted. */
const COMPACT_FLOOR = 1024;

const FREE = 0;
const LIVE = 1;
const LIVE_DAEMON = 2;
const DEAD = 3;

export class EventQueue {
  // Heap arrays, indexed by heap position.
  private hTime = new Float64Array(1024);
  private hSeq = new Float64Array(1024);
  private hSlot = new Int32Array(1024);
  private heapSize = 0;
  // Slot arrays, indexed by slot.
  private state = new Uint8Array(1024);
  private gen = new Float64Array(1024);
  private fns: (Handler<any> | undefined)[] = new Array(1024).fill(undefined);
  private args: unknown[] = new Array(1024).fill(undefined);
  private freeSlots = new Int32Array(1024);
  private freeCount = 0;
  private slotsUsed = 0;
  private dead = 0;
  private nextSeq = 0;
  /** Live (not cancelled) pending events. */
  size = 0;
  /** Live events that are not daemons: while this is 0 the simulation is idle. */
  nonDaemonSize = 0;

  // Result registers of the last pop(); reading them allocates nothing.
  poppedTime = 0;
  poppedSeq = 0;
  poppedFn: Handler<any> | undefined = undefined;
  poppedArg: unknown = undefined;

  push<A>(timeNs: number, fn: Handler<A>, arg: A, isDaemon: boolean): TimerHandle {
    const slot = this.freeCount > 0 ? this.freeSlots[--this.freeCount]! : this.newSlot();
    this.fns[slot] = fn;
    this.args[slot] = arg;
    if (isDaemon) this.state[slot] = LIVE_DAEMON;
    else {
      this.state[slot] = LIVE;
      this.nonDaemonSize++;
    }
    this.size++;
    if (this.heapSize === this.hTime.length) this.growHeap();
    this.siftUp(this.heapSize++, timeNs, this.nextSeq++, slot);
    return this.gen[slot]! * SLOT_SPAN + slot;
  }

  /** Cancels a pending event; false if the handle already ran or was cancelled. */
  cancel(handle: TimerHandle): boolean {
    const slot = handle % SLOT_SPAN;
    if (!this.isPending(handle)) return false;
    if (this.state[slot] === LIVE) this.nonDaemonSize--;
    this.state[slot] = DEAD;
    this.gen[slot]!++;
    this.fns[slot] = undefined;
    this.args[slot] = undefined;
    this.size--;
    this.dead++;
    if (this.dead > this.size + COMPACT_FLOOR) this.compact();
    return true;
  }

  isPending(handle: TimerHandle): boolean {
    const slot = handle % SLOT_SPAN;
    if (!(slot >= 0 && slot < this.slotsUsed) || this.gen[slot] !== (handle - slot) / SLOT_SPAN) return false;
    const state = this.state[slot];
    return state === LIVE || state === LIVE_DAEMON;
  }

  /** Time of the earliest live event; Infinity when there is none. */
  peekTime(): number {
    this.dropDeadTop();
    return this.heapSize > 0 ? this.hTime[0]! : Infinity;
  }

  /** Removes the earliest live event into the popped* registers; false when empty. */
  pop(): boolean {
    this.dropDeadTop();
    if (this.heapSize === 0) return false;
    this.popLiveTop();
    return true;
  }

  /** pop() for the run loop, right after peekTime() returned a finite time (top is live). */
  popLiveTop(): void {
    const slot = this.hSlot[0]!;
    this.poppedTime = this.hTime[0]!;
    this.poppedSeq = this.hSeq[0]!;
    this.poppedFn = this.fns[slot];
    this.poppedArg = this.args[slot];
    this.removeTop();
    if (this.state[slot] === LIVE) this.nonDaemonSize--;
    this.size--;
    this.state[slot] = FREE;
    this.gen[slot]!++;
    // Handler and argument stay referenced until the slot is reused: clearing them here
    // costs two stores per event on the hottest path, and slots are reused quickly.
    this.freeSlots[this.freeCount++] = slot;
  }

  private dropDeadTop(): void {
    while (this.heapSize > 0 && this.state[this.hSlot[0]!] === DEAD) {
      const slot = this.hSlot[0]!;
      this.removeTop();
      this.release(slot);
    }
  }

  private release(slot: number): void {
    this.state[slot] = FREE;
    this.dead--;
    this.freeSlots[this.freeCount++] = slot;
  }

  private removeTop(): void {
    const n = --this.heapSize;
    if (n > 0) this.siftDown(0, this.hTime[n]!, this.hSeq[n]!, this.hSlot[n]!);
  }

  /** Places (t, s, slot) at or above heap position `start`. */
  private siftUp(start: number, t: number, s: number, slot: number): void {
    const hTime = this.hTime;
    const hSeq = this.hSeq;
    const hSlot = this.hSlot;
    let i = start;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const tp = hTime[p]!;
      if (tp < t || (tp === t && hSeq[p]! < s)) break;
      hTime[i] = tp;
      hSeq[i] = hSeq[p]!;
      hSlot[i] = hSlot[p]!;
      i = p;
    }
    hTime[i] = t;
    hSeq[i] = s;
    hSlot[i] = slot;
  }

  /** Places (t, s, slot) at or below heap position `start`, whose entry it replaces. */
  private siftDown(start: number, t: number, s: number, slot: number): void {
    const hTime = this.hTime;
    const hSeq = this.hSeq;
    const hSlot = this.hSlot;
    const n = this.heapSize;
    let i = start;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      let tc = hTime[c]!;
      if (c + 1 < n) {
        const tr = hTime[c + 1]!;
        if (tr < tc || (tr === tc && hSeq[c + 1]! < hSeq[c]!)) {
          c++;
          tc = tr;
        }
      }
      if (t < tc || (t === tc && s < hSeq[c]!)) break;
      hTime[i] = tc;
      hSeq[i] = hSeq[c]!;
      hSlot[i] = hSlot[c]!;
      i = c;
    }
    hTime[i] = t;
    hSeq[i] = s;
    hSlot[i] = slot;
  }

  /** Rebuilds the heap without dead entries (Floyd's bottom-up heapify, O(n)). */
  private compact(): void {
    let n = 0;
    for (let i = 0; i < this.heapSize; i++) {
      const slot = this.hSlot[i]!;
      if (this.state[slot] === DEAD) {
        this.release(slot);
        continue;
      }
      this.hTime[n] = this.hTime[i]!;
      this.hSeq[n] = this.hSeq[i]!;
      this.hSlot[n] = slot;
      n++;
    }
    this.heapSize = n;
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i, this.hTime[i]!, this.hSeq[i]!, this.hSlot[i]!);
    assert(this.dead === 0, `event queue compaction left ${this.dead} dead entries`);
  }

  private newSlot(): number {
    assert(this.slotsUsed < MAX_PENDING_EVENTS, `more than ${MAX_PENDING_EVENTS} pending events`);
    if (this.slotsUsed === this.state.length) this.growSlots();
    return this.slotsUsed++;
  }

  private growSlots(): void {
    const n = this.state.length * 2;
    const state = new Uint8Array(n);
    state.set(this.state);
    this.state = state;
    this.gen = growFloat64(this.gen, n);
    const free = new Int32Array(n);
    free.set(this.freeSlots);
    this.freeSlots = free;
    for (let i = this.fns.length; i < n; i++) {
      this.fns.push(undefined);
      this.args.push(undefined);
    }
  }

  private growHeap(): void {
    const n = this.hTime.length * 2;
    this.hTime = growFloat64(this.hTime, n);
    this.hSeq = growFloat64(this.hSeq, n);
    const slots = new Int32Array(n);
    slots.set(this.hSlot);
    this.hSlot = slots;
  }
}

function growFloat64(a: Float64Array, n: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}
