import { describe, expect, it } from "vitest";
import { InvariantError } from "../../../sim/errors";
import { InsufficientNetworkBuffersError } from "./buffer-pool";
import type { BufferWritingPartition } from "./buffer-writing-partition";
import type { GateError } from "./input-gate";
import { pipelinedPoolBounds } from "./pipelined-partition";
import { MS, TestConsumer, TestProducer, US, expectedPerSubpartition, netWorld } from "./test-harness";

const sizeOf = (i: number) => 10 + ((i * 7919) % 3000);

describe("pipelined shuffle: delivery", () => {
  it("delivers every record exactly once, in order, over local and remote channels; END_OF_PARTITION ends the gates", () => {
    const w = netWorld();
    const n = 2000;
    const subOf = (i: number) => (i * 31) % 2;
    const p1 = w.env("tm-1").createResultPartition({ partitionId: "p1", numSubpartitions: 2, type: "PIPELINED_BOUNDED", owner: "a1" });
    const p2 = w.env("tm-2").createResultPartition({ partitionId: "p2", numSubpartitions: 2, type: "PIPELINED_BOUNDED", owner: "a2" });
    const gA = w.env("tm-1").createInputGate({
      gateId: "gA",
      owner: "c1",
      channels: [
        { partitionId: "p1", subpartition: 0, producerHost: "tm-1" },
        { partitionId: "p2", subpartition: 0, producerHost: "tm-2" },
      ],
    });
    const gB = w.env("tm-2").createInputGate({
      gateId: "gB",
      owner: "c2",
      channels: [
        { partitionId: "p1", subpartition: 1, producerHost: "tm-1" },
        { partitionId: "p2", subpartition: 1, producerHost: "tm-2" },
      ],
    });
    expect([gA.isLocal(0), gA.isLocal(1), gB.isLocal(0), gB.isLocal(1)]).toEqual([true, false, false, true]);
    new TestProducer(w.world, p1, { records: n, subpartitionOf: subOf, bytesOf: sizeOf, recordsPerItem: 4, itemCpuNs: 20 * US }).start();
    new TestProducer(w.world, p2, { records: n, subpartitionOf: subOf, bytesOf: sizeOf, recordsPerItem: 3, itemCpuNs: 15 * US }).start();
    const cA = new TestConsumer(w.world, gA, { perBufferNs: 30 * US }).start();
    const cB = new TestConsumer(w.world, gB, { perBufferNs: 50 * US }).start();
    expect(w.world.run().reason).toBe("idle");
    const expected = expectedPerSubpartition(n, 2, subOf);
    expect(cA.values).toEqual([expected[0], expected[0]]);
    expect(cB.values).toEqual([expected[1], expected[1]]);
    expect(gA.isFinished() && gB.isFinished()).toBe(true);
    expect(cA.eopAtNs.every((t) => t > 0) && cB.eopAtNs.every((t) => t > 0)).toBe(true);
    // Released on consumption: the pipelined partitions left their partition managers.
    expect(w.env("tm-1").hasPartition("p1") || w.env("tm-2").hasPartition("p2")).toBe(false);
    expect(p1.state).toBe("finished");
    expect(p1.bytesSent).toBe(p1.bytesEmitted);
    gA.release();
    gB.release();
    for (const e of w.envs.values()) {
      expect(e.buffersInUse).toBe(0);
      expect(e.maxBuffersInUseObserved).toBeLessThanOrEqual(e.totalBuffers);
    }
  });

  it("a local channel learns of new data in a kernel event, never synchronously", () => {
    const w = netWorld({ params: { bufferTimeoutNs: 0 } });
    const p = w.env("tm-1").createResultPartition({ partitionId: "p", numSubpartitions: 1, type: "PIPELINED_BOUNDED", owner: "a" });
    const g = w.env("tm-1").createInputGate({ gateId: "g", owner: "c", channels: [{ partitionId: "p", subpartition: 0, producerHost: "tm-1" }] });
    g.requestPartitions();
    let polledAtOnce: unknown = "not run";
    let wokeAt = -1;
    w.world.kernel.after(MS, () => {
      p.emitRecord(0, "x", 1, 100);
      polledAtOnce = g.poll();
      g.onAvailable(() => (wokeAt = w.world.now));
    });
    w.world.run();
    expect(polledAtOnce).toBeUndefined();
    expect(wokeAt).toBe(MS);
    const r = g.poll();
    expect(r?.buffer.values).toEqual(["x"]);
    expect(r?.channel).toBe(0);
  });

  it("broadcasts records and watermarks to every subpartition, in order with the unicast records", () => {
    const w = netWorld();
    const n = 600;
    const subOf = (i: number) => i % 3;
    const p = w.env("tm-1").createResultPartition({ partitionId: "p", numSubpartitions: 3, type: "PIPELINED_BOUNDED", owner: "a" });
    const g = w.env("tm-2").createInputGate({
      gateId: "g",
      owner: "c",
      channels: [0, 1, 2].map((s) => ({ partitionId: "p", subpartition: s, producerHost: "tm-1" })),
    });
    new TestProducer(w.world, p, { records: n, subpartitionOf: subOf, bytesOf: () => 200, watermarkEvery: 50 }).start();
    const c = new TestConsumer(w.world, g, { perBufferNs: 10 * US }).start();
    w.world.run();
    expect(c.values).toEqual(expectedPerSubpartition(n, 3, subOf));
    const wms = Array.from({ length: n / 50 }, (_, k) => 50 * (k + 1) - 1);
    expect(c.watermarks).toEqual([wms, wms, wms]);

    const w2 = netWorld();
    const b = w2.env("tm-1").createResultPartition({ partitionId: "b", numSubpartitions: 2, type: "PIPELINED_BOUNDED", owner: "a", broadcast: true });
    expect(() => b.emitRecord(0, 1, 1, 10)).toThrow(InvariantError);
    const g2 = w2.env("tm-2").createInputGate({ gateId: "g", owner: "c", channels: [0, 1].map((s) => ({ partitionId: "b", subpartition: s, producerHost: "tm-1" })) });
    const c2 = new TestConsumer(w2.world, g2, { perBufferNs: 10 * US }).start();
    w2.world.kernel.after(0, () => {
      for (let i = 0; i < 300; i++) b.broadcastRecord(i, i, 500);
      b.finish();
    });
    w2.world.run();
    const all = Array.from({ length: 300 }, (_, i) => i);
    expect(c2.values).toEqual([all, all]);
    // Written once: the shared buffers count once against the pool.
    expect(b.bytesEmitted).toBe(300 * 505);
  });
});

