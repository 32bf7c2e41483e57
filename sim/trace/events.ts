/**
 * Trace format v1: the envelope every event carries and the kernel's own event kinds.
 *
 * One JSON object per line: {"v":1,"seq":N,"t":NS,"kind":"PascalCase",...fields}. `seq`
 * is the total order (0, 1, 2, ...), `t` integer virtual ns (non-decreasing). Kinds are a
 * closed union: the kernel's are here, the engine adds its own in engine/trace-events.ts.
 * Each kind has a level: `summary` kinds (lifecycle: faults, crashes, partitions) are
 * always recorded, `detailed` kinds (every message, every CPU work item) only on request.
 */
import type { Ns } from "../time";

export const TRACE_VERSION = 1;

export type TraceLevel = "summary" | "detailed";

export interface Envelope {
  v: typeof TRACE_VERSION;
  seq: number;
  t: Ns;
  kind: string;
}

/** A parsed event: the envelope plus its kind's fields. */
export type TraceEvent = Envelope & Record<string, unknown>;

/** Fields of each kernel event kind (besides the envelope). */
export interface KernelEvents {
  /** Always the first line. */
  RunStarted: {
    seed: string;
    scenario: string;
    flowsimVersion: string;
    nodeVersion: string;
    level: TraceLevel;
    config: unknown;
  };
  /** Always the last line; `kernelHash` is the rolling hash of every kernel event. */
  RunEnded: { reason: string; kernelEvents: number; traceEvents: number; droppedEvents: number; kernelHash: string };
  /** The event cap was reached: later events (except RunEnded) are counted, not written. */
  TraceCapped: { cap: number };
  /** Names a host and its shape so viewers can lay out lanes before anything happens. */
  HostAdded: { host: string; cores: number; speed: number };
  HostCrashed: { host: string; silent: boolean; lostWorkItems: number };
  HostRestarted: { host: string; incarnation: number };
  HostSpeedChanged: { host: string; speed: number; cause: string };
  LinkPartitioned: { from: string; to: string; oneWay: boolean };
  LinkHealed: { from: string; to: string };
  LinkClogged: { from: string; to: string; extraDelayNs: Ns };
  LinkUnclogged: { from: string; to: string };
  ConnectionOpened: { conn: number; from: string; to: string; label: string };
  ConnectionReset: { conn: number; from: string; to: string; reason: string };
  ConnectionClosed: { conn: number; from: string; to: string };
  MessageSent: { conn: number; msg: number; from: string; to: string; sizeBytes: number };
  MessageDelivered: { conn: number; msg: number; from: string; to: string; sizeBytes: number };
  MessageHeld: { conn: number; msg: number; from: string; to: string };
  DiskFaultStarted: { host: string; disk: string; fault: string; factor?: number };
  DiskFaultEnded: { host: string; disk: string; fault: string };
  DiskWritesLost: { host: string; disk: string; file: string; bytesLost: number };
  DiskOpFailed: { host: string; disk: string; file: string; op: string; error: string };
  BlobOutageStarted: { store: string; mode: string };
  BlobOutageEnded: { store: string };
  BlobOpFailed: { store: string; op: string; key: string; error: string };
  /** A CPU work item on a host, a slice on its lane (detailed level). */
  WorkStarted: { host: string; lane: string; work: number; label: string; workNs: Ns };
  WorkFinished: { host: string; lane: string; work: number; label: string; cancelled?: boolean };
  /** A fault from the fault plan fired (the primitive's own event follows it). */
  FaultFired: { fault: string; target: string; trigger: string; host?: string; detail?: unknown };
  /** A sampled value (queue depth, throughput, ...): a counter series `name` for `entity`. */
  Metric: { name: string; entity: string; host?: string; value: number };
  /** A coverage mark: a named rare path was taken (DESIGN style rule 9). */
  Mark: { name: string; host?: string };
  /** Free-form annotation from scenarios and demos (summary level). */
  Note: { text: string; host?: string };
}

export type KernelKind = keyof KernelEvents;

/** The level of each kernel kind. */
export const KERNEL_KIND_LEVELS: Record<KernelKind, TraceLevel> = {
  RunStarted: "summary",
  RunEnded: "summary",
  TraceCapped: "summary",
  HostAdded: "summary",
  HostCrashed: "summary",
  HostRestarted: "summary",
  HostSpeedChanged: "summary",
  LinkPartitioned: "summary",
  LinkHealed: "summary",
  LinkClogged: "summary",
  LinkUnclogged: "summary",
  ConnectionOpened: "summary",
  ConnectionReset: "summary",
  ConnectionClosed: "summary",
  MessageSent: "detailed",
  MessageDelivered: "detailed",
  MessageHeld: "detailed",
  DiskFaultStarted: "summary",
  DiskFaultEnded: "summary",
  DiskWritesLost: "summary",
  DiskOpFailed: "summary",
  BlobOutageStarted: "summary",
  BlobOutageEnded: "summary",
  BlobOpFailed: "summary",
  WorkStarted: "detailed",
  WorkFinished: "detailed",
  FaultFired: "summary",
  Metric: "summary",
  Mark: "summary",
  Note: "summary",
};
