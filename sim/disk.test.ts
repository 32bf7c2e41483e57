import { describe, expect, it } from "vitest";
import { propRuns } from "../test/prop";
import fc from "fast-check";
import { DISK_PROFILES, Disk, type Chunk, type DiskError, type DiskSpec } from "./disk";
import { InputError, InvariantError } from "./errors";
import { Host } from "./host";
import { Kernel } from "./kernel";
import { MemorySink, Trace } from "./trace/recorder";


function world(spec: DiskSpec = {}) {
  const kernel = new Kernel();
  const sink = new MemorySink();
  const trace = new Trace(kernel, { level: "detailed", sink });
  trace.start({ seed: "1", scenario: "disk-test", flowsimVersion: "0", nodeVersion: process.version, level: "detailed", config: {} });
  const host = new Host(kernel, trace, { name: "tm-1", cores: 2 });
  const disk = new Disk(kernel, trace, host, "disk0", spec);
  const events = (kind: string) => sink.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.kind === kind);
  return { kernel, trace, sink, host, disk, events };
}

/** Records when each callback ran and with what error. */
function recorder(kernel: Kernel) {
  const done: { label: string; atNs: number; code: string | undefined; chunks?: readonly Chunk[] }[] = [];
  const cb =
    (label: string) =>
    (err?: DiskError, chunks?: readonly Chunk[]): void => {
      done.push({ label, atNs: kernel.now, code: err?.code, ...(chunks === undefined ? {} : { chunks }) });
    };
  return { done, cb };
}

const HDD = DISK_PROFILES.hdd;
const SSD = DISK_PROFILES.ssd;