describe("pipelined shuffle: credit-based flow control and backpressure", () => {
  it("a slow remote consumer backpressures the producer; buffers stay within credits and the pool", () => {
    const w = netWorld();
    const p = w.env("tm-1").createResultPartition({ partitionId: "p", numSubpartitions: 1, type: "PIPELINED_BOUNDED", owner: "a" }) as BufferWritingPartition;
    const g = w.env("tm-2").createInputGate({ gateId: "g", owner: "c", channels: [{ partitionId: "p", subpartition: 0, producerHost: "tm-1" }] });
    const { max } = pipelinedPoolBounds(1, 2, 8);
    let maxConsumerQueue = 0;
    const check = () => {
      const s = g.channelStats(0);
      maxConsumerQueue = Math.max(maxConsumerQueue, s.inUse);
      expect(s.inUse).toBeLessThanOrEqual(2 + 8);
      expect(p.buffersInUse).toBeLessThanOrEqual(max + 5);
    };
    const prod = new TestProducer(w.world, p, { records: 3000, subpartitionOf: () => 0, bytesOf: () => 1000 }).start();
    const c = new TestConsumer(w.world, g, { perBufferNs: 1 * MS, check }).start();
    w.world.run();
    expect(c.values[0]).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    expect(prod.unavailableEvents).toBeGreaterThan(10);
    // The consumer's credits were used: exclusive plus floating buffers filled up (the
    // check runs after a recycle, so it sees one buffer fewer than the peak).
    expect(maxConsumerQueue).toBe(9);
    expect(g.channelStats(0).maxInUseObserved).toBe(10);
    expect(p.maxBuffersInUseObserved).toBeLessThanOrEqual(max + 5);
    // The producer's subpartition quota (max-buffers-per-channel 10) bounded its queue.
    expect(p.maxBuffersInUseObserved).toBeLessThanOrEqual(10 + 1);
    // About 3000 × 1005 B / 32 KiB ≈ 92 buffers at 1 ms each: the consumer set the pace.
    expect(w.world.now).toBeGreaterThan(90 * MS);
  });

  it("with a fast consumer the producer is rarely unavailable", () => {
    const w = netWorld();
    const p = w.env("tm-1").createResultPartition({ partitionId: "p", numSubpartitions: 4, type: "PIPELINED_BOUNDED", owner: "a" });
    const g = w.env("tm-2").createInputGate({
      gateId: "g",
      owner: "c",
      channels: [0, 1, 2, 3].map((s) => ({ partitionId: "p", subpartition: s, producerHost: "tm-1" })),
    });
    const prod = new TestProducer(w.world, p, { records: 5000, subpartitionOf: (i) => i % 4, bytesOf: () => 500, recordsPerItem: 10, itemCpuNs: 50 * US }).start();
    const c = new TestConsumer(w.world, g, { perBufferNs: 2 * US }).start();
    w.world.run();
    expect(c.values.flat().length).toBe(5000);
    expect(prod.backpressuredNs).toBeLessThan(0.01 * w.world.now);
  });

  it("a slow local consumer backpressures through the producer's bounded pool only", () => {
    const w = netWorld();
    const p = w.env("tm-1").createResultPartition({ partitionId: "p", numSubpartitions: 1, type: "PIPELINED_BOUNDED", owner: "a" });
    const g = w.env("tm-1").createInputGate({ gateId: "g", owner: "c", channels: [{ partitionId: "p", subpartition: 0, producerHost: "tm-1" }] });
    let maxQueued = 0;
    const prod = new TestProducer(w.world, p, { records: 2000, subpartitionOf: () => 0, bytesOf: () => 2000 }).start();
    const c = new TestConsumer(w.world, g, { perBufferNs: MS, check: () => (maxQueued = Math.max(maxQueued, g.buffersQueued(0))) }).start();
    w.world.run();
    expect(c.values[0]!.length).toBe(2000);
    expect(prod.unavailableEvents).toBeGreaterThan(10);
    expect(maxQueued).toBeLessThanOrEqual(10);
    expect(p.maxBuffersInUseObserved).toBeLessThanOrEqual(10 + 1);
    expect(w.env("tm-1").wireBytesSent).toBe(0);
  });

  it("overdraft finishes records larger than the free buffers; a record larger than pool + overdraft waits mid-record", () => {
    const w = netWorld();
    const p = w.env("tm-1").createResultPartition({ partitionId: "p", numSubpartitions: 1, type: "PIPELINED_BOUNDED", owner: "a" }) as BufferWritingPartition;
    const g = w.env("tm-2").createInputGate({ gateId: "g", owner: "c", channels: [{ partitionId: "p", subpartition: 0, producerHost: "tm-1" }] });
    // 100 KB records span 4 buffers; a 1 MB record needs 32, more than pool (10) + overdraft (5).
    const bytes = (i: number) => (i === 20 ? 1024 * 1024 : 100_000);
    new TestProducer(w.world, p, { records: 40, subpartitionOf: () => 0, bytesOf: bytes }).start();
    const c = new TestConsumer(w.world, g, { perBufferNs: 200 * US }).start();
    w.world.run();
    expect(c.values[0]).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(w.marks()).toContain("network.overdraftUsed");
    expect(w.marks()).toContain("network.blockedMidRecord");
    expect(p.maxBuffersInUseObserved).toBe(p.poolMaxBuffers + 5);
  });
});

