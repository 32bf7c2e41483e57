/**
 * A host's local disk: files made of chunks (with real payloads, so the engine can keep
 * records in spill and sort-merge shuffle files), served by one device queue, with a
 * synced length per file so a crash loses exactly what was not fsynced.
 *
 * Model:
 * - One FIFO queue per disk, one op in service at a time (the device). Service time =
 *   (opLatency + seek if not sequential + size / bandwidth) × slow factor, rounded up to
 *   whole ns; fsync takes fsyncLatency × slow factor. An op is sequential when it is on
 *   the same file as the previous op on this disk and starts where that op ended; the
 *   first op after creation or a crash is not. The ssd profile's seek is 0, so only hdd
 *   pays for random I/O.
 * - Data changes when an op completes: an append's chunk joins the file at completion;
 *   an fsync sets the synced length to the file's size at completion, which (FIFO) is
 *   everything appended before the fsync was issued. Capacity is reserved when an
 *   append is issued, so concurrent appends cannot overcommit the disk.
 * - Errors are data (`DiskError`), never exceptions: ENOSPC (capacity or a "full" fault)
 *   and ENOENT (file missing at issue) are found by the file system at call time and
 *   reported in a zero-delay event without device time; EIO (an "ioError" fault active
 *   when the op was issued) after the op latency; ENOENT also when the file is deleted
 *   while the op waits. The trace gets DiskOpFailed for EIO and ENOSPC (the faults and
 *   the resource limit); ENOENT is an answer about the namespace, not a device failure,
 *   and is not traced.
 * - Metadata (create, delete) is durable at once, except that a file never fsynced does
 *   not survive a crash.
 * - A crash drops queued and in-service ops (their callbacks never run), truncates each
 *   file to its synced length and removes never-synced files. Fault windows describe the
 *   device and outlive a crash.
 *
 * Invariants: usedBytes = Σ file sizes + bytes reserved by pending appends ≤ capacity;
 * syncedBytes ≤ sizeBytes and always on a chunk boundary; every callback runs in its own
 * kernel event, at most once, and never after its host crashed.
 */
import { parseBandwidth } from "./distributions";
import { InputError, InvariantError, assert, unknownNameProblem } from "./errors";
import type { Host } from "./host";
import type { Kernel, TimerHandle } from "./kernel";
import { NS_PER_MS, NS_PER_US, describe, parseDuration, type Ns } from "./time";
import type { Trace } from "./trace/recorder";

export type DiskProfile = "ssd" | "hdd";

export interface DiskSpec {
  profile?: DiskProfile;
  readBandwidthBytesPerS?: number;
  writeBandwidthBytesPerS?: number;
  /** Fixed cost of every op (command overhead, controller, flash access). */
  opLatency?: string | number;
  /** Extra cost of an op that is not sequential with the previous one (seek + rotation). */
  seek?: string | number;
  fsyncLatency?: string | number;
  capacityBytes?: number;
}

interface ProfileDefaults {
  readBandwidthBytesPerS: number;
  writeBandwidthBytesPerS: number;
  opLatencyNs: Ns;
  seekNs: Ns;
  fsyncLatencyNs: Ns;
  capacityBytes: number;
}

const GB = 1e9;

/**
 * Profile defaults, round figures for a typical node:
 * - ssd: between a SATA SSD (~550 MB/s) and a PCIe 3 NVMe drive (~3 GB/s): 2 GB/s read,
 *   1 GB/s write; ~100 us per random op ("Latency numbers every programmer should know":
 *   random 4K SSD read ~150 us, 1 MB sequential ~1 ms); fsync ~1 ms (a cache flush on a
 *   drive without power-loss protection); no seek.
 * - hdd: a 7200 rpm drive, ~150 MB/s sequential both ways (Flink's sort-shuffle blog,
 *   2021-10-26, measured 160 MB/s per disk); ~8 ms for a random op (≈ 4 ms average seek
 *   + 4.17 ms half a rotation at 7200 rpm); 50 us command overhead; fsync 10 ms (one
 *   rotation, 8.3 ms, plus the flush command).
 * Both: 500 GB, a common local volume size for a cloud worker.
 */
