/**
 * A FIFO queue with O(1) amortised shift and indexed access from the head, used for
 * connection queues (sim/network.ts) and the engine's subpartition, channel and
 * round-robin queues.
 * Invariant: items [head, items.length) are the queue, in insertion order.
 */
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** The i-th item from the head (0 = head); undefined when out of range. */
  at(i: number): T | undefined {
    return i >= 0 && i < this.length ? (this.items[this.head + i] as T) : undefined;
  }

  peek(): T | undefined {
    return this.head < this.items.length ? (this.items[this.head] as T) : undefined;
  }

  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head] as T;
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    return item;
  }

  /** Puts an item before the head (priority events jumping a queue). */
  unshift(item: T): void {
    if (this.head > 0) this.items[--this.head] = item;
    else this.items.unshift(item);
  }

  clear(): void {
    this.items.length = 0;
    this.head = 0;
  }
}
