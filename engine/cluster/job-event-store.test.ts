import { describe, expect, it } from "vitest";
import { BlobStore } from "../../sim/blob-store";
import { Host } from "../../sim/host";
import { Kernel } from "../../sim/kernel";
import { Rng } from "../../sim/rng";
import { MemorySink, Trace } from "../../sim/trace/recorder";
import type { ExecutionVertexId } from "../graph/execution-graph";
import { JobEventStore, clearJobEvents, hasJobEvents, jobEventBytes, readJobEvents, type JobEvent, type ReadLog } from "./job-event-store";

const PREFIX = "job-events/test";

function setup(opts: { writeBufferBytes?: number; flushIntervalNs?: number } = {}) {
  const kernel = new Kernel();
  const trace = new Trace(kernel, { level: "summary", sink: new MemorySink() });
  trace.start({ seed: "1", scenario: "event-store-test", flowsimVersion: "0", nodeVersion: process.version, level: "summary", config: {} });
  const host = new Host(kernel, trace, { name: "jm", cores: 2 });
  // Fixed latency, so flush times are exact.
  const blob = new BlobStore(kernel, trace, Rng.root(1), { latency: "20ms", bandwidthBytesPerS: 1e9 });
  const flushed: { atNs: number; segment: number; events: number; reason: string }[] = [];
  const store = new JobEventStore(kernel, blob, host, {
    writeBufferBytes: opts.writeBufferBytes ?? 1024 * 1024,
    flushIntervalNs: opts.flushIntervalNs ?? 1e9,
    prefix: PREFIX,
    onFlushed: (segment, events, _bytes, reason) => flushed.push({ atNs: kernel.now, segment, events, reason }),
  });
  const read = (): ReadLog => {
    let out: ReadLog | undefined;
    readJobEvents(blob, host, PREFIX, (err, log) => {
      expect(err).toBeUndefined();
      out = log;
    });
    kernel.run({ untilNs: kernel.now + 10e9 });
    return out!;
  };
  return { kernel, host, blob, store, flushed, read };
}

const finished = (i: number, snapshot = false): JobEvent => ({ type: "ExecutionVertexFinished", vertex: `v0[${i}]` as ExecutionVertexId, attemptNumber: 0, host: "tm-1", producedBytes: [[10, 20]], snapshot });

describe("job event store", () => {
  it("buffers events and flushes them every flush interval, one blob put each (latency counts)", () => {
    const { kernel, store, flushed, blob } = setup();
    kernel.schedule(100e6, () => store.write(finished(0), false));
    kernel.schedule(200e6, () => store.write(finished(1), false));
    // The flush timer is a daemon (it must not keep a finished run alive): keep this one alive.
    kernel.schedule(2e9, () => {});
    kernel.run({ untilNs: 999e6 });
    expect(flushed).toEqual([]);
    expect(store.pendingEvents).toBe(2);
    kernel.run({ untilNs: 1.5e9 });
    // Flushed at 1 s, durable after the 20 ms latency plus the transfer.
    expect(flushed).toHaveLength(1);
    expect(flushed[0]).toMatchObject({ segment: 0, events: 2, reason: "interval" });
    expect(flushed[0]!.atNs).toBeGreaterThanOrEqual(1.02e9);
    expect(blob.list(PREFIX)).toHaveLength(1);
  });

  it("flushes at once when a job vertex finished (cutBlock), and when the buffer is full", () => {
    const { kernel, store, flushed } = setup({ writeBufferBytes: 3 * jobEventBytes(finished(0)) });
    kernel.schedule(10e6, () => store.write(finished(0, true), true));
    kernel.schedule(100e6, () => {
      for (let i = 1; i <= 3; i++) store.write(finished(i), false);
    });
    kernel.run({ untilNs: 500e6 });
    expect(flushed.map((f) => [f.reason, f.events])).toEqual([
      ["vertex-finished", 1],
      ["full", 3],
    ]);
  });

  it("writes segments strictly in order, one put in flight at a time", () => {
    const { kernel, store, flushed } = setup();
    kernel.schedule(10e6, () => {
      store.write(finished(0), true);
      store.write(finished(1), true);
      store.write(finished(2), true);
    });
    kernel.run({ untilNs: 1e9 });
    expect(flushed.map((f) => f.segment)).toEqual([0, 1, 2]);
    // Each waited for the one before: ≥ 20 ms apart.
    expect(flushed[1]!.atNs - flushed[0]!.atNs).toBeGreaterThanOrEqual(20e6);
    expect(flushed[2]!.atNs - flushed[1]!.atNs).toBeGreaterThanOrEqual(20e6);
  });

  it("loses what was buffered or in flight when the JobManager's host crashes", () => {
    const { kernel, host, store, read, blob } = setup();
    kernel.schedule(10e6, () => store.write(finished(0), true)); // durable at ~30 ms
    kernel.schedule(100e6, () => store.write(finished(1), true)); // put in flight at the crash
    kernel.schedule(105e6, () => store.write(finished(2), false)); // only buffered
    kernel.schedule(110e6, () => {
      host.crash();
      store.stop();
    });
    kernel.schedule(200e6, () => host.restart());
    kernel.run({ untilNs: 2e9 });
    expect(blob.opsAbandoned).toBe(1);
    const log = read();
    expect(log.segments).toBe(1);
    expect(log.events.map((e) => (e.type === "ExecutionVertexFinished" ? e.vertex : ""))).toEqual(["v0[0]"]);
  });

  it("a new writer appends after the segments it read; clearing empties the log", () => {
    const { kernel, store, read, blob, host } = setup();
    kernel.schedule(10e6, () => store.write(finished(0), true));
    kernel.run({ untilNs: 500e6 });
    store.stop();
    const first = read();
    expect(first.segments).toBe(1);
    const next = new JobEventStore(kernel, blob, host, { writeBufferBytes: 1 << 20, flushIntervalNs: 1e9, prefix: PREFIX }, first.segments);
    next.write({ type: "ExecutionVertexReset", vertices: ["v0[0]" as ExecutionVertexId] }, true);
    kernel.run({ untilNs: kernel.now + 500e6 });
    next.stop();
    expect(read().events.map((e) => e.type)).toEqual(["ExecutionVertexFinished", "ExecutionVertexReset"]);
    let cleared = false;
    clearJobEvents(blob, host, PREFIX, () => (cleared = true));
    kernel.run({ untilNs: kernel.now + 500e6 });
    expect(cleared).toBe(true);
    expect(hasJobEvents(blob, PREFIX)).toBe(false);
  });

  it("a gap ends the readable log (nothing after it is trusted)", () => {
    const { kernel, store, read, blob, host } = setup();
    kernel.schedule(10e6, () => {
      for (let i = 0; i < 3; i++) store.write(finished(i), true);
    });
    kernel.run({ untilNs: 500e6 });
    blob.delete(host, `${PREFIX}/segment-000000001`, () => {});
    kernel.run({ untilNs: kernel.now + 500e6 });
    const log = read();
    expect(log.segments).toBe(1);
    expect(log.events).toHaveLength(1);
  });
});
