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
 * decreases (STREAMING); a FINISHED task produced END_OF_PARTITION on every output; its
 * outputs carry a watermark status only when it changes, and no watermark while idle.
 */
import { InvariantError, assert } from "../../sim/errors";
import type { Host } from "../../sim/host";
import type { Kernel, TimerHandle } from "../../sim/kernel";
import type { Rng } from "../../sim/rng";
import { compareKeys } from "../api/key-groups";
import { MAX_WATERMARK, MIN_WATERMARK, POINTWISE_PARTITIONERS, type ExternalStoreApi, type Key, type SourceReader, type SourceSplit } from "../api/types";
import type { BlobStore } from "../../sim/blob-store";
import type { CheckpointableReader } from "../api/sources";
import { BarrierAligner } from "../checkpoint/barrier-aligner";
import { ChannelStateRecorder, ChannelStateReplay } from "../checkpoint/channel-state";
import { cloneState, privateBytesOf, snapshotBytes, snapshotEntries, type CheckpointId, type StateHandle, type SubtaskCheckpointStats, type SubtaskSnapshot } from "../checkpoint/snapshot";
import { downloadSubtaskSnapshot, uploadSubtaskSnapshot, type Uploaded } from "../checkpoint/state-transfer";
import { broadcastStatesOf, keyGroupBytesOf, operatorListsOf, savepointPath, type SavepointOptions } from "../checkpoint/savepoint";
import { downloadRescaled } from "../checkpoint/rescale";
import type { Disk } from "../../sim/disk";
import type { RocksDbStats } from "../state/rocksdb-backend";
import { resolveChangelogRestore, type ChangelogStats } from "../state/changelog-backend";
import { deserializationNs, serializationNs, sortNs, type CostModel } from "../costs";
import { BufferDebloater, throughputBytesPerS } from "./network/buffer-debloater";
import type { StreamNode } from "../graph/stream-graph";
import { CHECKPOINT_BARRIER_BYTES, END_OF_DATA, END_OF_DATA_BYTES, LATENCY_MARKER, WATERMARK, WATERMARK_STATUS, WATERMARK_STATUS_IDLE, type NetworkBuffer, type StreamEvent } from "./buffer";
import { IdlenessTimer, StatusWatermarkValve } from "./watermark-status";
import { ChainedOperator, RecordWriterOutput, type Route } from "./chained-operator";
import type { InputGateReader, OutputSpec, TaskCallbacks, TaskSettings } from "./task-io";

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
  /** The head operator's input each gate feeds (StreamEdge.typeNumber); default all 0. */
  inputOfGate?: readonly number[];
  outputs: OutputSpec[];
  settings: TaskSettings;
  costs: CostModel;
  /** The source reader's stream (engine/api/job-rng.ts readerRng). */
  readerRng: Rng;
  /** A chain operator's stream by node name (engine/api/job-rng.ts operatorRng). */
  operatorRng: (nodeName: string) => Rng;
  external: ExternalStoreApi;
  callbacks: TaskCallbacks;
  /** Where snapshots go (and come from on restore). */
  blobStore: BlobStore;
  /** The checkpointed state this attempt restores, if any. */
  restore?: StateHandle;
  /** The TaskManager's local disk (the rocksdb backend's SST files). */
  localDisk?: Disk;
  /** Counters the rocksdb backends of the run add to. */
  rocksDbStats?: RocksDbStats;
  /** Counters the changelog backends of the run add to. */
  changelogStats?: ChangelogStats;
}

type TimeState = "busy" | "backpressured" | "idle";

/** A subtask's part of a checkpoint between its snapshot and its upload. */
interface PendingSnapshot {
  checkpointId: CheckpointId;
  snapshot: SubtaskSnapshot;
  triggerNs: number;
  firstBarrierNs: number;
  lastBarrierNs: number;
  /** Set when the sync phase's work item completed. */
  syncNs: number | undefined;
  afterEndOfInput: boolean;
  /** Unaligned: the channel state being recorded. */
  channelState: ChannelStateRecorder | undefined;
  /** Every input barrier arrived (always true when aligned). */
  barriersIn: boolean;
  /** Timeoutable output barriers not yet sent or prioritized (the upload waits for them). */
  outputsOutstanding: number;
  uploaded?: boolean;
}

/** BATCH sorted keyed input, gathered until the end of input: each key's records in arrival order. */
interface SortedInput {
  /** Per key, its records of both inputs; `inputs` only when the head has a second input. */
  groups: Map<Key, { values: unknown[]; timestamps: number[]; inputs?: number[] }>;
  records: number;
  /** Records of a non-keyed (broadcast) second input: processed before every key, as Flink's BATCH mode does. */
  unkeyed: { values: unknown[]; timestamps: number[] };
}

/** Records a source emits at most per work item, whatever the buffer size allows. */
const MAX_SOURCE_BATCH = 4096;

/**
 * CPU a slice of input may take before the rest becomes a later work item: Flink's mailbox
 * checks for mails (timers, priority barriers) between records, so a slow operator does
 * not hold a barrier for a whole buffer. Fast operators never reach it (a full buffer of
 * small records is ~0.1 ms).
 */
const MAX_SLICE_CPU_NS = 1_000_000;

