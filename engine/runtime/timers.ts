/**
 * The internal timer service of a keyed operator: event-time timers per (key, timestamp),
 * deduplicated as Flink's, fired in (timestamp, registration) order when the watermark
 * passes them; processing-time timers on the virtual clock, fired through the task's
 * mailbox (between work items, like Flink's processing-time service).
 *
 * Invariant: a (key, timestamp) pair is queued at most once per kind; firing removes it
 * before the operator's callback runs, so a callback may re-register the same timer.
 */
import { MinHeap } from "../../sim/min-heap";
import type { Key } from "../api/types";

export interface Timer {
  timestampMs: number;
  key: Key;
  keyGroup: number;
  seq: number;
}

const bySeqTime = (a: Timer, b: Timer) => a.timestampMs < b.timestampMs || (a.timestampMs === b.timestampMs && a.seq < b.seq);

/** A deduplicated queue of timers of one kind. */
export class TimerQueue {
  private readonly heap = new MinHeap<Timer>(bySeqTime);
  private readonly index = new Map<number, Map<Key, Timer>>();
  private nextSeq = 0;

  get size(): number {
    return this.heap.size;
  }

  /** Adds a timer; false if that (key, timestamp) is already queued. */
  add(key: Key, keyGroup: number, timestampMs: number): boolean {
    let byKey = this.index.get(timestampMs);
    if (byKey === undefined) this.index.set(timestampMs, (byKey = new Map()));
    if (byKey.has(key)) return false;
    const timer: Timer = { timestampMs, key, keyGroup, seq: this.nextSeq++ };
    byKey.set(key, timer);
    this.heap.push(timer);
    return true;
  }

  /** Deletes a queued timer (lazily: it is skipped when it reaches the top). */
  delete(key: Key, timestampMs: number): boolean {
    const byKey = this.index.get(timestampMs);
    const timer = byKey?.get(key);
    if (timer === undefined) return false;
    byKey!.delete(key);
    if (byKey!.size === 0) this.index.delete(timestampMs);
    timer.seq = -1; // marks it deleted
    return true;
  }

  /** Earliest live timer's timestamp, or Infinity. */
  peekTimestamp(): number {
    this.dropDeleted();
    return this.heap.peek()?.timestampMs ?? Infinity;
  }

  /** Removes and returns the earliest live timer if its timestamp ≤ limit. */
  pollUpTo(limitMs: number): Timer | undefined {
    this.dropDeleted();
    const top = this.heap.peek();
    if (top === undefined || top.timestampMs > limitMs) return undefined;
    this.heap.pop();
    const byKey = this.index.get(top.timestampMs)!;
    byKey.delete(top.key);
    if (byKey.size === 0) this.index.delete(top.timestampMs);
    return top;
  }

  /** Removes and returns every live timer of `key` (BATCH: the key ended), in order. */
  drainKey(key: Key): Timer[] {
    const out: Timer[] = [];
    const keep: Timer[] = [];
    for (let t = this.heap.pop(); t !== undefined; t = this.heap.pop()) {
      if (t.seq < 0) continue;
      if (t.key === key) out.push(t);
      else keep.push(t);
    }
    for (const t of keep) this.heap.push(t);
    for (const t of out) {
      const byKey = this.index.get(t.timestampMs)!;
      byKey.delete(key);
      if (byKey.size === 0) this.index.delete(t.timestampMs);
    }
    return out;
  }

  /** Live timers in firing order (for snapshots). */
  snapshot(): { timestampMs: number; key: Key; keyGroup: number }[] {
    const live: Timer[] = [];
    for (const byKey of this.index.values()) for (const t of byKey.values()) live.push(t);
    live.sort((a, b) => a.timestampMs - b.timestampMs || a.seq - b.seq);
    return live.map((t) => ({ timestampMs: t.timestampMs, key: t.key, keyGroup: t.keyGroup }));
  }

  private dropDeleted(): void {
    while (this.heap.size > 0 && this.heap.peek()!.seq < 0) this.heap.pop();
  }
}
