/**
 * DESIGN style rule 10: every option in engine/config.ts either changes what happens in
 * some scenario (the kernel's rolling hash of events and outputs) when set to a non-default value, or is listed as having no effect yet,
 * with the reason. Each modelled option has a probe: a small scenario, a base config, and
 * a value; the run with the value must differ from the run without it.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MemorySink } from "../sim/trace/recorder";
import { OPTIONS, optionsWithoutEffect, type OptionKey } from "../engine/config";
import { runJob, type JobRunOptions } from "../engine/job-run";
import { CollectSink } from "../engine/api/sinks";
import { GeneratorSource } from "../engine/api/sources";
import { getJob } from "../scenarios/jobs/index";
import { programOf } from "../scenarios/define";
import backpressure from "../scenarios/backpressure.scenario";
import bufferDebloat from "../scenarios/buffer-debloat.scenario";
import stragglers from "../scenarios/speculative-stragglers.scenario";
import jmFailover from "../scenarios/jm-failover-batch.scenario";
import jmFailoverStreaming from "../scenarios/jm-failover-streaming.scenario";

type Probe = { scenario: keyof typeof SCENARIOS; value: unknown; base?: Record<string, unknown> };

const wordcount = getJob("wordcount");
const window = getJob("tumbling-window");

/**
 * A keyed wordcount stopped with a savepoint at 1 s: what the restore probes start from —
 * its blobs and its external store (the committables in the savepoint name its
 * transactions), run anew for every probe run since a restore commits into that store.
 */
function savepointed(): { path: string; objects: ReturnType<ReturnType<typeof runJob>["world"]["blobStore"]["objectsSnapshot"]>; store: ReturnType<typeof runJob>["store"] } {
  const r = runJob({
    seed: 3,
    scenario: "probe savepoint",
    config: { "execution.checkpointing.interval": "200ms", "state.backend.type": "rocksdb", "state.backend.incremental": true },
    cluster: { taskManagers: 2, coresPerTaskManager: 2 },
    job: (env) => wordcount.build(env, wordcount.parseParams({ records: 240, parallelism: 2, splits: 4, ratePerSecond: 40, sink: "transactional" })),
    savepoints: [{ atNs: 1e9, terminate: true, drain: false, format: "NATIVE" }],
  });
  return { path: r.savepoints!.completed[0]!.path, objects: r.world.blobStore.objectsSnapshot(), store: r.store };
}

