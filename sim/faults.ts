/**
 * Fault primitives as data: `{ trigger, fault, target }`. A trigger is a virtual time, a
 * window (the fault is undone at its end), or an engine event ("the 3rd time
 * checkpoint.triggered is signalled with id 3"). Random faults are drawn up front from
 * per-entity streams (`faults/host-3`, `faults/link/a|b`, `faults/blob`), so two
 * configurations run with one seed see the same failures (common random numbers).
 *
 * Invariants: every fault that fires is traced (FaultFired, then the primitive's own
 * event); a plan is validated as a whole before anything runs; knobs default to zero.
 */
import { InputError, unknownNameProblem } from "./errors";
import type { Host } from "./host";
import type { Kernel } from "./kernel";
import type { Rng } from "./rng";
import { describe, parseDuration, type Ns } from "./time";
import type { Trace } from "./trace/recorder";

export type FaultType =
  | "crash"
  | "restart"
  | "slow"
  | "partition"
  | "heal"
  | "isolate"
  | "clog"
  | "reset"
  | "diskSlow"
  | "diskIoError"
  | "diskFull"
  | "blobOutage";

const FAULT_TYPES: FaultType[] = [
  "crash",
  "restart",
  "slow",
  "partition",
  "heal",
  "isolate",
  "clog",
  "reset",
  "diskSlow",
  "diskIoError",
  "diskFull",
  "blobOutage",
];

/** What a fault spec looks like in a scenario (durations as strings). */
export interface FaultSpec {
  trigger: TriggerSpec;
  fault: FaultType | ({ type: FaultType } & Record<string, unknown>);
  /**
   * A host, a pair of hosts ("a|b" or [a, b]) for link faults, or the blob store's name.
   * A host fault triggered by an engine event may name a field of that event instead,
   * "$host": the host the event names ("crash wherever that attempt was deployed").
   */
  target?: string | [string, string];
}

export type TriggerSpec =
  | { at: string | number }
  | { from: string | number; to: string | number }
  | { on: string; where?: Record<string, string | number | boolean>; nth?: number; delay?: string | number };

/** A validated fault, ready to schedule. */
export interface Fault {
  index: number;
  type: FaultType;
  /** Hosts involved: one for host faults, two for link faults, none for the blob store. */
  hosts: string[];
  /** A "$field" target: the host is the triggering event's `field`, resolved when it fires. */
  hostFromSignal: string | undefined;
  trigger:
    | { kind: "at"; atNs: Ns }
    | { kind: "window"; fromNs: Ns; toNs: Ns }
    | { kind: "event"; on: string; where: Record<string, string | number | boolean>; nth: number; delayNs: Ns };
  /** crash: silent (power loss); slow/diskSlow: factor; clog: extraDelayNs; partition/clog: oneWay; crash: restartAfterNs; blobOutage: mode. */
  silent: boolean;
  factor: number;
  extraDelayNs: Ns;
  oneWay: boolean;
  restartAfterNs: Ns | undefined;
  mode: "fail" | "delay" | undefined;
}

/** What the injector needs from the simulated world (implemented by World). */
export interface FaultTargets {
  hostNames(): readonly string[];
  host(name: string): Host;
  partition(a: string, b: string, oneWay: boolean): void;
  heal(a: string, b: string): void;
  isolate(host: string): void;
  healHost(host: string): void;
  clog(a: string, b: string, extraDelayNs: Ns, oneWay: boolean): void;
  unclog(a: string, b: string): void;
  resetConnections(a: string, b: string): void;
  diskFault(host: string, fault: "slow" | "ioError" | "full", factor: number, on: boolean): void;
  blobOutage(mode: "fail" | "delay" | undefined, on: boolean): void;
}

const HOST_FAULTS = new Set<FaultType>(["crash", "restart", "slow", "isolate", "diskSlow", "diskIoError", "diskFull"]);
const LINK_FAULTS = new Set<FaultType>(["partition", "heal", "clog", "reset"]);

/** Validates a fault plan against the world's host names; errors name `faults[i].field`. */
export function parseFaults(specs: unknown, hostNames: readonly string[], field = "faults"): Fault[] {
  if (specs === undefined) return [];
  if (!Array.isArray(specs)) throw new InputError(field, `expected a list of faults, got ${describe(specs)}`);
  const faults = specs.map((spec, index) => parseFault(spec, index, hostNames, `${field}[${index}]`));
  rejectOverlappingWindows(faults, field);
  return faults;
}

/**
 * Two windows of one fault type on one target cannot overlap: the end of the first would
 * undo the second halfway (and nested slow factors have no obvious meaning).
 */