describe("pipelined shuffle: flushing and holds", () => {
  function loneRecord(bufferTimeoutNs: number, emitAtNs: number) {
    const w = netWorld({ params: { bufferTimeoutNs } });
    const p = w.env("tm-1").createResultPartition({ partitionId: "p", numSubpartitions: 1, type: "PIPELINED_BOUNDED", owner: "a" });
    const g = w.env("tm-2").createInputGate({ gateId: "g", owner: "c", channels: [{ partitionId: "p", subpartition: 0, producerHost: "tm-1" }] });
    const c = new TestConsumer(w.world, g, { perBufferNs: 1 * US }).start();
    w.world.kernel.after(emitAtNs, () => p.emitRecord(0, 42, 0, 100));
    const result = w.world.run();
    return { w, c, p, result };
  }

  it("a lone record leaves on the buffer-timeout grid (100 ms), not before; the flush timer then goes away", () => {
    const { c, result, w } = loneRecord(100 * MS, 30 * MS);
    expect(c.values[0]).toEqual([42]);
    const at = c.arrivalNs[0]![0]!;
    expect(at).toBeGreaterThanOrEqual(100 * MS);
    expect(at).toBeLessThan(100 * MS + 2 * MS);
    // No timer remains once nothing is partly filled: the run went idle right after.
    expect(result.reason).toBe("idle");
    expect(w.world.now).toBeLessThan(101 * MS);
  });

  it("timeout 0 flushes after every record; a disabled timeout keeps the record until flush()", () => {
    const zero = loneRecord(0, 30 * MS);
    expect(zero.c.arrivalNs[0]![0]!).toBeLessThan(30 * MS + 2 * MS);
    const off = loneRecord(-1, 30 * MS);
    expect(off.c.values[0]).toEqual([]);
    off.p.flush();
    off.w.world.run();
    expect(off.c.values[0]).toEqual([42]);
  });

  it("hold delays sending until unhold (outputs leave when the work item's CPU time has elapsed)", () => {
    const w = netWorld({ params: { bufferTimeoutNs: 0 } });
    const p = w.env("tm-1").createResultPartition({ partitionId: "p", numSubpartitions: 1, type: "PIPELINED_BOUNDED", owner: "a" });
    const g = w.env("tm-2").createInputGate({ gateId: "g", owner: "c", channels: [{ partitionId: "p", subpartition: 0, producerHost: "tm-1" }] });
    const c = new TestConsumer(w.world, g, { perBufferNs: 1 * US }).start();
    w.world.kernel.after(MS, () => {
      p.hold();
      for (let i = 0; i < 5; i++) p.emitRecord(0, i, i, 100);
      expect(p.queuedBuffers()).toBe(5);
      w.world.kernel.after(5 * MS, () => p.unhold());
    });
    w.world.run();
    expect(c.values[0]).toEqual([0, 1, 2, 3, 4]);
    expect(Math.min(...c.arrivalNs[0]!)).toBeGreaterThanOrEqual(6 * MS);
  });
});

