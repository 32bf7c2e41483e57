/**
 * The ResourceManager's worker side, as Flink's on an active deployment (Kubernetes, YARN):
 * it starts the cluster's TaskManagers, keeps `slotmanager.redundant-taskmanager-num`
 * spares registered and idle beside them, and — when the cluster shape asks for
 * replacement — starts a new TaskManager on a new host, after a start delay, whenever one
 * is lost while the job runs. The request is made when the JobManager detects the loss
 * (Flink's slot manager sees the job's declared slot requirements unmet at once), so the
 * start delay overlaps the restart back-off: recovery takes detection (heartbeat timeout)
 * + the longer of back-off and start delay + the new TaskManager's registration; with a
 * spare, detection + back-off. A replacement takes the lost TaskManager's role (a lost
 * spare is replaced by a spare).
 *
 * Limits: fault plans are validated before replacement hosts exist, so they cannot name
 * them; a replacement host's speed is `speeds[index]` of the shape, 1 if unset.
 *
 * Without replacement the cluster is standalone: a crashed host's TaskManager is back only
 * if the host restarts (its process restarts with it, see task-manager.ts), and a job that
 * needs more slots than remain fails after `slot.request.timeout`.
 *
 * Invariants:
 * - The rule is the cluster shape's count: `taskManagers` + redundant ones. A replacement
 *   is requested only while fewer than that are live or starting, so it never grows the
 *   cluster by itself. (A lost host that later restarts brings its TaskManager back on top;
 *   Flink would release the idle surplus after resourcemanager.taskmanager-timeout, which
 *   is not modelled.)
 * - A TaskManager whose loss the JobManager noticed by its re-registration (its host
 *   restarted and its process is already back) is not replaced.
 * - Host names continue the shape's numbering in request order: tm-1..tm-N, then the
 *   spares tm-(N+1)..tm-(N+R), then replacements.
 * - Start delays are drawn at request time, in request order, from the stream
 *   "resource-manager/start-delay": the same seed gives the same replacements.
 * - At most MAX_REPLACEMENT_TASK_MANAGERS replacements per run (DESIGN style rule 3).
 * - Spares stay idle until needed. Two rules keep it so: a spare process starts only once
 *   every regular TaskManager has registered (or `spareStartFallbackNs` passed, in case one
 *   never does), so the job's first bulk allocation — made as soon as enough slots are
 *   free — cannot land on a spare that registered early under jittered latency; and the
 *   JobManager fills non-redundant TaskManagers first (`isRedundant`) in later allocations.
 *   Flink does not tell them apart when it matches slots; keeping them apart here keeps
 *   "spare" meaningful in the trace, and the cluster-wide effect (R TaskManagers' worth of
 *   free slots) is the same.
 */
import { InputError, assert, unknownNameProblem } from "../../sim/errors";
import { parseDurationDist, type DurationDistSpec, type DurationSampler } from "../../sim/distributions";
import type { HostSpecInput, World } from "../../sim/world";
import type { Rng } from "../../sim/rng";
import type { Trace } from "../../sim/trace/recorder";
import type { KernelEvents } from "../../sim/trace/events";
import { describe } from "../../sim/time";
import type { EngineEvents } from "../trace-events";
import type { TaskManager } from "./task-manager";

/** The cluster shape's `replacement` field, as written. */
export type ReplacementSpec = { startDelay: DurationDistSpec } | false;

/** Parsed `replacement`: how long a new TaskManager takes from request to process start. */
export interface ReplacementSettings {
  startDelay: DurationSampler;
}

/** A limit on replacement TaskManagers per run: each one is a new simulated host. */
export const MAX_REPLACEMENT_TASK_MANAGERS = 100;

const REPLACEMENT_FIELDS = ["startDelay"];

/** Validates `cluster.replacement`; undefined when off (absent or false). */
export function parseReplacement(value: unknown, field: string): ReplacementSettings | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InputError(field, `expected false or { startDelay }, e.g. { startDelay: "30s" }, got ${describe(value)}`);
  }
  const spec = value as Record<string, unknown>;
  for (const key of Object.keys(spec)) {
    if (!REPLACEMENT_FIELDS.includes(key)) throw new InputError(`${field}.${key}`, unknownNameProblem("field", key, REPLACEMENT_FIELDS));
  }
  if (spec.startDelay === undefined) {
    throw new InputError(`${field}.startDelay`, 'missing: how long a new TaskManager takes to start, e.g. "30s" or { dist: "uniform", min: "20s", max: "40s" }');
  }
  return { startDelay: parseDurationDist(spec.startDelay, `${field}.startDelay`).sampler };
}