describe("disk service times", () => {
  it("hdd: sequential appends pay the seek once, alternating files pay it every op", () => {
    const size = 1_500_000; // 10 ms at 150 MB/s
    const transferNs = 10_000_000;
    expect(HDD.writeBandwidthBytesPerS).toBe(150e6);

    const seq = world({ profile: "hdd" });
    const r1 = recorder(seq.kernel);
    for (let i = 0; i < 4; i++) seq.disk.append("a", size, i, r1.cb(`a${i}`));
    seq.kernel.run();
    const first = HDD.opLatencyNs + HDD.seekNs + transferNs;
    const next = HDD.opLatencyNs + transferNs;
    expect(r1.done.map((d) => d.atNs)).toEqual([first, first + next, first + 2 * next, first + 3 * next]);
    expect(seq.disk.busyNs).toBe(first + 3 * next);
    expect(seq.disk.writtenBytes).toBe(4 * size);

    const rnd = world({ profile: "hdd" });
    const r2 = recorder(rnd.kernel);
    for (let i = 0; i < 4; i++) rnd.disk.append(i % 2 === 0 ? "a" : "b", size, i, r2.cb(`x${i}`));
    rnd.kernel.run();
    const each = HDD.opLatencyNs + HDD.seekNs + transferNs;
    expect(r2.done.map((d) => d.atNs)).toEqual([each, 2 * each, 3 * each, 4 * each]);
  });

  it("hdd: a read continuing the previous op is sequential, a jump back is not", () => {
    const { kernel, disk } = world({ profile: "hdd" });
    const r = recorder(kernel);
    disk.append("a", 300_000, "x", r.cb("w1")); // 2 ms
    disk.append("a", 300_000, "y", r.cb("w2"));
    disk.read("a", 0, 300_000, r.cb("r1")); // back to 0: seek
    disk.read("a", 300_000, 300_000, r.cb("r2")); // continues: no seek
    disk.read("a", 0, 150_000, r.cb("r3")); // jump back: seek
    kernel.run();
    const L = HDD.opLatencyNs;
    const S = HDD.seekNs;
    const w = 2_000_000;
    const rd = 2_000_000; // 300 kB at 150 MB/s
    const t1 = L + S + w;
    const t2 = t1 + L + w;
    const t3 = t2 + L + S + rd;
    const t4 = t3 + L + rd;
    const t5 = t4 + L + S + 1_000_000;
    expect(r.done.map((d) => [d.label, d.atNs])).toEqual([
      ["w1", t1],
      ["w2", t2],
      ["r1", t3],
      ["r2", t4],
      ["r3", t5],
    ]);
    expect(r.done[2]!.chunks!.map((c) => c.data)).toEqual(["x"]);
    expect(r.done[3]!.chunks!.map((c) => c.data)).toEqual(["y"]);
    expect(disk.readBytes).toBe(750_000);
  });

  it("ssd: alternating files pay no seek", () => {
    const { kernel, disk } = world({ profile: "ssd" });
    const r = recorder(kernel);
    for (let i = 0; i < 4; i++) disk.append(i % 2 === 0 ? "a" : "b", 1_000_000, i, r.cb(`x${i}`));
    kernel.run();
    const each = SSD.opLatencyNs + 1_000_000; // 1 MB at 1 GB/s = 1 ms
    expect(r.done.map((d) => d.atNs)).toEqual([each, 2 * each, 3 * each, 4 * each]);
  });

  it("fsync takes fsyncLatency and reads use the read bandwidth", () => {
    const { kernel, disk } = world({ profile: "ssd", fsyncLatency: "3ms", opLatency: "10us", readBandwidthBytesPerS: 4e9 });
    const r = recorder(kernel);
    disk.append("f", 4_000_000, null, r.cb("w")); // 10 us + 4 ms
    disk.fsync("f", r.cb("sync")); // 3 ms
    disk.read("f", 0, 4_000_000, r.cb("r")); // 10 us + 1 ms
    kernel.run();
    expect(r.done.map((d) => d.atNs)).toEqual([4_010_000, 7_010_000, 8_020_000]);
    expect(r.done.every((d) => d.code === undefined)).toBe(true);
  });

  it("slow factor scales service times for ops starting during the window", () => {
    const { kernel, disk, events } = world({ profile: "ssd", opLatency: "100us" });
    const r = recorder(kernel);
    disk.startFault("slow", 3);
    disk.append("a", 1_000_000, null, r.cb("slow")); // (100 us + 1 ms) × 3
    kernel.run();
    disk.endFault("slow");
    disk.append("a", 1_000_000, null, r.cb("normal"));
    kernel.run();
    expect(r.done.map((d) => d.atNs)).toEqual([3_300_000, 3_300_000 + 1_100_000]);
    expect(events("DiskFaultStarted")).toMatchObject([{ host: "tm-1", disk: "disk0", fault: "slow", factor: 3 }]);
    expect(events("DiskFaultEnded")).toMatchObject([{ fault: "slow" }]);
  });

  it("serves ops FIFO: a small op issued after a large one completes after it", () => {
    const { kernel, disk } = world({ profile: "ssd" });
    const r = recorder(kernel);
    disk.append("big", 50_000_000, null, r.cb("big"));
    disk.append("small", 10, null, r.cb("small"));
    disk.fsync("small", r.cb("sync"));
    disk.read("big", 0, 10, r.cb("read"));
    disk.append("big", 1, null, r.cb("tail"));
    kernel.run();
    expect(r.done.map((d) => d.label)).toEqual(["big", "small", "sync", "read", "tail"]);
    const times = r.done.map((d) => d.atNs);
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThan(times[i - 1]!);
  });

  it("callbacks never run inside the call", () => {
    const { kernel, disk } = world({ capacityBytes: 10 });
    let ran = 0;
    disk.append("a", 100, null, () => ran++); // ENOSPC
    disk.read("missing", 0, 1, () => ran++); // ENOENT
    disk.fsync("missing", () => ran++); // ENOENT
    disk.append("a", 5, null, () => ran++);
    expect(ran).toBe(0);
    kernel.run();
    expect(ran).toBe(4);
  });
});

