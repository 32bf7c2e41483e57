import { describe, expect, it } from "vitest";
import { InputError } from "../../../sim/errors";
import { Kernel } from "../../../sim/kernel";
import { MemorySink } from "../../../sim/trace/recorder";
import { World } from "../../../sim/world";
import { Grant, InsufficientNetworkBuffersError, NetworkBufferPool } from "./buffer-pool";
import { defaultShuffleParams, resolveShuffleParams } from "./params";
import { ShuffleEnvironment } from "./shuffle-environment";
import { TestConsumer, TestProducer, US } from "./test-harness";

function pool(total: number) {
  const kernel = new Kernel();
  return { kernel, global: new NetworkBufferPool(kernel, "tm", total, 32 * 1024) };
}

const spec = (label: string, min: number, max: number, subs = 2, quota = 10, overdraft = 5) => ({
  label,
  minBuffers: min,
  maxBuffers: max,
  numSubpartitions: subs,
  maxBuffersPerChannel: quota,
  maxOverdraftBuffers: overdraft,
});

describe("network buffer pools", () => {
  it("grants up to the pool size, then overdraft up to its limit; availability ignores overdraft", () => {
    const { global } = pool(100);
    const p = global.createPool(spec("p", 3, 12));
    expect(p.size).toBe(12); // alone: gets up to its max
    const grants: Grant[] = [];
    for (let i = 0; i < 20; i++) grants.push(p.request(i % 2));
    expect(grants.filter((g) => g === Grant.Normal)).toHaveLength(12);
    expect(grants.filter((g) => g === Grant.Overdraft)).toHaveLength(5);
    expect(grants.slice(17).every((g) => g === Grant.None)).toBe(true);
    expect(p.isAvailable()).toBe(false);
    expect(global.used).toBe(17);
    for (let i = 0; i < 6; i++) p.recycle(i % 2);
    expect(p.isAvailable()).toBe(true);
  });

  it("a subpartition at max-buffers-per-channel makes the pool unavailable, but requests still succeed", () => {
    const { global } = pool(100);
    const p = global.createPool(spec("p", 3, 20, 2, 3));
    for (let i = 0; i < 3; i++) expect(p.request(0)).toBe(Grant.Normal);
    expect(p.isAvailable()).toBe(false);
    expect(p.request(0)).toBe(Grant.Normal); // mid-record requests are not refused
    p.recycle(0);
    expect(p.isAvailable()).toBe(false); // still 3 held by subpartition 0
    p.recycle(0);
    expect(p.isAvailable()).toBe(true);
  });

  it("availability listeners run once, in a kernel event, after a recycle", () => {
    const { kernel, global } = pool(100);
    const p = global.createPool(spec("p", 2, 2, 1, 10, 0));
    p.request(0);
    p.request(0);
    let calls = 0;
    p.onAvailable(() => calls++);
    p.recycle(0);
    expect(calls).toBe(0); // not inside recycle
    kernel.run();
    expect(calls).toBe(1);
    p.recycle(0);
    kernel.run();
    expect(calls).toBe(1);
  });

  it("redistributes spare buffers by capacity (Flink's redistributeBuffers) and fails over-commitment clearly", () => {
    const { global } = pool(50);
    const a = global.createPool(spec("a", 5, 25));
    const b = global.createPool(spec("b", 5, 10));
    // spare 40; capacities min(40, 20) = 20 and min(40, 5) = 5: both get their max.
    expect([a.size, b.size]).toEqual([25, 10]);
    const c = global.createPool(spec("c", 20, 100));
    // spare 20; capacities 20, 5, 20 (sum 45) → floor(20·20/45) = 8, floor(20·25/45) − 8 = 3, the rest 9.
    expect([a.size, b.size, c.size]).toEqual([13, 8, 29]);
    expect(a.size + b.size + c.size).toBe(50);
    expect(() => global.createPool(spec("d", 21, 30))).toThrow(InsufficientNetworkBuffersError);
    expect(() => global.reserveFixed(21, "gate x")).toThrow(/required 21, but only 20 available.*taskmanager\.memory\.network\.fraction/);
    c.destroy();
    expect([a.size, b.size]).toEqual([25, 10]);
  });

  it("a fixed reservation that finds too few free segments is owed them before any pool", () => {
    const { kernel, global } = pool(20);
    const a = global.createPool(spec("a", 2, 30, 1, 100, 0));
    for (let i = 0; i < 20; i++) expect(a.request(0)).toBe(Grant.Normal);
    const acquired: number[] = [];
    const res = global.reserveFixed(6, "gate g", (n) => acquired.push(n));
    expect(a.size).toBe(14);
    expect(res.held).toBe(0);
    expect(global.free).toBe(0);
    for (let i = 0; i < 4; i++) a.recycle(0);
    expect(res.held).toBe(4);
    expect(a.request(0)).toBe(Grant.None); // debts first
    kernel.run();
    expect(acquired).toEqual([4]);
    for (let i = 0; i < 3; i++) a.recycle(0);
    kernel.run();
    expect(res.held).toBe(6);
    expect(acquired).toEqual([4, 2]);
    expect(global.used).toBe(13 + 6);
    expect(global.maxUsedObserved).toBe(20);
    expect(global.shrinkFixed(res, 0)).toBe(6);
    expect(global.reservedBuffers).toBe(2);
  });

  it("validates params with messages naming the field", () => {
    expect(() => resolveShuffleParams({ ...defaultShuffleParams(1 << 26), maxBuffersPerChannel: 1 })).toThrow(/shuffle\.maxBuffersPerChannel: must be ≥ 2/);
    expect(() => resolveShuffleParams({ ...defaultShuffleParams(1 << 26), exclusiveBuffersPerChannel: 0, floatingBuffersPerGate: 0 })).toThrow(InputError);
    expect(() => resolveShuffleParams({ ...defaultShuffleParams(1 << 26), bufferTimeoutNs: -5 })).toThrow(/bufferTimeoutNs/);
    const r = resolveShuffleParams(defaultShuffleParams(128 * 1024 * 1024));
    expect(r.totalBuffers).toBe(4096);
    expect(r.bufferTimeoutNs).toBe(100_000_000);
  });

  it("a gate created while the TM's buffers are all in use gets its exclusive credits as they come back", () => {
    const sink = new MemorySink();
    const world = new World({ hosts: [{ name: "tm-1", cores: 2 }, { name: "tm-2", cores: 2 }] }, { seed: 1, scenario: "net-test", trace: { sink } });
    const base = { ...defaultShuffleParams(64 * 1024 * 1024), bufferTimeoutNs: -1 };
    const env1 = new ShuffleEnvironment(world, "tm-1", base);
    const env2 = new ShuffleEnvironment(world, "tm-2", { ...base, networkMemoryBytes: 104 * 32 * 1024 });
    // A on tm-2 fills all 104 buffers (100 subpartitions, min 101).
    const a = env2.createResultPartition({ partitionId: "A", numSubpartitions: 100, type: "PIPELINED_BOUNDED", owner: "a" });
    let i = 0;
    while (a.isAvailable()) a.emitRecord(i % 100, i++, 0, 20_000);
    expect(env2.buffersInUse).toBe(104);
    // G on tm-2 reads B from tm-1; its 2 exclusive buffers are owed.
    const g = env2.createInputGate({ gateId: "G", owner: "g", channels: [{ partitionId: "B", subpartition: 0, producerHost: "tm-1" }] });
    expect(g.channelStats(0).exclusive).toBe(0);
    const b = env1.createResultPartition({ partitionId: "B", numSubpartitions: 1, type: "PIPELINED_BOUNDED", owner: "b" });
    new TestProducer(world, b, { records: 500, subpartitionOf: () => 0, bytesOf: () => 1000 }).start();
    const cg = new TestConsumer(world, g, { perBufferNs: 10 * US }).start();
    world.run();
    expect(cg.values[0]).toEqual([]); // no credit yet: A holds everything
    // A's consumers on tm-1 drain it; returned segments pay G's reservation first.
    const ga = env1.createInputGate({ gateId: "GA", owner: "ga", channels: Array.from({ length: 100 }, (_, s) => ({ partitionId: "A", subpartition: s, producerHost: "tm-2" })) });
    const ca = new TestConsumer(world, ga, { perBufferNs: 10 * US }).start();
    world.kernel.after(0, () => a.finish());
    world.run();
    expect(cg.values[0]).toEqual(Array.from({ length: 500 }, (_, k) => k));
    expect(ca.values.flat().length).toBe(i);
    expect(env2.maxBuffersInUseObserved).toBe(104);
    g.release();
    ga.release();
    expect(env2.buffersInUse).toBe(0);
    expect(env2.bufferPool.reservedBuffers).toBe(0);
  });
});
