/**
 * A task: one subtask attempt of a job vertex, running its operator chain on a mailbox,
 * as Flink's StreamTask does.
 *
 * Work items. Every mailbox action — processing a slice of an input buffer, a batch of
 * source records, a timer, the end of input — runs the user functions at once, sums their
 * cost (engine/costs.ts) and charges it to the host as CPU work; the outputs it produced
 * are held in the partition writers and leave only when that CPU time has elapsed in
 * virtual time. Actions are atomic: timers and control mails run only between work items.
 * A slice stops before a record when no output buffer is free (the overdraft finishes the
 * record in progress), so a work item never outruns the output pool — that is
 * backpressure. Time is accounted as busy (CPU work running), backpressured (input
 * waiting, no output buffer) or idle, as Flink's busyTimeMsPerSecond & co.
 *
 * Invariants: at most one work item runs at a time; every received buffer is recycled
 * exactly once, after it was fully processed; the watermark a task forwards never
 * decreases (STREAMING); a FINISHED task produced END_OF_PARTITION on every output.
 */
import { InvariantError, assert } from "../../sim/errors";
import type { Host } from "../../sim/host";
import type { Kernel, TimerHandle } from "../../sim/kernel";
import type { Rng } from "../../sim/rng";
import { compareKeys, keyGroupFor, operatorIndexForKeyGroup } from "../api/key-groups";
import {
  MAX_WATERMARK,
  MIN_WATERMARK,
  type ExternalStoreApi,
  type Key,
  type KeySelector,
  type OperatorContext,
  type Output,
  type SourceReader,
  type SourceSplit,
  type StreamOperator,
  type TimerService,
} from "../api/types";
import { recordCpuNs, serializationNs, deserializationNs, sortNs, stateAccessNs, type CostModel, type RecordKind } from "../costs";
import type { StreamNode } from "../graph/stream-graph";
import { HashMapStateBackend, SingleKeyStateBackend, type KeyedStateBackend } from "../state/keyed-state";
import { LATENCY_MARKER, LATENCY_MARKER_BYTES, WATERMARK, type NetworkBuffer } from "./buffer";
import type { InputGateReader, OutputSpec, TaskCallbacks, TaskSettings } from "./task-io";
import { TimerQueue } from "./timers";

export interface TaskIdentity {
  vertexId: string;
  vertexName: string;
  subtaskIndex: number;
  parallelism: number;
  maxParallelism: number;
  attemptNumber: number;
  host: string;
  slot: number;
}

export interface TaskSetup {
  identity: TaskIdentity;
  /** The chain's nodes in topological order; the first is the head. */
  chain: StreamNode[];
  /** Edges inside the chain; a side-output edge carries its tag. */
  chainedEdges: readonly { sourceId: number; targetId: number; sideOutputTag: string | undefined }[];
  inputs: InputGateReader[];
  outputs: OutputSpec[];
  settings: TaskSettings;
  costs: CostModel;
  /** The source reader's stream (engine/api/job-rng.ts readerRng). */
  readerRng: Rng;
  /** A chain operator's stream by node name (engine/api/job-rng.ts operatorRng). */
  operatorRng: (nodeName: string) => Rng;
  external: ExternalStoreApi;
  callbacks: TaskCallbacks;
}

type TimeState = "busy" | "backpressured" | "idle";

/** BATCH: rounds of timer firing at the end of one key before it counts as a runaway loop. */
const MAX_TIMER_ROUNDS_PER_KEY = 1_000_000;

/** Records a source emits at most per work item, whatever the buffer size allows. */
const MAX_SOURCE_BATCH = 4096;

export class Task {
  readonly id: TaskIdentity;
  private readonly chain: ChainedOperator[] = [];
  private readonly head: ChainedOperator;
  private readonly sourceNode: StreamNode | undefined;
  private reader: SourceReader | undefined;
  private state: "created" | "running" | "finishing" | "finished" | "failed" | "canceled" = "created";
  private busy = false;
  private readonly mails: (() => void)[] = [];
  /** CPU cost (ns at speed 1) accumulated by the current work item. */
  cpuNs = 0;
  // Input position inside a partly processed buffer.
  private current: { buffer: NetworkBuffer; channel: number; gate: number; index: number } | undefined;
  private nextGate = 0;
  private readonly channelWatermarks: Float64Array[];
  private inputWatermark = MIN_WATERMARK;
  private lastEmittedWatermark = MIN_WATERMARK;
  private maxSourceTimestamp = -Infinity;
  private watermarkTimer: TimerHandle = -1;
  private wakeTimer: TimerHandle = -1;
  private waitingForOutput = false;
  private waitingForInput = false;
  private endOfInputDone = false;
  // BATCH sorted keyed input: records gathered until the end of input.
  private readonly sortedInput: { keys: Key[]; values: unknown[]; timestamps: number[] } | undefined;
  // Metrics.
  private timeState: TimeState = "idle";
  private timeStateSinceNs: number;
  readonly timeNs: Record<TimeState, number> = { busy: 0, backpressured: 0, idle: 0 };
  recordsIn = 0;
  recordsOut = 0;