export class Task {
  readonly id: TaskIdentity;
  private readonly chain: ChainedOperator[] = [];
  private readonly head: ChainedOperator;
  private readonly sourceNode: StreamNode | undefined;
  private reader: SourceReader | undefined;
  private state: "created" | "initializing" | "running" | "finishing" | "finished" | "failed" | "canceled" = "created";
  private busy = false;
  private readonly mails: (() => void)[] = [];
  /** CPU cost (ns at speed 1) accumulated by the current work item. */
  cpuNs = 0;
  // Input position inside a partly processed buffer.
  private current: { buffer: NetworkBuffer; channel: number; gate: number; index: number } | undefined;
  private nextGate = 0;
  /** Per input gate: 1 when it feeds the head's second input. */
  private readonly inputOfGate: Uint8Array;
  /** The input watermark over every channel of every gate (gate g's channels from gateChannelBase[g]), idle channels left out. */
  private readonly valve: StatusWatermarkValve;
  private readonly gateChannelBase: number[];
  /** The watermark status this subtask announced on its outputs (Flink's RecordWriterOutput announcedStatus). */
  private outputIdle = false;
  /** withIdleness on a STREAMING source: its quiet-time check at each periodic watermark. */
  private readonly idleness: IdlenessTimer | undefined;
  private inputWatermark = MIN_WATERMARK;
  private lastEmittedWatermark = MIN_WATERMARK;
  private maxSourceTimestamp = -Infinity;
  private watermarkTimer: TimerHandle = -1;
  private wakeTimer: TimerHandle = -1;
  private waitingForOutput = false;
  private waitingForInput = false;
  private endOfInputDone = false;
  // End of input per channel (EndOfData or EndOfPartition), over all gates.
  private readonly channelEnded: Uint8Array[];
  private endedChannels = 0;
  private readonly totalChannels: number;
  // Checkpoints.
  private readonly aligner: BarrierAligner | undefined;
  private lastCheckpointId = 0;
  /** FLIP-147: the first checkpoint taken after the end of input; its completion finishes the task. */
  private finalCheckpointId: CheckpointId | undefined;
  /** Savepoint barriers seen, by id: the alignment that completes them snapshots for a savepoint. */
  private readonly savepointBarriers = new Map<CheckpointId, SavepointOptions>();
  /**
   * stop-with-savepoint without --drain, once its barrier passed: a source reads nothing
   * more, and the end of the inputs (upstream finishing after the savepoint) runs no
   * end-of-input (no MAX_WATERMARK, windows do not fire) — Flink's STOP, not DRAIN.
   */
  private stopSavepoint: { id: CheckpointId; drain: boolean } | undefined;
  /** Savepoints of this attempt in progress: their snapshots' bookkeeping for the handle. */
  private readonly savepointsTaken = new Map<CheckpointId, SavepointOptions>();
  /** Source restore: offsets to seek to once the splits arrive. */
  private pendingSeek: SubtaskSnapshot["sourceOffsets"];
  // Buffer debloating: one debloater per input gate, and what was measured at the last period.
  private readonly debloaters: BufferDebloater[];
  private debloatTimer: TimerHandle = -1;
  private readonly consumedAtLastDebloat: number[];
  private idleAtLastDebloat = 0;
  /** Restored from a checkpoint taken after this subtask had finished: it only ends (FLIP-147). */
  private finishedOnRestore = false;
  /** The unaligned checkpoint whose input channel state is being recorded, if any. */
  private unalignedInProgress: PendingSnapshot | undefined;
  private alignmentTimer: TimerHandle = -1;
  /** Restore: channel state to replay before anything new (unaligned checkpoints). */
  private replay: ChannelStateReplay | undefined;
  /** Run when the current work item's CPU time has elapsed (a checkpoint's async phase). */
  private readonly afterWorkItem: (() => void)[] = [];
  // BATCH sorted keyed input: records gathered until the end of input.
  private readonly sortedInput: SortedInput | undefined;
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
    this.inputOfGate = Uint8Array.from(setup.inputs, (_, g) => setup.inputOfGate?.[g] ?? 0);
    if (this.inputOfGate.includes(1) && this.head.operator.processElement2 === undefined) {
      throw new InvariantError(`${this.head.node.name} has a second input but its operator takes one input`);
    }
    this.gateChannelBase = [];
    let channels = 0;
    for (const g of setup.inputs) {
      this.gateChannelBase.push(channels);
      channels += g.numChannels;
    }
    this.valve = new StatusWatermarkValve(channels, {
      emitWatermark: (wm) => {
        if (wm <= this.inputWatermark) return;
        this.inputWatermark = wm;
        this.head.processWatermark(wm);
      },
      emitStatus: (idle) => this.setOutputIdle(idle),
    });
    const idlenessMs = this.sourceNode?.watermarks?.idlenessMs;
    this.idleness = idlenessMs !== undefined && setup.settings.runtimeMode === "STREAMING" ? new IdlenessTimer(idlenessMs * 1e6) : undefined;
    this.channelEnded = setup.inputs.map((g) => new Uint8Array(g.numChannels));
    const debloat = setup.settings.runtimeMode === "STREAMING" ? setup.settings.debloat : undefined;
    this.debloaters = debloat === undefined ? [] : setup.inputs.map(() => new BufferDebloater(debloat));
    this.consumedAtLastDebloat = setup.inputs.map(() => 0);
    this.totalChannels = setup.inputs.reduce((n, g) => n + g.numChannels, 0);
    const checkpointing = setup.settings.checkpointing;
    this.aligner =
      checkpointing !== undefined && setup.inputs.length > 0
        ? new BarrierAligner(checkpointing, {
            channelsPerGate: setup.inputs.map((g) => g.numChannels),
            block: (gate, channel) => setup.inputs[gate]!.blockChannel(channel),
            unblockAll: () => {
              for (const g of setup.inputs) g.unblockAll();
            },
          })
        : undefined;
    const batch = setup.settings.runtimeMode === "BATCH";
    this.sortedInput =
      batch && setup.settings.sortedInputs && this.head.keySelector !== undefined
        ? { groups: new Map(), records: 0, unkeyed: { values: [], timestamps: [] } }
        : undefined;
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