const SCENARIOS = {
  // The wordcount above restarted from its savepoint (when execution.state-recovery.path names it).
  restore: (): Omit<JobRunOptions, "config" | "seed" | "scenario"> => ({
    cluster: { taskManagers: 2, coresPerTaskManager: 2 },
    job: (env) => wordcount.build(env, wordcount.parseParams({ records: 240, parallelism: 2, splits: 4, ratePerSecond: 40, sink: "transactional" })),
    ...(({ objects, store }) => ({ blobObjects: objects, externalStore: store }))(savepointed()),
  }),
  "stream-wc": (): Omit<JobRunOptions, "config" | "seed" | "scenario"> => ({
    cluster: { taskManagers: 2, coresPerTaskManager: 2 },
    job: (env) => wordcount.build(env, wordcount.parseParams({ records: 300, parallelism: 2, splits: 4 })),
  }),
  "stream-wc-slow": () => ({
    cluster: { taskManagers: 2, coresPerTaskManager: 2 },
    job: (env) => wordcount.build(env, wordcount.parseParams({ records: 240, parallelism: 2, splits: 4, ratePerSecond: 4 })),
  }),
  "batch-wc": () => ({
    cluster: { taskManagers: 2, coresPerTaskManager: 2 },
    job: (env) => wordcount.build(env, wordcount.parseParams({ records: 300, parallelism: 2, splits: 4 })),
  }),
  window: () => ({
    cluster: { taskManagers: 2, coresPerTaskManager: 2 },
    job: (env) => window.build(env, window.parseParams({ records: 600, parallelism: 2, ratePerSecond: 100 })),
  }),
  "tm-crash": () => ({
    cluster: { taskManagers: 2, coresPerTaskManager: 2 },
    job: (env) => wordcount.build(env, wordcount.parseParams({ records: 2000, parallelism: 2, splits: 4, ratePerSecond: 10 })),
    faults: [{ trigger: { at: "3s" }, fault: "crash", target: "tm-2" }],
    timeLimitNs: 300e9,
  }),
  // Checkpoints while the blob store holds (delay) or fails (fail) uploads from 2 s to 8 s.
  "cp-blob-delay": () => ({
    cluster: { taskManagers: 2, coresPerTaskManager: 2 },
    job: (env) => wordcount.build(env, wordcount.parseParams({ records: 240, parallelism: 2, splits: 4, ratePerSecond: 4 })),
    faults: [{ trigger: { from: "2s", to: "8s" }, fault: { type: "blobOutage", mode: "delay" } }],
    timeLimitNs: 600e9,
  }),
  "cp-blob-fail": () => ({
    cluster: { taskManagers: 2, coresPerTaskManager: 2 },
    job: (env) => wordcount.build(env, wordcount.parseParams({ records: 240, parallelism: 2, splits: 4, ratePerSecond: 4 })),
    faults: [{ trigger: { from: "2s", to: "8s" }, fault: { type: "blobOutage", mode: "fail" } }],
    timeLimitNs: 600e9,
  }),
  // A job that needs both TaskManagers' slots; one host crashes for good.
  "tm-crash-all-slots": () => ({
    cluster: { taskManagers: 2, coresPerTaskManager: 2 },
    job: (env) => wordcount.build(env, wordcount.parseParams({ records: 2000, parallelism: 2, splits: 4, ratePerSecond: 10 })),
    faults: [{ trigger: { at: "3s" }, fault: "crash", target: "tm-2" }],
    timeLimitNs: 300e9,
  }),
  "few-slots": () => ({
    cluster: { taskManagers: 1, coresPerTaskManager: 2 },
    job: (env) => wordcount.build(env, wordcount.parseParams({ records: 100, parallelism: 4 })),
    timeLimitNs: 600e9,
  }),
  // BATCH with every parallelism unset: the adaptive batch scheduler decides them (≈ 20 MB into the reduce).
  adaptive: () => ({
    cluster: { taskManagers: 2, coresPerTaskManager: 4 },
    job: (env) => {
      env
        .fromSource<{ key: number; seq: number }>(GeneratorSource({ records: 20_000, splits: 4, keys: { count: 500, distribution: "uniform" } }), "none", "gen")
        .withCost({ recordBytes: 1000 })
        .keyBy((r) => r.key)
        .reduce((a, b) => ({ key: a.key, seq: a.seq + b.seq }))
        .sinkTo(CollectSink("out"));
    },
  }),
  "default-parallelism": () => ({
    cluster: { taskManagers: 2, coresPerTaskManager: 2 },
    job: (env) => {
      env
        .fromSource<{ key: number; seq: number }>(GeneratorSource({ records: 400, splits: 4, keys: { count: 20, distribution: "uniform" } }), "none", "gen")
        .keyBy((r) => r.key)
        .reduce((a, b) => ({ key: a.key, seq: a.seq + b.seq }))
        .sinkTo(CollectSink("out"));
    },
  }),
  // Fails on attempts 0 and 1 of subtask 0 (at its 50th record), then succeeds.
  "failing-twice": () => ({
    cluster: { taskManagers: 2, coresPerTaskManager: 2 },
    job: (env) => failingJob(env, 2),
    timeLimitNs: 600e9,
  }),
  // The same, reading 100 records/s, so an attempt runs ~0.5 s before it fails.
  "failing-twice-slow": () => ({
    cluster: { taskManagers: 2, coresPerTaskManager: 2 },
    job: (env) => failingJob(env, 2, 100),
    timeLimitNs: 600e9,
  }),
  "failing-twice-batch": () => ({
    cluster: { taskManagers: 2, coresPerTaskManager: 2 },
    job: (env) => failingJob(env, 2),
    timeLimitNs: 600e9,
  }),
  // The buffer-debloat scenario (backpressure, aligned checkpoints), 10 s.
  debloat: () => ({
    cluster: bufferDebloat.cluster,
    job: programOf(bufferDebloat, {}),
    timeLimitNs: 10e9,
  }),
  backpressure: () => ({
    cluster: backpressure.cluster,
    job: programOf(backpressure, { recordBytes: 20_000 }),
    timeLimitNs: 3e9,
  }),
  // A keyed reduce over 16 KB values on rocksdb with a 256 KB write buffer: flushes, write
  // stalls, compactions and block-cache misses within 400 records.
  rocks: () => ({
    cluster: { taskManagers: 2, coresPerTaskManager: 2 },
    job: (env) => {
      const pad = "v".repeat(16_000);
      env
        .fromSource<{ key: number; n: number; pad: string }>(
          GeneratorSource({ records: 400, splits: 2, keys: { count: 40, distribution: "uniform" }, value: (_seq, key) => ({ key, n: 1, pad }) }),
          "none",
          "gen",
        )
        .keyBy((r) => r.key)
        .reduce((a, b) => ({ key: a.key, n: a.n + b.n, pad: a.pad }))
        .sinkTo(CollectSink("out"));
    },
    timeLimitNs: 60e9,
  }),
  // A keyed reduce over 2 KB values, 200 records/s for ~4 s, checkpoints every 200 ms.
  changelog: () => ({
    cluster: { taskManagers: 2, coresPerTaskManager: 2 },
    job: changelogJob,
    timeLimitNs: 120e9,
  }),
  // The same while the blob store fails every op from 1 s to 3 s (after a 100 ms client timeout).
  "changelog-blob-fail": () => ({
    cluster: { taskManagers: 2, coresPerTaskManager: 2, blobStore: { failAfter: "100ms" } },
    job: changelogJob,
    faults: [{ trigger: { from: "1s", to: "3s" }, fault: { type: "blobOutage", mode: "fail" } }],
    timeLimitNs: 120e9,
  }),
  // The speculative-stragglers scenario (two hosts at speed 0.5, BATCH), its config as base.
  stragglers: () => ({
    cluster: stragglers.cluster,
    job: programOf(stragglers, {}),
    faults: stragglers.faults,
  }),
  // The jm-failover-batch scenario: the JobManager crashes while Sum per key runs, back after 10 s.
  "jm-failover": () => ({ cluster: jmFailover.cluster, job: programOf(jmFailover, {}), faults: jmFailover.faults }),
  // ... and tm-2 crashes for good while the JobManager is down: partitions go missing.
  "jm-failover-tm-lost": () => ({
    cluster: jmFailover.cluster,
    job: programOf(jmFailover, {}),
    faults: [...jmFailover.faults!, { trigger: { at: "5s" }, fault: "crash", target: "tm-2" }],
  }),
  // ... crashing at 2.15 s instead, when eight Parse subtasks have finished but not Parse.
  "jm-failover-partial": () => ({
    cluster: jmFailover.cluster,
    job: programOf(jmFailover, {}),
    faults: [{ trigger: { at: "2.15s" }, fault: { type: "crash", restartAfter: "10s" }, target: "jm" }],
  }),
  // The jm-failover-streaming scenario: the JobManager crashes at 8 s, its process is back at 13 s.
  "jm-failover-streaming": () => ({ cluster: jmFailoverStreaming.cluster, job: programOf(jmFailoverStreaming, {}), faults: jmFailoverStreaming.faults, timeLimitNs: 600e9 }),
} satisfies Record<string, () => Omit<JobRunOptions, "config" | "seed" | "scenario">>;

