/**
 * The simulation kernel: a virtual clock in integer ns and the run loop over the event
 * queue. Handlers are plain callbacks (no promises: about 8x slower in this loop).
 *
 * Invariants: time never goes backwards; every event time is a safe integer ≥ now; the
 * rolling hash covers (time, seq) of every event run, so two runs that diverge in any
 * event's timing or count have different hashes even when their traces agree.
 */
import { InputError, InvariantError } from "./errors";
import { EventQueue, type Handler, type TimerHandle } from "./event-queue";
import type { Ns } from "./time";

export type { Handler, TimerHandle };

export type StopReason = "idle" | "until" | "maxEvents" | "stopped";

export interface RunOptions {
  /** Run events with time ≤ untilNs, then set the clock to untilNs. */
  untilNs?: Ns;
  /** Stop after this many events (a limit on every run, DESIGN style rule 3). */
  maxEvents?: number;
}

export interface RunResult {
  reason: StopReason;
  /** Events run by this call. */
  events: number;
}

const FNV_PRIME = 0x01000193;
const MAX_MIX_DEPTH = 16;
const FLOAT_VIEW = new Float64Array(1);
const INT_VIEW = new Uint32Array(FLOAT_VIEW.buffer);
const TWO_POW_32 = 4294967296;

export class Kernel {
  /** Current virtual time in ns. */
  now: Ns = 0;
  /** Events run since the kernel was created. */
  eventsRun = 0;
  private readonly queue = new EventQueue();
  private stopRequested = false;
  private running = false;
  // Two 32-bit FNV-1a lanes; together a 64-bit rolling hash of every kernel event.
  private hashA = 0x811c9dc5 | 0;
  private hashB = 0x050c5d1f | 0;
  // A separate accumulator for values handlers mix in (committed records), so the run
  // loop can keep the event hash in registers.
  private dataA = 0x01234567 | 0;
  private dataB = 0x089abcde | 0;

  /** Schedules `fn(arg)` at absolute time `atNs` (≥ now, whole ns). */
  schedule<A>(atNs: Ns, fn: Handler<A>, arg?: A): TimerHandle {
    if (!(atNs >= this.now) || atNs !== Math.floor(atNs) || atNs > Number.MAX_SAFE_INTEGER) this.badTime(atNs);
    return this.queue.push(atNs, fn, arg as A, false);
  }

  /** Schedules `fn(arg)` after `delayNs` (≥ 0, whole ns). */
  after<A>(delayNs: Ns, fn: Handler<A>, arg?: A): TimerHandle {
    return this.schedule(this.now + delayNs, fn, arg);
  }

  /**
   * A daemon event does not keep the simulation alive: the run stops when only daemons
   * remain (periodic samplers, heartbeats), like an unref'd timer in Node.
   */
  scheduleDaemon<A>(atNs: Ns, fn: Handler<A>, arg?: A): TimerHandle {
    if (!(atNs >= this.now) || atNs !== Math.floor(atNs) || atNs > Number.MAX_SAFE_INTEGER) this.badTime(atNs);
    return this.queue.push(atNs, fn, arg as A, true);
  }

  cancel(handle: TimerHandle): boolean {
    return this.queue.cancel(handle);
  }

  isPending(handle: TimerHandle): boolean {
    return this.queue.isPending(handle);
  }

  /** Pending events, daemons included. */
  get pending(): number {
    return this.queue.size;
  }

  /** Asks the current run to return after the event being handled. */
  stop(): void {
    this.stopRequested = true;
  }

  /** Mixes a value into the rolling hash (e.g. committed records, so data divergence shows). */
  mixHash(value: number): void {
    const lo = value >>> 0;
    const hi = Math.floor(value / TWO_POW_32) >>> 0;
    this.dataA = Math.imul(Math.imul(this.dataA ^ lo, FNV_PRIME) ^ hi, FNV_PRIME);
    this.dataB = Math.imul(Math.imul(this.dataB ^ hi, FNV_PRIME) ^ lo, FNV_PRIME);
  }

