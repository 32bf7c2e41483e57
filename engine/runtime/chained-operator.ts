/**
 * The operator chain inside a task: each chained operator with its context (keyed state,
 * timers, key groups), its outputs (chained operators and record writers, per side-output
 * tag), and the record writers that pick subpartitions by partitioner and serialize.
 * Costs of everything called here accumulate on the task's current work item.
 *
 * Invariant: keyed state and timers are only touched with a current key set.
 */
import { InvariantError } from "../../sim/errors";
import type { Rng } from "../../sim/rng";
import { keyGroupFor, operatorIndexForKeyGroup } from "../api/key-groups";
import {
  MIN_WATERMARK,
  type ExternalStoreApi,
  type Key,
  type KeySelector,
  type OperatorContext,
  type Output,
  type StreamOperator,
  type TimerService,
} from "../api/types";
import { DEFAULT_STATE_ACCESSES_PER_RECORD, recordCpuNs, serializationNs, stateAccessNs, type RecordKind } from "../costs";
import type { StreamNode } from "../graph/stream-graph";
import { cloneState, type CheckpointId, type OperatorSnapshot } from "../checkpoint/snapshot";
import { HashMapStateBackend, SingleKeyStateBackend, type KeyedStateBackend } from "../state/keyed-state";
import { savepointPath, type SavepointFormat } from "../checkpoint/savepoint";
import { RocksDbStateBackend } from "../state/rocksdb-backend";
import { ChangelogStateBackend } from "../state/changelog-backend";
import { LATENCY_MARKER, LATENCY_MARKER_BYTES } from "./buffer";
import type { Task } from "./task";
import type { OutputSpec } from "./task-io";
import { TimerQueue } from "./timers";

/** BATCH: rounds of timer firing at the end of one key before it counts as a runaway loop. */
const MAX_TIMER_ROUNDS_PER_KEY = 1_000_000;

