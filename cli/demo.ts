/** `flowsim demo`: runs the kernel demo, writes its trace, prints a summary. */
import { InputError } from "../sim/errors";
import { formatDuration } from "../sim/time";
import type { TraceLevel } from "../sim/trace/events";
import { runKernelDemo, type DemoSummary } from "../scenarios/kernel-demo";
import { FileSink } from "./files";

export interface DemoCommandOptions {
  seed: number;
  tracePath: string;
  level: string;
  duration: string;
  json: boolean;
}

export function runDemoCommand(opts: DemoCommandOptions): void {
  if (opts.level !== "summary" && opts.level !== "detailed") {
    throw new InputError("--level", `must be "summary" or "detailed", got "${opts.level}"`);
  }
  const sink = new FileSink(opts.tracePath);
  const wallStart = process.hrtime.bigint();
  let summary: DemoSummary;
  try {
    summary = runKernelDemo({ seed: opts.seed, sink, level: opts.level as TraceLevel, duration: opts.duration });
  } catch (e) {
    sink.abort();
    throw e;
  }
  const wallMs = Number(process.hrtime.bigint() - wallStart) / 1e6;
  if (opts.json) {
    console.log(JSON.stringify({ ...summary, trace: opts.tracePath, wallMs: Math.round(wallMs) }));
    return;
  }
  const s = summary;
  const rows: [string, string][] = [
    ["virtual time", formatDuration(s.virtualNs)],
    ["requests", `${s.requestsSent} sent, ${s.repliesReceived} replied, ${s.requestsLost} lost to faults`],
    ["reply latency", `p50 ${s.latencyMsP50} ms, p99 ${s.latencyMsP99} ms`],
    ["replies per worker", Object.entries(s.repliesPerWorker).map(([w, n]) => `${w} ${n}`).join(", ")],
    ["connections lost", `${s.connectionsLost} (peer closed), ${s.heartbeatTimeouts} heartbeat timeouts, ${s.reconnects} reconnects`],
    ["worker log lost", `${s.workerLogBytesLost} unsynced bytes lost in the crash`],
    ["snapshots", `${s.snapshotsUploaded} uploaded, ${s.snapshotsFailed} failed (blob outage)`],
    ["events", `${s.kernelEvents} kernel, ${s.traceEvents} trace`],
    ["wall time", `${Math.round(wallMs)} ms (${Math.round(s.virtualNs / 1e6 / Math.max(wallMs, 1))}x real time)`],
    ["trace", opts.tracePath],
    ["fingerprint", s.fingerprint],
  ];
  console.log(`flowsim kernel demo, seed ${s.seed}: faults = slow tm-1 10–15s, crash tm-2 20–30s, partition jm|tm-3 35–45s, blob outage 50–53s`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(20)} ${v}`);
}
