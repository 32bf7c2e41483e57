import { describe, expect, it } from "vitest";
import type { GateError } from "./input-gate";
import { FILE_BUFFER_HEADER_BYTES, INDEX_ENTRY_BYTES, LZ4_COMPRESSION_RATIO } from "./params";
import { ShuffleEnvironment } from "./shuffle-environment";
import { SortMergeResultPartition, sortBufferBuffers } from "./sort-merge-partition";
import { MS, TestConsumer, TestProducer, US, expectedPerSubpartition, netWorld } from "./test-harness";

const N = 3000;
const subOf = (i: number) => (i * 13) % 3;
const sizeOf = (i: number) => 200 + ((i * 7919) % 1800);

function produceBlocking(opts: { compression?: boolean; diskProfile?: "ssd" | "hdd" } = {}) {
  const w = netWorld({
    params: { sortShuffleMinBuffers: 64, compression: opts.compression ?? true },
    ...(opts.diskProfile ? { disk: { profile: opts.diskProfile } } : {}),
  });
  const p = w.env("tm-1").createResultPartition({ partitionId: "b1", numSubpartitions: 3, type: "BLOCKING", owner: "a" }) as SortMergeResultPartition;
  let finishedAt = -1;
  p.onFinished(() => (finishedAt = w.world.now));
  const inUseWhileProducing = p.buffersInUse;
  const prod = new TestProducer(w.world, p, { records: N, subpartitionOf: subOf, bytesOf: sizeOf, recordsPerItem: 20, itemCpuNs: 10 * US }).start();
  w.world.run();
  return { w, p, prod, finishedAt, inUseWhileProducing };
}

