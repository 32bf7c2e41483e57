/**
 * Test support for the shuffle layer (used only by *.test.ts beside it): a World with one
 * ShuffleEnvironment per host, a producer loop that writes while the writer is available
 * (as a task does) and a consumer loop that processes one buffer per fixed virtual time.
 */
import type { DiskSpec } from "../../../sim/disk";
import type { NetworkSpec } from "../../../sim/network";
import { MemorySink } from "../../../sim/trace/recorder";
import { World } from "../../../sim/world";
import { WATERMARK } from "../buffer";
import type { InputGate } from "./input-gate";
import { defaultShuffleParams, type ShuffleParams } from "./params";
import type { ResultPartitionWriter } from "./result-partition";
import { ShuffleEnvironment } from "./shuffle-environment";

export const MIB = 1024 * 1024;
export const US = 1_000;
export const MS = 1_000_000;

export interface NetWorldOptions {
  hosts?: string[];
  params?: Partial<ShuffleParams>;
  seed?: number;
  network?: NetworkSpec;
  disk?: DiskSpec;
}

export function netWorld(opts: NetWorldOptions = {}) {
  const sink = new MemorySink();
  const names = opts.hosts ?? ["tm-1", "tm-2"];
  const world = new World(
    { hosts: names.map((name) => ({ name, cores: 2 })), ...(opts.network ? { network: opts.network } : {}), ...(opts.disk ? { disk: opts.disk } : {}) },
    { seed: opts.seed ?? 1, scenario: "net-test", trace: { sink } },
  );
  const params: ShuffleParams = { ...defaultShuffleParams(64 * MIB), ...opts.params };
  const envs = new Map<string, ShuffleEnvironment>();
  for (const h of names) envs.set(h, new ShuffleEnvironment(world, h, params));
  const env = (h: string) => envs.get(h)!;
  const marks = () =>
    sink.lines
      .map((l) => JSON.parse(l) as { kind: string; name?: string })
      .filter((e) => e.kind === "Mark")
      .map((e) => e.name!);
  return { world, envs, env, sink, params, marks };
}

export interface ProducerOptions {
  records: number;
  subpartitionOf: (i: number) => number;
  bytesOf: (i: number) => number;
  /** Records per work item (the task checks availability before each). */
  recordsPerItem?: number;
  /** CPU time of a work item; outputs are held until it elapsed. */
  itemCpuNs?: number;
  /** Broadcast a watermark every this many records (0: never). */
  watermarkEvery?: number;
  finish?: boolean;
}

/** Emits records 0..n−1 (value = i) like a task: only while the writer is available. */
export class TestProducer {
  next = 0;
  unavailableEvents = 0;
  backpressuredNs = 0;
  finishedAtNs = -1;
  private since = -1;
  private readonly perItem: number;
  private readonly cpuNs: number;
  private readonly step = () => this.run();

  constructor(
    private readonly world: World,
    private readonly writer: ResultPartitionWriter,
    private readonly opts: ProducerOptions,
  ) {
    this.perItem = opts.recordsPerItem ?? 1;
    this.cpuNs = opts.itemCpuNs ?? 0;
  }

  start(): this {
    this.world.kernel.after(0, this.step);
    return this;
  }

  private run(): void {
    const k = this.world.kernel;
    if (this.since >= 0) {
      this.backpressuredNs += k.now - this.since;
      this.since = -1;
    }
    if (this.next >= this.opts.records) {
      if (this.opts.finish !== false) this.writer.finish();
      this.finishedAtNs = k.now;
      return;
    }
    if (!this.writer.isAvailable()) {
      this.unavailableEvents++;
      this.since = k.now;
      this.writer.onAvailable(this.step);
      return;
    }
    this.writer.hold();
    let n = 0;
    while (n < this.perItem && this.next < this.opts.records && (n === 0 || this.writer.isAvailable())) {
      const i = this.next++;
      this.writer.emitRecord(this.opts.subpartitionOf(i), i, i, this.opts.bytesOf(i));
      const every = this.opts.watermarkEvery ?? 0;
      if (every > 0 && (i + 1) % every === 0) this.writer.broadcastWatermark(i);
      n++;
    }
    k.after(this.cpuNs, () => {
      this.writer.unhold();
      this.run();
    });
  }
}

export interface ConsumerOptions {
  /** Virtual time to process one buffer. */
  perBufferNs: number;
  /** Called after every processed buffer (invariant checks). */
  check?: () => void;
}

/** Polls one buffer at a time, "processes" it for perBufferNs, then recycles it. */
export class TestConsumer {
  readonly values: number[][];
  readonly arrivalNs: number[][];
  readonly watermarks: number[][];
  readonly eopAtNs: number[];
  buffers = 0;
  private busy = false;
  private readonly wake = () => this.next();

  constructor(
    private readonly world: World,
    private readonly gate: InputGate,
    private readonly opts: ConsumerOptions,
  ) {
    this.values = Array.from({ length: gate.numChannels }, () => []);
    this.arrivalNs = Array.from({ length: gate.numChannels }, () => []);
    this.watermarks = Array.from({ length: gate.numChannels }, () => []);
    this.eopAtNs = new Array<number>(gate.numChannels).fill(-1);
  }

  start(): this {
    this.gate.requestPartitions();
    this.gate.onAvailable(this.wake);
    return this;
  }

  private next(): void {
    if (this.busy) return;
    const r = this.gate.poll();
    if (r === undefined) {
      if (!this.gate.isFinished() && this.gate.failure === undefined) this.gate.onAvailable(this.wake);
      return;
    }
    const now = this.world.kernel.now;
    if (r.buffer.isEvent) {
      this.eopAtNs[r.channel] = now;
      this.world.kernel.after(0, this.wake);
      return;
    }
    r.buffer.values.forEach((v, j) => {
      if (v === WATERMARK) this.watermarks[r.channel]!.push(r.buffer.timestamps[j]!);
      else {
        this.values[r.channel]!.push(v as number);
        this.arrivalNs[r.channel]!.push(now);
      }
    });
    this.buffers++;
    this.busy = true;
    this.world.kernel.after(this.opts.perBufferNs, () => {
      this.busy = false;
      this.gate.recycle(r.buffer, r.channel);
      this.opts.check?.();
      this.next();
    });
  }
}

/** Expected values per subpartition for records 0..n−1. */
export function expectedPerSubpartition(records: number, numSubpartitions: number, subpartitionOf: (i: number) => number): number[][] {
  const out: number[][] = Array.from({ length: numSubpartitions }, () => []);
  for (let i = 0; i < records; i++) out[subpartitionOf(i)]!.push(i);
  return out;
}