function changelogJob(env: Parameters<JobRunOptions["job"]>[0]): void {
  const pad = "c".repeat(2_000);
  env
    .fromSource<{ key: number; n: number; pad: string }>(
      GeneratorSource({ records: 800, splits: 2, ratePerSecond: 100, keys: { count: 40, distribution: "uniform" }, value: (_seq, key) => ({ key, n: 1, pad }) }),
      "none",
      "gen",
    )
    .keyBy((r) => r.key)
    .reduce((a, b) => ({ key: a.key, n: a.n + b.n, pad: a.pad }))
    .sinkTo(CollectSink("out"));
}

function failingJob(env: Parameters<JobRunOptions["job"]>[0], failures: number, ratePerSecond?: number): void {
  let seen = 0;
  env
    .fromSource<{ key: number; seq: number }>(
      GeneratorSource({ records: 400, splits: 4, keys: { count: 10, distribution: "uniform" }, ...(ratePerSecond !== undefined ? { ratePerSecond } : {}) }),
      "none",
      "gen",
    )
    .map((r, ctx) => {
      if (ctx.attemptNumber < failures && ctx.subtaskIndex === 0 && ++seen % 50 === 0) throw new Error("injected failure");
      return r;
    })
    .disableChaining()
    .keyBy((r) => r.key)
    .reduce((a, b) => ({ key: a.key, seq: a.seq + b.seq }))
    .sinkTo(CollectSink("out"));
}

