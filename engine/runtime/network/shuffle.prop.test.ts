import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { propRuns } from "../../../test/prop";
import type { BufferWritingPartition } from "./buffer-writing-partition";
import type { InputGate } from "./input-gate";
import type { PartitionType, ResultPartitionWriter } from "./result-partition";
import { MS, TestConsumer, TestProducer, US, expectedPerSubpartition, netWorld } from "./test-harness";

interface Case {
  type: PartitionType;
  records: number;
  numSubpartitions: number;
  /** Per subpartition: is its consumer on the producer's host? */
  localConsumer: boolean[];
  sizes: number[];
  consumerNs: number;
  bufferTimeoutNs: number;
  recordsPerItem: number;
  itemCpuNs: number;
  watermarkEvery: number;
  consumerDelayNs: number;
  seed: number;
  /** One remote gate reading every subpartition instead of one gate per subpartition. */
  oneGate: boolean;
  exclusive: number;
  floating: number;
  maxBuffersPerChannel: number;
  overdraft: number;
  networkBuffers: number;
}

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    type: fc.constantFrom<PartitionType>("PIPELINED_BOUNDED", "PIPELINED_BOUNDED", "BLOCKING", "HYBRID_FULL", "HYBRID_SELECTIVE"),
    records: fc.integer({ min: 0, max: 400 }),
    numSubpartitions: fc.integer({ min: 1, max: 4 }),
    localMask: fc.integer({ min: 0, max: 15 }),
    sizeMode: fc.constantFrom("small", "mixed", "large"),
    sizeSeed: fc.integer({ min: 1, max: 1_000_000 }),
    consumerNs: fc.constantFrom(1 * US, 20 * US, 200 * US, 2 * MS),
    bufferTimeoutNs: fc.constantFrom(-1, 0, 1 * MS, 100 * MS),
    recordsPerItem: fc.integer({ min: 1, max: 8 }),
    itemCpuNs: fc.constantFrom(0, 5 * US, 50 * US),
    watermarkEvery: fc.constantFrom(0, 0, 7, 50),
    consumerDelayNs: fc.constantFrom(0, 3 * MS),
    seed: fc.integer({ min: 1, max: 1000 }),
    oneGate: fc.boolean(),
    knobs: fc.oneof(
      fc.constant({ exclusive: 2, floating: 8, maxBuffersPerChannel: 10, overdraft: 5, networkBuffers: 2048 }),
      fc.record({
        exclusive: fc.integer({ min: 0, max: 3 }),
        floating: fc.integer({ min: 1, max: 8 }),
        maxBuffersPerChannel: fc.integer({ min: 2, max: 10 }),
        overdraft: fc.integer({ min: 0, max: 5 }),
        networkBuffers: fc.constantFrom(90, 200, 2048),
      }),
    ),
  })
  .map((r) => {
    const sizes: number[] = [];
    let x = r.sizeSeed;
    for (let i = 0; i < r.records; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const big = r.sizeMode === "large" || (r.sizeMode === "mixed" && x % 17 === 0);
      sizes.push(big ? 30_000 + (x % 120_000) : x % 3000);
    }
    return {
      type: r.type,
      records: r.records,
      numSubpartitions: r.numSubpartitions,
      localConsumer: Array.from({ length: r.numSubpartitions }, (_, s) => ((r.localMask >> s) & 1) === 1),
      sizes,
      consumerNs: r.consumerNs,
      bufferTimeoutNs: r.bufferTimeoutNs,
      recordsPerItem: r.recordsPerItem,
      itemCpuNs: r.itemCpuNs,
      watermarkEvery: r.watermarkEvery,
      consumerDelayNs: r.consumerDelayNs,
      seed: r.seed,
      oneGate: r.oneGate,
      ...r.knobs,
    };
  });