  constructor(
    private readonly kernel: Kernel,
    private readonly host: Host,
    private readonly setup: TaskSetup,
  ) {
    this.id = setup.identity;
    this.timeStateSinceNs = kernel.now;
    assert(setup.chain.length > 0, `task ${this.name} has an empty chain`);
    const byId = new Map<number, ChainedOperator>();
    // Build back to front so each operator's output knows its chained targets.
    for (let i = setup.chain.length - 1; i >= 0; i--) {
      const node = setup.chain[i]!;
      const routes = new Map<string | undefined, Route>();
      const routeOf = (tag: string | undefined) => {
        let r = routes.get(tag);
        if (r === undefined) routes.set(tag, (r = { targets: [], writers: [] }));
        return r;
      };
      for (const edge of setup.chainedEdges) {
        if (edge.sourceId !== node.id) continue;
        const t = byId.get(edge.targetId);
        if (t === undefined) throw new InvariantError(`chain of ${this.name}: node ${edge.targetId} is not after ${node.id}`);
        routeOf(edge.sideOutputTag).targets.push(t);
      }
      for (const o of setup.outputs) if (o.fromNodeId === node.id) routeOf(o.sideOutputTag).writers.push(new RecordWriterOutput(this, o));
      const op = new ChainedOperator(this, node, routes);
      byId.set(node.id, op);
      this.chain.unshift(op);
    }
    this.head = this.chain[0]!;
    this.sourceNode = this.head.node.kind === "source" ? this.head.node : undefined;
    this.channelWatermarks = setup.inputs.map((g) => new Float64Array(g.numChannels).fill(MIN_WATERMARK));
    const batch = setup.settings.runtimeMode === "BATCH";
    this.sortedInput = batch && setup.settings.sortedInputs && this.head.keySelector !== undefined ? { keys: [], values: [], timestamps: [] } : undefined;
  }

  get name(): string {
    return `${this.id.vertexName} (${this.id.subtaskIndex + 1}/${this.id.parallelism})#${this.id.attemptNumber}`;
  }

  get isSource(): boolean {
    return this.sourceNode !== undefined;
  }

  get currentWatermark(): number {
    return this.isSource ? this.lastEmittedWatermark : this.inputWatermark;
  }

  get settings(): TaskSettings {
    return this.setup.settings;
  }

  get costs(): CostModel {
    return this.setup.costs;
  }

  get nowNs(): number {
    return this.kernel.now;
  }

  get external(): ExternalStoreApi {
    return this.setup.external;
  }

  operatorRng(nodeName: string): Rng {
    return this.setup.operatorRng(nodeName);
  }

  queuedInputBuffers(): number {
    let n = 0;
    for (const g of this.setup.inputs) n += g.queuedBuffers();
    return n;
  }

  queuedOutputBuffers(): number {
    let n = 0;
    for (const o of this.setup.outputs) n += o.writer.queuedBuffers();
    return n;
  }

  /** Deploys: opens operators, connects inputs, registers the source reader. */
  start(): void {
    assert(this.state === "created", `task ${this.name} started twice`);
    this.state = "running";
    this.guard(() => {
      for (const op of this.chain) op.open();
      if (this.sourceNode !== undefined) {
        this.reader = this.sourceNode.source!.createReader(this.id.subtaskIndex, this.setup.readerRng);
        this.setup.callbacks.registerReader();
        // An interval of 0 turns periodic watermark emission off (as in Flink).
        if (this.settings.runtimeMode === "STREAMING" && this.sourceNode.watermarks !== undefined && this.settings.autoWatermarkIntervalNs > 0) {
          this.scheduleWatermarkTimer();
        }
        if (this.settings.runtimeMode === "STREAMING" && this.settings.latencyIntervalNs > 0) {
          this.scheduleLatencyMarker(1 + this.setup.operatorRng("latency-markers").int(0, this.settings.latencyIntervalNs));
        }
      }
      for (const gate of this.setup.inputs) {
        gate.onError((error) => this.fail(describeGateError(error), partitionOfGateError(gate, error)));
        gate.requestPartitions();
      }
    });
    this.setup.callbacks.running();
    this.step();
  }