describe("disk data and capacity", () => {
  it("read returns the chunks overlapping the range, ENOENT for a missing file", () => {
    const { kernel, disk } = world();
    const r = recorder(kernel);
    disk.append("f", 10, "a", r.cb("1"));
    disk.append("f", 10, "b", r.cb("2"));
    disk.append("f", 10, "c", r.cb("3"));
    disk.read("f", 5, 10, r.cb("mid")); // bytes 5..15: chunks a and b
    disk.read("f", 20, 100, r.cb("tail")); // past the end: c only
    disk.read("f", 30, 5, r.cb("eof"));
    disk.read("nope", 0, 5, r.cb("missing"));
    kernel.run();
    const byLabel = new Map(r.done.map((d) => [d.label, d]));
    expect(byLabel.get("mid")!.chunks!.map((c) => [c.offsetBytes, c.data])).toEqual([
      [0, "a"],
      [10, "b"],
    ]);
    expect(byLabel.get("tail")!.chunks!.map((c) => c.data)).toEqual(["c"]);
    expect(byLabel.get("eof")!.chunks).toEqual([]);
    expect(byLabel.get("missing")!.code).toBe("ENOENT");
    expect(disk.sizeOf("f")).toBe(30);
    expect(disk.files()).toEqual(["f"]);
  });

  it("capacity: appends count at once, beyond it ENOSPC; delete frees", () => {
    const { kernel, disk, events } = world({ capacityBytes: 1000 });
    const r = recorder(kernel);
    disk.append("a", 600, null, r.cb("a1"));
    expect(disk.usedBytes).toBe(600); // reserved before it completes
    disk.append("b", 500, null, r.cb("b1")); // 1100 > 1000
    disk.append("b", 400, null, r.cb("b2")); // exactly full
    kernel.run();
    expect(r.done.find((d) => d.label === "b1")!.code).toBe("ENOSPC");
    expect(r.done.find((d) => d.label === "a1")!.code).toBeUndefined();
    expect(r.done.find((d) => d.label === "b2")!.code).toBeUndefined();
    expect(disk.usedBytes).toBe(1000);
    expect(events("DiskOpFailed")).toMatchObject([{ file: "b", op: "append", error: "ENOSPC" }]);
    expect(disk.delete("a")).toBe(true);
    expect(disk.usedBytes).toBe(400);
    expect(disk.exists("a")).toBe(false);
    disk.append("c", 600, null, r.cb("c1"));
    kernel.run();
    expect(r.done.find((d) => d.label === "c1")!.code).toBeUndefined();
    expect(disk.files()).toEqual(["b", "c"]);
  });

  it("a full fault fails appends with ENOSPC until it ends", () => {
    const { kernel, disk, events } = world();
    const r = recorder(kernel);
    disk.startFault("full");
    disk.append("a", 1, null, r.cb("during"));
    kernel.run();
    disk.endFault("full");
    disk.append("a", 1, null, r.cb("after"));
    kernel.run();
    expect(r.done.map((d) => [d.label, d.code])).toEqual([
      ["during", "ENOSPC"],
      ["after", undefined],
    ]);
    expect(events("DiskFaultStarted")).toMatchObject([{ fault: "full" }]);
  });

  it("an op on a file deleted while it waited fails with ENOENT and frees its reservation", () => {
    const { kernel, disk } = world();
    const r = recorder(kernel);
    disk.append("a", 1_000_000, null, r.cb("first"));
    disk.append("a", 1_000, null, r.cb("second"));
    disk.read("a", 0, 10, r.cb("read"));
    disk.delete("a");
    kernel.run();
    expect(r.done.map((d) => [d.label, d.code])).toEqual([
      ["first", "ENOENT"],
      ["second", "ENOENT"],
      ["read", "ENOENT"],
    ]);
    expect(disk.usedBytes).toBe(0);
    expect(disk.exists("a")).toBe(false);
  });
});