export interface ResourceManagerOptions {
  /** TaskManagers the cluster shape asks for (tm-1..tm-N). */
  taskManagers: number;
  /** slotmanager.redundant-taskmanager-num: spares started beside them. */
  redundant: number;
  replacement: ReplacementSettings | undefined;
  /** The host of TaskManager number `index` (0 = tm-1), for hosts added later. */
  hostSpec: (index: number) => HostSpecInput;
  /** Creates the TaskManager process on an existing host (not started). */
  createTaskManager: (host: string) => TaskManager;
  /** Spares start at the latest this long after the cluster, if a regular TaskManager never registers. */
  spareStartFallbackNs: number;
  /** False once the job reached a terminal status: nothing needs slots any more. */
  jobActive: () => boolean;
  rng: Rng;
}

type Role = "regular" | "redundant";

export class ResourceManager {
  /** Every TaskManager ever created, in creation order (metrics and statistics read it). */
  readonly taskManagers: TaskManager[] = [];
  private readonly roles = new Map<string, Role>();
  /** TaskManagers not known to be lost (registered, or started and not yet lost), by host. */
  private readonly live = new Set<string>();
  /** Regular TaskManagers that have registered at least once (spares wait for all). */
  private readonly registeredOnce = new Set<string>();
  private readonly spares: TaskManager[] = [];
  private sparesStarted = false;
  private starting = 0;
  private replacements = 0;
  private nextIndex = 0;
  private readonly startDelayRng: Rng;

  constructor(
    private readonly world: World,
    private readonly trace: Trace<EngineEvents & KernelEvents>,
    private readonly options: ResourceManagerOptions,
  ) {
    assert(options.taskManagers >= 1 && options.redundant >= 0, "resource manager: bad TaskManager counts");
    this.startDelayRng = options.rng.child("resource-manager/start-delay");
    for (let i = 0; i < options.taskManagers; i++) this.create(this.nextName(), "regular");
    for (let i = 0; i < options.redundant; i++) this.spares.push(this.create(this.nextName(), "redundant"));
  }

  /** Starts the shape's TaskManagers (they register in name order); spares follow them. */
  start(): void {
    for (const tm of this.taskManagers) if (this.roles.get(tm.name) === "regular") tm.start();
    if (this.spares.length > 0) this.world.kernel.scheduleDaemon(this.world.now + this.options.spareStartFallbackNs, () => this.startSpares());
  }

  /**
   * A TaskManager's registration was accepted by the JobManager: at start, or again after
   * its host restarted or a partition healed (then it is live again, on top of any
   * replacement).
   */
  taskManagerRegistered(host: string): void {
    this.live.add(host);
    if (this.roles.get(host) !== "regular" || this.sparesStarted) return;
    this.registeredOnce.add(host);
    if (this.registeredOnce.size === this.options.taskManagers) this.startSpares();
  }

  private startSpares(): void {
    if (this.sparesStarted || !this.options.jobActive()) return;
    this.sparesStarted = true;
    for (const tm of this.spares) {
      this.trace.emit("TaskManagerRequested", {
        host: tm.name,
        reason: `redundant TaskManager (slotmanager.redundant-taskmanager-num = ${this.options.redundant})`,
        startDelayNs: 0,
      });
      tm.start();
    }
  }

  /** Spares are filled last (see the header). */
  isRedundant(host: string): boolean {
    return this.roles.get(host) === "redundant";
  }

  /**
   * The JobManager lost a TaskManager. `processRestarted`: it noticed by the TaskManager's
   * re-registration, so a new process already runs there and nothing needs replacing.
   */
  taskManagerLost(host: string, cause: string, processRestarted: boolean): void {
    if (processRestarted || !this.live.delete(host)) return;
    const replacement = this.options.replacement;
    if (replacement === undefined || !this.options.jobActive()) return;
    if (this.live.size + this.starting >= this.options.taskManagers + this.options.redundant) return;
    if (this.replacements >= MAX_REPLACEMENT_TASK_MANAGERS) {
      this.trace.emit("Mark", { name: "resourceManager.replacementLimitReached", host });
      return;
    }
    this.replacements++;
    this.starting++;
    const name = this.nextName();
    const index = this.nextIndex - 1;
    const role = this.roles.get(host)!;
    const startDelayNs = replacement.startDelay(this.startDelayRng);
    this.trace.emit("TaskManagerRequested", { host: name, reason: `replaces ${host}: ${cause}`, startDelayNs });
    this.world.kernel.after(startDelayNs, () => {
      this.starting--;
      // The job ended while the machine was starting: no TaskManager is needed any more.
      if (!this.options.jobActive()) return;
      this.world.addHost(this.options.hostSpec(index), `resource-manager.${name}`);
      this.create(name, role).start();
    });
  }

  private nextName(): string {
    return taskManagerName(this.nextIndex++);
  }

  private create(host: string, role: Role): TaskManager {
    const tm = this.options.createTaskManager(host);
    this.taskManagers.push(tm);
    this.roles.set(host, role);
    this.live.add(host);
    return tm;
  }
}

export function taskManagerName(i: number): string {
  return `tm-${i + 1}`;
}