export const DISK_PROFILES: Readonly<Record<DiskProfile, Readonly<ProfileDefaults>>> = {
  ssd: {
    readBandwidthBytesPerS: 2e9,
    writeBandwidthBytesPerS: 1e9,
    opLatencyNs: 100 * NS_PER_US,
    seekNs: 0,
    fsyncLatencyNs: 1 * NS_PER_MS,
    capacityBytes: 500 * GB,
  },
  hdd: {
    readBandwidthBytesPerS: 150e6,
    writeBandwidthBytesPerS: 150e6,
    opLatencyNs: 50 * NS_PER_US,
    seekNs: 8 * NS_PER_MS,
    fsyncLatencyNs: 10 * NS_PER_MS,
    capacityBytes: 500 * GB,
  },
};

const SPEC_FIELDS = [
  "profile",
  "readBandwidthBytesPerS",
  "writeBandwidthBytesPerS",
  "opLatency",
  "seek",
  "fsyncLatency",
  "capacityBytes",
];

/** A validated disk spec: every value resolved, times in ns. */
export interface DiskParams extends ProfileDefaults {
  profile: DiskProfile;
}

/** Validates a spec (errors name `field`.<key>) and fills in the profile's defaults. */
export function parseDiskSpec(spec: unknown, field: string): DiskParams {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) {
    throw new InputError(field, `expected a disk spec object, got ${describe(spec)}`);
  }
  const s = spec as Record<string, unknown>;
  for (const key of Object.keys(s)) {
    if (!SPEC_FIELDS.includes(key)) throw new InputError(`${field}.${key}`, unknownNameProblem("field", key, SPEC_FIELDS));
  }
  const profileName = s.profile ?? "ssd";
  if (typeof profileName !== "string" || !Object.hasOwn(DISK_PROFILES, profileName)) {
    throw new InputError(`${field}.profile`, unknownNameProblem("disk profile", String(profileName), Object.keys(DISK_PROFILES)));
  }
  const profile = profileName as DiskProfile;
  const d = DISK_PROFILES[profile];
  const capacityBytes = s.capacityBytes ?? d.capacityBytes;
  if (typeof capacityBytes !== "number" || !Number.isSafeInteger(capacityBytes) || capacityBytes <= 0) {
    throw new InputError(`${field}.capacityBytes`, `must be a positive whole number of bytes, got ${describe(capacityBytes)}`);
  }
  return {
    profile,
    readBandwidthBytesPerS:
      s.readBandwidthBytesPerS === undefined ? d.readBandwidthBytesPerS : parseBandwidth(s.readBandwidthBytesPerS, `${field}.readBandwidthBytesPerS`),
    writeBandwidthBytesPerS:
      s.writeBandwidthBytesPerS === undefined ? d.writeBandwidthBytesPerS : parseBandwidth(s.writeBandwidthBytesPerS, `${field}.writeBandwidthBytesPerS`),
    opLatencyNs: s.opLatency === undefined ? d.opLatencyNs : parseDuration(s.opLatency, `${field}.opLatency`),
    seekNs: s.seek === undefined ? d.seekNs : parseDuration(s.seek, `${field}.seek`),
    fsyncLatencyNs: s.fsyncLatency === undefined ? d.fsyncLatencyNs : parseDuration(s.fsyncLatency, `${field}.fsyncLatency`),
    capacityBytes,
  };
}

export type DiskErrorCode = "EIO" | "ENOSPC" | "ENOENT";

/** A failed disk op, delivered to its callback (a modelled outcome, not an exception). */
export interface DiskError {
  readonly code: DiskErrorCode;
  readonly message: string;
}

/** A piece of a file: what one append wrote. `data` is the caller's payload, by reference. */
export interface Chunk {
  /** Where the chunk starts in its file. */
  readonly offsetBytes: number;
  readonly sizeBytes: number;
  readonly data?: unknown;
}

export type DiskFault = "slow" | "ioError" | "full";
export const DISK_FAULTS: readonly DiskFault[] = ["slow", "ioError", "full"];