/** One operator of the chain with its context, state, timers and output. */
export class ChainedOperator implements Output, OperatorContext, TimerService {
  readonly operator: StreamOperator;
  readonly keySelector: KeySelector | undefined;
  readonly keySelector2: KeySelector | undefined;
  private readonly backend: KeyedStateBackend;
  /** The wrapped backend of a changelog backend, else the backend itself. */
  private readonly stateBackend: KeyedStateBackend;
  private readonly changelog: ChangelogStateBackend | undefined;
  private readonly eventTimers = new TimerQueue();
  private readonly processingTimers = new TimerQueue();
  private readonly recordCostNs: number;
  readonly stateAccessCostNs: number;
  private readonly declaredAccessesPerRecord: number;
  /** Records charged recordCostNs (which includes their declared state accesses). */
  private recordsCharged = 0;
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
    this.keySelector2 = node.keySelector2;
    if (node.keySelector2 !== undefined && this.operator.processElement2 === undefined) {
      throw new InvariantError(`${node.name} has a keyed second input but its operator takes one input`);
    }
    const batchSingleKey = task.settings.runtimeMode === "BATCH" && task.settings.batchStateBackend && node.keySelector !== undefined;
    const backendKind = batchSingleKey ? "batch" : task.settings.stateBackend;
    this.stateBackend = batchSingleKey
      ? new SingleKeyStateBackend()
      : backendKind === "rocksdb" && node.keySelector !== undefined
        ? this.createRocksDb()
        : new HashMapStateBackend();
    // The changelog wraps a keyed operator's backend when checkpoints are taken (STREAMING).
    const changelog = task.settings.changelog;
    this.changelog =
      changelog !== undefined && !batchSingleKey && node.keySelector !== undefined && task.settings.checkpointing !== undefined
        ? this.createChangelog(this.stateBackend as HashMapStateBackend)
        : undefined;
    this.backend = this.changelog ?? this.stateBackend;
    const kind = recordKindOf(node);
    this.recordCostNs = recordCpuNs(node.cost, kind, task.costs, backendKind);
    // recordCpuNs already includes the declared state accesses per record; the runtime
    // charges only the accesses beyond those (extraStateAccesses), at this cost each.
    this.stateAccessCostNs = node.keySelector !== undefined ? stateAccessNs(backendKind, task.costs) : 0;
    this.declaredAccessesPerRecord = node.cost.stateAccessesPerRecord ?? DEFAULT_STATE_ACCESSES_PER_RECORD[kind];
    this.rng = task.operatorRng(node.name);
  }

  /** An embedded RocksDB instance for this operator's keyed state, on the TaskManager's local disk. */
  private createRocksDb(): RocksDbStateBackend {
    const task = this.task;
    const ctx = task.stateBackendContext;
    if (ctx.disk === undefined) throw new InvariantError(`${this.node.name}: the rocksdb backend needs the TaskManager's local disk`);
    const operator = this.node.name;
    return new RocksDbStateBackend({
      settings: task.settings.rocksdb,
      costs: task.costs,
      host: ctx.host,
      disk: ctx.disk,
      instanceName: `${task.id.vertexId}-${task.id.subtaskIndex}-a${task.id.attemptNumber}-n${this.node.id}`,
      label: task.id.vertexName,
      charge: (ns) => {
        task.cpuNs += ns;
      },
      fail: (cause) => task.fail(cause),
      mark: (name) => task.mark(name),
      flushed: (e) => ctx.callbacks.rocksDbFlushed?.(operator, e),
      compacted: (e) => ctx.callbacks.rocksDbCompacted?.(operator, e),
      stats: ctx.stats,
    });
  }

  /** The changelog (DSTL log and periodic materialization) around the operator's keyed backend. */
  private createChangelog(inner: HashMapStateBackend): ChangelogStateBackend {
    const task = this.task;
    const ctx = task.stateBackendContext;
    const operator = this.node.name;
    const settings = task.settings.changelog!;
    return new ChangelogStateBackend(inner, {
      settings,
      costs: task.costs,
      kernel: ctx.kernel,
      host: ctx.host,
      blobStore: ctx.blobStore,
      instanceName: `${task.id.vertexId}-${task.id.subtaskIndex}-a${task.id.attemptNumber}-n${this.node.id}`,
      label: task.id.vertexName,
      initialDelayNs: task.operatorRng(`${operator}/materialization`).int(0, Math.max(1, settings.materializationIntervalNs)),
      charge: (ns) => {
        task.cpuNs += ns;
      },
      enqueueMail: (fn) => task.enqueueMail(fn),
      fail: (cause) => task.fail(cause),
      mark: (name) => task.mark(name),
      uploaded: (e) => ctx.callbacks.changelogUploaded?.(operator, e),
      materialized: (e) => ctx.callbacks.changelogMaterialized?.(operator, e),
      stats: ctx.changelogStats,
    });
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
  get checkpointingEnabled(): boolean {
    return this.task.settings.checkpointing !== undefined;
  }
  mark(name: string): void {
    this.task.mark(name);
  }
  currentKey(): Key | undefined {
    return this.key;
  }

  open(): void {
    this.changelog?.start();
    this.operator.open(this, this);
  }

  // ---- checkpoints ----

  /** Restore (before open): keyed state, timers (processing-time ones rescheduled), operator state. */
  initializeState(snapshot: OperatorSnapshot, checkpointId: CheckpointId): void {
    const backend = this.stateBackend;
    if (!(backend instanceof HashMapStateBackend)) throw new InvariantError(`${this.node.name}: restore into the BATCH single-key backend`);
    // A changelog snapshot's `keyed` was rebuilt from its materialization and log (resolveChangelogRestore).
    if (backend instanceof RocksDbStateBackend) backend.restoreState(snapshot.keyed, snapshot.rocksdb);
    else backend.restore(snapshot.keyed);
    if (snapshot.changelog !== undefined) {
      if (this.changelog === undefined) throw new InvariantError(`${this.node.name}: a changelog snapshot restored without state.changelog.enabled`);
      this.changelog.restore(snapshot.changelog);
    }
    for (const t of snapshot.eventTimers) this.eventTimers.add(t.key, t.keyGroup, t.timestampMs);
    for (const t of snapshot.processingTimers) {
      this.key = t.key;
      this.keyGroup = t.keyGroup;
      this.processingTimers.delete(t.key, t.timestampMs);
      this.registerProcessingTimeTimerUncharged(t.timestampMs);
    }
    this.key = undefined;
    this.keyGroup = -1;
    this.operator.initializeState?.(this, snapshot.operator, checkpointId);
  }

  prepareSnapshotPreBarrier(checkpointId: CheckpointId): void {
    this.operator.prepareSnapshotPreBarrier?.(checkpointId);
  }

  /** The operator's part of a checkpoint, deep-copied (the task goes on mutating its state). */
  snapshotState(checkpointId: CheckpointId, savepointFormat?: SavepointFormat): OperatorSnapshot {
    // A savepoint is the full state whatever the backend: CANONICAL as key/value entries
    // (rocksdb's files and the changelog's log are not used), NATIVE with rocksdb's files.
    const savepoint = savepointFormat !== undefined;
    // Changelog: no copy of the backend, only the log's tail (its keyed state is shared blobs).
    const changelog = savepoint ? undefined : this.changelog?.snapshot(checkpointId);
    const inner = savepoint ? this.stateBackend : this.backend;
    const keyed = changelog === undefined && inner instanceof HashMapStateBackend ? inner.entries() : [];
    const rocksdb =
      changelog !== undefined || !(inner instanceof RocksDbStateBackend)
        ? undefined
        : !savepoint
          ? inner.snapshotFiles(checkpointId)
          : savepointFormat === "NATIVE"
            ? inner.snapshotFilesForSavepoint(checkpointId, savepointPath(checkpointId))
            : undefined;
    return cloneState(
      {
        node: this.node.name,
        keyed,
        eventTimers: this.eventTimers.snapshot(),
        processingTimers: this.processingTimers.snapshot(),
        operator: this.operator.snapshotState?.(checkpointId),
        ...(rocksdb !== undefined ? { rocksdb } : {}),
        ...(changelog !== undefined ? { changelog } : {}),
      },
      `operator ${this.node.name}`,
    );
  }

  /** The changelog's log segments of checkpoint n are uploaded (at once without changelog). */
  awaitStateUploads(checkpointId: CheckpointId, done: (err: string | undefined) => void): void {
    if (this.changelog === undefined) done(undefined);
    else this.changelog.awaitUploads(checkpointId, done);
  }

  notifyCheckpointComplete(checkpointId: CheckpointId): void {
    if (this.changelog !== undefined) this.changelog.notifyCheckpointComplete(checkpointId);
    else if (this.backend instanceof RocksDbStateBackend) this.backend.notifyCheckpointComplete(checkpointId);
    this.operator.notifyCheckpointComplete?.(checkpointId);
  }

  notifyCheckpointAborted(checkpointId: CheckpointId): void {
    this.changelog?.notifyCheckpointAborted(checkpointId);
  }

  /** The task ends (closed, failed or cancelled): a RocksDB instance stops and deletes its files; a changelog stops. */
  disposeState(): void {
    this.changelog?.dispose();
    if (this.stateBackend instanceof RocksDbStateBackend) this.stateBackend.dispose();
  }

  /**
   * State accesses made beyond those already charged per record (declared, or the kind's
   * default): what the runtime still has to charge. Not monotonic when an operator uses
   * fewer than declared; the task charges only increases.
   */
  extraStateAccesses(): number {
    return this.backend.accesses - this.declaredAccessesPerRecord * this.recordsCharged;
  }

  processElement(value: unknown, timestampMs: number): void {
    this.task.cpuNs += this.recordCostNs;
    this.recordsCharged++;
    const selector = this.keySelector;
    if (selector !== undefined) {
      this.setKey(selector(value));
    }
    this.operator.processElement(value, timestampMs);
  }

  /** A two-input operator's second input (keyed by keySelector2 unless it is a broadcast input). */
  processElement2(value: unknown, timestampMs: number): void {
    this.task.cpuNs += this.recordCostNs;
    this.recordsCharged++;
    const selector = this.keySelector2;
    if (selector !== undefined) this.setKey(selector(value));
    this.operator.processElement2!(value, timestampMs);
  }

  /** BATCH sorted input: the key is known; `input` is 0, or 1 for a second input. */
  processKeyed(key: Key, value: unknown, timestampMs: number, input = 0): void {
    this.task.cpuNs += this.recordCostNs;
    this.recordsCharged++;
    this.setKey(key);
    if (input === 0) this.operator.processElement(value, timestampMs);
    else this.operator.processElement2!(value, timestampMs);
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
    this.disposeState();
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
    this.changelog?.timerChanged();
  }
  deleteEventTimeTimer(timestampMs: number): void {
    if (this.key !== undefined && this.eventTimers.delete(this.key, timestampMs)) this.changelog?.timerChanged();
  }
  registerProcessingTimeTimer(timestampMs: number): void {
    this.task.cpuNs += this.task.costs.timerRegisterNsPerTimer;
    this.registerProcessingTimeTimerUncharged(timestampMs);
    this.changelog?.timerChanged();
  }
  private registerProcessingTimeTimerUncharged(timestampMs: number): void {
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

export interface Route {
  targets: ChainedOperator[];
  writers: RecordWriterOutput[];
}

/** A non-chained output: picks subpartitions by the edge's partitioner and serializes. */
export class RecordWriterOutput {
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