  /** The source coordinator's answer to registerReader (FLIP-27 AddSplitEvent/NoMoreSplits). */
  addSplits(splits: SourceSplit[], noMoreSplits: boolean): void {
    if (this.state !== "running" || this.reader === undefined) return;
    for (const split of splits) this.reader.addSplit(split);
    if (noMoreSplits) this.reader.noMoreSplits();
    this.step();
  }

  /** Stops the task without running anything else (cancellation or a crashed host). */
  cancel(): void {
    if (this.state === "finished" || this.state === "failed" || this.state === "canceled") return;
    this.state = "canceled";
    this.releaseResources();
  }

  /** Fails the task with a cause (an input error, a user exception). */
  fail(cause: string, failedPartition?: string): void {
    if (this.state === "finished" || this.state === "failed" || this.state === "canceled") return;
    this.state = "failed";
    this.busy = false;
    this.releaseResources();
    this.setup.callbacks.failed(cause, failedPartition);
  }

  private releaseResources(): void {
    this.clearTimers();
    for (const gate of this.setup.inputs) gate.release();
    for (const o of this.setup.outputs) o.writer.release();
  }

  /** Adds a mail: it runs between work items (timers, control messages). */
  enqueueMail(mail: () => void): void {
    this.mails.push(mail);
    this.step();
  }

  // ---- the mailbox loop ----

  private readonly onInputAvailable = () => {
    this.waitingForInput = false;
    this.step();
  };

  private readonly onOutputAvailable = () => {
    this.waitingForOutput = false;
    this.step();
  };

  /** Runs the next action if none is running: mails first, then input. */
  step(): void {
    if (this.busy || this.state !== "running") return;
    const mail = this.mails.shift();
    if (mail !== undefined) {
      this.runWorkItem(mail);
      return;
    }
    if (!this.outputAvailable()) {
      this.setTimeState("backpressured");
      this.waitForOutput();
      return;
    }
    if (this.isSource) this.stepSource();
    else this.stepInput();
  }

  private stepSource(): void {
    const reader = this.reader;
    if (reader === undefined) return;
    const batch = Math.min(MAX_SOURCE_BATCH, this.settings.sourceBatchRecords);
    const now = this.kernel.now;
    if (reader.nextAvailableNs(now) <= now) {
      this.runWorkItem(() => {
        const head = this.head;
        reader.poll(now, batch, (value, ts) => {
          if (!(ts <= this.maxSourceTimestamp)) this.maxSourceTimestamp = ts;
          this.recordsIn++;
          head.processElement(value, ts);
        });
      });
      return;
    }
    if (reader.isFinished()) {
      this.runWorkItem(() => this.endOfInput());
      return;
    }
    this.setTimeState("idle");
    const wakeNs = reader.nextAvailableNs(now);
    if (wakeNs !== Infinity && this.wakeTimer < 0) {
      this.wakeTimer = this.kernel.schedule(wakeNs, () => {
        this.wakeTimer = -1;
        this.step();
      });
    }
  }

  private stepInput(): void {
    if (this.current === undefined && !this.pollInput()) {
      if (this.allInputsFinished()) {
        this.runWorkItem(() => this.endOfInput());
        return;
      }
      this.setTimeState("idle");
      if (!this.waitingForInput) {
        // Listen once per wait: a gate with data would otherwise wake a busy task in a loop.
        this.waitingForInput = true;
        for (const gate of this.setup.inputs) if (!gate.isFinished()) gate.onAvailable(this.onInputAvailable);
      }
      return;
    }
    this.runWorkItem(() => this.processSlice());
  }

  private pollInput(): boolean {
    const gates = this.setup.inputs;
    for (let k = 0; k < gates.length; k++) {
      const g = (this.nextGate + k) % gates.length;
      const next = gates[g]!.poll();
      if (next !== undefined) {
        this.nextGate = (g + 1) % gates.length;
        this.current = { buffer: next.buffer, channel: next.channel, gate: g, index: 0 };
        this.cpuNs += this.costs.bufferReceiveNsPerBuffer;
        if (!next.buffer.isEvent) this.cpuNs += deserializationNs(next.buffer.sizeBytes, next.buffer.count, this.costs);
        return true;
      }
    }
    return false;
  }

  private allInputsFinished(): boolean {
    return this.setup.inputs.every((g) => g.isFinished());
  }