function rejectOverlappingWindows(faults: Fault[], field: string): void {
  const windows = faults.filter((f) => f.trigger.kind === "window");
  for (let i = 0; i < windows.length; i++) {
    for (let j = i + 1; j < windows.length; j++) {
      const a = windows[i]!;
      const b = windows[j]!;
      if (a.type !== b.type || a.hosts.join("|") !== b.hosts.join("|")) continue;
      const wa = a.trigger as { fromNs: Ns; toNs: Ns };
      const wb = b.trigger as { fromNs: Ns; toNs: Ns };
      if (wa.fromNs < wb.toNs && wb.fromNs < wa.toNs) {
        throw new InputError(`${field}[${b.index}].trigger`, `overlaps the ${a.type} window of ${field}[${a.index}] on the same target`);
      }
    }
  }
}

function parseFault(spec: unknown, index: number, hostNames: readonly string[], field: string): Fault {
  if (spec === null || typeof spec !== "object") throw new InputError(field, `expected a fault object, got ${describe(spec)}`);
  const s = spec as Record<string, unknown>;
  for (const key of Object.keys(s)) {
    if (!["trigger", "fault", "target"].includes(key)) {
      throw new InputError(`${field}.${key}`, unknownNameProblem("field", key, ["trigger", "fault", "target"]));
    }
  }
  const params: Record<string, unknown> = typeof s.fault === "string" ? { type: s.fault } : ((s.fault ?? {}) as Record<string, unknown>);
  const type = params.type as FaultType;
  if (!FAULT_TYPES.includes(type)) {
    throw new InputError(`${field}.fault.type`, unknownNameProblem("fault type", String(params.type), FAULT_TYPES));
  }
  const trigger = parseTrigger(s.trigger, `${field}.trigger`);
  const fromSignal = typeof s.target === "string" && s.target.startsWith("$") ? s.target.slice(1) : undefined;
  if (fromSignal !== undefined) {
    if (!HOST_FAULTS.has(type)) throw new InputError(`${field}.target`, `"${String(s.target)}" (a host named by the triggering event) only works for host faults, not ${type}`);
    if (trigger.kind !== "event") throw new InputError(`${field}.target`, `"${String(s.target)}" names a field of the triggering event: use an { on } trigger`);
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(fromSignal)) throw new InputError(`${field}.target`, `expected "$" and an event field name, got ${describe(s.target)}`);
  }
  const hosts = fromSignal !== undefined ? [] : parseTarget(s.target, type, hostNames, `${field}.target`);
  const num = (key: string, fallback: number, ok: (x: number) => boolean, rule: string) => {
    const value = params[key] ?? fallback;
    if (typeof value !== "number" || !ok(value)) throw new InputError(`${field}.fault.${key}`, `${rule}, got ${describe(value)}`);
    return value;
  };
  const mode = params.mode as "fail" | "delay" | undefined;
  if (mode !== undefined && mode !== "fail" && mode !== "delay") {
    throw new InputError(`${field}.fault.mode`, `must be "fail" or "delay", got ${describe(mode)}`);
  }
  const factorRule = type === "slow" ? (x: number) => x > 0 && x < 1 : (x: number) => x >= 1;
  return {
    index,
    type,
    hosts,
    hostFromSignal: fromSignal,
    trigger,
    silent: params.silent === true,
    factor: type === "slow" || type === "diskSlow"
      ? num("factor", type === "slow" ? 0.25 : 4, factorRule, type === "slow" ? "a speed factor in (0, 1)" : "a slowdown factor ≥ 1")
      : 1,
    extraDelayNs: type === "clog" ? parseDuration(params.extraDelay ?? "100ms", `${field}.fault.extraDelay`) : 0,
    oneWay: params.oneWay === true,
    restartAfterNs: params.restartAfter === undefined ? undefined : parseDuration(params.restartAfter, `${field}.fault.restartAfter`),
    mode,
  };
}

function parseTarget(target: unknown, type: FaultType, hostNames: readonly string[], field: string): string[] {
  const checkHost = (name: unknown, f: string) => {
    if (typeof name !== "string") throw new InputError(f, `expected a host name, got ${describe(name)}`);
    if (!hostNames.includes(name)) throw new InputError(f, unknownNameProblem("host", name, hostNames));
    return name;
  };
  if (HOST_FAULTS.has(type)) return [checkHost(target, field)];
  if (LINK_FAULTS.has(type)) {
    const pair = typeof target === "string" ? target.split("|") : target;
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new InputError(field, `a ${type} fault targets two hosts, "a|b" or ["a", "b"], got ${describe(target)}`);
    }
    const a = checkHost(pair[0], `${field}[0]`);
    const b = checkHost(pair[1], `${field}[1]`);
    if (a === b) throw new InputError(field, `a ${type} fault needs two different hosts, got "${a}" twice`);
    return [a, b];
  }
  return [];
}

