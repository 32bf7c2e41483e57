/**
 * The simulated world: one kernel, one RNG tree and one trace, with the hosts, network,
 * local disks and blob store a cluster spec describes. It is the single object the engine
 * and scenarios are given, and it implements the fault injector's targets.
 *
 * Invariants: RunStarted is the first trace line, written before any component exists;
 * every random stream hangs off the one root seed; names are validated once, here.
 */
import { BlobStore, type BlobStoreSpec } from "./blob-store";
import { Disk, type DiskSpec } from "./disk";
import { InputError, unknownNameProblem } from "./errors";
import { FaultInjector, parseFaults, type FaultTargets } from "./faults";
import { Host } from "./host";
import { Kernel, type RunOptions, type RunResult } from "./kernel";
import { Network, type NetworkSpec } from "./network";
import { Rng, type Seed } from "./rng";
import { describe, type Ns } from "./time";
import { Trace, type TraceOptions } from "./trace/recorder";
import { FLOWSIM_VERSION } from "./version";

export interface HostSpecInput {
  name: string;
  cores: number;
  speed?: number;
  disk?: DiskSpec;
}

export interface ClusterSpec {
  hosts: HostSpecInput[];
  network?: NetworkSpec;
  /** Defaults for every host's local disk; a host's own `disk` overrides them. */
  disk?: DiskSpec;
  blobStore?: BlobStoreSpec;
}

export interface WorldOptions {
  seed: Seed;
  scenario: string;
  /** Recorded in RunStarted (the engine's effective config). */
  config?: unknown;
  trace?: TraceOptions;
}

export class World implements FaultTargets {
  readonly kernel = new Kernel();
  readonly rng: Rng;
  readonly trace: Trace;
  readonly hosts = new Map<string, Host>();
  readonly disks = new Map<string, Disk>();
  readonly network: Network;
  readonly blobStore: BlobStore;
  private injector: FaultInjector | undefined;
  /** The cluster's disk defaults, for hosts added later. */
  private readonly diskDefaults: DiskSpec | undefined;

  constructor(spec: ClusterSpec, options: WorldOptions) {
    this.rng = Rng.root(options.seed);
    this.trace = new Trace(this.kernel, options.trace);
    validateClusterShape(spec);
    this.trace.start({
      seed: String(options.seed),
      scenario: options.scenario,
      flowsimVersion: FLOWSIM_VERSION,
      nodeVersion: process.version,
      level: this.trace.level,
      config: options.config ?? {},
    });
    spec.hosts.forEach((h, i) => {
      if (this.hosts.has(h.name)) throw new InputError(`cluster.hosts[${i}].name`, `duplicate host name "${h.name}"`);
      const host = new Host(this.kernel, this.trace, h, `cluster.hosts[${i}]`);
      this.hosts.set(h.name, host);
      this.trace.emit("HostAdded", { host: host.name, cores: host.cores, speed: host.speed });
    });
    spec.hosts.forEach((h, i) => {
      const host = this.hosts.get(h.name)!;
      this.disks.set(h.name, new Disk(this.kernel, this.trace, host, "disk0", { ...spec.disk, ...h.disk }, `cluster.hosts[${i}].disk`));
    });
    this.diskDefaults = spec.disk;
    this.network = new Network(this.kernel, this.trace, this.rng, this.hosts, spec.network, "cluster.network");
    this.blobStore = new BlobStore(this.kernel, this.trace, this.rng, spec.blobStore, "cluster.blobStore", this.network);
  }

  get now(): Ns {
    return this.kernel.now;
  }

  hostNames(): readonly string[] {
    return [...this.hosts.keys()];
  }

  host(name: string, field = "host"): Host {
    const host = this.hosts.get(name);
    if (host === undefined) throw new InputError(field, unknownNameProblem("host", name, this.hostNames()));
    return host;
  }

  /**
   * Adds a host while the simulation runs (a new machine joins the cluster, e.g. a
   * replacement TaskManager's). It gets the cluster's disk defaults and joins the network;
   * HostAdded records when it appeared. Fault plans are validated when injected, so they
   * cannot name it.
   */
  addHost(spec: HostSpecInput, field = "host"): Host {
    if (this.hosts.has(spec.name)) throw new InputError(`${field}.name`, `duplicate host name "${spec.name}"`);
    const host = new Host(this.kernel, this.trace, spec, field);
    this.hosts.set(spec.name, host);
    this.trace.emit("HostAdded", { host: host.name, cores: host.cores, speed: host.speed });
    this.disks.set(spec.name, new Disk(this.kernel, this.trace, host, "disk0", { ...this.diskDefaults, ...spec.disk }, `${field}.disk`));
    this.network.addHost(host);
    return host;
  }

  disk(host: string, field = "host"): Disk {
    this.host(host, field);
    return this.disks.get(host)!;
  }

  /** Validates and schedules a fault plan; returns the injector (for engine-event triggers). */
  injectFaults(specs: unknown, field = "faults"): FaultInjector {
    const faults = parseFaults(specs, this.hostNames(), field);
    this.injector = new FaultInjector(this.kernel, this.trace, this, faults);
    return this.injector;
  }

  /** Signals an engine event to faults waiting for it (no-op without a plan). */
  signal(name: string, fields?: Record<string, unknown>): void {
    this.injector?.signal(name, fields);
  }

  run(options?: RunOptions): RunResult {
    return this.kernel.run(options);
  }

  /** Ends the trace; returns the run's fingerprint. */
  finish(reason: string): string {
    return this.trace.finish(reason);
  }

  // FaultTargets
  partition(a: string, b: string, oneWay: boolean): void {
    this.network.partition(a, b, oneWay);
  }
  heal(a: string, b: string): void {
    this.network.heal(a, b);
  }
  isolate(host: string): void {
    this.network.isolate(host);
  }
  healHost(host: string): void {
    for (const other of this.hosts.keys()) if (other !== host) this.network.heal(host, other);
  }
  clog(a: string, b: string, extraDelayNs: Ns, oneWay: boolean): void {
    this.network.clog(a, b, extraDelayNs, oneWay);
  }
  unclog(a: string, b: string): void {
    this.network.unclog(a, b);
  }
  resetConnections(a: string, b: string): void {
    this.network.resetBetween(a, b);
  }
  diskFault(host: string, fault: "slow" | "ioError" | "full", factor: number, on: boolean): void {
    const disk = this.disk(host);
    if (on) disk.startFault(fault, factor);
    else disk.endFault(fault);
  }
  blobOutage(mode: "fail" | "delay" | undefined, on: boolean): void {
    if (on) this.blobStore.startOutage(mode);
    else this.blobStore.endOutage();
  }
}

function validateClusterShape(spec: ClusterSpec): void {
  if (spec === null || typeof spec !== "object") throw new InputError("cluster", `expected an object, got ${describe(spec)}`);
  const known = ["hosts", "network", "disk", "blobStore"];
  for (const key of Object.keys(spec)) {
    if (!known.includes(key)) throw new InputError(`cluster.${key}`, unknownNameProblem("field", key, known));
  }
  if (!Array.isArray(spec.hosts) || spec.hosts.length === 0) {
    throw new InputError("cluster.hosts", "must list at least one host");
  }
}