  /** Processes the current buffer until it ends or the output pool runs dry. */
  private processSlice(): void {
    const cur = this.current!;
    const buffer = cur.buffer;
    if (buffer.isEvent) {
      // END_OF_PARTITION: the channel is done; its gate tracks it.
      this.finishCurrentBuffer();
      return;
    }
    const values = buffer.values;
    const timestamps = buffer.timestamps;
    const head = this.head;
    const sorted = this.sortedInput;
    let i = cur.index;
    for (; i < values.length; i++) {
      const value = values[i];
      if (value === WATERMARK) {
        this.onChannelWatermark(cur.gate, cur.channel, timestamps[i]!);
        continue;
      }
      if (value === LATENCY_MARKER) {
        head.forwardMarker(timestamps[i]!);
        continue;
      }
      if (sorted !== undefined) {
        sorted.keys.push(head.keySelector!(value));
        sorted.values.push(value);
        sorted.timestamps.push(timestamps[i]!);
        this.recordsIn++;
        continue;
      }
      if (!this.outputAvailable()) break; // the rest is a later work item
      this.recordsIn++;
      head.processElement(value, timestamps[i]!);
    }
    cur.index = i;
    if (i >= values.length) this.finishCurrentBuffer();
  }

  private finishCurrentBuffer(): void {
    const cur = this.current!;
    this.current = undefined;
    if (!cur.buffer.isEvent) this.setup.inputs[cur.gate]!.recycle(cur.buffer, cur.channel);
  }

  private onChannelWatermark(gate: number, channel: number, watermark: number): void {
    if (this.settings.runtimeMode === "BATCH") return; // BATCH: only the end of input counts
    const marks = this.channelWatermarks[gate]!;
    if (watermark <= marks[channel]!) return;
    marks[channel] = watermark;
    let min = Infinity;
    for (const m of this.channelWatermarks) for (let c = 0; c < m.length; c++) if (m[c]! < min) min = m[c]!;
    if (min > this.inputWatermark) {
      this.inputWatermark = min;
      this.head.processWatermark(min);
    }
  }

  /** All input consumed (or the source exhausted): flush sorted input, final watermark, endInput, finish. */
  private endOfInput(): void {
    if (this.endOfInputDone) return;
    this.endOfInputDone = true;
    if (this.watermarkTimer >= 0) this.kernel.cancel(this.watermarkTimer);
    this.watermarkTimer = -1;
    if (this.sortedInput !== undefined) this.processSortedInput();
    if (this.isSource || this.inputWatermark < MAX_WATERMARK) {
      this.inputWatermark = MAX_WATERMARK;
      if (this.isSource) this.lastEmittedWatermark = MAX_WATERMARK;
      this.head.processWatermark(MAX_WATERMARK);
    }
    for (const op of this.chain) op.endInput();
    for (const op of this.chain) op.close();
    this.state = "finishing";
  }

  /**
   * BATCH sorted input: records sorted by key (then timestamp, stably), processed one key
   * at a time with the single-key backend; each key's timers fire when the key ends.
   */
  private processSortedInput(): void {
    const s = this.sortedInput!;
    const n = s.keys.length;
    // The cost is that of Flink's external sort; the work is a counting sort on key ranks
    // (one hash lookup per record, then typed arrays), which gives the same order:
    // by key, then by timestamp, then by arrival.
    this.cpuNs += sortNs(n, this.costs);
    const rankOf = new Map<Key, number>();
    const rank = new Int32Array(n);
    const distinct: Key[] = [];
    for (let i = 0; i < n; i++) {
      const key = s.keys[i]!;
      let r = rankOf.get(key);
      if (r === undefined) {
        r = distinct.length;
        rankOf.set(key, r);
        distinct.push(key);
      }
      rank[i] = r;
    }
    const byKeyOrder = distinct.map((_, r) => r).sort((a, b) => compareKeys(distinct[a]!, distinct[b]!));
    const position = new Int32Array(distinct.length);
    byKeyOrder.forEach((r, p) => (position[r] = p));
    const start = new Int32Array(distinct.length + 1);
    for (let i = 0; i < n; i++) start[position[rank[i]!]! + 1]!++;
    for (let p = 0; p < distinct.length; p++) start[p + 1]! += start[p]!;
    const order = new Int32Array(n);
    const fill = start.slice(0, distinct.length);
    for (let i = 0; i < n; i++) order[fill[position[rank[i]!]!]!++] = i;
    const ts = s.timestamps;
    const head = this.head;
    for (let p = 0; p < distinct.length; p++) {
      const from = start[p]!;
      const to = start[p + 1]!;
      // Within a key: by timestamp, then arrival; usually already in order.
      let ordered = true;
      for (let j = from + 1; j < to && ordered; j++) if (ts[order[j]!]! < ts[order[j - 1]!]!) ordered = false;
      if (!ordered) order.subarray(from, to).sort((a, b) => ts[a]! - ts[b]! || a - b);
      const key = distinct[byKeyOrder[p]!]!;
      for (let j = from; j < to; j++) head.processKeyed(key, s.values[order[j]!], ts[order[j]!]!);
      head.endKey(key);
    }
    s.keys.length = 0;
    s.values.length = 0;
    s.timestamps.length = 0;
  }