function parseTrigger(trigger: unknown, field: string): Fault["trigger"] {
  if (trigger === null || typeof trigger !== "object") {
    throw new InputError(field, `expected { at }, { from, to } or { on }, got ${describe(trigger)}`);
  }
  const t = trigger as Record<string, unknown>;
  if ("at" in t) return { kind: "at", atNs: parseDuration(t.at, `${field}.at`) };
  if ("from" in t || "to" in t) {
    const fromNs = parseDuration(t.from, `${field}.from`);
    const toNs = parseDuration(t.to, `${field}.to`);
    if (toNs <= fromNs) throw new InputError(`${field}.to`, `must be after from (${String(t.from)})`);
    return { kind: "window", fromNs, toNs };
  }
  if ("on" in t) {
    if (typeof t.on !== "string" || t.on.length === 0) throw new InputError(`${field}.on`, "must name an engine event");
    const nth = t.nth ?? 1;
    if (typeof nth !== "number" || !Number.isSafeInteger(nth) || nth < 1) {
      throw new InputError(`${field}.nth`, `must be a positive integer, got ${describe(nth)}`);
    }
    const where = (t.where ?? {}) as Record<string, string | number | boolean>;
    if (typeof where !== "object" || Array.isArray(where)) throw new InputError(`${field}.where`, "must be an object of field values");
    return { kind: "event", on: t.on, where, nth, delayNs: t.delay === undefined ? 0 : parseDuration(t.delay, `${field}.delay`) };
  }
  throw new InputError(field, `expected { at }, { from, to } or { on }, got keys ${Object.keys(t).join(", ") || "none"}`);
}

/** Schedules a plan's faults on the kernel and fires event-triggered ones when signalled. */
export class FaultInjector {
  private readonly waiting: { fault: Fault; seen: number }[] = [];

  constructor(
    private readonly kernel: Kernel,
    private readonly trace: Trace,
    private readonly world: FaultTargets,
    faults: readonly Fault[],
  ) {
    for (const fault of faults) {
      const trigger = fault.trigger;
      if (trigger.kind === "at") kernel.schedule(trigger.atNs, () => this.apply(fault, true, `at ${trigger.atNs}`));
      else if (trigger.kind === "window") {
        kernel.schedule(trigger.fromNs, () => this.apply(fault, true, `window start`));
        kernel.schedule(trigger.toNs, () => this.apply(fault, false, `window end`));
      } else this.waiting.push({ fault, seen: 0 });
    }
  }

  /**
   * The engine signals named events ("checkpoint.triggered", {id: 3}); faults waiting for
   * the nth matching signal fire (after their delay).
   */
  signal(name: string, fields: Record<string, unknown> = {}): void {
    for (const entry of this.waiting) {
      const trigger = entry.fault.trigger;
      if (trigger.kind !== "event" || trigger.on !== name) continue;
      if (!Object.entries(trigger.where).every(([k, v]) => fields[k] === v)) continue;
      entry.seen++;
      if (entry.seen !== trigger.nth) continue;
      let hosts = entry.fault.hosts;
      if (entry.fault.hostFromSignal !== undefined) {
        // Resolved now, from this event: the host it names must exist, else the fault is void.
        const host = fields[entry.fault.hostFromSignal];
        if (typeof host !== "string" || !this.world.hostNames().includes(host)) {
          this.trace.emit("FaultFired", { fault: `${entry.fault.type}.void`, target: `$${entry.fault.hostFromSignal}`, trigger: `on ${name} #${trigger.nth}: no host ${JSON.stringify(host ?? null)}` });
          continue;
        }
        hosts = [host];
      }
      const fire = () => this.apply(entry.fault, true, `on ${name} #${trigger.nth}`, hosts);
      if (trigger.delayNs === 0) fire();
      else this.kernel.after(trigger.delayNs, fire);
    }
  }