export type AppendCallback = (err?: DiskError) => void;
export type ReadCallback = (err: DiskError | undefined, chunks: readonly Chunk[]) => void;
export type FsyncCallback = (err?: DiskError) => void;

/** Most ops queued on one disk at once (a named limit, DESIGN style rule 3). */
export const MAX_DISK_QUEUE_OPS = 1_000_000;

const NO_CHUNKS: readonly Chunk[] = Object.freeze([]);

interface DiskFile {
  readonly name: string;
  readonly chunks: Chunk[];
  sizeBytes: number;
  /** Bytes that survive a crash (a prefix, on a chunk boundary). */
  syncedBytes: number;
  /** Whether an fsync ever completed: a file never synced vanishes in a crash. */
  synced: boolean;
  /** Set by delete(); ops still holding this file then fail with ENOENT. */
  deleted: boolean;
}

type OpKind = "append" | "read" | "fsync";

interface DiskOp {
  readonly id: number;
  readonly kind: OpKind;
  readonly file: DiskFile;
  readonly offsetBytes: number;
  readonly sizeBytes: number;
  readonly data: unknown;
  /** An ioError fault was active at issue: the op fails with EIO after its latency. */
  readonly failsWithEio: boolean;
  readonly cb: (err: DiskError | undefined, chunks: readonly Chunk[]) => void;
}

interface ImmediateFailure {
  readonly incarnation: number;
  readonly err: DiskError;
  readonly cb: (err: DiskError | undefined, chunks: readonly Chunk[]) => void;
}

export class Disk {
  readonly params: Readonly<DiskParams>;
  /** Ns the device spent serving ops (completed ones, plus the part served before a crash). */
  busyNs = 0;
  readBytes = 0;
  writtenBytes = 0;
  opsCompleted = 0;
  /** Data ops that were not sequential with the previous one (each paid the seek on hdd). */
  seeks = 0;
  opsFailed = 0;
  /** Unsynced bytes lost in crashes so far (the sum of DiskWritesLost.bytesLost). */
  lostBytes = 0;
  private readonly fileMap = new Map<string, DiskFile>();
  private committedBytes = 0;
  private reservedBytes = 0;
  private readonly queue: (DiskOp | undefined)[] = [];
  /** Index of the queue head (the queue is compacted when the head passes half of it). */
  private queueHead = 0;
  private inService: DiskOp | undefined;
  private serviceStartNs: Ns = 0;
  private timer: TimerHandle = -1;
  private nextOpId = 0;
  /** Where the previous op left the head; undefined when unknown (new disk, crash). */
  private headFile: DiskFile | undefined;
  private headOffsetBytes = 0;
  private slowFactor = 1;
  private ioErrorActive = false;
  private fullActive = false;
  private readonly onServiceDone = () => this.completeInService();
  private readonly onImmediateFailure = (f: ImmediateFailure) => {
    if (this.host.up && this.host.incarnation === f.incarnation) f.cb(f.err, NO_CHUNKS);
  };

  constructor(
    private readonly kernel: Kernel,
    private readonly trace: Trace,
    readonly host: Host,
    readonly name: string,
    spec: DiskSpec = {},
    readonly field = `disks.${host.name}`,
  ) {
    this.params = parseDiskSpec(spec, field);
    host.onCrash(() => this.onHostCrash());
  }

  get capacityBytes(): number {
    return this.params.capacityBytes;
  }

  /** Bytes in files plus bytes reserved by appends not yet completed. */
  get usedBytes(): number {
    return this.committedBytes + this.reservedBytes;
  }

  /** Ops waiting or in service. */
  get queuedOps(): number {
    return this.queue.length - this.queueHead + (this.inService === undefined ? 0 : 1);
  }

  get slow(): number {
    return this.slowFactor;
  }

  exists(file: string): boolean {
    return this.fileMap.has(file);
  }

  /** Bytes appended (completed) to the file; undefined when it does not exist. */
  sizeOf(file: string): number | undefined {
    return this.fileMap.get(file)?.sizeBytes;
  }

  /** Bytes of the file that would survive a crash now; undefined when it does not exist. */
  syncedSizeOf(file: string): number | undefined {
    return this.fileMap.get(file)?.syncedBytes;
  }