  // ---- work items ----

  private runWorkItem(action: () => void): void {
    assert(!this.busy, `task ${this.name}: work item while another runs`);
    this.busy = true;
    this.cpuNs = 0;
    for (const o of this.setup.outputs) o.writer.hold();
    const accessesBefore = this.head.stateAccesses();
    const ok = this.guard(action);
    if (!ok) return;
    this.cpuNs += (this.head.stateAccesses() - accessesBefore) * this.head.stateAccessCostNs;
    const workNs = this.cpuNs;
    if (workNs <= 0) {
      this.completeWorkItem();
      return;
    }
    this.setTimeState("busy");
    this.host.run(workNs, this.completeWorkItem, this.id.vertexName, `slot ${this.id.slot}`);
  }

  private readonly completeWorkItem = () => {
    this.busy = false;
    if (this.state === "canceled" || this.state === "failed") return;
    for (const o of this.setup.outputs) o.writer.unhold();
    if (this.state === "finishing") {
      this.setTimeState("idle");
      this.clearTimers();
      for (const gate of this.setup.inputs) gate.release();
      // FINISHED once every output is finished: for blocking partitions, durable on disk.
      let pending = this.setup.outputs.length;
      const done = () => {
        if (--pending > 0 || this.state !== "finishing") return;
        this.state = "finished";
        this.setup.callbacks.finished();
      };
      if (pending === 0) {
        pending = 1;
        done();
        return;
      }
      for (const o of this.setup.outputs) {
        o.writer.onFinished(done);
        o.writer.finish();
      }
      return;
    }
    this.setTimeState("idle");
    this.step();
  };

  /** Runs user code; an exception fails the task (a modelled failure, not a crash of the run). */
  private guard(action: () => void): boolean {
    try {
      action();
      return true;
    } catch (e) {
      if (e instanceof InvariantError) throw e;
      this.fail(`${(e as Error).name ?? "Error"}: ${(e as Error).message ?? String(e)}`);
      return false;
    }
  }

  private outputAvailable(): boolean {
    for (const o of this.setup.outputs) if (!o.writer.isAvailable()) return false;
    return true;
  }

  private waitForOutput(): void {
    if (this.waitingForOutput) return;
    this.waitingForOutput = true;
    for (const o of this.setup.outputs) {
      if (!o.writer.isAvailable()) {
        o.writer.onAvailable(this.onOutputAvailable);
        return;
      }
    }
  }

  private scheduleWatermarkTimer(): void {
    this.watermarkTimer = this.kernel.after(this.settings.autoWatermarkIntervalNs, () => {
      this.watermarkTimer = -1;
      if (this.state !== "running" || this.endOfInputDone) return;
      this.enqueueMail(() => this.emitPeriodicWatermark());
      this.scheduleWatermarkTimer();
    });
  }

  private latencyTimer: TimerHandle = -1;

  private scheduleLatencyMarker(firstDelayNs?: number): void {
    // The first marker comes at a random phase: markers on the buffer-timeout grid would
    // only ever sample the instant right before a flush (aliasing).
    const delayNs = firstDelayNs ?? this.settings.latencyIntervalNs;
    this.latencyTimer = this.kernel.after(delayNs, () => {
      this.latencyTimer = -1;
      if (this.state !== "running" || this.endOfInputDone) return;
      const originNs = this.kernel.now;
      this.enqueueMail(() => this.head.forwardMarker(originNs));
      this.scheduleLatencyMarker();
    });
  }

  reportMarker(node: StreamNode, originNs: number): void {
    if (node.sinkName !== undefined) this.setup.callbacks.latencyMarker?.(node.sinkName, this.id.subtaskIndex, originNs);
  }

  /** BoundedOutOfOrderness: watermark = max timestamp − out-of-orderness − 1, if it advanced. */
  private emitPeriodicWatermark(): void {
    const spec = this.sourceNode!.watermarks!;
    if (this.maxSourceTimestamp === -Infinity) return;
    const wm = this.maxSourceTimestamp - spec.outOfOrdernessMs - 1;
    if (wm <= this.lastEmittedWatermark) return;
    this.lastEmittedWatermark = wm;
    this.cpuNs += this.costs.watermarkNsPerWatermark;
    this.head.processWatermark(wm);
  }

