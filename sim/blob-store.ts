/**
 * A remote blob store (checkpoint and remote-shuffle storage, like S3 or HDFS): durable
 * objects under string keys, reached with a random latency plus a transfer through the
 * store's aggregate link (and the requesting host's NIC when `nics` is given).
 *
 * Model: an op goes through three stages, each entered at a kernel event —
 *   request  (issue; the latency sample is drawn here, one per op, in issue order),
 *   transfer (after the latency: a get looks the key up and snapshots the object; put
 *             and get reserve [host egress, store link] or [store link, host ingress]),
 *   complete (after the transfer: a put becomes visible, a delete removes, the callback
 *             runs).
 * Entering any stage during an outage in "fail" mode loses the op: it fails with
 * Unavailable at max(now, issue + failAfter) — the client's timeout; in "delay" mode the
 * op waits and re-enters that stage when the outage ends, in issue order.
 * Ops from one host run concurrently with no order between them (like parallel HTTP
 * requests); a caller that needs order waits for callbacks. Deleting a missing key
 * succeeds (S3 semantics); a get of a missing key fails with NotFound.
 *
 * Invariants: an object is visible only once its put completed (atomic), and stays
 * until a delete completes — host crashes never lose stored objects; an op whose host
 * crashed or restarted before it completed has no effect and its callback never runs;
 * every callback runs in its own kernel event, at most once.
 */
import { parseBandwidth, parseDurationDist, type DurationDistSpec, type DurationSampler } from "./distributions";
import { InputError, InvariantError, assert, unknownNameProblem } from "./errors";
import type { Host } from "./host";
import type { Kernel } from "./kernel";
import { Link, reservePath } from "./link";
import type { Rng } from "./rng";
import { describe, formatDuration, parseDuration, type Ns } from "./time";
import type { Trace } from "./trace/recorder";

export type BlobOutageMode = "fail" | "delay";
const OUTAGE_MODES: readonly BlobOutageMode[] = ["fail", "delay"];

export interface BlobStoreSpec {
  /** Names the store in the trace and its random stream ("blob/<name>"). */
  name?: string;
  /** Per-op latency (request round trip and first byte). */
  latency?: DurationDistSpec;
  /** Aggregate bandwidth of the store's front end, shared by every transfer. */
  bandwidthBytesPerS?: number;
  /** What an outage does to ops by default: fail them after `failAfter`, or hold them. */
  outageMode?: BlobOutageMode;
  /** Client timeout: how long after issue an op lost in an outage reports Unavailable. */
  failAfter?: string | number;
}

/**
 * Defaults: latency lognormal with median 20 ms, sigma 0.5 — the order of S3's
 * first-byte latency ("Performance guidelines for Amazon S3": 100–200 ms tail, small
 * objects typically in tens of ms); 1.25e9 B/s = 10 Gbit/s into the store; a 5 s
 * client timeout.
 */
export const BLOB_STORE_DEFAULTS = {
  name: "store",
  latency: { dist: "lognormal", median: "20ms", sigma: 0.5 } as DurationDistSpec,
  bandwidthBytesPerS: 1.25e9,
  outageMode: "fail" as BlobOutageMode,
  failAfter: "5s",
} as const;

const SPEC_FIELDS = ["name", "latency", "bandwidthBytesPerS", "outageMode", "failAfter"];

export interface BlobStoreParams {
  name: string;
  latency: DurationSampler;
  meanLatencyNs: number;
  bandwidthBytesPerS: number;
  outageMode: BlobOutageMode;
  failAfterNs: Ns;
}

