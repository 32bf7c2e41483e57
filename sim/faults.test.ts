import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { propRuns } from "../test/prop";
import { drawRandomFaults, parseFaults } from "./faults";
import { Rng } from "./rng";
import { MemorySink } from "./trace/recorder";
import { World, type ClusterSpec } from "./world";

const CLUSTER: ClusterSpec = {
  hosts: [
    { name: "jm", cores: 1 },
    { name: "tm-1", cores: 2 },
    { name: "tm-2", cores: 2 },
  ],
  network: { latency: "1ms" },
};

function makeWorld(seed = 1) {
  const sink = new MemorySink();
  const world = new World(CLUSTER, { seed, scenario: "faults-test", trace: { level: "summary", sink } });
  const kinds = () => sink.lines.map((l) => JSON.parse(l) as { kind: string; t: number; [k: string]: unknown });
  return { world, sink, kinds };
}

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return "";
}

describe("fault plans", () => {
  it("crash window: the host is down inside it, restarted after, and unsynced writes are gone", () => {
    const { world, kinds } = makeWorld();
    world.injectFaults([{ trigger: { from: "1s", to: "2s" }, fault: "crash", target: "tm-1" }]);
    const disk = world.disk("tm-1");
    const host = world.host("tm-1");
    world.kernel.schedule(100_000_000, () => {
      disk.append("synced.log", 1000, "a", () => disk.fsync("synced.log", () => disk.append("synced.log", 500, "b", () => {})));
      disk.append("unsynced.log", 700, "c", () => {});
    });
    const states: boolean[] = [];
    for (const t of [0.5e9, 1.5e9, 2.5e9]) world.kernel.schedule(t, () => states.push(host.up));
    world.run();
    expect(states).toEqual([true, false, true]);
    expect(disk.sizeOf("synced.log")).toBe(1000);
    expect(disk.exists("unsynced.log")).toBe(false);
    const events = kinds();
    const fired = events.filter((e) => e.kind === "FaultFired").map((e) => [e.t, e.fault]);
    expect(fired).toEqual([
      [1e9, "crash"],
      [2e9, "crash.end"],
    ]);
    expect(events.filter((e) => e.kind === "DiskWritesLost").map((e) => e.file).sort()).toEqual(["synced.log", "unsynced.log"]);
  });

  it("partition window blocks delivery, heal delivers held messages in order", () => {
    const { world } = makeWorld();
    world.injectFaults([{ trigger: { from: "1s", to: "3s" }, fault: "partition", target: "jm|tm-1" }]);
    const got: [number, number][] = [];
    const conn = world.network.connect(
      "jm",
      "tm-1",
      "test",
      { onMessage() {}, onClose() {} },
      { onMessage: (p) => got.push([p as number, world.now]), onClose() {} },
    );
    for (let i = 0; i < 5; i++) world.kernel.schedule(1.5e9 + i * 1e6, () => conn.a.send(i, 100));
    world.run();
    expect(got.map(([i]) => i)).toEqual([0, 1, 2, 3, 4]);
    for (const [, t] of got) expect(t).toBeGreaterThanOrEqual(3e9);
  });

  it("slow window scales the host's speed and restores it", () => {
    const { world } = makeWorld();
    world.injectFaults([{ trigger: { from: "1s", to: "2s" }, fault: { type: "slow", factor: 0.5 }, target: "tm-2" }]);
    const speeds: number[] = [];
    for (const t of [0.5e9, 1.5e9, 2.5e9]) world.kernel.schedule(t, () => speeds.push(world.host("tm-2").speed));
    world.run();
    expect(speeds).toEqual([1, 0.5, 1]);
  });

  it("engine-event triggers fire on the nth matching signal, after their delay", () => {
    const { world, kinds } = makeWorld();
    const injector = world.injectFaults([
      { trigger: { on: "checkpoint.triggered", where: { id: 3 }, delay: "10ms" }, fault: "crash", target: "tm-2" },
      { trigger: { on: "sink.precommit", nth: 2 }, fault: "diskIoError", target: "tm-1" },
    ]);
    for (let id = 1; id <= 4; id++) world.kernel.schedule(id * 1e9, () => injector.signal("checkpoint.triggered", { id }));
    for (let n = 1; n <= 3; n++) world.kernel.schedule(n * 1e8, () => world.signal("sink.precommit"));
    world.run();
    const fired = kinds().filter((e) => e.kind === "FaultFired");
    expect(fired.map((e) => [e.t, e.fault, e.target])).toEqual([
      [2e8, "diskIoError", "tm-1"],
      [3e9 + 1e7, "crash", "tm-2"],
    ]);
    expect(world.host("tm-2").up).toBe(false);
    expect(world.disk("tm-1").isActive("ioError")).toBe(true);
  });

  it("a \"$field\" target is the host the triggering event names, resolved when it fires", () => {
    const { world, kinds } = makeWorld();
    const injector = world.injectFaults([
      { trigger: { on: "speculation.deployed", nth: 2, delay: "5ms" }, fault: { type: "crash", restartAfter: "1s" }, target: "$host" },
      { trigger: { on: "speculation.deployed", nth: 3 }, fault: "crash", target: "$host" },
    ]);
    world.kernel.schedule(1e8, () => injector.signal("speculation.deployed", { host: "tm-1" }));
    world.kernel.schedule(2e8, () => injector.signal("speculation.deployed", { host: "tm-2" }));
    // No such host: the fault is void (traced), nothing crashes.
    world.kernel.schedule(3e8, () => injector.signal("speculation.deployed", { host: "tm-9" }));
    world.kernel.schedule(5e8, () => expect(world.host("tm-2").up).toBe(false));
    world.run();
    const fired = kinds().filter((e) => e.kind === "FaultFired");
    expect(fired.map((e) => [e.t, e.fault, e.target])).toEqual([
      [2e8 + 5e6, "crash", "tm-2"],
      [3e8, "crash.void", "$host"],
    ]);
    expect(world.host("tm-1").up).toBe(true);
    expect(world.host("tm-2").up).toBe(true); // restarted after 1 s
    const hosts = ["jm", "tm-1", "tm-2"];
    expect(errorOf(() => parseFaults([{ trigger: { at: "1s" }, fault: "crash", target: "$host" }], hosts))).toMatch(/^faults\[0\]\.target: .*use an \{ on \} trigger/);
    expect(errorOf(() => parseFaults([{ trigger: { on: "x" }, fault: "partition", target: "$host" }], hosts))).toMatch(/^faults\[0\]\.target: .*only works for host faults/);
  });

  it("blob outage window fails puts inside it", () => {
    const { world } = makeWorld();
    world.injectFaults([{ trigger: { from: "1s", to: "2s" }, fault: "blobOutage" }]);
    const results: Record<string, string> = {};
    for (const t of [0.5e9, 1.2e9, 2.5e9]) {
      world.kernel.schedule(t, () => world.blobStore.put(world.host("tm-1"), `k${t}`, 1000, null, (err) => (results[t] = err ? err.code : "ok")));
    }
    world.run();
    expect(results).toEqual({ [0.5e9]: "ok", [1.2e9]: "Unavailable", [2.5e9]: "ok" });
    expect(world.blobStore.has(`k${1.2e9}`)).toBe(false);
  });

  it("bad plans get one-line errors naming the field", () => {
    const hosts = ["jm", "tm-1", "tm-2"];
    expect(errorOf(() => parseFaults([{ trigger: { at: "1s" }, fault: "crash", target: "tm-9" }], hosts))).toBe(
      'faults[0].target: unknown host "tm-9" (did you mean "tm-1"?)',
    );
    expect(errorOf(() => parseFaults([{ trigger: { at: "1 parsec" }, fault: "crash", target: "tm-1" }], hosts))).toMatch(/^faults\[0\]\.trigger\.at: bad duration/);
    expect(errorOf(() => parseFaults([{ trigger: { at: "1s" }, fault: "crahs", target: "tm-1" }], hosts))).toBe(
      'faults[0].fault.type: unknown fault type "crahs" (did you mean "crash"?)',
    );
    expect(errorOf(() => parseFaults([{ trigger: { from: "2s", to: "1s" }, fault: "crash", target: "tm-1" }], hosts))).toMatch(/^faults\[0\]\.trigger\.to: /);
    expect(errorOf(() => parseFaults([{ trigger: { at: "1s" }, fault: "partition", target: "tm-1" }], hosts))).toMatch(/^faults\[0\]\.target: a partition fault targets two hosts/);
    expect(
      errorOf(() =>
        parseFaults(
          [
            { trigger: { from: "1s", to: "3s" }, fault: "crash", target: "tm-1" },
            { trigger: { from: "2s", to: "4s" }, fault: "crash", target: "tm-1" },
          ],
          hosts,
        ),
      ),
    ).toMatch(/^faults\[1\]\.trigger: overlaps/);
    expect(errorOf(() => parseFaults([{ trigger: { at: "1s" }, fault: { type: "slow", factor: 3 }, target: "tm-1" }], hosts))).toMatch(/^faults\[0\]\.fault\.factor: /);
  });
});