const BASE_CONFIG: Record<string, Record<string, unknown>> = {
  // Without HA services: the probe of high-availability.type turns them on.
  "jm-failover-streaming": { ...jmFailoverStreaming.config!, "high-availability.type": "NONE" },
  restore: { "execution.checkpointing.interval": "200ms", "state.backend.type": "rocksdb", "state.backend.incremental": true },
  "jm-failover": jmFailover.config!,
  "jm-failover-tm-lost": jmFailover.config!,
  "jm-failover-partial": { ...jmFailover.config!, "job-event.store.write-buffer.flush-interval": "100ms" },
  "failing-twice": { "taskmanager.numberOfTaskSlots": 2, "parallelism.default": 2 },
  "failing-twice-slow": { "taskmanager.numberOfTaskSlots": 2, "parallelism.default": 2 },
  "failing-twice-batch": { "taskmanager.numberOfTaskSlots": 2, "parallelism.default": 2, "execution.runtime-mode": "BATCH" },
  "stream-wc": { "taskmanager.numberOfTaskSlots": 2 },
  "stream-wc-slow": { "taskmanager.numberOfTaskSlots": 2 },
  "batch-wc": { "taskmanager.numberOfTaskSlots": 2, "execution.runtime-mode": "BATCH" },
  window: { "taskmanager.numberOfTaskSlots": 2 },
  "tm-crash": { "taskmanager.numberOfTaskSlots": 2 },
  "tm-crash-all-slots": {
    "taskmanager.numberOfTaskSlots": 1,
    "restart-strategy.type": "fixed-delay",
    "restart-strategy.fixed-delay.attempts": 20,
    "heartbeat.interval": "1s",
    "heartbeat.timeout": "5s",
    "slot.request.timeout": "30s",
  },
  "few-slots": { "taskmanager.numberOfTaskSlots": 2 },
  stragglers: { ...stragglers.config },
  "cp-blob-delay": { "taskmanager.numberOfTaskSlots": 2, "execution.checkpointing.interval": "500ms" },
  "cp-blob-fail": { "taskmanager.numberOfTaskSlots": 2, "execution.checkpointing.interval": "500ms" },
  "default-parallelism": { "taskmanager.numberOfTaskSlots": 4 },
  adaptive: { "taskmanager.numberOfTaskSlots": 4, "execution.runtime-mode": "BATCH" },
  backpressure: { "taskmanager.numberOfTaskSlots": 2, "parallelism.default": 2 },
  debloat: { "taskmanager.numberOfTaskSlots": 2, "parallelism.default": 2, "execution.checkpointing.interval": "2s" },
  rocks: {
    "taskmanager.numberOfTaskSlots": 2,
    "parallelism.default": 2,
    "state.backend.type": "rocksdb",
    "state.backend.rocksdb.writebuffer.size": "256kb",
    "execution.checkpointing.interval": "100ms",
  },
  changelog: {
    "taskmanager.numberOfTaskSlots": 2,
    "parallelism.default": 2,
    "execution.checkpointing.interval": "200ms",
    "state.changelog.enabled": true,
    "state.changelog.periodic-materialize.interval": "1s",
  },
  "changelog-blob-fail": {
    "taskmanager.numberOfTaskSlots": 2,
    "parallelism.default": 2,
    "execution.checkpointing.interval": "200ms",
    "execution.checkpointing.tolerable-failed-checkpoints": 1000,
    "state.changelog.enabled": true,
    "state.changelog.periodic-materialize.interval": "300ms",
  },
};