/** Validates a spec (errors name `field`.<key>) and fills in the defaults. */
export function parseBlobStoreSpec(spec: unknown, field: string): BlobStoreParams {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) {
    throw new InputError(field, `expected a blob store spec object, got ${describe(spec)}`);
  }
  const s = spec as Record<string, unknown>;
  for (const key of Object.keys(s)) {
    if (!SPEC_FIELDS.includes(key)) throw new InputError(`${field}.${key}`, unknownNameProblem("field", key, SPEC_FIELDS));
  }
  const name = s.name ?? BLOB_STORE_DEFAULTS.name;
  if (typeof name !== "string" || name.length === 0) throw new InputError(`${field}.name`, `must be a non-empty string, got ${describe(name)}`);
  const latency = parseDurationDist(s.latency ?? BLOB_STORE_DEFAULTS.latency, `${field}.latency`);
  const bandwidthBytesPerS =
    s.bandwidthBytesPerS === undefined ? BLOB_STORE_DEFAULTS.bandwidthBytesPerS : parseBandwidth(s.bandwidthBytesPerS, `${field}.bandwidthBytesPerS`);
  const mode = s.outageMode ?? BLOB_STORE_DEFAULTS.outageMode;
  if (typeof mode !== "string" || !(OUTAGE_MODES as readonly string[]).includes(mode)) {
    throw new InputError(`${field}.outageMode`, unknownNameProblem("outage mode", String(mode), OUTAGE_MODES));
  }
  const failAfterNs = parseDuration(s.failAfter ?? BLOB_STORE_DEFAULTS.failAfter, `${field}.failAfter`);
  if (failAfterNs <= 0) throw new InputError(`${field}.failAfter`, "must be a duration > 0");
  return { name, latency: latency.sampler, meanLatencyNs: latency.meanNs, bandwidthBytesPerS, outageMode: mode as BlobOutageMode, failAfterNs };
}

export type BlobErrorCode = "Unavailable" | "NotFound";

/** A failed blob op, delivered to its callback (a modelled outcome, not an exception). */
export interface BlobError {
  readonly code: BlobErrorCode;
  readonly message: string;
}

/** A stored object. `data` is the caller's payload, by reference. */
export interface BlobObject {
  readonly key: string;
  readonly sizeBytes: number;
  readonly data: unknown;
}

/** Host NIC links, so a transfer also crosses the requesting host's network interface. */
export interface BlobNics {
  egress(host: string): Link;
  ingress(host: string): Link;
}

export type BlobPutCallback = (err?: BlobError) => void;
export type BlobGetCallback = (err: BlobError | undefined, obj?: BlobObject) => void;
export type BlobDeleteCallback = (err?: BlobError) => void;

/** Most ops in flight at once (a named limit, DESIGN style rule 3). */
export const MAX_BLOB_OPS_IN_FLIGHT = 1_000_000;

type OpKind = "put" | "get" | "delete";
type Stage = "request" | "transfer" | "complete";

interface BlobOp {
  readonly id: number;
  readonly kind: OpKind;
  readonly host: Host;
  readonly incarnation: number;
  readonly key: string;
  readonly sizeBytes: number;
  readonly data: unknown;
  readonly issuedNs: Ns;
  readonly latencyNs: Ns;
  /** A ranged get: bytes read from the object (at most its size); undefined reads it whole. */
  readonly rangeBytes: number | undefined;
  /** The object a get read when its transfer started. */
  found: BlobObject | undefined;
  readonly cb: (err: BlobError | undefined, obj?: BlobObject) => void;
}

interface Held {
  readonly op: BlobOp;
  readonly stage: Stage;
}

export class BlobStore {
  readonly name: string;
  readonly params: Readonly<BlobStoreParams>;
  /** The store's front end: every transfer crosses it. */
  readonly link: Link;
  putsCompleted = 0;
  getsCompleted = 0;
  deletesCompleted = 0;
  opsFailed = 0;
  /** Ops dropped because their host crashed or restarted first. */
  opsAbandoned = 0;
  private readonly rng: Rng;
  private readonly objects = new Map<string, BlobObject>();
  /**
   * Every completed delete, in completion order: which key, requested by which host, when,
   * and whether an object was there. Snapshot ownership (claim modes) is asserted on it.
   */
  readonly deletions: { key: string; host: string; atNs: Ns; existed: boolean }[] = [];
  private storedBytes = 0;
  private outage: BlobOutageMode | undefined;
  private held: Held[] = [];
  private inFlight = 0;
  private nextOpId = 0;
  private readonly onLatencyDone = (op: BlobOp) => this.enter(op, "transfer");
  private readonly onTransferDone = (op: BlobOp) => this.enter(op, "complete");
  private readonly onTimeout = (op: BlobOp) => this.failUnavailable(op);