function runCase(c: Case) {
  const w = netWorld({
    seed: c.seed,
    params: {
      bufferTimeoutNs: c.bufferTimeoutNs,
      sortShuffleMinBuffers: 64,
      exclusiveBuffersPerChannel: c.exclusive,
      floatingBuffersPerGate: c.floating,
      maxBuffersPerChannel: c.maxBuffersPerChannel,
      maxOverdraftBuffersPerGate: c.overdraft,
      networkMemoryBytes: c.networkBuffers * 32 * 1024,
    },
  });
  const subOf = (i: number) => (i * 7 + (i >> 3)) % c.numSubpartitions;
  const writer: ResultPartitionWriter = w.env("tm-1").createResultPartition({ partitionId: "p", numSubpartitions: c.numSubpartitions, type: c.type, owner: "a" });
  const producer = new TestProducer(w.world, writer, {
    records: c.records,
    subpartitionOf: subOf,
    bytesOf: (i) => c.sizes[i]!,
    recordsPerItem: c.recordsPerItem,
    itemCpuNs: c.itemCpuNs,
    watermarkEvery: c.watermarkEvery,
  });
  producer.start();
  const gates: InputGate[] = [];
  const consumers: TestConsumer[] = [];
  const violations: string[] = [];
  const check = () => {
    for (const g of gates) {
      for (let ch = 0; ch < g.numChannels; ch++) {
        const s = g.channelStats(ch);
        if (!s.local && s.inUse > c.exclusive + c.floating) violations.push(`channel in use ${s.inUse}`);
      }
    }
    for (const e of w.envs.values()) if (e.buffersInUse > e.totalBuffers) violations.push(`TM budget ${e.buffersInUse}`);
  };
  const startConsumers = () => {
    if (c.oneGate) {
      const g = w.env("tm-2").createInputGate({
        gateId: "g",
        owner: "c",
        channels: Array.from({ length: c.numSubpartitions }, (_, s) => ({ partitionId: "p", subpartition: s, producerHost: "tm-1" })),
      });
      gates.push(g);
      consumers.push(new TestConsumer(w.world, g, { perBufferNs: c.consumerNs, check }).start());
      return;
    }
    for (let s = 0; s < c.numSubpartitions; s++) {
      const host = c.localConsumer[s] ? "tm-1" : "tm-2";
      const g = w.env(host).createInputGate({ gateId: `g${s}`, owner: `c${s}`, channels: [{ partitionId: "p", subpartition: s, producerHost: "tm-1" }] });
      gates.push(g);
      consumers.push(new TestConsumer(w.world, g, { perBufferNs: c.consumerNs, check }).start());
    }
  };
  // Blocking results are read after the producer finished (the scheduler's rule).
  if (c.type === "BLOCKING") writer.onFinished(startConsumers);
  else w.world.kernel.after(c.consumerDelayNs, startConsumers);
  const result = w.world.run({ maxEvents: 2_000_000 });
  return { w, writer, gates, consumers, violations, result, subOf, producer };
}

describe("shuffle properties", () => {
  it("every record arrives exactly once, in order per subpartition; buffers stay within credits, pools and the TM budget", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const r = runCase(c);
        expect(r.result.reason).toBe("idle");
        expect(r.violations).toEqual([]);
        const expected = expectedPerSubpartition(c.records, c.numSubpartitions, r.subOf);
        const got = c.oneGate ? r.consumers[0]!.values : r.consumers.map((k) => k.values[0]);
        expect(got).toEqual(expected);
        expect(r.gates.every((g) => g.isFinished())).toBe(true);
        if (c.watermarkEvery > 0) {
          const wms = Array.from({ length: Math.floor(c.records / c.watermarkEvery) }, (_, k) => c.watermarkEvery * (k + 1) - 1);
          const perChannel = c.oneGate ? r.consumers[0]!.watermarks : r.consumers.map((k) => k.watermarks[0]);
          for (const got of perChannel) expect(got).toEqual(wms);
        }
        if (c.type === "PIPELINED_BOUNDED") {
          const bw = r.writer as BufferWritingPartition;
          expect(bw.maxBuffersInUseObserved).toBeLessThanOrEqual(bw.poolMaxBuffers + r.w.params.maxOverdraftBuffersPerGate!);
          expect(r.w.env("tm-1").hasPartition("p")).toBe(false);
        }
        for (const g of r.gates) g.release();
        // Blocking and hybrid results live until the scheduler releases them.
        if (c.type !== "PIPELINED_BOUNDED") expect(r.w.env("tm-1").releasePartition("p")).toBe(true);
        for (const e of r.w.envs.values()) {
          expect(e.buffersInUse).toBe(0);
          expect(e.bufferPool.reservedBuffers).toBe(0);
        }
        expect(r.w.world.disk("tm-1").files()).toEqual([]);
        for (const e of r.w.envs.values()) expect(e.maxBuffersInUseObserved).toBeLessThanOrEqual(e.totalBuffers);
      }),
      { numRuns: propRuns(60), seed: Number(process.env.FLOWSIM_NET_SEED ?? 20240601) },
    );
  });

  it("a run is a pure function of its inputs (same kernel hash and trace fingerprint twice)", () => {
    const c: Case = {
      type: "PIPELINED_BOUNDED",
      records: 300,
      numSubpartitions: 3,
      localConsumer: [true, false, false],
      sizes: Array.from({ length: 300 }, (_, i) => (i * 7919) % 5000),
      consumerNs: 200 * US,
      bufferTimeoutNs: 1 * MS,
      recordsPerItem: 3,
      itemCpuNs: 5 * US,
      watermarkEvery: 7,
      consumerDelayNs: 0,
      seed: 7,
      oneGate: false,
      exclusive: 2,
      floating: 8,
      maxBuffersPerChannel: 10,
      overdraft: 5,
      networkBuffers: 2048,
    };
    const a = runCase(c);
    const b = runCase(c);
    expect(a.w.world.kernel.rollingHash).toBe(b.w.world.kernel.rollingHash);
    expect(a.w.world.finish("done")).toBe(b.w.world.finish("done"));
    expect(a.w.world.kernel.eventsRun).toBe(b.w.world.kernel.eventsRun);
  });
});
