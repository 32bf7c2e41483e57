import { describe, expect, it } from "vitest";
import type { HybridResultPartition } from "./hybrid-partition";
import type { GateError } from "./input-gate";
import { MS, TestConsumer, TestProducer, US, expectedPerSubpartition, netWorld } from "./test-harness";

const N = 3000;
const subOf = (i: number) => i % 2;
const sizeOf = (i: number) => 500 + ((i * 7919) % 1500);

function gateFor(w: ReturnType<typeof netWorld>, host: string, id: string, partitionId: string, subs: number[], producerHost = "tm-1") {
  return w.env(host).createInputGate({ gateId: id, owner: id, channels: subs.map((s) => ({ partitionId, subpartition: s, producerHost })) });
}

describe("hybrid shuffle", () => {
  it("HYBRID_FULL: read while the producer runs, everything spilled; the finished result can be read again from the file", () => {
    const w = netWorld();
    const p = w.env("tm-1").createResultPartition({ partitionId: "h", numSubpartitions: 2, type: "HYBRID_FULL", owner: "a" }) as HybridResultPartition;
    let finishedAt = -1;
    p.onFinished(() => (finishedAt = w.world.now));
    const prod = new TestProducer(w.world, p, { records: N, subpartitionOf: subOf, bytesOf: sizeOf, recordsPerItem: 10, itemCpuNs: 20 * US }).start();
    const g = gateFor(w, "tm-2", "g", "h", [0, 1]);
    const c = new TestConsumer(w.world, g, { perBufferNs: 10 * US }).start();
    w.world.run();
    const expected = expectedPerSubpartition(N, 2, subOf);
    expect(c.values).toEqual(expected);
    expect(finishedAt).toBeGreaterThanOrEqual(prod.finishedAtNs);
    // Consumed while running: the first buffers arrived long before the producer finished.
    expect(c.arrivalNs[0]![0]!).toBeLessThan(prod.finishedAtNs / 10);
    const disk = w.world.disk("tm-1");
    expect(disk.sizeOf(p.dataFile)).toBe(p.fileBytes);
    // Every buffer of both subpartitions (END_OF_PARTITION included) is in the file.
    expect(p.spilledBuffers).toBe(p.buffersSent + 2);
    expect(p.buffersInMemory).toBe(0);
    // Re-read after finish (a restarted consumer): from the file.
    const readBefore = disk.readBytes;
    const g2 = gateFor(w, "tm-1", "g2", "h", [1]);
    const c2 = new TestConsumer(w.world, g2, { perBufferNs: 10 * US }).start();
    w.world.run();
    expect(c2.values).toEqual([expected[1]]);
    expect(disk.readBytes).toBeGreaterThan(readBefore);
    expect(w.env("tm-1").releasePartition("h")).toBe(true);
    expect(disk.exists(p.dataFile)).toBe(false);
  });

  it("HYBRID_SELECTIVE with a fast consumer spills nothing", () => {
    const w = netWorld();
    const p = w.env("tm-1").createResultPartition({ partitionId: "h", numSubpartitions: 2, type: "HYBRID_SELECTIVE", owner: "a" }) as HybridResultPartition;
    new TestProducer(w.world, p, { records: N, subpartitionOf: subOf, bytesOf: sizeOf, recordsPerItem: 10, itemCpuNs: 20 * US }).start();
    const c = new TestConsumer(w.world, gateFor(w, "tm-2", "g", "h", [0, 1]), { perBufferNs: 10 * US }).start();
    w.world.run();
    expect(c.values).toEqual(expectedPerSubpartition(N, 2, subOf));
    expect(p.spilledBuffers).toBe(0);
    expect(w.world.disk("tm-1").exists(p.dataFile)).toBe(false);
  });

  it("HYBRID_SELECTIVE spills what is not consumed in time under memory pressure; a late consumer still gets it all, in order", () => {
    const w = netWorld({ params: { networkMemoryBytes: 40 * 32 * 1024 } });
    const p = w.env("tm-1").createResultPartition({ partitionId: "h", numSubpartitions: 2, type: "HYBRID_SELECTIVE", owner: "a" }) as HybridResultPartition;
    // The unbounded hybrid pool takes the TM's spare buffers.
    expect(p.poolSizeBuffers).toBe(40);
    const prod = new TestProducer(w.world, p, { records: N, subpartitionOf: subOf, bytesOf: sizeOf, recordsPerItem: 10, itemCpuNs: 20 * US }).start();
    let c: TestConsumer | undefined;
    w.world.kernel.after(30 * MS, () => {
      c = new TestConsumer(w.world, gateFor(w, "tm-2", "g", "h", [0, 1]), { perBufferNs: 10 * US }).start();
    });
    w.world.run();
    expect(prod.finishedAtNs).toBeLessThan(30 * MS);
    expect(c!.values).toEqual(expectedPerSubpartition(N, 2, subOf));
    expect(w.marks()).toContain("network.hybridEviction");
    expect(p.spilledBuffers).toBeGreaterThan(0);
    expect(p.spilledBuffers).toBeLessThan(p.buffersSent);
    expect(p.maxBuffersInUseObserved).toBeLessThanOrEqual(40 + 5);
    expect(w.env("tm-1").maxBuffersInUseObserved).toBeLessThanOrEqual(40);
    // Selective results are not re-consumable.
    const again = gateFor(w, "tm-2", "g2", "h", [0]);
    const errors: GateError[] = [];
    again.onError((e) => errors.push(e));
    again.requestPartitions();
    w.world.run();
    expect(errors.map((e) => e.type)).toEqual(["ProducerFailed"]);
  });
});