  constructor(
    private readonly kernel: Kernel,
    private readonly trace: Trace,
    rng: Rng,
    spec: BlobStoreSpec = {},
    readonly field = "blobStore",
    private readonly nics?: BlobNics,
  ) {
    this.params = parseBlobStoreSpec(spec, field);
    this.name = this.params.name;
    this.rng = rng.child(`blob/${this.name}`);
    this.link = new Link(`blob/${this.name}`, this.params.bandwidthBytesPerS);
  }

  /** The outage mode in force, or undefined when the store is reachable. */
  get outageMode(): BlobOutageMode | undefined {
    return this.outage;
  }

  /** Bytes in stored objects. */
  get totalBytes(): number {
    return this.storedBytes;
  }

  /** Ops issued and not yet completed, failed or abandoned. */
  get opsInFlight(): number {
    return this.inFlight;
  }

  has(key: string): boolean {
    return this.objects.has(key);
  }

  sizeOf(key: string): number | undefined {
    return this.objects.get(key)?.sizeBytes;
  }

  /** Keys starting with `prefix`, sorted by UTF-16 code units (a total order). */
  list(prefix = ""): string[] {
    const keys: string[] = [];
    for (const key of this.objects.keys()) if (key.startsWith(prefix)) keys.push(key);
    return keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Stores `data` under `key` (replacing any object there) once the put completes. */
  put(host: Host, key: string, sizeBytes: number, data: unknown, cb: BlobPutCallback): void {
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) {
      throw new InvariantError(`blob put of ${key} to ${this.name}: size must be a whole number of bytes ≥ 0, got ${sizeBytes}`);
    }
    this.issue("put", host, key, sizeBytes, data, cb);
  }

  /**
   * Reads an object; `rangeBytes` reads only that many bytes of it (an HTTP range request,
   * as Flink reads one key-group range of a snapshot file): the callback still gets the
   * whole object, since payloads are exact in memory, but only the range is transferred.
   */
  get(host: Host, key: string, cb: BlobGetCallback, rangeBytes?: number): void {
    this.issue("get", host, key, 0, undefined, cb, rangeBytes);
  }

  /**
   * Objects carried over from an earlier run's store (a savepoint outlives its job): put
   * at once, without transfer, before anything runs.
   */
  preload(objects: Iterable<BlobObject>): void {
    for (const o of objects) {
      assert(!this.objects.has(o.key), `preload of ${o.key}: already stored`);
      this.objects.set(o.key, o);
      this.storedBytes += o.sizeBytes;
    }
  }

  /** The stored objects, in key order (to carry them into a later run). */
  objectsSnapshot(): BlobObject[] {
    return this.list().map((k) => this.objects.get(k)!);
  }

  /** The payload of a stored object without a modelled transfer (metadata a JobManager reads at submission). */
  peek(key: string): unknown {
    return this.objects.get(key)?.data;
  }

  delete(host: Host, key: string, cb: BlobDeleteCallback): void {
    this.issue("delete", host, key, 0, undefined, cb);
  }

  /** Starts an outage (called by the fault injector); `mode` defaults to the spec's. */
  startOutage(mode: BlobOutageMode = this.params.outageMode): void {
    if (!OUTAGE_MODES.includes(mode)) throw new InputError(`${this.field}.outageMode`, unknownNameProblem("outage mode", String(mode), OUTAGE_MODES));
    if (this.outage !== undefined) throw new InvariantError(`blob store ${this.name}: outage started while one is active`);
    this.outage = mode;
    this.trace.emit("BlobOutageStarted", { store: this.name, mode });
  }

  /** Ends the outage; ops held by a "delay" outage resume in issue order. */
  endOutage(): void {
    if (this.outage === undefined) throw new InvariantError(`blob store ${this.name}: outage ended while none is active`);
    this.outage = undefined;
    this.trace.emit("BlobOutageEnded", { store: this.name });
    const held = this.held;
    this.held = [];
    held.sort((a, b) => a.op.id - b.op.id);
    // A resumed op may complete and run a callback that starts a new outage: enter()
    // checks again, so the ops after it are held (or lost) anew.
    for (const h of held) this.enter(h.op, h.stage);
  }

