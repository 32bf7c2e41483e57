/**
 * A host: `cores` CPUs at a `speed` factor (a straggler has speed < 1), shared among the
 * work items running on it by processor sharing.
 *
 * Model (DESIGN, "Hosts"): a per-host virtual service clock V advances at
 * speed · min(1, cores / n) per ns while n items run; an item submitted with `workNs` of
 * CPU work (at speed 1) finishes when V reaches its tag V_submit + workNs. The host keeps
 * one kernel timer for the smallest tag, so a change in the set costs O(log n), not a
 * reschedule of every item. Completion times are rounded up to whole ns and leftover
 * work below 1 ns counts as done.
 *
 * A crash drops every running item (their callbacks never run) and notifies listeners;
 * a restart brings the host back with a new incarnation number.
 */
import { InputError, InvariantError, assert } from "./errors";
import type { Kernel, TimerHandle } from "./kernel";
import { MinHeap } from "./min-heap";
import type { Ns } from "./time";
import type { Trace } from "./trace/recorder";

export interface HostSpec {
  name: string;
  cores: number;
  speed?: number;
}

export type WorkId = number;

interface WorkItem {
  id: WorkId;
  tag: number;
  done: (() => void) | undefined;
  cancelled: boolean;
  lane: string;
  label: string;
}

export type HostListener = (host: Host) => void;

const byTagThenId = (a: WorkItem, b: WorkItem) => a.tag < b.tag || (a.tag === b.tag && a.id < b.id);

export class Host {
  readonly name: string;
  readonly cores: number;
  /** The speed set by the spec; slow windows scale it temporarily. */
  readonly baseSpeed: number;
  private speedNow: number;
  private isUp = true;
  private incarnationNow = 0;
  private readonly items = new MinHeap<WorkItem>(byTagThenId);
  private readonly byId = new Map<WorkId, WorkItem>();
  private active = 0;
  private vClock = 0;
  private lastUpdateNs: Ns = 0;
  private timer: TimerHandle = -1;
  private nextWorkId = 0;
  private busyCoreNsTotal = 0;
  private readonly crashListeners: HostListener[] = [];
  private readonly restartListeners: HostListener[] = [];
  private readonly onTimer = () => this.completeDue();

  constructor(
    private readonly kernel: Kernel,
    private readonly trace: Trace,
    spec: HostSpec,
    field = `hosts.${spec.name}`,
  ) {
    if (typeof spec.name !== "string" || spec.name.length === 0) throw new InputError(`${field}.name`, "must be a non-empty string");
    if (!Number.isSafeInteger(spec.cores) || spec.cores < 1) {
      throw new InputError(`${field}.cores`, `must be a positive integer, got ${spec.cores}`);
    }
    const speed = spec.speed ?? 1;
    if (!(speed > 0) || !Number.isFinite(speed)) throw new InputError(`${field}.speed`, `must be a number > 0, got ${speed}`);
    this.name = spec.name;
    this.cores = spec.cores;
    this.baseSpeed = speed;
    this.speedNow = speed;
    this.lastUpdateNs = kernel.now;
  }

  get up(): boolean {
    return this.isUp;
  }

  /** Increases at each restart; stale callbacks compare it to know they are from a past life. */
  get incarnation(): number {
    return this.incarnationNow;
  }

  get speed(): number {
    return this.speedNow;
  }

  /** Work items running now. */
  get running(): number {
    return this.active;
  }

  /** Core-ns spent busy so far (integral of min(n, cores) dt), for utilisation metrics. */
  get busyCoreNs(): number {
    this.advance();
    return this.busyCoreNsTotal;
  }

  onCrash(listener: HostListener): void {
    this.crashListeners.push(listener);
  }

  onRestart(listener: HostListener): void {
    this.restartListeners.push(listener);
  }

  /**
   * Runs `workNs` of CPU work (ns at speed 1) and calls `done` when it completes under
   * processor sharing. Returns an id for `cancel`. The host must be up.
   */
  run(workNs: Ns, done: () => void, label = "work", lane = "cpu"): WorkId {
    if (!this.isUp) throw new InvariantError(`work submitted to crashed host ${this.name}`);
    if (!(workNs >= 0) || !Number.isFinite(workNs)) throw new InvariantError(`work of ${workNs} ns on ${this.name}`);
    this.advance();
    const item: WorkItem = { id: this.nextWorkId++, tag: this.vClock + workNs, done, cancelled: false, lane, label };
    this.items.push(item);
    this.byId.set(item.id, item);
    this.active++;
    if (this.trace.detailed) {
      this.trace.emit("WorkStarted", { host: this.name, lane, work: item.id, label, workNs });
    }
    this.reschedule();
    return item.id;
  }