describe("blocking (sort-merge) shuffle", () => {
  it("spills regions into one data file per partition on the producer's disk, with an index file and LZ4 sizes", () => {
    const { w, p, finishedAt, inUseWhileProducing } = produceBlocking();
    const disk = w.world.disk("tm-1");
    expect(p.state).toBe("finished");
    expect(finishedAt).toBeGreaterThan(0);
    // 64 reserved buffers: 32 sort, 32 write; a 1 MiB sort buffer makes several regions.
    expect(inUseWhileProducing).toBe(64);
    expect(p.sortBufferCapacityBytes).toBe(sortBufferBuffers(64, 32 * 1024) * 32 * 1024);
    expect(p.regions).toBeGreaterThan(3);
    expect(p.buffersInUse).toBe(0);
    expect(w.env("tm-1").buffersInUse).toBe(0);
    expect(disk.files()).toEqual([p.dataFile, p.indexFile]);
    expect(disk.sizeOf(p.dataFile)).toBe(p.fileBytes);
    expect(disk.sizeOf(p.indexFile)).toBe(p.regions * 3 * INDEX_ENTRY_BYTES);
    // Each subpartition has one chunk per unicast region it has data in, plus the final
    // END_OF_PARTITION broadcast region; chunks are contiguous and cover the file.
    const entries = [0, 1, 2].flatMap((s) => p.indexOf(s).map((e) => e));
    const distinct = [...new Set(entries)].sort((a, b) => a.offsetBytes - b.offsetBytes);
    let offset = 0;
    for (const e of distinct) {
      expect(e.offsetBytes).toBe(offset);
      offset += e.sizeBytes;
    }
    expect(offset).toBe(p.fileBytes);
    // LZ4: payloads shrink by the documented ratio; headers (8 B per buffer) stay.
    const buffers = distinct.reduce((n, e) => n + e.numBuffers, 0);
    const payload = p.fileBytes - buffers * FILE_BUFFER_HEADER_BYTES;
    expect(payload / p.bytesEmitted).toBeGreaterThan(LZ4_COMPRESSION_RATIO * 0.99);
    expect(payload / p.bytesEmitted).toBeLessThan(LZ4_COMPRESSION_RATIO * 1.01);
    const raw = produceBlocking({ compression: false }).p;
    expect(raw.fileBytes).toBe(raw.bytesEmitted + buffers * FILE_BUFFER_HEADER_BYTES + 4 /* END_OF_PARTITION */);
  });

  it("after finish, local and remote readers get every record exactly once, in order; the result can be read again", () => {
    const { w, p } = produceBlocking();
    const expected = expectedPerSubpartition(N, 3, subOf);
    const gLocal = w.env("tm-1").createInputGate({ gateId: "gl", owner: "c0", channels: [{ partitionId: "b1", subpartition: 0, producerHost: "tm-1" }] });
    const gRemote = w.env("tm-2").createInputGate({
      gateId: "gr",
      owner: "c1",
      channels: [1, 2].map((s) => ({ partitionId: "b1", subpartition: s, producerHost: "tm-1" })),
    });
    const cl = new TestConsumer(w.world, gLocal, { perBufferNs: 20 * US }).start();
    const cr = new TestConsumer(w.world, gRemote, { perBufferNs: 20 * US, check: () => expect(gRemote.channelStats(0).inUse).toBeLessThanOrEqual(10) }).start();
    w.world.run();
    expect(cl.values).toEqual([expected[0]]);
    expect(cr.values).toEqual([expected[1], expected[2]]);
    expect(gLocal.isFinished() && gRemote.isFinished()).toBe(true);
    expect(w.world.disk("tm-1").readBytes).toBe(p.fileBytes + 2 * p.indexOf(0).at(-1)!.sizeBytes);
    // Blocking results are re-consumable: a restarted consumer reads them again.
    const again = w.env("tm-2").createInputGate({ gateId: "g2", owner: "c1b", channels: [{ partitionId: "b1", subpartition: 1, producerHost: "tm-1" }] });
    const c2 = new TestConsumer(w.world, again, { perBufferNs: 5 * US }).start();
    w.world.run();
    expect(c2.values).toEqual([expected[1]]);
    expect(w.env("tm-1").hasPartition("b1")).toBe(true);
    // The scheduler releases it: the files go, later requests find nothing.
    expect(w.env("tm-1").releasePartition("b1")).toBe(true);
    expect(w.world.disk("tm-1").files()).toEqual([]);
  });

  it("a slow disk backpressures the producer (Flink writes regions in the task thread)", () => {
    const ssd = produceBlocking();
    const hdd = produceBlocking({ diskProfile: "hdd" });
    expect(hdd.prod.unavailableEvents).toBeGreaterThan(0);
    expect(hdd.prod.backpressuredNs).toBeGreaterThan(ssd.prod.backpressuredNs);
    // ~1.4 MB at 150 MB/s (plus op latencies) ≈ 10 ms of writes on hdd.
    expect(hdd.finishedAt - ssd.finishedAt).toBeGreaterThan(5 * MS);
  });

  it("reading before the producer finished is refused (the scheduler must wait for it)", () => {
    const w = netWorld({ params: { sortShuffleMinBuffers: 64 } });
    const p = w.env("tm-1").createResultPartition({ partitionId: "b", numSubpartitions: 1, type: "BLOCKING", owner: "a" });
    p.emitRecord(0, 1, 1, 10);
    const g = w.env("tm-2").createInputGate({ gateId: "g", owner: "c", channels: [{ partitionId: "b", subpartition: 0, producerHost: "tm-1" }] });
    const errors: GateError[] = [];
    g.onError((e) => errors.push(e));
    g.requestPartitions();
    w.world.run();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.type).toBe("ProducerFailed");
  });

  it("broadcast data and watermarks are written once per region and read by every subpartition", () => {
    const w = netWorld({ params: { sortShuffleMinBuffers: 64 } });
    const p = w.env("tm-1").createResultPartition({ partitionId: "bb", numSubpartitions: 4, type: "BLOCKING", owner: "a", broadcast: true }) as SortMergeResultPartition;
    w.world.kernel.after(0, () => {
      for (let i = 0; i < 500; i++) p.broadcastRecord(i, i, 300);
      p.broadcastWatermark(499);
      p.finish();
    });
    w.world.run();
    expect(p.fileBytes).toBeLessThan(500 * 305);
    const g = w.env("tm-2").createInputGate({ gateId: "g", owner: "c", channels: [0, 1, 2, 3].map((s) => ({ partitionId: "bb", subpartition: s, producerHost: "tm-1" })) });
    const c = new TestConsumer(w.world, g, { perBufferNs: 10 * US }).start();
    w.world.run();
    const all = Array.from({ length: 500 }, (_, i) => i);
    expect(c.values).toEqual([all, all, all, all]);
    expect(c.watermarks).toEqual([[499], [499], [499], [499]]);
  });

  it("a crash of the producer host before the consumer reads yields ConnectionLost, and PartitionNotFound from the restarted TM", () => {
    const { w, p } = produceBlocking();
    const disk = w.world.disk("tm-1");
    w.world.host("tm-1").crash();
    // Shuffle files are never fsynced: the crash lost them.
    expect(disk.exists(p.dataFile)).toBe(false);
    const g = w.env("tm-2").createInputGate({ gateId: "g", owner: "c", channels: [{ partitionId: "b1", subpartition: 0, producerHost: "tm-1" }] });
    const errors: GateError[] = [];
    g.onError((e) => errors.push(e));
    g.requestPartitions();
    w.world.run();
    expect(errors).toEqual([{ type: "ConnectionLost", host: "tm-1", channel: 0, reason: "refused" }]);

    w.world.host("tm-1").restart();
    const fresh = new ShuffleEnvironment(w.world, "tm-1", w.params);
    expect(fresh.hasPartition("b1")).toBe(false);
    const g2 = w.env("tm-2").createInputGate({ gateId: "g2", owner: "c2", channels: [{ partitionId: "b1", subpartition: 0, producerHost: "tm-1" }] });
    const errors2: GateError[] = [];
    g2.onError((e) => errors2.push(e));
    g2.requestPartitions();
    w.world.run();
    expect(errors2).toEqual([{ type: "PartitionNotFound", partitionId: "b1", channel: 0 }]);
    expect(w.marks()).toEqual(expect.arrayContaining(["network.connectionLost", "network.partitionNotFound"]));
  });
});