  private apply(fault: Fault, start: boolean, why: string, hosts: readonly string[] = fault.hosts): void {
    const w = this.world;
    const [a, b] = hosts as [string, string];
    const target = hosts.length > 0 ? hosts.join("|") : "blob";
    this.trace.emit("FaultFired", {
      fault: start ? fault.type : `${fault.type}.end`,
      target,
      trigger: why,
      ...(hosts.length === 1 ? { host: a } : {}),
    });
    switch (fault.type) {
      case "crash":
        if (start) {
          w.host(a).crash(fault.silent);
          if (fault.restartAfterNs !== undefined) this.kernel.after(fault.restartAfterNs, () => w.host(a).restart());
        } else w.host(a).restart();
        return;
      case "restart":
        if (start) w.host(a).restart();
        return;
      case "slow": {
        const host = w.host(a);
        if (host.up) host.setSpeed(start ? host.baseSpeed * fault.factor : host.baseSpeed, start ? "fault" : "fault end");
        return;
      }
      case "partition":
        if (start) w.partition(a, b, fault.oneWay);
        else w.heal(a, b);
        return;
      case "heal":
        if (start) w.heal(a, b);
        return;
      case "isolate":
        if (start) w.isolate(a);
        else w.healHost(a);
        return;
      case "clog":
        if (start) w.clog(a, b, fault.extraDelayNs, fault.oneWay);
        else w.unclog(a, b);
        return;
      case "reset":
        if (start) w.resetConnections(a, b);
        return;
      case "diskSlow":
        return w.diskFault(a, "slow", fault.factor, start);
      case "diskIoError":
        return w.diskFault(a, "ioError", 1, start);
      case "diskFull":
        return w.diskFault(a, "full", 1, start);
      case "blobOutage":
        return w.blobOutage(fault.mode, start);
    }
  }
}

/** Rates of random faults (per hour of virtual time, per entity); all default to zero. */
export interface RandomFaultSpec {
  horizon: string | number;
  hostCrashesPerHour?: number;
  crashDowntime?: string | number;
  slowWindowsPerHour?: number;
  slowFactor?: number;
  slowDuration?: string | number;
  partitionsPerHour?: number;
  partitionDuration?: string | number;
  diskErrorsPerHour?: number;
  diskErrorDuration?: string | number;
  blobOutagesPerHour?: number;
  blobOutageDuration?: string | number;
}

/**
 * Draws a fault plan up front: a Poisson process per entity, each from its own stream, so
 * adding a host or changing the engine's config never moves another entity's faults.
 */
export function drawRandomFaults(rng: Rng, hostNames: readonly string[], spec: RandomFaultSpec, field = "randomFaults"): FaultSpec[] {
  const horizonNs = parseDuration(spec.horizon, `${field}.horizon`);
  const rate = (key: keyof RandomFaultSpec) => {
    const value = spec[key] ?? 0;
    if (typeof value !== "number" || !(value >= 0)) throw new InputError(`${field}.${key}`, `must be a rate ≥ 0 per hour, got ${describe(value)}`);
    return value;
  };
  const dur = (key: keyof RandomFaultSpec, fallback: string) => parseDuration(spec[key] ?? fallback, `${field}.${key}`);
  const out: FaultSpec[] = [];
  const arrivals = (stream: Rng, perHour: number, lengthNs: Ns, emit: (fromNs: Ns, toNs: Ns) => void) => {
    if (perHour <= 0) return;
    const meanGapNs = 3_600e9 / perHour;
    let t = 0;
    for (let guard = 0; guard < 100_000; guard++) {
      t += Math.max(1, Math.round(stream.exponential(meanGapNs)));
      if (t >= horizonNs) return;
      emit(t, t + lengthNs);
      t += lengthNs; // windows of one entity never overlap
    }
  };
  for (const host of hostNames) {
    arrivals(rng.child(`faults/host/${host}/crash`), rate("hostCrashesPerHour"), dur("crashDowntime", "10s"), (from, to) =>
      out.push({ trigger: { from, to }, fault: "crash", target: host }),
    );
    const factor = spec.slowFactor ?? 0.25;
    arrivals(rng.child(`faults/host/${host}/slow`), rate("slowWindowsPerHour"), dur("slowDuration", "30s"), (from, to) =>
      out.push({ trigger: { from, to }, fault: { type: "slow", factor }, target: host }),
    );
    arrivals(rng.child(`faults/host/${host}/disk`), rate("diskErrorsPerHour"), dur("diskErrorDuration", "5s"), (from, to) =>
      out.push({ trigger: { from, to }, fault: "diskIoError", target: host }),
    );
  }
  for (let i = 0; i < hostNames.length; i++) {
    for (let j = i + 1; j < hostNames.length; j++) {
      const a = hostNames[i]!;
      const b = hostNames[j]!;
      arrivals(rng.child(`faults/link/${a}|${b}`), rate("partitionsPerHour"), dur("partitionDuration", "10s"), (from, to) =>
        out.push({ trigger: { from, to }, fault: "partition", target: [a, b] }),
      );
    }
  }
  arrivals(rng.child("faults/blob"), rate("blobOutagesPerHour"), dur("blobOutageDuration", "10s"), (from, to) =>
    out.push({ trigger: { from, to }, fault: "blobOutage" }),
  );
  // Total order by start time, then by the order entities were listed.
  return out
    .map((f, i) => ({ f, i }))
    .sort((x, y) => startOf(x.f) - startOf(y.f) || x.i - y.i)
    .map((x) => x.f);
}

function startOf(f: FaultSpec): number {
  const t = f.trigger as { from: number };
  return t.from;
}