  /** Fires due processing-time timers through the mailbox. */
  scheduleProcessingTimer(atMs: number, fire: () => void): void {
    const atNs = Math.max(this.kernel.now, Math.ceil(atMs * 1e6));
    this.kernel.schedule(atNs, () => {
      if (this.state === "running") this.enqueueMail(fire);
    });
  }

  private clearTimers(): void {
    if (this.latencyTimer >= 0) this.kernel.cancel(this.latencyTimer);
    this.latencyTimer = -1;
    if (this.watermarkTimer >= 0) this.kernel.cancel(this.watermarkTimer);
    if (this.wakeTimer >= 0) this.kernel.cancel(this.wakeTimer);
    this.watermarkTimer = -1;
    this.wakeTimer = -1;
  }

  private setTimeState(next: TimeState): void {
    const now = this.kernel.now;
    this.timeNs[this.timeState] += now - this.timeStateSinceNs;
    this.timeStateSinceNs = now;
    this.timeState = next;
  }

  /** Time spent per state up to now (for sampled metrics). */
  timeSnapshot(): Record<TimeState, number> {
    this.setTimeState(this.timeState);
    return { ...this.timeNs };
  }

  get isTerminal(): boolean {
    return this.state === "finished" || this.state === "failed" || this.state === "canceled";
  }

  get status(): string {
    return this.state;
  }

  get waiting(): { input: boolean; output: boolean } {
    return { input: this.waitingForInput, output: this.waitingForOutput };
  }
}

/** One operator of the chain with its context, state, timers and output. */
class ChainedOperator implements Output, OperatorContext, TimerService {
  readonly operator: StreamOperator;
  readonly keySelector: KeySelector | undefined;
  private readonly backend: KeyedStateBackend;
  private readonly eventTimers = new TimerQueue();
  private readonly processingTimers = new TimerQueue();
  private readonly recordCostNs: number;
  readonly stateAccessCostNs: number;
  private key: Key | undefined;
  private keyGroup = -1;
  private watermark = MIN_WATERMARK;
  readonly rng: Rng;
  readonly sideOutputCounts = new Map<string, number>();

  private readonly targets: ChainedOperator[];
  private readonly writers: RecordWriterOutput[];
  private readonly sideRoutes: Map<string, Route>;

  constructor(
    private readonly task: Task,
    readonly node: StreamNode,
    routes: Map<string | undefined, Route>,
  ) {
    const main = routes.get(undefined) ?? { targets: [], writers: [] };
    this.targets = main.targets;
    this.writers = main.writers;
    this.sideRoutes = new Map([...routes].filter(([tag]) => tag !== undefined) as [string, Route][]);
    this.operator = node.operator(task.id.subtaskIndex);
    this.keySelector = node.keySelector;
    const batchSingleKey = task.settings.runtimeMode === "BATCH" && task.settings.batchStateBackend && node.keySelector !== undefined;
    this.backend = batchSingleKey ? new SingleKeyStateBackend() : new HashMapStateBackend();
    const backendKind = batchSingleKey ? "batch" : task.settings.stateBackend;
    this.recordCostNs = recordCpuNs(node.cost, recordKindOf(node), task.costs, backendKind);
    // recordCpuNs already includes the declared state accesses; measured extra accesses cost this much.
    this.stateAccessCostNs = node.keySelector !== undefined ? stateAccessNs(backendKind, task.costs) : 0;
    this.rng = task.operatorRng(node.name);
  }

  // OperatorContext
  get operatorName(): string {
    return this.node.name;
  }
  get subtaskIndex(): number {
    return this.task.id.subtaskIndex;
  }
  get parallelism(): number {
    return this.task.id.parallelism;
  }
  get maxParallelism(): number {
    return this.task.id.maxParallelism;
  }
  get runtimeMode() {
    return this.task.settings.runtimeMode;
  }
  get state() {
    return this.backend;
  }
  get timers(): TimerService {
    return this;
  }
  get external(): ExternalStoreApi {
    return this.task.external;
  }
  get attemptNumber(): number {
    return this.task.id.attemptNumber;
  }
  currentKey(): Key | undefined {
    return this.key;
  }

  open(): void {
    this.operator.open(this, this);
  }

  stateAccesses(): number {
    return this.backend.accesses;
  }

  processElement(value: unknown, timestampMs: number): void {
    this.task.cpuNs += this.recordCostNs;
    const selector = this.keySelector;
    if (selector !== undefined) {
      this.setKey(selector(value));
    }
    this.operator.processElement(value, timestampMs);
  }