  /** File names in creation order. */
  files(): string[] {
    return [...this.fileMap.keys()];
  }

  /**
   * Appends a chunk of `sizeBytes` holding `data` to `file` (created if missing). The
   * bytes count toward capacity at once; the chunk is in the file when `cb` runs.
   */
  append(file: string, sizeBytes: number, data: unknown, cb: AppendCallback): void {
    this.checkUsable("append", file);
    checkBytes(sizeBytes, "append size");
    if (this.fullActive || sizeBytes > this.capacityBytes - this.usedBytes) {
      const why = this.fullActive ? "a disk-full fault is active" : `${sizeBytes} B do not fit (${this.usedBytes} of ${this.capacityBytes} B used)`;
      this.failAtOnce("append", file, { code: "ENOSPC", message: `append to ${file} on ${this.where()}: ${why}` }, cb);
      return;
    }
    let f = this.fileMap.get(file);
    if (f === undefined) {
      f = { name: file, chunks: [], sizeBytes: 0, syncedBytes: 0, synced: false, deleted: false };
      this.fileMap.set(file, f);
    }
    this.reservedBytes += sizeBytes;
    this.enqueue("append", f, 0, sizeBytes, data, cb);
  }

  /**
   * Reads the chunks overlapping [offsetBytes, offsetBytes + sizeBytes) (whole chunks, so
   * a chunk may start before or end after the range); the device time covers the bytes
   * of the range that exist. ENOENT when the file does not exist.
   */
  read(file: string, offsetBytes: number, sizeBytes: number, cb: ReadCallback): void {
    this.checkUsable("read", file);
    checkBytes(offsetBytes, "read offset");
    checkBytes(sizeBytes, "read size");
    const f = this.fileMap.get(file);
    if (f === undefined) {
      this.failAtOnce("read", file, { code: "ENOENT", message: `read of ${file} on ${this.where()}: no such file` }, cb);
      return;
    }
    this.enqueue("read", f, offsetBytes, sizeBytes, undefined, cb);
  }

  /** When `cb` runs without error, everything appended to `file` before this call survives a crash. */
  fsync(file: string, cb: FsyncCallback): void {
    this.checkUsable("fsync", file);
    const f = this.fileMap.get(file);
    if (f === undefined) {
      this.failAtOnce("fsync", file, { code: "ENOENT", message: `fsync of ${file} on ${this.where()}: no such file` }, cb);
      return;
    }
    this.enqueue("fsync", f, 0, 0, undefined, cb);
  }

  /** Removes the file and frees its bytes; false if it did not exist. Queued ops on it fail with ENOENT. */
  delete(file: string): boolean {
    this.checkUsable("delete", file);
    const f = this.fileMap.get(file);
    if (f === undefined) return false;
    f.deleted = true;
    this.fileMap.delete(file);
    this.committedBytes -= f.sizeBytes;
    return true;
  }

  /**
   * Starts a fault window (called by the fault injector): "slow" multiplies service
   * times by `factor` (> 1) for ops starting service during it; "ioError" fails ops
   * issued during it with EIO; "full" fails appends with ENOSPC. Windows of one kind
   * on one disk must not overlap (the injector merges them).
   */
  startFault(fault: DiskFault, factor?: number): void {
    if (!DISK_FAULTS.includes(fault)) throw new InputError(`${this.field}.fault`, unknownNameProblem("disk fault", String(fault), DISK_FAULTS));
    if (this.isActive(fault)) throw new InvariantError(`disk fault ${fault} on ${this.where()} started while already active`);
    if (fault === "slow") {
      if (typeof factor !== "number" || !Number.isFinite(factor) || !(factor > 1)) {
        throw new InputError(`${this.field}.fault.factor`, `a slow-disk factor must be a number > 1, got ${describe(factor)}`);
      }
      this.slowFactor = factor;
      this.trace.emit("DiskFaultStarted", { host: this.host.name, disk: this.name, fault, factor });
      return;
    }
    if (fault === "ioError") this.ioErrorActive = true;
    else this.fullActive = true;
    this.trace.emit("DiskFaultStarted", { host: this.host.name, disk: this.name, fault });
  }