describe("random fault plans", () => {
  const hosts = ["tm-1", "tm-2", "tm-3"];
  const spec = { horizon: "1h", hostCrashesPerHour: 3, slowWindowsPerHour: 2, partitionsPerHour: 1, blobOutagesPerHour: 1 };

  it("are drawn up front: same seed, same plan; valid against the world; zero rates, no faults", () => {
    const a = drawRandomFaults(Rng.root(5), hosts, spec);
    expect(drawRandomFaults(Rng.root(5), hosts, spec)).toEqual(a);
    expect(drawRandomFaults(Rng.root(6), hosts, spec)).not.toEqual(a);
    expect(a.length).toBeGreaterThan(5);
    expect(parseFaults(a, hosts).length).toBe(a.length);
    expect(drawRandomFaults(Rng.root(5), hosts, { horizon: "1h" })).toEqual([]);
  });

  it("adding a host leaves every other entity's faults unchanged (common random numbers)", () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const small = drawRandomFaults(Rng.root(seed), ["tm-1", "tm-2"], spec);
        const big = drawRandomFaults(Rng.root(seed), ["tm-1", "tm-2", "tm-3"], spec);
        const about = (plan: typeof small, host: string) => plan.filter((f) => f.target === host);
        expect(about(big, "tm-1")).toEqual(about(small, "tm-1"));
        expect(about(big, "tm-2")).toEqual(about(small, "tm-2"));
        expect(big.filter((f) => f.target === undefined)).toEqual(small.filter((f) => f.target === undefined));
      }),
      { numRuns: propRuns(50) },
    );
  });

  it("rejects negative rates naming the field", () => {
    expect(errorOf(() => drawRandomFaults(Rng.root(1), hosts, { horizon: "1h", hostCrashesPerHour: -1 }))).toMatch(
      /^randomFaults\.hostCrashesPerHour: /,
    );
  });
});