describe("pipelined shuffle: errors and memory", () => {
  it("a partition requested before it exists is found after the request backoff", () => {
    const w = netWorld();
    const g = w.env("tm-2").createInputGate({ gateId: "g", owner: "c", channels: [{ partitionId: "late", subpartition: 0, producerHost: "tm-1" }] });
    const c = new TestConsumer(w.world, g, { perBufferNs: US }).start();
    w.world.kernel.after(150 * MS, () => {
      const p = w.env("tm-1").createResultPartition({ partitionId: "late", numSubpartitions: 1, type: "PIPELINED_BOUNDED", owner: "a" });
      new TestProducer(w.world, p, { records: 100, subpartitionOf: () => 0, bytesOf: () => 100 }).start();
    });
    w.world.run();
    expect(c.values[0]!.length).toBe(100);
    // First request at 0 (not found), retries at 100 ms, then 300 ms (found).
    expect(c.arrivalNs[0]![0]!).toBeGreaterThan(300 * MS);
  });

  it("a partition that never appears yields PartitionNotFound once the backoff reached its max", () => {
    const w = netWorld();
    const g = w.env("tm-2").createInputGate({ gateId: "g", owner: "c", channels: [{ partitionId: "nope", subpartition: 0, producerHost: "tm-1" }] });
    const errors: { err: GateError; at: number }[] = [];
    g.onError((err) => errors.push({ err, at: w.world.now }));
    g.requestPartitions();
    w.world.run();
    expect(errors.map((e) => e.err)).toEqual([{ type: "PartitionNotFound", partitionId: "nope", channel: 0 }]);
    // Retries after 100, 200, 400, ..., 6400 ms and 10 s: 22.7 s plus round trips.
    expect(errors[0]!.at).toBeGreaterThan(22_700 * MS);
    expect(errors[0]!.at).toBeLessThan(22_800 * MS);
    expect(w.marks()).toContain("network.partitionNotFound");
  });

  it("the producer TM crashing mid-stream yields ConnectionLost on the consumer", () => {
    const w = netWorld();
    const p = w.env("tm-1").createResultPartition({ partitionId: "p", numSubpartitions: 1, type: "PIPELINED_BOUNDED", owner: "a" });
    const g = w.env("tm-2").createInputGate({ gateId: "g", owner: "c", channels: [{ partitionId: "p", subpartition: 0, producerHost: "tm-1" }] });
    const errors: GateError[] = [];
    g.onError((err) => errors.push(err));
    new TestProducer(w.world, p, { records: 3000, subpartitionOf: () => 0, bytesOf: () => 1000 }).start();
    const c = new TestConsumer(w.world, g, { perBufferNs: MS }).start();
    w.world.kernel.after(20 * MS, () => w.world.host("tm-1").crash());
    w.world.run();
    expect(errors).toEqual([{ type: "ConnectionLost", host: "tm-1", channel: 0, reason: "peer crashed" }]);
    expect(c.values[0]!.length).toBeGreaterThan(0);
    expect(c.values[0]!.length).toBeLessThan(3000);
    expect(g.isFinished()).toBe(false);
    // The crashed TM's environment is dead; calls on it are no-ops.
    expect(p.isAvailable()).toBe(false);
    expect(w.env("tm-1").hasPartition("p")).toBe(false);
  });

  it("a consumer TM crash releases its subpartition: the producer keeps going and discards that output", () => {
    const w = netWorld();
    const p = w.env("tm-1").createResultPartition({ partitionId: "p", numSubpartitions: 2, type: "PIPELINED_BOUNDED", owner: "a" }) as BufferWritingPartition;
    const gLocal = w.env("tm-1").createInputGate({ gateId: "gl", owner: "c0", channels: [{ partitionId: "p", subpartition: 0, producerHost: "tm-1" }] });
    const gRemote = w.env("tm-2").createInputGate({ gateId: "gr", owner: "c1", channels: [{ partitionId: "p", subpartition: 1, producerHost: "tm-1" }] });
    const prod = new TestProducer(w.world, p, { records: 4000, subpartitionOf: (i) => i % 2, bytesOf: () => 1000 }).start();
    const cl = new TestConsumer(w.world, gLocal, { perBufferNs: 100 * US }).start();
    new TestConsumer(w.world, gRemote, { perBufferNs: MS }).start();
    w.world.kernel.after(10 * MS, () => w.world.host("tm-2").crash());
    w.world.run();
    expect(prod.next).toBe(4000);
    expect(cl.values[0]).toEqual(Array.from({ length: 2000 }, (_, k) => 2 * k));
    expect(w.marks()).toContain("network.subpartitionReleasedEarly");
    expect(w.env("tm-1").hasPartition("p")).toBe(false);
    gLocal.release();
    expect(w.env("tm-1").buffersInUse).toBe(0);
  });

  it("fail(reason) reaches the consumers as ProducerFailed; a pipelined subpartition is readable once", () => {
    const w = netWorld();
    const p = w.env("tm-1").createResultPartition({ partitionId: "p", numSubpartitions: 1, type: "PIPELINED_BOUNDED", owner: "a" });
    const g = w.env("tm-2").createInputGate({ gateId: "g", owner: "c", channels: [{ partitionId: "p", subpartition: 0, producerHost: "tm-1" }] });
    const errors: GateError[] = [];
    g.onError((e) => errors.push(e));
    new TestProducer(w.world, p, { records: 100_000, subpartitionOf: () => 0, bytesOf: () => 1000 }).start();
    new TestConsumer(w.world, g, { perBufferNs: MS }).start();
    w.world.kernel.after(5 * MS, () => p.fail("user function threw"));
    w.world.run();
    expect(errors).toEqual([{ type: "ProducerFailed", partitionId: "p", channel: 0, reason: "user function threw" }]);
    expect(w.env("tm-1").buffersInUse).toBe(0);

    const w2 = netWorld();
    w2.env("tm-1").createResultPartition({ partitionId: "p", numSubpartitions: 1, type: "PIPELINED_BOUNDED", owner: "a" });
    const first = w2.env("tm-2").createInputGate({ gateId: "g1", owner: "c", channels: [{ partitionId: "p", subpartition: 0, producerHost: "tm-1" }] });
    const second = w2.env("tm-2").createInputGate({ gateId: "g2", owner: "c2", channels: [{ partitionId: "p", subpartition: 0, producerHost: "tm-1" }] });
    const errs: GateError[] = [];
    first.onError((e) => errs.push(e));
    second.onError((e) => errs.push(e));
    first.requestPartitions();
    second.requestPartitions();
    w2.world.run();
    expect(errs.map((e) => e.type)).toEqual(["ProducerFailed"]);
    expect(second.failure?.type).toBe("ProducerFailed");
  });

  it("the TM budget is never exceeded and over-asking fails with Flink's clear error", () => {
    const w = netWorld({ params: { networkMemoryBytes: 24 * 32 * 1024 } });
    const env = w.env("tm-1");
    expect(env.totalBuffers).toBe(24);
    const a = env.createResultPartition({ partitionId: "a", numSubpartitions: 10, type: "PIPELINED_BOUNDED", owner: "t1" }) as BufferWritingPartition;
    // min 11 reserved; the pool gets the 13 spare buffers up to its max 28.
    expect(a.poolSizeBuffers).toBe(24);
    expect(() => env.createResultPartition({ partitionId: "b", numSubpartitions: 15, type: "PIPELINED_BOUNDED", owner: "t2" })).toThrow(InsufficientNetworkBuffersError);
    expect(() => env.createResultPartition({ partitionId: "b", numSubpartitions: 15, type: "PIPELINED_BOUNDED", owner: "t2" })).toThrow(/Insufficient number of network buffers on tm-1 for b@tm-1: required 16, but only 13 available/);
    const b = env.createResultPartition({ partitionId: "b", numSubpartitions: 5, type: "PIPELINED_BOUNDED", owner: "t2" }) as BufferWritingPartition;
    // Redistribution: 24 − (11 + 6) = 7 spare; both capacities are min(7, max − min) = 7,
    // so a gets floor(7·7/14) = 3 and b the remaining 4.
    expect(a.poolSizeBuffers + b.poolSizeBuffers).toBe(24);
    expect([a.poolSizeBuffers, b.poolSizeBuffers]).toEqual([14, 10]);
    expect(() =>
      env.createInputGate({ gateId: "g", owner: "t3", channels: [0, 1, 2, 3].map((s) => ({ partitionId: "x", subpartition: s, producerHost: "tm-2" })) }),
    ).toThrow(/Insufficient number of network buffers/);
    // A failed gate creation leaves nothing reserved behind.
    b.release();
    a.release();
    expect(env.bufferPool.reservedBuffers).toBe(0);
    expect(env.buffersInUse).toBe(0);
  });
});