  endFault(fault: DiskFault): void {
    if (!this.isActive(fault)) throw new InvariantError(`disk fault ${fault} on ${this.where()} ended while not active`);
    if (fault === "slow") this.slowFactor = 1;
    else if (fault === "ioError") this.ioErrorActive = false;
    else this.fullActive = false;
    this.trace.emit("DiskFaultEnded", { host: this.host.name, disk: this.name, fault });
  }

  isActive(fault: DiskFault): boolean {
    return fault === "slow" ? this.slowFactor !== 1 : fault === "ioError" ? this.ioErrorActive : this.fullActive;
  }

  private where(): string {
    return `${this.host.name}/${this.name}`;
  }

  private checkUsable(op: string, file: string): void {
    if (!this.host.up) throw new InvariantError(`disk ${op} of ${file} on ${this.where()} while the host is down`);
    if (typeof file !== "string" || file.length === 0) throw new InvariantError(`disk ${op} on ${this.where()}: file name must be a non-empty string`);
  }

  private failAtOnce(op: OpKind, file: string, err: DiskError, cb: (err: DiskError | undefined, chunks: readonly Chunk[]) => void): void {
    this.opsFailed++;
    if (err.code !== "ENOENT") this.trace.emit("DiskOpFailed", { host: this.host.name, disk: this.name, file, op, error: err.code });
    const failure: ImmediateFailure = { incarnation: this.host.incarnation, err, cb };
    this.kernel.after(0, this.onImmediateFailure, failure);
  }

  private enqueue(kind: OpKind, file: DiskFile, offsetBytes: number, sizeBytes: number, data: unknown, cb: DiskOp["cb"]): void {
    assert(this.queuedOps < MAX_DISK_QUEUE_OPS, `more than ${MAX_DISK_QUEUE_OPS} ops queued on disk ${this.where()}`);
    this.queue.push({ id: this.nextOpId++, kind, file, offsetBytes, sizeBytes, data, failsWithEio: this.ioErrorActive, cb });
    if (this.inService === undefined) this.startNext();
  }

  private startNext(): void {
    if (this.queueHead === this.queue.length) return;
    const op = this.queue[this.queueHead]!;
    this.queue[this.queueHead] = undefined; // let the op's payload be collected
    this.queueHead++;
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    this.inService = op;
    this.serviceStartNs = this.kernel.now;
    this.timer = this.kernel.after(this.serviceNs(op), this.onServiceDone);
  }

  /** Device time of `op` if it starts now; moves the head for the sequential check. */
  private serviceNs(op: DiskOp): Ns {
    const p = this.params;
    let ns: number;
    if (op.failsWithEio || op.file.deleted) {
      ns = p.opLatencyNs;
    } else if (op.kind === "fsync") {
      ns = p.fsyncLatencyNs;
    } else {
      const file = op.file;
      const startBytes = op.kind === "append" ? file.sizeBytes : op.offsetBytes;
      const bytes = op.kind === "append" ? op.sizeBytes : Math.max(0, Math.min(op.offsetBytes + op.sizeBytes, file.sizeBytes) - op.offsetBytes);
      const sequential = this.headFile === file && this.headOffsetBytes === startBytes;
      if (!sequential) this.seeks++;
      const bandwidth = op.kind === "append" ? p.writeBandwidthBytesPerS : p.readBandwidthBytesPerS;
      ns = p.opLatencyNs + (sequential ? 0 : p.seekNs) + (bytes === 0 ? 0 : Math.ceil((bytes * 1e9) / bandwidth));
      this.headFile = file;
      this.headOffsetBytes = startBytes + bytes;
    }
    return this.slowFactor === 1 ? ns : Math.ceil(ns * this.slowFactor);
  }

