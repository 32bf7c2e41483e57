/**
 * A synthetic, valid trace v1 of a chosen size for the visualizer benchmark: a streaming
 * job (a few vertices × high parallelism on many TaskManagers) sampled for TaskMetrics
 * every 100 ms, checkpoints every second with every subtask's acknowledgement, and a
 * region failover every minute with its task state changes — the event mix of a long
 * summary-level run, without spending minutes simulating one. Deterministic (an LCG
 * seeded by a constant): the same size always gives the same file.
 */
import { createWriteStream, mkdirSync } from "node:fs";
import { dirname } from "node:path";

export interface GenOptions {
  events: number;
  vertices?: number;
  parallelism?: number;
  hosts?: number;
}

export async function generateTrace(path: string, opts: GenOptions): Promise<number> {
  const V = opts.vertices ?? 6;
  const P = opts.parallelism ?? 32;
  const H = opts.hosts ?? 16;
  const slotsPerHost = Math.ceil(P / H); // slot sharing: one slot runs one subtask of each vertex
  mkdirSync(dirname(path), { recursive: true });
  const out = createWriteStream(path);
  let seq = 0;
  let t = 0;
  let lcg = 12345;
  const rand = () => ((lcg = (Math.imul(lcg, 1103515245) + 12345) >>> 0) / 2 ** 32);
  let buf: string[] = [];
  const emit = (kind: string, fields: Record<string, unknown>) => {
    buf.push(JSON.stringify({ v: 1, seq: seq++, t, kind, ...fields }));
    if (buf.length >= 10_000) flush();
  };
  const flush = () => {
    if (buf.length > 0) out.write(buf.join("\n") + "\n");
    buf = [];
  };
  const budget = opts.events - 1; // RunEnded
  emit("RunStarted", { seed: "1", scenario: "synthetic-viz-bench", flowsimVersion: "0.1.0", nodeVersion: process.version, level: "summary", config: {} });
  const hostOf = (sub: number) => `tm-${(sub % H) + 1}`;
  const slotOf = (sub: number) => Math.floor(sub / H) % slotsPerHost;
  for (let h = 0; h < H; h++) emit("HostAdded", { host: `tm-${h + 1}`, cores: 4, speed: 1 });
  const vertices = Array.from({ length: V }, (_, i) => ({ id: `v${i}`, name: i === 0 ? "Source: events" : i === V - 1 ? "Sink: out" : `Map ${i}`, parallelism: P, maxParallelism: 128, chain: [`op${i}`] }));
  const edges = vertices.slice(1).map((v, i) => ({ source: `v${i}`, target: v.id, distribution: "ALL_TO_ALL", partitioner: "hash", partitionType: "PIPELINED_BOUNDED" }));
  const all = vertices.flatMap((v) => Array.from({ length: P }, (_, s) => `${v.id}[${s}]`));
  emit("JobSubmitted", { job: "synthetic", runtimeMode: "STREAMING", vertices, edges, regions: [{ id: 0, subtasks: all }] });
  const attempt = new Map<string, number>();
  const states = ["SCHEDULED", "DEPLOYING", "INITIALIZING", "RUNNING"];
  const start = (v: number, s: number) => {
    const a = attempt.get(`v${v}[${s}]`) ?? 0;
    for (const state of states) emit("TaskStateChanged", { vertex: `v${v}`, name: vertices[v]!.name, subtask: s, attempt: a, host: hostOf(s), slot: slotOf(s), state });
  };
  t = 100_000;
  for (let v = 0; v < V; v++) for (let s = 0; s < P; s++) start(v, s);
  let cp = 0;
  let sample = 0;
  while (seq < budget - (V * P + 10)) {
    sample++;
    t = sample * 100_000_000;
    for (let v = 0; v < V && seq < budget; v++) {
      for (let s = 0; s < P && seq < budget; s++) {
        const bp = v < V - 2 && sample % 50 > 30 ? 0.4 + 0.6 * rand() : 0.05 * rand();
        emit("TaskMetrics", { vertex: `v${v}`, subtask: s, host: hostOf(s), busy: 0.5, backpressured: Math.round(bp * 1000) / 1000, idle: 0.5 - bp / 2, recordsIn: 1000 + Math.floor(rand() * 100), recordsOut: 1000, inputQueueBuffers: Math.floor(rand() * 8), outputQueueBuffers: Math.floor(rand() * 8), watermarkMs: sample * 100 - 200 });
      }
    }
    if (sample % 10 === 5 && seq < budget - 2 * all.length) {
      cp++;
      const trig = t;
      emit("CheckpointTriggered", { checkpoint: cp, mode: "EXACTLY_ONCE", subtasks: all.length, triggered: all.slice(0, P) });
      for (const sub of all) {
        t += 1000 + Math.floor(rand() * 100_000);
        emit("CheckpointAcknowledged", { checkpoint: cp, subtask: sub, host: "tm-1", startDelayNs: 1000, alignmentNs: 2000, syncNs: 100_000, asyncNs: Math.max(0, t - trig - 103_000), stateBytes: 4096, afterEndOfInput: false });
      }
      emit("CheckpointCompleted", { checkpoint: cp, durationNs: t - trig, stateBytes: 4096 * all.length, subtasks: all.length });
    }
    if (sample % 600 === 300 && seq < budget - 4 * all.length) {
      t += 1000;
      const failedSub = Math.floor(rand() * P);
      const failed = `v1[${failedSub}]`;
      emit("TaskStateChanged", { vertex: "v1", name: vertices[1]!.name, subtask: failedSub, attempt: attempt.get(failed) ?? 0, host: hostOf(failedSub), slot: slotOf(failedSub), state: "FAILED", cause: "synthetic failure" });
      emit("FailoverTriggered", { cause: `synthetic failure of ${failed}`, failed, failoverStrategy: "region", restartStrategy: "fixed-delay", vertices: all, regions: [0], backoffNs: 1_000_000_000, merged: false });
      for (let v = 0; v < V; v++) for (let s = 0; s < P; s++) if (!(v === 1 && s === failedSub)) emit("TaskStateChanged", { vertex: `v${v}`, name: vertices[v]!.name, subtask: s, attempt: attempt.get(`v${v}[${s}]`) ?? 0, host: hostOf(s), slot: slotOf(s), state: "CANCELED" });
      t += 1_000_000_000;
      sample += 10;
      emit("TasksRestarted", { vertices: all });
      for (const sub of all) attempt.set(sub, (attempt.get(sub) ?? 0) + 1);
      for (let v = 0; v < V; v++) for (let s = 0; s < P; s++) start(v, s);
    }
  }
  // Top up to the exact size with notes, so "1M events" means 1,000,000.
  while (seq < budget) emit("Note", { text: "padding" });
  t += 1;
  emit("RunEnded", { reason: "time limit", kernelEvents: seq * 10, traceEvents: seq + 1, droppedEvents: 0, kernelHash: "0" });
  flush();
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return seq;
}