describe("blocking (hash) shuffle: one file per subpartition, below sort-shuffle.min-parallelism", () => {
  function produceHash(diskProfile: "ssd" | "hdd" = "ssd", compression = true) {
    // min-parallelism 4 > 3 subpartitions: Flink's rule picks the hash layout.
    const w = netWorld({ params: { sortShuffleMinBuffers: 64, sortShuffleMinParallelism: 4, compression }, disk: { profile: diskProfile } });
    const p = w.env("tm-1").createResultPartition({ partitionId: "h1", numSubpartitions: 3, type: "BLOCKING", owner: "a" }) as SortMergeResultPartition;
    const inUseWhileProducing = p.buffersInUse;
    new TestProducer(w.world, p, { records: N, subpartitionOf: subOf, bytesOf: sizeOf, recordsPerItem: 20, itemCpuNs: 10 * US }).start();
    w.world.run();
    return { w, p, inUseWhileProducing };
  }

  it("is chosen iff numSubpartitions < min-parallelism", () => {
    const w = netWorld({ params: { sortShuffleMinBuffers: 64, sortShuffleMinParallelism: 4 } });
    const small = w.env("tm-1").createResultPartition({ partitionId: "s", numSubpartitions: 3, type: "BLOCKING", owner: "a" }) as SortMergeResultPartition;
    const big = w.env("tm-1").createResultPartition({ partitionId: "b", numSubpartitions: 4, type: "BLOCKING", owner: "a" }) as SortMergeResultPartition;
    expect(small.layout).toBe("hash");
    expect(big.layout).toBe("sort-merge");
  });

  it("writes one file per subpartition, buffer by buffer, and every reader gets its records exactly once, in order", () => {
    const { w, p, inUseWhileProducing } = produceHash();
    const disk = w.world.disk("tm-1");
    expect(p.state).toBe("finished");
    // numSubpartitions + 1 buffers, not the sort-merge reservation; returned at finish.
    expect(inUseWhileProducing).toBe(4);
    expect(p.buffersInUse).toBe(0);
    expect(disk.files().sort()).toEqual([0, 1, 2].map((s) => `shuffle/h1.${s}.data`));
    let total = 0;
    for (let s = 0; s < 3; s++) {
      const entries = p.indexOf(s);
      // One chunk per buffer, contiguous, ending with END_OF_PARTITION.
      expect(entries.every((e) => e.numBuffers === 1 && e.file === `shuffle/h1.${s}.data`)).toBe(true);
      let off = 0;
      for (const e of entries) {
        expect(e.offsetBytes).toBe(off);
        off += e.sizeBytes;
      }
      expect(disk.sizeOf(`shuffle/h1.${s}.data`)).toBe(off);
      total += off;
    }
    expect(total).toBe(p.fileBytes);
    // Uncompressed: payload + an 8 B header per buffer (END_OF_PARTITION ones included) + its 4 B event per file.
    const raw = produceHash("ssd", false).p;
    const rawBuffers = [0, 1, 2].reduce((n, s) => n + raw.indexOf(s).length, 0);
    expect(raw.fileBytes).toBe(raw.bytesEmitted + rawBuffers * FILE_BUFFER_HEADER_BYTES + 3 * 4 /* END_OF_PARTITION per file */);

    const expected = expectedPerSubpartition(N, 3, subOf);
    const gLocal = w.env("tm-1").createInputGate({ gateId: "gl", owner: "c0", channels: [{ partitionId: "h1", subpartition: 0, producerHost: "tm-1" }] });
    const gRemote = w.env("tm-2").createInputGate({ gateId: "gr", owner: "c1", channels: [1, 2].map((s) => ({ partitionId: "h1", subpartition: s, producerHost: "tm-1" })) });
    const cl = new TestConsumer(w.world, gLocal, { perBufferNs: 20 * US }).start();
    const cr = new TestConsumer(w.world, gRemote, { perBufferNs: 20 * US }).start();
    w.world.run();
    expect(cl.values).toEqual([expected[0]]);
    expect(cr.values).toEqual([expected[1], expected[2]]);
    // Each file read once, whole.
    expect(disk.readBytes).toBe(p.fileBytes);
    expect(w.env("tm-1").releasePartition("h1")).toBe(true);
    expect(disk.files()).toEqual([]);
  });

  it("on hdd, interleaved per-subpartition appends seek far more than the sort-merge layout", () => {
    const hash = produceHash("hdd");
    const sort = produceBlocking({ diskProfile: "hdd" });
    const hashSeeks = hash.w.world.disk("tm-1").seeks;
    const sortSeeks = sort.w.world.disk("tm-1").seeks;
    expect(hashSeeks).toBeGreaterThan(20);
    expect(hashSeeks).toBeGreaterThan(5 * sortSeeks);
    expect(hash.w.world.disk("tm-1").busyNs).toBeGreaterThan(3 * sort.w.world.disk("tm-1").busyNs);
  });
});