  /** BATCH sorted input: the key is known. */
  processKeyed(key: Key, value: unknown, timestampMs: number): void {
    this.task.cpuNs += this.recordCostNs;
    this.setKey(key);
    this.operator.processElement(value, timestampMs);
  }

  /** BATCH: a key ended; its timers fire as if the watermark were +∞ (§8). */
  endKey(key: Key): void {
    // Timers registered while firing fire too (they are due at +∞); bounded by a named limit.
    for (let round = 0; round < MAX_TIMER_ROUNDS_PER_KEY; round++) {
      const eventTimers = this.eventTimers.drainKey(key);
      const processingTimers = this.processingTimers.drainKey(key);
      if (eventTimers.length === 0 && processingTimers.length === 0) return;
      for (const t of eventTimers) {
        this.task.cpuNs += this.task.costs.timerFireNsPerTimer;
        this.setKey(t.key, t.keyGroup);
        this.operator.onEventTimer(t.timestampMs);
      }
      for (const t of processingTimers) {
        this.task.cpuNs += this.task.costs.timerFireNsPerTimer;
        this.setKey(t.key, t.keyGroup);
        this.operator.onProcessingTimer(t.timestampMs);
      }
    }
    throw new InvariantError(`${this.node.name}: key ${String(key)} kept registering timers for ${MAX_TIMER_ROUNDS_PER_KEY} rounds`);
  }

  processWatermark(watermarkMs: number): void {
    if (watermarkMs <= this.watermark) return;
    this.watermark = watermarkMs;
    for (let t = this.eventTimers.pollUpTo(watermarkMs); t !== undefined; t = this.eventTimers.pollUpTo(watermarkMs)) {
      this.task.cpuNs += this.task.costs.timerFireNsPerTimer;
      this.setKey(t.key, t.keyGroup);
      this.operator.onEventTimer(t.timestampMs);
    }
    this.operator.processWatermark(watermarkMs);
  }

  endInput(): void {
    // BATCH without sorted input (or non-keyed): timers left fire at the end as in Flink.
    this.operator.endInput();
  }

  close(): void {
    this.operator.close();
  }

  private setKey(key: Key, keyGroup = -1): void {
    // The key group is computed only when needed (timers): the state backend keys by key.
    this.key = key;
    this.keyGroup = keyGroup;
    this.backend.setCurrentKey(key);
  }

  private currentKeyGroup(): number {
    if (this.keyGroup < 0) this.keyGroup = keyGroupFor(this.key!, this.task.id.maxParallelism);
    return this.keyGroup;
  }

  // Output (what the operator emits)
  collect(value: unknown, timestampMs: number): void {
    for (let i = 0; i < this.targets.length; i++) this.targets[i]!.processElement(value, timestampMs);
    for (let i = 0; i < this.writers.length; i++) this.writers[i]!.emit(value, timestampMs);
  }

  /** A latency marker bypasses the operator: sinks report it, others pass it on (one random channel). */
  forwardMarker(originNs: number): void {
    if (this.node.kind === "sink") {
      this.task.reportMarker(this.node, originNs);
      return;
    }
    for (const t of this.targets) t.forwardMarker(originNs);
    for (const w of this.writers) w.emitMarker(originNs);
  }

  emitWatermark(watermarkMs: number): void {
    // Watermarks go to every downstream, side outputs included (as Flink broadcasts them).
    for (const t of this.targets) t.processWatermark(watermarkMs);
    for (const w of this.writers) w.emitWatermark(watermarkMs);
    for (const route of this.sideRoutes.values()) {
      for (const t of route.targets) t.processWatermark(watermarkMs);
      for (const w of route.writers) w.emitWatermark(watermarkMs);
    }
  }

  collectSide(tag: string, value: unknown, timestampMs: number): void {
    this.sideOutputCounts.set(tag, (this.sideOutputCounts.get(tag) ?? 0) + 1);
    const route = this.sideRoutes.get(tag);
    if (route === undefined) return; // nobody consumes this side output: dropped, as in Flink
    for (const t of route.targets) t.processElement(value, timestampMs);
    for (const w of route.writers) w.emit(value, timestampMs);
  }