const PROBES: Partial<Record<OptionKey, Probe>> = {
  // Restored, the job reads from the savepoint's offsets: fewer records, restored sums.
  "execution.state-recovery.path": {
    scenario: "restore",
    get value() {
      return savepointed().path;
    },
  },
  // CLAIM: the first checkpoint references the savepoint's SST files, which are deleted once unreferenced.
  "execution.state-recovery.claim-mode": {
    scenario: "restore",
    value: "CLAIM",
    get base() {
      return { "execution.state-recovery.path": savepointed().path };
    },
  },
  "execution.batch-shuffle-mode": { scenario: "batch-wc", value: "ALL_EXCHANGES_PIPELINED" },
  // A gate of c ≤ 2 channels wants 2c + 1 required buffers; at 2 its remote channels get ⌊1/c⌋ exclusive each.
  // One slot per TaskManager, so consumers read remote channels (local ones take no exclusive buffers).
  "taskmanager.network.memory.read-buffer.required-per-gate.max": { scenario: "batch-wc", value: 2, base: { "taskmanager.numberOfTaskSlots": 1 } },
  "execution.batch-state-backend.enabled": { scenario: "batch-wc", value: false },
  "execution.buffer-timeout.enabled": { scenario: "stream-wc-slow", value: false },
  "execution.buffer-timeout.interval": { scenario: "stream-wc-slow", value: "10ms" },
  "execution.runtime-mode": { scenario: "stream-wc", value: "BATCH" },
  "execution.checkpointing.interval": { scenario: "stream-wc-slow", value: "1s" },
  // Two input channels per aggregation: aligned blocks the first until the second's barrier.
  "execution.checkpointing.mode": { scenario: "stream-wc-slow", value: "AT_LEAST_ONCE", base: { "execution.checkpointing.interval": "500ms" } },
  // Uploads held by the outage: the default 10 min waits, 2 s aborts.
  "execution.checkpointing.timeout": { scenario: "cp-blob-delay", value: "2s" },
  "execution.checkpointing.min-pause": { scenario: "stream-wc-slow", value: "2s", base: { "execution.checkpointing.interval": "500ms" } },
  "execution.checkpointing.max-concurrent-checkpoints": { scenario: "cp-blob-delay", value: 3 },
  // Failed uploads decline checkpoints: with 0 tolerated the job fails over, with 20 it does not.
  "execution.checkpointing.tolerable-failed-checkpoints": { scenario: "cp-blob-fail", value: 20 },
  // Fewer discarded checkpoints, fewer blob deletes.
  "state.checkpoints.num-retained": { scenario: "stream-wc-slow", value: 3, base: { "execution.checkpointing.interval": "500ms" } },
  "execution.sorted-inputs.enabled": { scenario: "batch-wc", value: false, base: { "execution.batch-state-backend.enabled": false } },
  "heartbeat.interval": { scenario: "stream-wc-slow", value: "2s" },
  // The crashed TaskManager is declared lost sooner, so restarts stop failing on it sooner.
  "heartbeat.timeout": { scenario: "tm-crash", value: "20s", base: { "restart-strategy.type": "fixed-delay", "restart-strategy.fixed-delay.attempts": 100 } },
  "metrics.latency.interval": { scenario: "stream-wc", value: "1ms" },
  "parallelism.default": { scenario: "default-parallelism", value: 3 },
  // The reduce reads ≈ 20 MB: 2 subtasks at the default 16 MiB each; each probe moves that.
  "execution.batch.adaptive.auto-parallelism.enabled": { scenario: "adaptive", value: false },
  "execution.batch.adaptive.auto-parallelism.avg-data-volume-per-task": { scenario: "adaptive", value: "4mb" },
  "execution.batch.adaptive.auto-parallelism.max-parallelism": { scenario: "adaptive", value: 1 },
  "execution.batch.adaptive.auto-parallelism.min-parallelism": { scenario: "adaptive", value: 4 },
  "execution.batch.adaptive.auto-parallelism.default-source-parallelism": { scenario: "adaptive", value: 2 },
  "pipeline.auto-watermark-interval": { scenario: "window", value: "50ms" },
  "pipeline.max-parallelism": { scenario: "stream-wc", value: 256 },
  "pipeline.operator-chaining.enabled": { scenario: "stream-wc", value: false },
  "slot.request.timeout": { scenario: "few-slots", value: "10s" },
  // Without the spare the restarted job fails for lack of slots; with it, it finishes.
  "slotmanager.redundant-taskmanager-num": { scenario: "tm-crash-all-slots", value: 1 },
  "state.backend.type": { scenario: "stream-wc", value: "rocksdb" },
  // Checkpoints flush the memtable and upload only new SST files.
  "state.backend.incremental": { scenario: "rocks", value: true },
  // Fewer, bigger flushes.
  "state.backend.rocksdb.writebuffer.size": { scenario: "rocks", value: "1mb" },
  // Writes outrun the flushes: with more memtables they stall less.
  "state.backend.rocksdb.writebuffer.count": { scenario: "rocks", value: 8 },
  // A small L1 target pushes data on into L2 (more compactions).
  "state.backend.rocksdb.compaction.level.max-size-level-base": { scenario: "rocks", value: "64kb" },
  // Compaction output cut into several files.
  "state.backend.rocksdb.compaction.level.target-file-size-base": { scenario: "rocks", value: "64kb" },
  // No cache: every SST read is a disk read.
  "state.backend.rocksdb.block.cache-size": { scenario: "rocks", value: "0" },
  "state.backend.rocksdb.block.blocksize": { scenario: "rocks", value: "64kb" },
  // Network memory sizes matter where output pools fill up: under backpressure.
  "taskmanager.memory.flink.size": { scenario: "backpressure", value: "4mb", base: { "taskmanager.memory.network.min": "32kb" } },
  "taskmanager.memory.network.fraction": { scenario: "stream-wc", value: 0.0001, base: { "taskmanager.memory.network.min": "32kb" } },
  "taskmanager.memory.network.max": { scenario: "backpressure", value: "1mb", base: { "taskmanager.memory.network.min": "32kb" } },
  "taskmanager.memory.network.min": { scenario: "backpressure", value: "1mb", base: { "taskmanager.memory.network.fraction": 0.0001 } },
  "taskmanager.memory.segment-size": { scenario: "backpressure", value: "8kb" },
  "taskmanager.network.blocking-shuffle.compression.enabled": { scenario: "batch-wc", value: false },
  // Above batch-wc's parallelism (2 subpartitions per result): every blocking result uses the hash layout.
  "taskmanager.network.sort-shuffle.min-parallelism": { scenario: "batch-wc", value: 1000 },
  "taskmanager.network.memory.buffers-per-channel": { scenario: "backpressure", value: 4 },
  "taskmanager.network.memory.floating-buffers-per-gate": { scenario: "backpressure", value: 2 },
  "taskmanager.network.memory.max-buffers-per-channel": { scenario: "backpressure", value: 3 },
  "taskmanager.network.memory.max-overdraft-buffers-per-gate": { scenario: "backpressure", value: 0 },
  // One slot per TaskManager spreads the two subtasks over both hosts (remote channels).
  "taskmanager.numberOfTaskSlots": { scenario: "stream-wc", value: 1 },
  "taskmanager.network.memory.buffer-debloat.enabled": { scenario: "debloat", value: true },
  // Under backpressure: barriers overtake the queued buffers instead of waiting behind them.
  "execution.checkpointing.unaligned.enabled": { scenario: "debloat", value: true },
  "execution.checkpointing.aligned-checkpoint-timeout": { scenario: "debloat", value: "300ms", base: { "execution.checkpointing.unaligned.enabled": true } },
  "taskmanager.network.memory.buffer-debloat.period": { scenario: "debloat", value: "1s", base: { "taskmanager.network.memory.buffer-debloat.enabled": true } },
  "taskmanager.network.memory.buffer-debloat.target": { scenario: "debloat", value: "100ms", base: { "taskmanager.network.memory.buffer-debloat.enabled": true } },
  "taskmanager.network.memory.buffer-debloat.samples": { scenario: "debloat", value: 1, base: { "taskmanager.network.memory.buffer-debloat.enabled": true } },
  "taskmanager.network.memory.buffer-debloat.threshold-percentages": { scenario: "debloat", value: 90, base: { "taskmanager.network.memory.buffer-debloat.enabled": true } },
  // A tiny target asks for buffers below the minimum: the minimum decides their size.
  "taskmanager.memory.min-segment-size": {
    scenario: "debloat",
    value: "4kb",
    base: { "taskmanager.network.memory.buffer-debloat.enabled": true, "taskmanager.network.memory.buffer-debloat.target": "1ms" },
  },
  // Keyed state changes go to the log; checkpoints flush its tail, materializations run.
  "state.changelog.enabled": { scenario: "rocks", value: true },
  "state.changelog.periodic-materialize.enabled": { scenario: "changelog", value: false },
  "state.changelog.periodic-materialize.interval": { scenario: "changelog", value: "300ms" },
  // Materializations fail during the outage: with 0 tolerated the task fails at the first.
  "state.changelog.max-failures-allowed": { scenario: "changelog-blob-fail", value: 0 },
  // ~40 KB of changes per 200 ms checkpoint: a 16 KB threshold uploads between checkpoints.
  "state.changelog.dstl.dfs.preemptive-persist-threshold": { scenario: "changelog", value: "16kb" },
  "state.changelog.dstl.dfs.batch.persist-delay": { scenario: "changelog", value: "50ms" },
  // Every tail exceeds 1 KB: uploaded at once instead of after the persist delay.
  "state.changelog.dstl.dfs.batch.persist-size-threshold": { scenario: "changelog", value: "1kb" },
  // Uploads take ~20 ms: a 5 ms timeout starts second and third attempts.
  "state.changelog.dstl.dfs.upload.timeout": { scenario: "changelog", value: "5ms" },
  "state.changelog.dstl.dfs.upload.max-attempts": { scenario: "changelog", value: 1, base: { "state.changelog.dstl.dfs.upload.timeout": "5ms" } },
  // Failed uploads (the outage) retry sooner.
  "state.changelog.dstl.dfs.upload.next-attempt-delay": { scenario: "changelog-blob-fail", value: "50ms" },
  // Unset means UNFINISHED_PRODUCERS: consumers start with their producers; ALL_PRODUCERS_FINISHED holds them back.
  "jobmanager.partition.hybrid.partition-data-consume-constraint": { scenario: "batch-wc", value: "ALL_PRODUCERS_FINISHED", base: { "execution.batch-shuffle-mode": "ALL_EXCHANGES_HYBRID_FULL" } },
  "jobmanager.execution.failover-strategy": { scenario: "failing-twice-batch", value: "full", base: { "restart-strategy.type": "fixed-delay", "restart-strategy.fixed-delay.attempts": 5 } },
  "restart-strategy.type": { scenario: "failing-twice", value: "fixed-delay" },
  "execution.batch.speculative.enabled": { scenario: "stragglers", value: true, base: { "execution.batch.speculative.enabled": false } },
  // A third attempt of each slow subtask.
  "execution.batch.speculative.max-concurrent-executions": { scenario: "stragglers", value: 3 },
  // 0: slow hosts are never blocked, so the next stage runs on them too.
  "execution.batch.speculative.block-slow-node-duration": { scenario: "stragglers", value: "0" },
  "slow-task-detector.check-interval": { scenario: "stragglers", value: "7s" },
  "execution.batch.job-recovery.enabled": { scenario: "jm-failover", value: true, base: { "execution.batch.job-recovery.enabled": false } },
  // HA: the new leader waits for the lease and restores the latest checkpoint instead of starting over.
  "high-availability.type": { scenario: "jm-failover-streaming", value: "KUBERNETES" },
  // The leader is elected when the process is back (13 s) instead of at the lease's end (23 s).
  "high-availability.kubernetes.leader-election.lease-duration": { scenario: "jm-failover-streaming", value: "5s", base: { "high-availability.type": "KUBERNETES" } },
  "high-availability.zookeeper.client.session-timeout": { scenario: "jm-failover-streaming", value: "20s", base: { "high-availability.type": "ZOOKEEPER" } },
  // The wait for tm-2, which never re-registers, ends sooner.
  "execution.batch.job-recovery.previous-worker.recovery.timeout": { scenario: "jm-failover-tm-lost", value: "5s" },
  // Every finished event carries a snapshot: the tail trim keeps the eight Parse subtasks.
  "execution.batch.job-recovery.snapshot.min-pause": { scenario: "jm-failover-partial", value: "0" },
  // A buffer smaller than two events: flushed when full, not on the interval.
  "job-event.store.write-buffer.size": { scenario: "jm-failover", value: "256b" },
  "job-event.store.write-buffer.flush-interval": { scenario: "jm-failover", value: "100ms" },
  // Parse subtasks run ~100–400 s: a 10 min lower bound makes none slow.
  "slow-task-detector.execution-time.baseline-lower-bound": { scenario: "stragglers", value: "10min" },
  // 12 of 16 subtasks are fast (0.75): at 0.9 the slow four are never looked at.
  "slow-task-detector.execution-time.baseline-ratio": { scenario: "stragglers", value: 0.9 },
  "slow-task-detector.execution-time.baseline-multiplier": { scenario: "stragglers", value: 3.5 },
  "restart-strategy.fixed-delay.attempts": { scenario: "failing-twice", value: 3, base: { "restart-strategy.type": "fixed-delay" } },
  "restart-strategy.fixed-delay.delay": { scenario: "failing-twice", value: "5s", base: { "restart-strategy.type": "fixed-delay", "restart-strategy.fixed-delay.attempts": 3 } },
  "restart-strategy.failure-rate.max-failures-per-interval": { scenario: "failing-twice", value: 3, base: { "restart-strategy.type": "failure-rate" } },
  "restart-strategy.failure-rate.failure-rate-interval": { scenario: "failing-twice", value: "500ms", base: { "restart-strategy.type": "failure-rate" } },
  "restart-strategy.failure-rate.delay": { scenario: "failing-twice", value: "5s", base: { "restart-strategy.type": "failure-rate", "restart-strategy.failure-rate.max-failures-per-interval": 3 } },
  "restart-strategy.exponential-delay.initial-backoff": { scenario: "failing-twice", value: "2s", base: { "restart-strategy.type": "exponential-delay" } },
  "restart-strategy.exponential-delay.max-backoff": { scenario: "failing-twice", value: "1200ms", base: { "restart-strategy.type": "exponential-delay" } },
  "restart-strategy.exponential-delay.backoff-multiplier": { scenario: "failing-twice", value: 3, base: { "restart-strategy.type": "exponential-delay" } },
  "restart-strategy.exponential-delay.reset-backoff-threshold": { scenario: "failing-twice-slow", value: "100ms", base: { "restart-strategy.type": "exponential-delay" } },
  "restart-strategy.exponential-delay.jitter-factor": { scenario: "failing-twice", value: 0.5, base: { "restart-strategy.type": "exponential-delay" } },
  "restart-strategy.exponential-delay.attempts-before-reset-backoff": { scenario: "failing-twice", value: 1, base: { "restart-strategy.type": "exponential-delay" } },
};