  /** What a state backend needs from its task: kernel, host, local disk, blob store, callbacks, counters. */
  get stateBackendContext(): {
    kernel: Kernel;
    host: Host;
    disk: Disk | undefined;
    blobStore: BlobStore;
    callbacks: TaskCallbacks;
    stats: RocksDbStats | undefined;
    changelogStats: ChangelogStats | undefined;
  } {
    const s = this.setup;
    return { kernel: this.kernel, host: this.host, disk: s.localDisk, blobStore: s.blobStore, callbacks: s.callbacks, stats: s.rocksDbStats, changelogStats: s.changelogStats };
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

  /**
   * Deploys: restores checkpointed state if there is any (read from the blob store and
   * deserialized: the task is INITIALIZING meanwhile), opens operators, connects inputs,
   * registers the source reader.
   */
  start(): void {
    assert(this.state === "created", `task ${this.name} started twice`);
    this.state = "initializing";
    const startupNs = this.costs.taskStartupNsPerTask;
    if (startupNs > 0) this.host.run(startupNs, () => this.state === "initializing" && this.initialize(), this.id.vertexName, `slot ${this.id.slot}`);
    else this.initialize();
  }

  /** Restores state (if any), then runs. */
  private initialize(): void {
    const handle = this.setup.restore;
    if (handle === undefined || handle.finished === true) {
      this.finishedOnRestore = handle?.finished === true;
      this.run(undefined, handle?.checkpointId ?? 0);
      return;
    }
    const startNs = this.kernel.now;
    if (handle.rescale !== undefined) {
      // A savepoint: ranged reads of the old subtasks' snapshots this subtask's key groups,
      // list elements and splits are in (engine/checkpoint/rescale.ts), then deserialized.
      downloadRescaled(this.setup.blobStore, this.host, handle, (err, snapshot) => {
        if (this.state !== "initializing") return;
        if (err !== undefined || snapshot === undefined) {
          this.fail(`IOException: could not read savepoint ${handle.checkpointId} (${err ?? handle.blobKey})`);
          return;
        }
        this.mark(handle.rescale!.newParallelism === handle.rescale!.oldParallelism ? "savepoint.restoreSameParallelism" : "savepoint.restoreRescaled");
        this.host.run(deserializationNs(privateBytesOf(handle), 0, this.costs), () => {
          if (this.state !== "initializing") return;
          this.setup.callbacks.stateRestored?.({ checkpointId: handle.checkpointId, durationNs: this.kernel.now - startNs, stateBytes: handle.stateBytes, replayedChanges: 0, replayedBytes: 0 });
          this.run(snapshot, handle.checkpointId);
        }, this.id.vertexName, `slot ${this.id.slot}`);
      });
      return;
    }
    // Every blob of the handle: incremental snapshots' shared SST files too (not deserialized: RocksDB opens them).
    downloadSubtaskSnapshot(this.setup.blobStore, this.host, handle, (err, snapshot, changelogBlobs) => {
      if (this.state !== "initializing") return;
      if (err !== undefined || snapshot === undefined) {
        this.fail(`IOException: could not read the state of checkpoint ${handle.checkpointId} (${err ?? handle.blobKey})`);
        return;
      }
      // Changelog: the materialization with the log since replayed on top (deserialized and re-applied per change).
      const backendKind = this.settings.stateBackend;
      const { snapshot: restored, totals } = resolveChangelogRestore(snapshot, changelogBlobs, this.costs, backendKind);
      if (totals.changes > 0) this.mark("changelog.restoreReplayed");
      if (snapshot.operators.some((op) => op.changelog?.materialization !== undefined)) this.mark("changelog.restoreMaterialized");
      const stats = this.setup.changelogStats;
      if (stats !== undefined) {
        stats.replayedChanges += totals.changes;
        stats.replayedBytes += totals.logBytes;
      }
      this.host.run(deserializationNs(privateBytesOf(handle), 0, this.costs) + totals.cpuNs, () => {
        if (this.state !== "initializing") return;
        this.setup.callbacks.stateRestored?.({
          checkpointId: handle.checkpointId,
          durationNs: this.kernel.now - startNs,
          stateBytes: handle.stateBytes,
          replayedChanges: totals.changes,
          replayedBytes: totals.logBytes,
        });
        this.run(restored, handle.checkpointId);
      }, this.id.vertexName, `slot ${this.id.slot}`);
    });
  }

  private run(restored: SubtaskSnapshot | undefined, checkpointId: CheckpointId): void {
    this.state = "running";
    this.lastCheckpointId = checkpointId;
    this.guard(() => {
      if (restored !== undefined) {
        // Flink: initializeState on every operator, then open on every operator.
        for (const op of this.chain) {
          // An operator with nothing in the snapshot still learns the restored checkpoint (a
          // rescaled sink writer must not abort transactions another subtask now commits).
          const s = restored.operators.find((o) => o.node === op.node.name) ?? { node: op.node.name, keyed: [], eventTimers: [], processingTimers: [], operator: undefined };
          op.initializeState(cloneState(s, `restore of ${op.node.name}`), checkpointId);
        }
        this.pendingSeek = restored.sourceOffsets;
        if ((restored.inputChannelState?.length ?? 0) + (restored.outputChannelState?.length ?? 0) > 0) {
          this.replay = new ChannelStateReplay(
            cloneState(restored.outputChannelState ?? [], "output channel state"),
            cloneState(restored.inputChannelState ?? [], "input channel state"),
          );
        }
      }
      for (const op of this.chain) op.open();
      if (this.sourceNode !== undefined && !this.finishedOnRestore) {
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
      if (this.debloaters.length > 0) this.scheduleDebloat();
      for (const gate of this.setup.inputs) {
        gate.setPriorityListener(() => this.step());
        gate.onError((error) => this.fail(describeGateError(error), partitionOfGateError(gate, error)));
        gate.requestPartitions();
      }
      // A partition that fails by itself (a disk error writing a blocking file) fails the task.
      for (const o of this.setup.outputs) o.writer.onFailed((reason) => this.fail(`IOException: result partition failed: ${reason}`));
    });
    this.setup.callbacks.running();
    this.step();
  }

  /** The source coordinator's answer to registerReader (FLIP-27 AddSplitEvent/NoMoreSplits). */
  addSplits(splits: SourceSplit[], noMoreSplits: boolean): void {
    if (this.state !== "running" || this.reader === undefined) return;
    for (const split of splits) this.reader.addSplit(split);
    if (noMoreSplits) this.reader.noMoreSplits();
    if (this.pendingSeek !== undefined && this.pendingSeek.length > 0) {
      // Restore: continue every split from its checkpointed offset.
      const known = new Set(splits.map((s) => s.splitId));
      (this.reader as CheckpointableReader).seek(this.pendingSeek.filter((o) => known.has(o.splitId)));
    }
    this.pendingSeek = undefined;
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
    this.afterWorkItem.length = 0;
    for (const op of this.chain) op.disposeState();
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
    // A priority event (an unaligned barrier) is handled like a mail: between records, even
    // mid-buffer, and even when no output buffer is free (Flink processes it through the
    // mailbox; only a task blocked mid-record would delay it, which overdraft prevents here).
    if (this.hasPriorityInput()) {
      this.runWorkItem(() => this.processPriorityEvent());
      return;
    }
    if (!this.outputAvailable()) {
      this.setTimeState("backpressured");
      this.waitForOutput();
      return;
    }
    if (this.replay !== undefined) {
      this.runWorkItem(() => this.replayChannelState());
      return;
    }
    if (this.finishedOnRestore && !this.endOfInputDone) {
      this.runWorkItem(() => this.endOfInput());
      return;
    }
    if (this.isSource) this.stepSource();
    else this.stepInput();
  }

  private stepSource(): void {
    const reader = this.reader;
    if (reader === undefined) return;
    if (this.stopSavepoint !== undefined) {
      this.setTimeState("idle"); // stopped by a savepoint (drained: its input already ended): reads nothing more
      return;
    }
    const batch = Math.min(MAX_SOURCE_BATCH, this.settings.sourceBatchRecords);
    const now = this.kernel.now;
    if (reader.nextAvailableNs(now) <= now) {
      this.runWorkItem(() => {
        const head = this.head;
        const idleness = this.idleness;
        reader.poll(now, batch, (value, ts) => {
          if (!(ts <= this.maxSourceTimestamp)) this.maxSourceTimestamp = ts;
          if (idleness !== undefined) {
            idleness.activity();
            // A record ends idleness: consumers hear ACTIVE before the record.
            if (this.outputIdle) this.setOutputIdle(false);
          }
          this.recordsIn++;
          head.processElement(value, ts);
        });
      });
      return;
    }
    if (reader.isFinished()) {
      // Once ended, a source waiting for its final checkpoint (FLIP-147) only takes mails.
      if (!this.endOfInputDone) this.runWorkItem(() => this.endOfInput());
      else this.setTimeState("idle");
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
        // Unaligned: data before this channel's barrier, processed after the snapshot.
        if (this.unalignedInProgress !== undefined && !next.buffer.isEvent && this.aligner!.isRecording(g, next.channel)) {
          this.unalignedInProgress.channelState!.recordInput(g, next.channel, next.buffer);
        }
        this.cpuNs += this.costs.bufferReceiveNsPerBuffer;
        if (!next.buffer.isEvent) this.cpuNs += deserializationNs(next.buffer.sizeBytes, next.buffer.count, this.costs);
        return true;
      }
    }
    return false;
  }

  /** Processes the current buffer until it ends or the output pool runs dry. */
  private processSlice(): void {
    const cur = this.current!;
    const buffer = cur.buffer;
    if (buffer.isEvent) {
      this.processEvent(cur.gate, cur.channel, buffer.event!);
      this.finishCurrentBuffer();
      return;
    }
    const values = buffer.values;
    const timestamps = buffer.timestamps;
    const head = this.head;
    const sorted = this.sortedInput;
    const input = this.inputOfGate[cur.gate]!;
    let i = cur.index;
    for (; i < values.length; i++) {
      const value = values[i];
      if (value === WATERMARK) {
        this.onChannelWatermark(cur.gate, cur.channel, timestamps[i]!);
        continue;
      }
      if (value === WATERMARK_STATUS) {
        this.onChannelStatus(cur.gate, cur.channel, timestamps[i] === WATERMARK_STATUS_IDLE);
        continue;
      }
      if (value === LATENCY_MARKER) {
        head.forwardMarker(timestamps[i]!);
        continue;
      }
      if (sorted !== undefined) {
        this.addSorted(sorted, input, value, timestamps[i]!);
        continue;
      }
      if (!this.outputAvailable() || this.cpuNs >= MAX_SLICE_CPU_NS) break; // the rest is a later work item
      this.recordsIn++;
      if (input === 0) head.processElement(value, timestamps[i]!);
      else head.processElement2(value, timestamps[i]!);
    }
    cur.index = i;
    if (i >= values.length) this.finishCurrentBuffer();
  }

  private hasPriorityInput(): boolean {
    const gates = this.setup.inputs;
    for (let g = 0; g < gates.length; g++) if (gates[g]!.hasPriority()) return true;
    return false;
  }

  private processPriorityEvent(): void {
    const gates = this.setup.inputs;
    for (let g = 0; g < gates.length; g++) {
      const next = gates[g]!.pollPriority();
      if (next === undefined) continue;
      this.cpuNs += this.costs.bufferReceiveNsPerBuffer;
      this.processEvent(g, next.channel, next.buffer.event!);
      return;
    }
  }

  private processEvent(gate: number, channel: number, event: StreamEvent): void {
    switch (event.type) {
      case "CheckpointBarrier":
        this.onBarrier(gate, channel, event);
        return;
      case "EndOfData":
        this.channelEnd(gate, channel);
        return;
      case "EndOfPartition": {
        // The channel is done (its gate tracks it); a pending alignment stops waiting for it.
        this.channelEnd(gate, channel);
        const outcome = this.aligner?.onChannelEnded(gate, channel, this.kernel.now);
        if (outcome?.kind === "aligned") {
          const r = outcome.result;
          this.performCheckpoint(r.checkpointId, r.triggerNs, r.firstBarrierNs, r.lastBarrierNs);
        } else if (outcome?.kind === "unalignedDone") {
          this.barriersComplete(outcome.result.checkpointId, outcome.result.lastBarrierNs);
        }
        return;
      }
    }
  }

  private onBarrier(gate: number, channel: number, barrier: Extract<StreamEvent, { type: "CheckpointBarrier" }>): void {
    if (barrier.savepoint !== undefined && barrier.checkpointId > this.lastCheckpointId) this.savepointBarriers.set(barrier.checkpointId, barrier.savepoint);
    const outcome = this.aligner!.onBarrier(gate, channel, barrier.checkpointId, barrier.timestampNs, this.kernel.now, barrier.unaligned === true);
    if (outcome.kind === "ignored") return;
    if (outcome.kind !== "unalignedDone" && outcome.subsumed !== undefined) {
      if (this.unalignedInProgress?.checkpointId === outcome.subsumed) this.unalignedInProgress = undefined;
      this.setup.callbacks.declineCheckpoint(outcome.subsumed, `checkpoint ${outcome.subsumed} subsumed by barrier ${barrier.checkpointId}`, false);
    }
    const r = outcome.kind === "waiting" ? undefined : outcome.result;
    if (outcome.kind === "aligned") this.performCheckpoint(r!.checkpointId, r!.triggerNs, r!.firstBarrierNs, r!.lastBarrierNs);
    if (outcome.kind === "unalignedStart") {
      if (outcome.switched) this.mark("uc.timeoutSwitch");
      this.performCheckpoint(r!.checkpointId, r!.triggerNs, r!.firstBarrierNs, r!.lastBarrierNs, true);
    }
    // A priority barrier jumped this channel's queue: what it overtook there is channel state.
    if (barrier.unaligned === true && this.unalignedInProgress?.checkpointId === barrier.checkpointId) {
      for (const b of this.setup.inputs[gate]!.overtakenData(channel)) this.unalignedInProgress.channelState!.recordInput(gate, channel, b);
    }
    if (outcome.kind === "unalignedDone" || (outcome.kind === "unalignedStart" && outcome.done)) this.barriersComplete(r!.checkpointId, r!.lastBarrierNs);
    this.armAlignmentTimeout();
  }

  /** Aligned-checkpoint timeout: switch the alignment in progress to unaligned when it is due. */
  private armAlignmentTimeout(): void {
    const atNs = this.aligner?.switchAtNs;
    if (atNs === undefined || this.alignmentTimer >= 0) return;
    this.alignmentTimer = this.kernel.schedule(Math.max(this.kernel.now, atNs), () => {
      this.alignmentTimer = -1;
      if (this.state !== "running") return;
      this.enqueueMail(() => {
        const r = this.aligner?.switchToUnaligned(this.kernel.now);
        if (r === undefined) return;
        this.mark("uc.timeoutSwitch");
        this.performCheckpoint(r.checkpointId, r.triggerNs, r.firstBarrierNs, r.lastBarrierNs, true);
      });
    });
  }

  /**
   * Restore of an unaligned checkpoint: the output channel state is written again before
   * any new output, then the input channel state is processed before any new input, in
   * slices that stop when no output buffer is free.
   */
  private replayChannelState(): void {
    const r = this.replay!;
    const outputs = this.setup.outputs;
    const free = () => this.outputAvailable();
    const outputDone = r.replayOutput(free, (o, subpartition, value, ts) => {
      const spec = outputs[o]!;
      this.cpuNs += serializationNs(spec.recordBytes, 1, this.costs);
      this.recordsOut++;
      spec.writer.emitRecord(subpartition, value, ts, spec.recordBytes);
    });
    if (!outputDone) return;
    const head = this.head;
    const inputDone = r.replayInput(free, (value, ts, gate) => {
      this.cpuNs += this.costs.deserializeNsPerRecord;
      this.recordsIn++;
      if (this.inputOfGate[gate] === 0) head.processElement(value, ts);
      else head.processElement2(value, ts);
    });
    if (inputDone) this.replay = undefined;
  }

  /**
   * A channel's data ended (EndOfData, or EndOfPartition without checkpoints). The last one
   * ends the input at once — with checkpoints before a barrier behind it is processed, so
   * the checkpoint that barrier starts is this task's final one (FLIP-147).
   */
  private channelEnd(gate: number, channel: number): void {
    const ended = this.channelEnded[gate]!;
    if (ended[channel] === 1) return;
    ended[channel] = 1;
    if (++this.endedChannels !== this.totalChannels) return;
    // Upstream finished after a stop-with-savepoint (no drain): not an end of input.
    if (this.stopSavepoint !== undefined && !this.stopSavepoint.drain) return;
    this.endOfInput();
  }

  private finishCurrentBuffer(): void {
    const cur = this.current!;
    this.current = undefined;
    if (!cur.buffer.isEvent) this.setup.inputs[cur.gate]!.recycle(cur.buffer, cur.channel);
  }

  private onChannelWatermark(gate: number, channel: number, watermark: number): void {
    if (this.settings.runtimeMode === "BATCH") return; // BATCH: only the end of input counts
    this.valve.inputWatermark(this.gateChannelBase[gate]! + channel, watermark);
  }

  private onChannelStatus(gate: number, channel: number, idle: boolean): void {
    if (this.settings.runtimeMode === "BATCH") return;
    this.valve.inputStatus(this.gateChannelBase[gate]! + channel, idle);
  }

  /**
   * Announces this subtask's watermark status on every output, once per change (Flink's
   * RecordWriterOutput.emitWatermarkStatus), in order with the data, and traces it.
   */
  private setOutputIdle(idle: boolean): void {
    if (this.outputIdle === idle) return;
    this.outputIdle = idle;
    this.cpuNs += this.costs.watermarkNsPerWatermark;
    for (const o of this.setup.outputs) o.writer.broadcastWatermarkStatus(idle);
    this.setup.callbacks.watermarkStatusChanged?.(idle, this.currentWatermark);
  }

  /** All input consumed (or the source exhausted): flush sorted input, final watermark, endInput, finish. */
  private endOfInput(): void {
    if (this.endOfInputDone) return;
    this.endOfInputDone = true;
    if (this.watermarkTimer >= 0) this.kernel.cancel(this.watermarkTimer);
    this.watermarkTimer = -1;
    if (this.sortedInput !== undefined) this.processSortedInput();
    // Consumers ignore an idle channel's watermarks: announce ACTIVE before the final one (as Flink's WatermarkToDataOutput does).
    if (this.outputIdle) this.setOutputIdle(false);
    if (this.isSource || this.inputWatermark < MAX_WATERMARK) {
      this.inputWatermark = MAX_WATERMARK;
      if (this.isSource) this.lastEmittedWatermark = MAX_WATERMARK;
      this.head.processWatermark(MAX_WATERMARK);
    }
    for (const op of this.chain) op.endInput();
    if (this.settings.checkpointing !== undefined) {
      // FLIP-147: tell consumers the data ended, then stay alive (answering barriers) until
      // a checkpoint taken from here on completes, so sinks can commit their last records.
      for (const o of this.setup.outputs) o.writer.broadcastEvent(END_OF_DATA, END_OF_DATA_BYTES);
      return;
    }
    for (const op of this.chain) op.close();
    this.state = "finishing";
  }

  // ---- checkpoints ----

  /** The coordinator triggers checkpoint n at a source (or a task whose producers all finished). */
  triggerCheckpoint(checkpointId: CheckpointId, triggerNs: number, savepoint?: SavepointOptions): void {
    if (this.state !== "running" && this.state !== "initializing") {
      // Flink: CHECKPOINT_DECLINED_TASK_NOT_READY; the coordinator plans the next one anew.
      this.setup.callbacks.declineCheckpoint(checkpointId, `task ${this.name} is ${this.state}`, false);
      return;
    }
    this.enqueueMail(() => {
      const now = this.kernel.now;
      if (savepoint !== undefined) {
        if (checkpointId <= this.lastCheckpointId) return;
        this.savepointBarriers.set(checkpointId, savepoint);
        // --drain: the source ends its input first (MAX_WATERMARK, EndOfData), so every
        // event-time window fires before the savepoint's barrier (Flink's DRAIN).
        if (savepoint.terminate && savepoint.drain && this.isSource && !this.endOfInputDone) {
          this.stopSavepoint = { id: checkpointId, drain: true };
          this.endOfInput();
        }
        this.performCheckpoint(checkpointId, triggerNs, now, now, false);
        return;
      }
      // Sources are unaligned only from the start (the timeout switch happens downstream).
      const cp = this.settings.checkpointing;
      const unaligned = cp !== undefined && cp.unaligned && cp.alignedTimeoutNs === 0;
      if (this.performCheckpoint(checkpointId, triggerNs, now, now, unaligned) && unaligned) this.barriersComplete(checkpointId, now);
    });
  }

  /**
   * Takes this subtask's part of checkpoint n, inside a work item: operators emit what
   * belongs before the barrier, state is copied (the sync phase, charged as CPU), the
   * barrier goes out on every output — behind the records before it, or (unaligned) ahead
   * of them, which become output channel state. When the work item's time has elapsed,
   * and (unaligned) every input barrier is in, the async phase serializes and uploads.
   * Returns false for a stale checkpoint.
   */
  private performCheckpoint(checkpointId: CheckpointId, triggerNs: number, firstBarrierNs: number, lastBarrierNs: number, unaligned = false): boolean {
    if (checkpointId <= this.lastCheckpointId) return false; // a stale trigger
    this.lastCheckpointId = checkpointId;
    const savepoint = this.savepointBarriers.get(checkpointId);
    for (const id of [...this.savepointBarriers.keys()]) if (id <= checkpointId) this.savepointBarriers.delete(id);
    const startNs = this.kernel.now;
    for (const op of this.chain) op.prepareSnapshotPreBarrier(checkpointId);
    const reader = this.reader as Partial<CheckpointableReader> | undefined;
    const snapshot: SubtaskSnapshot = {
      operators: this.chain.map((op) => op.snapshotState(checkpointId, savepoint?.format)),
      sourceOffsets: reader?.currentOffsets?.(),
    };
    if (savepoint !== undefined) {
      this.savepointsTaken.set(checkpointId, savepoint);
      if (savepoint.terminate) {
        // The task finishes once the savepoint completes (notifyCheckpointComplete).
        this.finalCheckpointId ??= checkpointId;
        if (!savepoint.drain) {
          this.stopSavepoint = { id: checkpointId, drain: false };
          // A stopped source emits no more watermarks either (Flink finishes it after the barrier).
          if (this.watermarkTimer >= 0) this.kernel.cancel(this.watermarkTimer);
          this.watermarkTimer = -1;
        }
      }
    }
    this.cpuNs += this.costs.snapshotSyncNsPerCheckpoint + snapshotEntries(snapshot) * this.costs.snapshotNsPerEntry;
    const pending: PendingSnapshot = {
      checkpointId,
      snapshot,
      triggerNs,
      firstBarrierNs,
      lastBarrierNs,
      syncNs: undefined,
      afterEndOfInput: this.endOfInputDone,
      channelState: unaligned ? new ChannelStateRecorder() : undefined,
      barriersIn: !unaligned,
      outputsOutstanding: 0,
    };
    const barrier: StreamEvent = { type: "CheckpointBarrier", checkpointId, timestampNs: triggerNs, ...(savepoint !== undefined ? { savepoint } : {}) };
    const priorityBarrier: StreamEvent = { ...barrier, unaligned: true };
    const cp = this.settings.checkpointing!;
    // Aligned barriers of a checkpoint that may still switch are timeoutable (Flink ≥ 1.16):
    // those still queued at the timeout jump ahead, and the data they overtake is persisted.
    const timeoutable: number[] = [];
    this.setup.outputs.forEach((o, i) => {
      // Pointwise and broadcast exchanges stay aligned, as in Flink.
      const alignedOnly = POINTWISE_PARTITIONERS.has(o.partitioner) || o.partitioner === "broadcast";
      if (pending.channelState !== undefined && !alignedOnly) {
        pending.channelState.recordOutput(i, o.writer.broadcastPriorityEvent(priorityBarrier, CHECKPOINT_BARRIER_BYTES));
      } else if (cp.unaligned && cp.alignedTimeoutNs > 0 && !alignedOnly) {
        pending.outputsOutstanding++;
        timeoutable.push(i);
        o.writer.broadcastEvent(barrier, CHECKPOINT_BARRIER_BYTES, () => {
          pending.outputsOutstanding--;
          this.uploadWhenReady(pending);
        });
      } else {
        o.writer.broadcastEvent(barrier, CHECKPOINT_BARRIER_BYTES);
      }
    });
    if (timeoutable.length > 0) {
      this.kernel.schedule(Math.max(this.kernel.now, triggerNs + cp.alignedTimeoutNs), () => {
        if (pending.outputsOutstanding === 0 || this.state === "failed" || this.state === "canceled") return;
        pending.channelState ??= new ChannelStateRecorder();
        for (const i of timeoutable) {
          const writer = this.setup.outputs[i]!.writer;
          // Outputs whose barrier was sent meanwhile have nothing to give.
          pending.channelState.recordOutput(i, writer.prioritizeEvent(barrier, priorityBarrier, CHECKPOINT_BARRIER_BYTES));
        }
        pending.outputsOutstanding = 0;
        this.mark("uc.timeoutSwitch");
        this.uploadWhenReady(pending);
      });
    }
    if (pending.afterEndOfInput && this.finalCheckpointId === undefined) this.finalCheckpointId = checkpointId;
    if (unaligned) {
      this.unalignedInProgress = pending;
      // The rest of a buffer the task is in the middle of is before every barrier to come.
      const cur = this.current;
      if (cur !== undefined && !cur.buffer.isEvent) pending.channelState!.recordInputRest(cur.gate, cur.channel, cur.buffer, cur.index);
    }
    this.afterWorkItem.push(() => {
      pending.syncNs = this.kernel.now - startNs;
      this.uploadWhenReady(pending);
    });
    return true;
  }

  /** Unaligned: the last input barrier of checkpoint n arrived; its channel state is complete. */
  private barriersComplete(checkpointId: CheckpointId, lastBarrierNs: number): void {
    const pending = this.unalignedInProgress;
    if (pending === undefined || pending.checkpointId !== checkpointId) return;
    this.unalignedInProgress = undefined;
    pending.barriersIn = true;
    pending.lastBarrierNs = lastBarrierNs;
    this.uploadWhenReady(pending);
  }

  private uploadWhenReady(p: PendingSnapshot): void {
    if (p.syncNs === undefined || !p.barriersIn || p.outputsOutstanding > 0 || p.uploaded) return;
    p.uploaded = true;
    const channelState = p.channelState;
    if (channelState !== undefined) {
      p.snapshot.inputChannelState = cloneState(channelState.input, "input channel state");
      p.snapshot.outputChannelState = cloneState(channelState.output, "output channel state");
    }
    this.uploadSnapshot(p.checkpointId, p.snapshot, {
      startDelayNs: Math.max(0, p.firstBarrierNs - p.triggerNs),
      alignmentNs: p.lastBarrierNs - p.firstBarrierNs,
      syncNs: p.syncNs,
      afterEndOfInput: p.afterEndOfInput,
      unaligned: channelState !== undefined,
      persistedBytes: channelState?.bytes ?? 0,
    });
  }

  /** The async phase: serialize (CPU on the host, off the task thread) and upload; then ack or decline. */
  private uploadSnapshot(checkpointId: CheckpointId, snapshot: SubtaskSnapshot, stats: Omit<SubtaskCheckpointStats, "asyncNs" | "stateBytes" | "uploadedBytes">): void {
    const asyncStartNs = this.kernel.now;
    const bytes = snapshotBytes(snapshot);
    const savepoint = this.savepointsTaken.get(checkpointId);
    // A savepoint lives in its own directory, self-contained (nothing shared with checkpoints).
    const dir = savepoint !== undefined ? savepointPath(checkpointId) : `checkpoints/chk-${checkpointId}`;
    const key = `${dir}/${this.id.vertexId}-${this.id.subtaskIndex}-${this.id.attemptNumber}`;
    const gone = () => this.state === "failed" || this.state === "canceled";
    this.host.run(serializationNs(bytes, 0, this.costs), () => {
      if (gone()) return;
      // The private blob's upload and (changelog) the log tail's run side by side; the ack waits for both.
      // A savepoint does not use the changelog's log: its snapshot is the full state.
      let pending = 1 + (savepoint !== undefined ? 0 : this.chain.length);
      let firstError: string | undefined;
      let uploaded: Uploaded | undefined;
      const joined = () => {
        if (--pending > 0 || gone()) return;
        if (firstError !== undefined || uploaded === undefined) {
          if (uploaded !== undefined) this.setup.blobStore.delete(this.host, uploaded.handle.blobKey, () => {});
          this.setup.callbacks.declineCheckpoint(checkpointId, `IOException: ${firstError}`, true);
          return;
        }
        this.acknowledge(checkpointId, uploaded, stats, asyncStartNs);
      };
      for (const op of savepoint !== undefined ? [] : this.chain) {
        op.awaitStateUploads(checkpointId, (err) => {
          if (err !== undefined) firstError ??= err;
          joined();
        });
      }
      uploadSubtaskSnapshot(this.setup.blobStore, this.host, checkpointId, key, snapshot, bytes, (err, result) => {
        if (err !== undefined) firstError ??= err;
        uploaded = result;
        joined();
      });
    }, this.id.vertexName, `async ${this.id.slot}`);
  }

  private acknowledge(
    checkpointId: CheckpointId,
    uploaded: Uploaded,
    stats: Omit<SubtaskCheckpointStats, "asyncNs" | "stateBytes" | "uploadedBytes">,
    asyncStartNs: number,
  ): void {
    // A subtask deployed as finished stays finished in every later checkpoint (Flink's
    // isTaskDeployedAsFinished): restoring it must not replay its input again.
    let handle: StateHandle = this.finishedOnRestore ? { ...uploaded.handle, finished: true } : uploaded.handle;
    const savepoint = this.savepointsTaken.get(checkpointId);
    if (savepoint !== undefined) {
      this.savepointsTaken.delete(checkpointId);
      // The restore of a rescaled job reads key-group ranges and list elements by these.
      const snap = uploaded.snapshot;
      handle = { ...handle, keyGroupBytes: keyGroupBytesOf(snap, this.id.maxParallelism), operatorLists: operatorListsOf(snap), broadcastStates: broadcastStatesOf(snap) };
    }
    const uploadedBytes = uploaded.uploadedBytes;
    this.setup.callbacks.acknowledgeCheckpoint(checkpointId, handle, { ...stats, asyncNs: this.kernel.now - asyncStartNs, stateBytes: handle.stateBytes, uploadedBytes });
  }

  /** Checkpoint n completed: operators commit; a task past its end of input finishes (FLIP-147). */
  notifyCheckpointComplete(checkpointId: CheckpointId): void {
    if (this.state !== "running") return;
    this.enqueueMail(() => {
      for (const op of this.chain) op.notifyCheckpointComplete(checkpointId);
      if (this.finalCheckpointId !== undefined && checkpointId >= this.finalCheckpointId) {
        for (const op of this.chain) op.close();
        this.state = "finishing";
      }
    });
  }

  /** Checkpoint n was aborted: stop aligning (or recording channel state for) it. */
  notifyCheckpointAborted(checkpointId: CheckpointId): void {
    if (this.state !== "running") return;
    this.enqueueMail(() => {
      this.aligner?.abort(checkpointId);
      for (const op of this.chain) op.notifyCheckpointAborted(checkpointId);
      if (this.unalignedInProgress?.checkpointId === checkpointId) this.unalignedInProgress = undefined;
      if (this.finalCheckpointId === checkpointId) this.finalCheckpointId = undefined;
      // A failed stop-with-savepoint: the job goes on (Flink resumes it).
      if (this.stopSavepoint?.id === checkpointId) this.stopSavepoint = undefined;
      this.savepointsTaken.delete(checkpointId);
    });
  }

  mark(name: string): void {
    this.setup.callbacks.mark(name);
  }

  /**
   * BATCH sorted input: records sorted by key (then timestamp, stably), processed one key
   * at a time with the single-key backend; each key's timers fire when the key ends.
   */
  /** BATCH sorted input: groups a record by its key (a broadcast input's records wait unkeyed). */
  private addSorted(sorted: SortedInput, input: number, value: unknown, timestampMs: number): void {
    const head = this.head;
    this.recordsIn++;
    const selector = input === 0 ? head.keySelector! : head.keySelector2;
    if (selector === undefined) {
      sorted.unkeyed.values.push(value);
      sorted.unkeyed.timestamps.push(timestampMs);
      return;
    }
    const key = selector(value);
    let group = sorted.groups.get(key);
    if (group === undefined) sorted.groups.set(key, (group = { values: [], timestamps: [] }));
    group.values.push(value);
    group.timestamps.push(timestampMs);
    if (input !== 0 || group.inputs !== undefined) (group.inputs ??= new Array<number>(group.values.length - 1).fill(0)).push(input);
    sorted.records++;
  }

  private processSortedInput(): void {
    const s = this.sortedInput!;
    // The cost is that of Flink's external sort; the work is cheaper: records were grouped
    // by key as they arrived (one hash lookup each), so only the distinct keys are sorted,
    // which gives the same order: by key, then input, then timestamp, then arrival (Flink's
    // MultiInputSortingDataInput takes the smallest key, the first input on a tie).
    this.cpuNs += sortNs(s.records, this.costs);
    const head = this.head;
    // A broadcast input is consumed whole before the keyed one (Flink's BATCH execution).
    const unkeyed = s.unkeyed;
    for (let j = 0; j < unkeyed.values.length; j++) head.processElement2(unkeyed.values[j], unkeyed.timestamps[j]!);
    const keys = [...s.groups.keys()].sort(compareKeys);
    for (const key of keys) {
      const { values, timestamps, inputs } = s.groups.get(key)!;
      const n = values.length;
      // Within a key: by input, timestamp, then arrival; usually already in order.
      let ordered = inputs === undefined;
      for (let j = 1; j < n && ordered; j++) if (timestamps[j]! < timestamps[j - 1]!) ordered = false;
      if (ordered) {
        for (let j = 0; j < n; j++) head.processKeyed(key, values[j], timestamps[j]!);
      } else {
        const order = Int32Array.from({ length: n }, (_, j) => j).sort(
          (a, b) => (inputs === undefined ? 0 : inputs[a]! - inputs[b]!) || timestamps[a]! - timestamps[b]! || a - b,
        );
        for (let j = 0; j < n; j++) head.processKeyed(key, values[order[j]!], timestamps[order[j]!]!, inputs?.[order[j]!] ?? 0);
      }
      head.endKey(key);
    }
    s.groups.clear();
    s.records = 0;
    unkeyed.values.length = 0;
    unkeyed.timestamps.length = 0;
  }

  // ---- work items ----

  private runWorkItem(action: () => void): void {
    assert(!this.busy, `task ${this.name}: work item while another runs`);
    this.busy = true;
    this.cpuNs = 0;
    for (const o of this.setup.outputs) o.writer.hold();
    const extraBefore = this.head.extraStateAccesses();
    const ok = this.guard(action);
    if (!ok) return;
    const extra = this.head.extraStateAccesses() - extraBefore;
    if (extra > 0) this.cpuNs += extra * this.head.stateAccessCostNs;
    const workNs = this.cpuNs;
    if (workNs <= 0) {
      this.completeWorkItem();
      return;
    }
    // (afterWorkItem actions run in completeWorkItem, once the work's time has elapsed.)
    this.setTimeState("busy");
    this.host.run(workNs, this.completeWorkItem, this.id.vertexName, `slot ${this.id.slot}`);
  }

  private readonly completeWorkItem = () => {
    this.busy = false;
    if (this.state === "canceled" || this.state === "failed") return;
    for (const o of this.setup.outputs) o.writer.unhold();
    if (this.afterWorkItem.length > 0) for (const action of this.afterWorkItem.splice(0)) action();
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

  /**
   * BoundedOutOfOrderness: watermark = max timestamp − out-of-orderness − 1, if it advanced.
   * withIdleness (WatermarksWithIdleness.onPeriodicEmit): a source quiet for long enough
   * emits IDLE instead, and no watermark until a record makes it active again.
   */
  private emitPeriodicWatermark(): void {
    const spec = this.sourceNode!.watermarks!;
    if (this.idleness !== undefined && this.idleness.checkIfIdle(this.kernel.now)) {
      this.setOutputIdle(true);
      return;
    }
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

  /** Every debloat period: size each gate's buffers to `target` of its measured throughput. */
  private scheduleDebloat(): void {
    const periodNs = this.settings.debloat!.periodNs;
    this.debloatTimer = this.kernel.after(periodNs, () => {
      this.debloatTimer = -1;
      if (this.state !== "running" || this.endOfInputDone) return;
      const idleNs = this.timeSnapshot().idle;
      const idleDeltaNs = idleNs - this.idleAtLastDebloat;
      this.idleAtLastDebloat = idleNs;
      this.setup.inputs.forEach((gate, g) => {
        const consumed = gate.consumedBytes;
        const throughput = throughputBytesPerS(consumed - this.consumedAtLastDebloat[g]!, periodNs, idleDeltaNs);
        this.consumedAtLastDebloat[g] = consumed;
        if (throughput === undefined) return;
        const size = this.debloaters[g]!.recalculate(throughput, gate.buffersInUse());
        if (size === undefined) return;
        gate.announceBufferSize(size);
        this.setup.callbacks.bufferSizeAnnounced?.(g, size, Math.round(throughput));
      });
      this.scheduleDebloat();
    });
  }

  private clearTimers(): void {
    if (this.debloatTimer >= 0) this.kernel.cancel(this.debloatTimer);
    this.debloatTimer = -1;
    if (this.alignmentTimer >= 0) this.kernel.cancel(this.alignmentTimer);
    this.alignmentTimer = -1;
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