describe("world", () => {
  it("validates the cluster spec naming the field", () => {
    const mk = (spec: unknown) => errorOf(() => new World(spec as ClusterSpec, { seed: 1, scenario: "x" }));
    expect(mk({ hosts: [] })).toBe("cluster.hosts: must list at least one host");
    expect(mk({ hosts: [{ name: "a", cores: 1 }], netwrok: {} })).toBe('cluster.netwrok: unknown field "netwrok" (did you mean "network"?)');
    expect(mk({ hosts: [{ name: "a", cores: 1 }, { name: "a", cores: 1 }] })).toBe('cluster.hosts[1].name: duplicate host name "a"');
    expect(mk({ hosts: [{ name: "a", cores: 1 }], network: { hostBandwidthBytesPerS: -5 } })).toMatch(/^cluster\.network\.hostBandwidthBytesPerS: /);
    expect(mk({ hosts: [{ name: "a", cores: 1, disk: { profile: "tape" } }] })).toMatch(/^cluster\.hosts\[0\]\.disk\.profile: /);
    const { world } = makeWorld();
    expect(errorOf(() => world.host("tm-3"))).toBe('host: unknown host "tm-3" (did you mean "tm-1"?)');
  });

  it("writes RunStarted first with seed and Node version, RunEnded last with the kernel hash", () => {
    const { world, kinds } = makeWorld(42);
    world.kernel.after(5, () => {});
    world.run();
    const fp = world.finish("idle");
    const events = kinds();
    expect(events[0]!.kind).toBe("RunStarted");
    expect(events[0]!.seed).toBe("42");
    expect(events[0]!.nodeVersion).toBe(process.version);
    expect(events.at(-1)!.kind).toBe("RunEnded");
    expect(events.at(-1)!.kernelHash).toBe(world.kernel.rollingHash);
    expect(fp).toMatch(/^[0-9a-f]{64}$/);
  });
});