  private completeInService(): void {
    this.timer = -1;
    const op = this.inService;
    assert(op !== undefined, `disk ${this.where()} service timer fired with nothing in service`);
    this.inService = undefined;
    this.busyNs += this.kernel.now - this.serviceStartNs;
    const file = op.file;
    let err: DiskError | undefined;
    let chunks = NO_CHUNKS;
    if (op.failsWithEio) {
      err = { code: "EIO", message: `${op.kind} of ${file.name} on ${this.where()}: I/O error` };
    } else if (file.deleted) {
      err = { code: "ENOENT", message: `${op.kind} of ${file.name} on ${this.where()}: file deleted while the op was queued` };
    }
    if (op.kind === "append") this.reservedBytes -= op.sizeBytes;
    if (err === undefined) {
      if (op.kind === "append") {
        file.chunks.push({ offsetBytes: file.sizeBytes, sizeBytes: op.sizeBytes, data: op.data });
        file.sizeBytes += op.sizeBytes;
        this.committedBytes += op.sizeBytes;
        this.writtenBytes += op.sizeBytes;
      } else if (op.kind === "read") {
        chunks = overlapping(file, op.offsetBytes, op.sizeBytes);
        this.readBytes += Math.max(0, Math.min(op.offsetBytes + op.sizeBytes, file.sizeBytes) - op.offsetBytes);
      } else {
        file.syncedBytes = file.sizeBytes;
        file.synced = true;
      }
      this.opsCompleted++;
    } else {
      this.opsFailed++;
      if (err.code === "EIO") this.trace.emit("DiskOpFailed", { host: this.host.name, disk: this.name, file: file.name, op: op.kind, error: err.code });
    }
    // Start the next op before the callback: a callback that crashes the host then
    // finds the next op in service and drops it like any other.
    this.startNext();
    op.cb(err, chunks);
  }

  private onHostCrash(): void {
    if (this.inService !== undefined) {
      this.busyNs += this.kernel.now - this.serviceStartNs;
      this.kernel.cancel(this.timer);
      this.timer = -1;
      this.inService = undefined;
    }
    this.queue.length = 0;
    this.queueHead = 0;
    this.reservedBytes = 0;
    this.headFile = undefined;
    this.headOffsetBytes = 0;
    for (const f of [...this.fileMap.values()]) {
      const lostBytes = f.sizeBytes - f.syncedBytes;
      if (lostBytes > 0) {
        let keep = f.chunks.length;
        while (keep > 0 && f.chunks[keep - 1]!.offsetBytes >= f.syncedBytes) keep--;
        f.chunks.length = keep;
        assert(
          keep === 0 ? f.syncedBytes === 0 : f.chunks[keep - 1]!.offsetBytes + f.chunks[keep - 1]!.sizeBytes === f.syncedBytes,
          `disk ${this.where()}: synced length of ${f.name} is not on a chunk boundary`,
        );
        f.sizeBytes = f.syncedBytes;
        this.committedBytes -= lostBytes;
        this.lostBytes += lostBytes;
        this.trace.emit("DiskWritesLost", { host: this.host.name, disk: this.name, file: f.name, bytesLost: lostBytes });
      }
      if (!f.synced) {
        f.deleted = true;
        this.fileMap.delete(f.name);
      }
    }
  }
}

function checkBytes(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new InvariantError(`disk ${what} must be a whole number of bytes ≥ 0, got ${value}`);
}

/**
 * The chunks of `file` holding bytes of [offsetBytes, offsetBytes + sizeBytes), found by
 * binary search; a zero-size chunk counts when its position is inside the range.
 */
function overlapping(file: DiskFile, offsetBytes: number, sizeBytes: number): readonly Chunk[] {
  const chunks = file.chunks;
  const endBytes = offsetBytes + sizeBytes;
  if (sizeBytes === 0) return NO_CHUNKS;
  // First chunk that ends after offsetBytes (a zero-size one: that sits at or after it).
  // Chunk ends never decrease, so this predicate is monotone over the list.
  let lo = 0;
  let hi = chunks.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = chunks[mid]!;
    const chunkEndBytes = c.offsetBytes + c.sizeBytes;
    if (c.sizeBytes > 0 ? chunkEndBytes <= offsetBytes : chunkEndBytes < offsetBytes) lo = mid + 1;
    else hi = mid;
  }
  const out: Chunk[] = [];
  for (let i = lo; i < chunks.length && chunks[i]!.offsetBytes < endBytes; i++) out.push(chunks[i]!);
  return out;
}