describe("disk faults and crashes", () => {
  it("ioError: ops issued in the window fail with EIO after their op latency; later ones succeed", () => {
    const { kernel, disk, events } = world({ profile: "ssd", opLatency: "100us" });
    const r = recorder(kernel);
    disk.append("a", 1_000_000, "before", r.cb("before")); // issued before: succeeds
    disk.startFault("ioError");
    disk.append("a", 1_000_000, "during", r.cb("during"));
    disk.fsync("a", r.cb("syncDuring"));
    kernel.schedule(5_000_000, () => {
      disk.endFault("ioError");
      disk.append("a", 1_000_000, "after", r.cb("after"));
    });
    kernel.run();
    expect(r.done.map((d) => [d.label, d.code, d.atNs])).toEqual([
      ["before", undefined, 1_100_000],
      ["during", "EIO", 1_200_000], // queued behind "before", then 100 us
      ["syncDuring", "EIO", 1_300_000],
      ["after", undefined, 5_000_000 + 1_100_000],
    ]);
    expect(events("DiskOpFailed")).toMatchObject([
      { host: "tm-1", disk: "disk0", file: "a", op: "append", error: "EIO" },
      { file: "a", op: "fsync", error: "EIO" },
    ]);
    expect(disk.sizeOf("a")).toBe(2_000_000);
    expect(disk.syncedSizeOf("a")).toBe(0); // the failed fsync synced nothing
  });

  it("a crash loses unsynced bytes and unsynced files; fsynced data survives a restart", () => {
    const { kernel, host, disk, events } = world({ profile: "ssd" });
    const r = recorder(kernel);
    disk.append("log", 100, "r1", r.cb("a1"));
    disk.append("log", 200, "r2", r.cb("a2"));
    disk.fsync("log", r.cb("sync"));
    kernel.run();
    disk.append("log", 50, "r3", r.cb("a3"));
    disk.append("tmp", 70, "t1", r.cb("t1"));
    kernel.run();
    disk.append("log", 999, "r4", r.cb("pending")); // still queued at the crash
    expect(disk.sizeOf("log")).toBe(350);
    host.crash();
    kernel.run();
    expect(r.done.map((d) => d.label)).toEqual(["a1", "a2", "sync", "a3", "t1"]); // "pending" never ran
    expect(disk.sizeOf("log")).toBe(300);
    expect(disk.exists("tmp")).toBe(false);
    expect(disk.usedBytes).toBe(300);
    expect(disk.lostBytes).toBe(120);
    expect(events("DiskWritesLost")).toEqual([
      expect.objectContaining({ host: "tm-1", disk: "disk0", file: "log", bytesLost: 50 }),
      expect.objectContaining({ file: "tmp", bytesLost: 70 }),
    ]);
    expect(() => disk.append("log", 1, null, () => {})).toThrow(InvariantError);
    expect(() => disk.read("log", 0, 1, () => {})).toThrow(InvariantError);
    host.restart();
    disk.read("log", 0, 1_000, r.cb("reread"));
    disk.append("log", 10, "r5", r.cb("again"));
    kernel.run();
    expect(r.done.find((d) => d.label === "reread")!.chunks!.map((c) => c.data)).toEqual(["r1", "r2"]);
    expect(r.done.find((d) => d.label === "again")!.code).toBeUndefined();
    expect(disk.sizeOf("log")).toBe(310);
  });

  it("a zero-delay failure scheduled before a crash does not call back after it", () => {
    const { kernel, host, disk } = world({ capacityBytes: 10 });
    let ran = 0;
    disk.append("a", 100, null, () => ran++);
    host.crash();
    host.restart();
    kernel.run();
    expect(ran).toBe(0);
  });

  it("overlapping windows of one fault kind are refused", () => {
    const { disk } = world();
    disk.startFault("ioError");
    expect(() => disk.startFault("ioError")).toThrow(InvariantError);
    disk.endFault("ioError");
    expect(() => disk.endFault("ioError")).toThrow(InvariantError);
  });

  it("property: after a crash each file keeps exactly the bytes appended before its last completed fsync", () => {
    type Cmd =
      | { op: "append"; file: number; sizeBytes: number }
      | { op: "fsync"; file: number }
      | { op: "advance"; ns: number }
      | { op: "crash" };
    const cmd: fc.Arbitrary<Cmd> = fc.oneof(
      { arbitrary: fc.record({ op: fc.constant("append" as const), file: fc.nat(2), sizeBytes: fc.integer({ min: 0, max: 2_000_000 }) }), weight: 5 },
      { arbitrary: fc.record({ op: fc.constant("fsync" as const), file: fc.nat(2) }), weight: 2 },
      { arbitrary: fc.record({ op: fc.constant("advance" as const), ns: fc.integer({ min: 0, max: 40_000_000 }) }), weight: 3 },
      { arbitrary: fc.constant({ op: "crash" as const }), weight: 1 },
    );
    fc.assert(
      fc.property(fc.constantFrom<"ssd" | "hdd">("ssd", "hdd"), fc.array(cmd, { maxLength: 40 }), (profile, cmds) => {
        const { kernel, host, disk, events } = world({ profile });
        const names = ["f0", "f1", "f2"];
        // Model: bytes issued per file in this life, and the durable size after the last completed fsync.
        const issued = new Map<string, number>();
        const durable = new Map<string, number>();
        const check = () => {
          for (const name of names) {
            expect(disk.sizeOf(name)).toBe(durable.get(name));
            issued.set(name, durable.get(name) ?? 0);
          }
        };
        for (const c of [...cmds, { op: "crash" as const }]) {
          if (c.op === "append") {
            const name = names[c.file]!;
            issued.set(name, (issued.get(name) ?? 0) + c.sizeBytes);
            disk.append(name, c.sizeBytes, null, (err) => expect(err).toBeUndefined());
          } else if (c.op === "fsync") {
            const name = names[c.file]!;
            if (!disk.exists(name)) continue; // ENOENT, covered elsewhere
            const atIssue = issued.get(name)!;
            disk.fsync(name, (err) => {
              expect(err).toBeUndefined();
              durable.set(name, atIssue);
            });
          } else if (c.op === "advance") {
            kernel.run({ untilNs: kernel.now + c.ns });
          } else {
            const lostBefore = events("DiskWritesLost").reduce((s, e) => s + (e.bytesLost as number), 0);
            const sizeBefore = names.reduce((s, n) => s + (disk.sizeOf(n) ?? 0), 0);
            host.crash();
            const lostNow = events("DiskWritesLost").reduce((s, e) => s + (e.bytesLost as number), 0) - lostBefore;
            const sizeAfter = names.reduce((s, n) => s + (disk.sizeOf(n) ?? 0), 0);
            expect(lostNow).toBe(sizeBefore - sizeAfter);
            expect(disk.usedBytes).toBe(sizeAfter);
            expect(disk.lostBytes).toBe(lostBefore + lostNow);
            check();
            host.restart();
            kernel.run({ untilNs: kernel.now + 1 });
          }
        }
      }),
      { numRuns: propRuns(200) },
    );
  });
});

