/**
 * The event queue: a binary min-heap on (time, seq), `seq` a global insertion counter, so
 * events at equal times run in the order they were scheduled (a total order, no ties).
 *
 * Layout is chosen for the hot path: the heap holds slot indices in an Int32Array; each
 * slot's time, seq and heap position live in typed arrays, its handler and argument in
 * plain arrays. Slots are recycled through a free list, so steady-state scheduling does
 * not allocate. Cancellation is eager (the entry leaves the heap at once), so `size`
 * counts only live events. A handle is `generation * SLOT_SPAN + slot`; a stale handle
 * (already run or cancelled) is recognised by its generation and ignored.
 */
import { assert } from "./errors";

export type Handler<A = unknown> = (arg: A) => void;
export type TimerHandle = number;

/** Maximum pending events at once (a named limit, DESIGN style rule 3). */
export const MAX_PENDING_EVENTS = 1 << 24;
const SLOT_SPAN = MAX_PENDING_EVENTS;

export class EventQueue {
  private heap = new Int32Array(1024);
  private pos = new Int32Array(1024).fill(-1);
  private time = new Float64Array(1024);
  private seqOf = new Float64Array(1024);
  private gen = new Float64Array(1024);
  private daemon = new Uint8Array(1024);
  private fns: (Handler<any> | undefined)[] = new Array(1024).fill(undefined);
  private args: unknown[] = new Array(1024).fill(undefined);
  private freeSlots = new Int32Array(1024);
  private freeCount = 0;
  private slotsUsed = 0;
  private nextSeq = 0;
  /** Live entries in the heap. */
  size = 0;
  /** Live entries that are not daemons: while this is 0 the simulation is idle. */
  nonDaemonSize = 0;

  // Result registers of the last pop(); reading them allocates nothing.
  poppedTime = 0;
  poppedSeq = 0;
  poppedFn: Handler<any> | undefined = undefined;
  poppedArg: unknown = undefined;

  push<A>(timeNs: number, fn: Handler<A>, arg: A, isDaemon: boolean): TimerHandle {
    const slot = this.freeCount > 0 ? this.freeSlots[--this.freeCount]! : this.newSlot();
    this.time[slot] = timeNs;
    this.seqOf[slot] = this.nextSeq++;
    this.fns[slot] = fn;
    this.args[slot] = arg;
    this.daemon[slot] = isDaemon ? 1 : 0;
    if (!isDaemon) this.nonDaemonSize++;
    const i = this.size++;
    this.heap[i] = slot;
    this.pos[slot] = i;
    this.siftUp(i);
    return this.gen[slot]! * SLOT_SPAN + slot;
  }

  /** Removes a pending event; false if the handle already ran or was cancelled. */
  cancel(handle: TimerHandle): boolean {
    const slot = handle % SLOT_SPAN;
    if (!(slot >= 0 && slot < this.slotsUsed)) return false;
    if (this.gen[slot] !== (handle - slot) / SLOT_SPAN || this.pos[slot]! < 0) return false;
    const i = this.pos[slot]!;
    const last = this.heap[--this.size]!;
    if (i !== this.size) {
      this.heap[i] = last;
      this.pos[last] = i;
      if (i > 0 && this.less(last, this.heap[(i - 1) >> 1]!)) this.siftUp(i);
      else this.siftDown(i);
    }
    this.release(slot);
    return true;
  }

  isPending(handle: TimerHandle): boolean {
    const slot = handle % SLOT_SPAN;
    return slot >= 0 && slot < this.slotsUsed && this.gen[slot] === (handle - slot) / SLOT_SPAN && this.pos[slot]! >= 0;
  }

  /** Time of the earliest event; Infinity when empty. */
  peekTime(): number {
    return this.size > 0 ? this.time[this.heap[0]!]! : Infinity;
  }

  /** Removes the earliest event into the popped* registers; false when empty. */
  pop(): boolean {
    if (this.size === 0) return false;
    const heap = this.heap;
    const slot = heap[0]!;
    this.poppedTime = this.time[slot]!;
    this.poppedSeq = this.seqOf[slot]!;
    this.poppedFn = this.fns[slot];
    this.poppedArg = this.args[slot];
    const last = heap[--this.size]!;
    if (this.size > 0) {
      heap[0] = last;
      this.pos[last] = 0;
      this.siftDown(0);
    }
    this.release(slot);
    return true;
  }

  private release(slot: number): void {
    if (this.daemon[slot] === 0) this.nonDaemonSize--;
    this.pos[slot] = -1;
    this.gen[slot]!++;
    this.fns[slot] = undefined;
    this.args[slot] = undefined;
    this.freeSlots[this.freeCount++] = slot;
  }

  private less(a: number, b: number): boolean {
    const ta = this.time[a]!;
    const tb = this.time[b]!;
    return ta < tb || (ta === tb && this.seqOf[a]! < this.seqOf[b]!);
  }

  private siftUp(start: number): void {
    const heap = this.heap;
    const pos = this.pos;
    const time = this.time;
    const seqOf = this.seqOf;
    const slot = heap[start]!;
    const t = time[slot]!;
    const s = seqOf[slot]!;
    let i = start;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = heap[parentIndex]!;
      const tp = time[parent]!;
      if (tp < t || (tp === t && seqOf[parent]! < s)) break;
      heap[i] = parent;
      pos[parent] = i;
      i = parentIndex;
    }
    heap[i] = slot;
    pos[slot] = i;
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    const pos = this.pos;
    const time = this.time;
    const seqOf = this.seqOf;
    const n = this.size;
    const slot = heap[start]!;
    const t = time[slot]!;
    const s = seqOf[slot]!;
    let i = start;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      let c = heap[child]!;
      let tc = time[c]!;
      const right = child + 1;
      if (right < n) {
        const r = heap[right]!;
        const tr = time[r]!;
        if (tr < tc || (tr === tc && seqOf[r]! < seqOf[c]!)) {
          child = right;
          c = r;
          tc = tr;
        }
      }
      if (t < tc || (t === tc && s < seqOf[c]!)) break;
      heap[i] = c;
      pos[c] = i;
      i = child;
    }
    heap[i] = slot;
    pos[slot] = i;
  }

  private newSlot(): number {
    assert(this.slotsUsed < MAX_PENDING_EVENTS, `more than ${MAX_PENDING_EVENTS} pending events`);
    if (this.slotsUsed === this.time.length) this.grow();
    return this.slotsUsed++;
  }

  private grow(): void {
    const n = this.time.length * 2;
    this.heap = growInt32(this.heap, n);
    this.pos = growInt32(this.pos, n, -1);
    this.time = growFloat64(this.time, n);
    this.seqOf = growFloat64(this.seqOf, n);
    this.gen = growFloat64(this.gen, n);
    const daemon = new Uint8Array(n);
    daemon.set(this.daemon);
    this.daemon = daemon;
    this.freeSlots = growInt32(this.freeSlots, n);
    for (let i = this.fns.length; i < n; i++) {
      this.fns.push(undefined);
      this.args.push(undefined);
    }
  }
}

function growInt32(a: Int32Array, n: number, fill = 0): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  if (fill !== 0) b.fill(fill);
  b.set(a);
  return b;
}

function growFloat64(a: Float64Array, n: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}