  private issue(kind: OpKind, host: Host, key: string, sizeBytes: number, data: unknown, cb: BlobOp["cb"], rangeBytes?: number): void {
    if (!host.up) throw new InvariantError(`blob ${kind} of ${key} from ${host.name}, which is down`);
    if (typeof key !== "string" || key.length === 0) throw new InvariantError(`blob ${kind} on ${this.name}: key must be a non-empty string`);
    assert(this.inFlight < MAX_BLOB_OPS_IN_FLIGHT, `more than ${MAX_BLOB_OPS_IN_FLIGHT} ops in flight on blob store ${this.name}`);
    // One draw per op at issue, whatever happens to it later, so the stream stays
    // aligned across runs that differ only in outages.
    const latencyNs = this.params.latency(this.rng);
    const op: BlobOp = {
      id: this.nextOpId++,
      kind,
      host,
      incarnation: host.incarnation,
      key,
      sizeBytes,
      data,
      issuedNs: this.kernel.now,
      latencyNs,
      rangeBytes,
      found: undefined,
      cb,
    };
    this.inFlight++;
    this.enter(op, "request");
  }

  private abandoned(op: BlobOp): boolean {
    if (op.host.up && op.host.incarnation === op.incarnation) return false;
    this.inFlight--;
    this.opsAbandoned++;
    return true;
  }

  /** Enters a stage of `op`, unless its host died or an outage stops it. */
  private enter(op: BlobOp, stage: Stage): void {
    if (this.abandoned(op)) return;
    if (this.outage === "fail") {
      this.kernel.schedule(Math.max(this.kernel.now, op.issuedNs + this.params.failAfterNs), this.onTimeout, op);
      return;
    }
    if (this.outage === "delay") {
      this.held.push({ op, stage });
      return;
    }
    if (stage === "request") this.kernel.after(op.latencyNs, this.onLatencyDone, op);
    else if (stage === "transfer") this.startTransfer(op);
    else this.complete(op);
  }

  private startTransfer(op: BlobOp): void {
    const now = this.kernel.now;
    if (op.kind === "delete") {
      this.complete(op);
      return;
    }
    if (op.kind === "get") {
      op.found = this.objects.get(op.key);
      if (op.found === undefined) {
        this.complete(op);
        return;
      }
    }
    const sizeBytes = op.kind === "put" ? op.sizeBytes : Math.min(op.found!.sizeBytes, op.rangeBytes ?? Infinity);
    const hostName = op.host.name;
    let endNs: Ns;
    if (this.nics === undefined) endNs = this.link.reserve(now, sizeBytes);
    else if (op.kind === "put") endNs = reservePath([this.nics.egress(hostName), this.link], now, sizeBytes);
    else endNs = reservePath([this.link, this.nics.ingress(hostName)], now, sizeBytes);
    this.kernel.schedule(endNs, this.onTransferDone, op);
  }

  private complete(op: BlobOp): void {
    this.inFlight--;
    if (op.kind === "put") {
      const previous = this.objects.get(op.key);
      if (previous !== undefined) this.storedBytes -= previous.sizeBytes;
      this.objects.set(op.key, { key: op.key, sizeBytes: op.sizeBytes, data: op.data });
      this.storedBytes += op.sizeBytes;
      this.putsCompleted++;
      op.cb(undefined);
    } else if (op.kind === "delete") {
      const previous = this.objects.get(op.key);
      if (previous !== undefined) {
        this.storedBytes -= previous.sizeBytes;
        this.objects.delete(op.key);
      }
      this.deletions.push({ key: op.key, host: op.host.name, atNs: this.kernel.now, existed: previous !== undefined });
      this.deletesCompleted++;
      op.cb(undefined);
    } else if (op.found === undefined) {
      this.getsCompleted++;
      op.cb({ code: "NotFound", message: `get of ${op.key} from blob store ${this.name}: no such key` });
    } else {
      this.getsCompleted++;
      op.cb(undefined, op.found);
    }
  }

  private failUnavailable(op: BlobOp): void {
    if (this.abandoned(op)) return;
    this.inFlight--;
    this.opsFailed++;
    this.trace.emit("BlobOpFailed", { store: this.name, op: op.kind, key: op.key, error: "Unavailable" });
    op.cb({ code: "Unavailable", message: `${op.kind} of ${op.key} on blob store ${this.name}: unavailable (no answer within ${formatDuration(this.params.failAfterNs)})` });
  }
}