/**
 * What the run did: its trace without the first line (RunStarted lists the config, so any
 * option value would change that line by itself). The rest is every engine event, and
 * RunEnded carries the kernel's rolling hash over every event's time and order and every
 * committed record.
 */
function fingerprint(scenario: keyof typeof SCENARIOS, config: Record<string, unknown>): string {
  const sink = new MemorySink();
  runJob({ ...SCENARIOS[scenario](), seed: 3, scenario: `probe ${scenario}`, config, trace: { sink } });
  expect(JSON.parse(sink.lines[0]!).kind).toBe("RunStarted");
  return createHash("sha256").update(sink.lines.slice(1).join("\n")).digest("hex");
}

describe("option sensitivity", () => {
  it("every option is either probed or listed as having no effect yet, with a reason", () => {
    const noEffect = new Map(optionsWithoutEffect().map((o) => [o.key, o.reason]));
    for (const o of OPTIONS) {
      if (o.effect === "modelled") expect(PROBES[o.key as OptionKey], `${o.key} is modelled but has no probe`).toBeDefined();
      else expect(noEffect.get(o.key as OptionKey)?.length ?? 0, `${o.key} needs a reason`).toBeGreaterThan(10);
    }
  });

  // Every option is modelled now; min-parallelism still has no effect on a STREAMING job
  // (its results are pipelined, never BLOCKING), which is what this test needs.
  it("the measure ignores the config line: an option with no effect on the run leaves it unchanged", () => {
    const base = BASE_CONFIG["stream-wc"]!;
    expect(fingerprint("stream-wc", { ...base, "taskmanager.network.sort-shuffle.min-parallelism": 7 })).toBe(fingerprint("stream-wc", base));
  });

  const modelled = OPTIONS.filter((o) => o.effect === "modelled").map((o) => o.key as OptionKey);
  it.each(modelled)("%s changes the fingerprint of its probe scenario", (key) => {
    const probe = PROBES[key]!;
    const base = { ...BASE_CONFIG[probe.scenario], ...probe.base };
    const without = fingerprint(probe.scenario, base);
    const withValue = fingerprint(probe.scenario, { ...base, [key]: probe.value });
    expect(withValue, `setting ${key}=${String(probe.value)} changed nothing in "${probe.scenario}"`).not.toBe(without);
  });
});