  /** Cancels running work; its callback will not run. False if already done or unknown. */
  cancel(id: WorkId): boolean {
    const item = this.byId.get(id);
    if (item === undefined) return false;
    this.advance();
    if (this.trace.detailed) {
      this.trace.emit("WorkFinished", { host: this.name, lane: item.lane, work: item.id, label: item.label, cancelled: true });
    }
    item.cancelled = true;
    item.done = undefined;
    this.byId.delete(id);
    this.active--;
    while (this.items.size > 0 && this.items.peek()!.cancelled) this.items.pop();
    this.reschedule();
    return true;
  }

  /** Changes the speed factor from now on (slow-host faults); work done so far is kept. */
  setSpeed(speed: number, cause: string): void {
    if (!(speed > 0) || !Number.isFinite(speed)) throw new InputError(`${this.name}.speed`, `must be a number > 0, got ${speed}`);
    this.advance();
    this.speedNow = speed;
    this.trace.emit("HostSpeedChanged", { host: this.name, speed, cause });
    this.reschedule();
  }

  /**
   * Crashes the host: running work is lost, listeners (network, disks, engine) react.
   * `silent` models a machine that vanishes without its OS closing connections.
   */
  crash(silent = false): void {
    if (!this.isUp) return;
    this.advance();
    const lost = this.active;
    this.isUp = false;
    this.items.clear();
    this.byId.clear();
    this.active = 0;
    if (this.timer >= 0) this.kernel.cancel(this.timer);
    this.timer = -1;
    this.trace.emit("HostCrashed", { host: this.name, silent, lostWorkItems: lost });
    this.silentCrash = silent;
    for (const listener of this.crashListeners) listener(this);
  }

  /** True while down after a crash that closed no connections (power loss). */
  silentCrash = false;

  restart(): void {
    if (this.isUp) return;
    this.isUp = true;
    this.silentCrash = false;
    this.incarnationNow++;
    this.speedNow = this.baseSpeed;
    this.vClock = 0;
    this.lastUpdateNs = this.kernel.now;
    this.trace.emit("HostRestarted", { host: this.name, incarnation: this.incarnationNow });
    for (const listener of this.restartListeners) listener(this);
  }

  private rate(): number {
    return this.active === 0 ? 0 : this.speedNow * Math.min(1, this.cores / this.active);
  }

  /** Brings V and the busy integral up to now. */
  private advance(): void {
    const now = this.kernel.now;
    const dt = now - this.lastUpdateNs;
    if (dt > 0 && this.active > 0) {
      this.vClock += dt * this.rate();
      this.busyCoreNsTotal += dt * Math.min(this.active, this.cores);
    }
    this.lastUpdateNs = now;
  }

  private reschedule(): void {
    if (this.timer >= 0) this.kernel.cancel(this.timer);
    this.timer = -1;
    const next = this.items.peek();
    if (next === undefined) return;
    const remaining = next.tag - this.vClock;
    const delayNs = remaining < 1 ? 0 : Math.ceil(remaining / this.rate());
    this.timer = this.kernel.after(delayNs, this.onTimer);
  }

  private completeDue(): void {
    this.timer = -1;
    this.advance();
    assert(this.items.size > 0, `host ${this.name} timer fired with no work`);
    const due: WorkItem[] = [];
    while (this.items.size > 0) {
      const top = this.items.peek()!;
      if (top.cancelled) {
        this.items.pop();
        continue;
      }
      if (top.tag - this.vClock >= 1) break; // leftover below 1 ns counts as done
      this.items.pop();
      this.byId.delete(top.id);
      this.active--;
      due.push(top);
    }
    assert(due.length > 0, `host ${this.name} timer fired before any work was due`);
    this.reschedule();
    const incarnation = this.incarnationNow;
    for (const item of due) {
      // A callback may crash this host (a fault triggered by an engine event): the rest die with it.
      if (!this.isUp || this.incarnationNow !== incarnation) return;
      if (this.trace.detailed) {
        this.trace.emit("WorkFinished", { host: this.name, lane: item.lane, work: item.id, label: item.label });
      }
      item.done!();
    }
  }
}