describe("disk spec validation", () => {
  const field = (spec: unknown) => {
    const { kernel, trace, host } = world();
    try {
      new Disk(kernel, trace, host, "disk0", spec as DiskSpec);
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      return (e as InputError).message;
    }
    throw new Error("no error");
  };

  it("names the field and the problem", () => {
    expect(field({ writeBandwidthBytesPerS: 0 })).toMatch(/^disks\.tm-1\.writeBandwidthBytesPerS: .*positive/);
    expect(field({ readBandwidthBytesPerS: -5 })).toMatch(/^disks\.tm-1\.readBandwidthBytesPerS: /);
    expect(field({ profile: "hdx" })).toBe('disks.tm-1.profile: unknown disk profile "hdx" (did you mean "hdd"?)');
    expect(field({ capacityBytes: 0 })).toMatch(/^disks\.tm-1\.capacityBytes: /);
    expect(field({ capacityBytes: -1 })).toMatch(/^disks\.tm-1\.capacityBytes: /);
    expect(field({ opLatency: "5 parsecs" })).toMatch(/^disks\.tm-1\.opLatency: bad duration/);
    expect(field({ seek: -1 })).toMatch(/^disks\.tm-1\.seek: /);
    expect(field({ fsyncLatency: "10" })).toMatch(/^disks\.tm-1\.fsyncLatency: /);
    expect(field({ bandwith: 1 })).toMatch(/^disks\.tm-1\.bandwith: unknown field/);
  });

  it("uses the given field prefix", () => {
    const { kernel, trace, host } = world();
    expect(() => new Disk(kernel, trace, host, "d", { capacityBytes: 0 }, "cluster.hosts[2].disk")).toThrow(
      /^cluster\.hosts\[2\]\.disk\.capacityBytes: /,
    );
  });

  it("refuses a slow factor that does not slow", () => {
    const { disk } = world();
    expect(() => disk.startFault("slow", 0.5)).toThrow(/^disks\.tm-1\.fault\.factor: /);
    expect(() => disk.startFault("slow")).toThrow(InputError);
  });
});