  // TimerService
  currentWatermark(): number {
    return this.watermark;
  }
  currentProcessingTimeMs(): number {
    return this.task.nowNs / 1e6;
  }
  registerEventTimeTimer(timestampMs: number): void {
    this.task.cpuNs += this.task.costs.timerRegisterNsPerTimer;
    if (this.key === undefined) throw new InvariantError(`${this.node.name}: timer registered without a key`);
    this.eventTimers.add(this.key, this.currentKeyGroup(), timestampMs);
  }
  deleteEventTimeTimer(timestampMs: number): void {
    if (this.key !== undefined) this.eventTimers.delete(this.key, timestampMs);
  }
  registerProcessingTimeTimer(timestampMs: number): void {
    this.task.cpuNs += this.task.costs.timerRegisterNsPerTimer;
    if (this.key === undefined) throw new InvariantError(`${this.node.name}: timer registered without a key`);
    const key = this.key;
    const keyGroup = this.currentKeyGroup();
    if (!this.processingTimers.add(key, keyGroup, timestampMs)) return;
    if (this.task.settings.runtimeMode === "BATCH") return; // fire at the end of the key
    this.task.scheduleProcessingTimer(timestampMs, () => {
      if (!this.processingTimers.delete(key, timestampMs)) return;
      this.task.cpuNs += this.task.costs.timerFireNsPerTimer;
      this.setKey(key, keyGroup);
      this.operator.onProcessingTimer(timestampMs);
    });
  }
}

/** Flink's PartitionException family: which partition a consumer could not read. */
function partitionOfGateError(gate: InputGateReader, error: { type: string; partitionId?: string; channel?: number }): string | undefined {
  if (error.partitionId !== undefined) return error.partitionId;
  if (error.type === "ConnectionLost" && error.channel !== undefined) return gate.partitionOf(error.channel);
  return undefined;
}

function describeGateError(error: { type: string; partitionId?: string; host?: string; reason?: string }): string {
  switch (error.type) {
    case "PartitionNotFound":
      return `PartitionNotFoundException: partition ${error.partitionId} not found`;
    case "ConnectionLost":
      return `RemoteTransportException: connection to ${error.host} lost${error.reason ? ` (${error.reason})` : ""}`;
    default:
      return `${error.type}${error.partitionId ? ` ${error.partitionId}` : ""}${error.reason ? `: ${error.reason}` : ""}`;
  }
}

interface Route {
  targets: ChainedOperator[];
  writers: RecordWriterOutput[];
}

/** A non-chained output: picks subpartitions by the edge's partitioner and serializes. */
class RecordWriterOutput {
  private nextChannel: number;
  private readonly serializeNs: number;

  constructor(
    private readonly task: Task,
    private readonly spec: OutputSpec,
  ) {
    // Flink's rebalance starts at a random channel; ours comes from the subtask's stream.
    this.nextChannel = spec.writer.numSubpartitions > 1 ? task.operatorRng(`writer-${spec.fromNodeId}`).int(0, spec.writer.numSubpartitions) : 0;
    this.serializeNs = serializationNs(spec.recordBytes, 1, task.costs);
    this.markerRng = task.operatorRng(`markers-${spec.fromNodeId}`);
  }

  private readonly markerRng: Rng;

  emit(value: unknown, timestampMs: number): void {
    const spec = this.spec;
    const writer = spec.writer;
    this.task.recordsOut++;
    this.task.cpuNs += this.serializeNs;
    switch (spec.partitioner) {
      case "forward":
      case "global":
        writer.emitRecord(0, value, timestampMs, spec.recordBytes);
        return;
      case "broadcast":
        writer.broadcastRecord(value, timestampMs, spec.recordBytes);
        return;
      case "hash": {
        const key = spec.keySelector!(value);
        const kg = keyGroupFor(key, spec.consumerMaxParallelism);
        writer.emitRecord(operatorIndexForKeyGroup(spec.consumerMaxParallelism, spec.consumerParallelism, kg), value, timestampMs, spec.recordBytes);
        return;
      }
      case "rebalance":
      case "rescale": {
        const channel = this.nextChannel;
        this.nextChannel = channel + 1 === writer.numSubpartitions ? 0 : channel + 1;
        writer.emitRecord(channel, value, timestampMs, spec.recordBytes);
        return;
      }
    }
  }

  emitWatermark(watermarkMs: number): void {
    this.spec.writer.broadcastWatermark(watermarkMs);
  }

  /** Flink's RecordWriter.randomEmit for latency markers. */
  emitMarker(originNs: number): void {
    const writer = this.spec.writer;
    const channel = writer.numSubpartitions > 1 ? this.markerRng.int(0, writer.numSubpartitions) : 0;
    writer.emitRecord(channel, LATENCY_MARKER, originNs, LATENCY_MARKER_BYTES);
  }
}

function recordKindOf(node: StreamNode): RecordKind {
  if (node.kind === "source") return "source";
  if (node.kind === "sink") return "sink";
  if (node.keySelector !== undefined) return /window/i.test(node.name) ? "window" : "keyed";
  return "map";
}