  mixHashString(value: string): void {
    let a = this.dataA;
    let b = this.dataB;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      a = Math.imul(a ^ c, FNV_PRIME);
      b = Math.imul(b ^ c, 0x01000197);
    }
    // Length last, so "ab" + "c" and "a" + "bc" mixed in two calls differ.
    this.dataA = Math.imul(a ^ value.length, FNV_PRIME);
    this.dataB = Math.imul(b ^ value.length, 0x01000197);
  }

  /**
   * Mixes a structured value (a committed record): primitives directly, objects and arrays
   * field by field in key order of creation, with no string building (JSON.stringify per
   * record was a fifth of a WordCount run). Depth is bounded; deeper parts mix their type.
   */
  mixValue(value: unknown, depth = 0): void {
    switch (typeof value) {
      case "number":
        this.mixNumber(value);
        return;
      case "string":
        this.mixHashString(value);
        return;
      case "boolean":
        this.mixNumber(value ? 0x7fff0001 : 0x7fff0002);
        return;
      case "undefined":
        this.mixNumber(0x7fff0003);
        return;
      case "object": {
        if (value === null) {
          this.mixNumber(0x7fff0004);
          return;
        }
        if (depth >= MAX_MIX_DEPTH) {
          this.mixNumber(0x7fff0005);
          return;
        }
        if (Array.isArray(value)) {
          this.mixNumber(0x7fff0006 + value.length);
          for (let i = 0; i < value.length; i++) this.mixValue(value[i], depth + 1);
          return;
        }
        // Field names mix by length only: they are the program's, not the data's, and
        // hashing them per record doubled the cost of committing a record.
        const o = value as Record<string, unknown>;
        for (const k in o) {
          this.mixNumber(k.length);
          this.mixValue(o[k], depth + 1);
        }
        this.mixNumber(0x7fff0007);
        return;
      }
      default:
        this.mixHashString(String(value));
    }
  }

  private mixNumber(x: number): void {
    // Integers mix their two 32-bit halves; other numbers their float bits' halves.
    let lo: number;
    let hi: number;
    if (Number.isInteger(x) && Math.abs(x) <= Number.MAX_SAFE_INTEGER) {
      lo = x >>> 0;
      hi = Math.floor(x / TWO_POW_32) >>> 0;
    } else {
      FLOAT_VIEW[0] = x;
      lo = INT_VIEW[0]!;
      hi = INT_VIEW[1]! ^ 0x5bd1e995;
    }
    this.dataA = Math.imul(Math.imul(this.dataA ^ lo, FNV_PRIME) ^ hi, FNV_PRIME);
    this.dataB = Math.imul(Math.imul(this.dataB ^ hi, FNV_PRIME) ^ lo, FNV_PRIME);
  }

  /** The rolling hash of every event and every mixed-in value, as 16 hex digits. */
  get rollingHash(): string {
    const a = Math.imul(this.hashA ^ this.dataA, FNV_PRIME) ^ this.dataB;
    const b = Math.imul(this.hashB ^ this.dataB, FNV_PRIME) ^ this.dataA;
    return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
  }

  run(options: RunOptions = {}): RunResult {
    if (this.running) throw new InvariantError("Kernel.run called re-entrantly from a handler");
    const untilNs = options.untilNs ?? Infinity;
    const maxEvents = options.maxEvents ?? Infinity;
    if (untilNs < this.now) throw new InputError("untilNs", `${untilNs} is before the current time ${this.now}`);
    const queue = this.queue;
    let events = 0;
    let reason: StopReason = "idle";
    this.running = true;
    this.stopRequested = false;
    let a = this.hashA;
    let b = this.hashB;
    try {
      for (;;) {
        if (queue.nonDaemonSize === 0) {
          reason = "idle";
          break;
        }
        // nonDaemonSize > 0, so peekTime() is finite and leaves a live event on top.
        if (queue.peekTime() > untilNs) {
          reason = "until";
          break;
        }
        if (events >= maxEvents) {
          reason = "maxEvents";
          break;
        }
        queue.popLiveTop();
        const t = queue.poppedTime;
        const seq = queue.poppedSeq;
        this.now = t;
        a = Math.imul(Math.imul(a ^ (t >>> 0), FNV_PRIME) ^ (seq >>> 0), FNV_PRIME);
        b = Math.imul(Math.imul(b ^ ((t / TWO_POW_32) >>> 0), FNV_PRIME) ^ (t >>> 0), FNV_PRIME);
        events++;
        queue.poppedFn!(queue.poppedArg);
        if (this.stopRequested) {
          reason = "stopped";
          break;
        }
      }
    } finally {
      this.hashA = a;
      this.hashB = b;
      this.running = false;
      this.eventsRun += events;
    }
    if (reason === "until" && untilNs !== Infinity) this.now = untilNs;
    return { reason, events };
  }

  private badTime(atNs: number): never {
    throw new InvariantError(`cannot schedule at ${atNs} ns (now ${this.now} ns): time must be a whole ns ≥ now`);
  }
}
