import { describe, expect, it } from "vitest";
import { BlobStore, type BlobError, type BlobObject, type BlobStoreSpec } from "./blob-store";
import { parseDurationDist } from "./distributions";
import { InputError, InvariantError } from "./errors";
import { Host } from "./host";
import { Kernel } from "./kernel";
import { Link } from "./link";
import { Rng } from "./rng";
import { MemorySink, Trace } from "./trace/recorder";

function world(spec: BlobStoreSpec = {}, seed = 1, nics?: ConstructorParameters<typeof BlobStore>[5]) {
  const kernel = new Kernel();
  const sink = new MemorySink();
  const trace = new Trace(kernel, { level: "detailed", sink });
  trace.start({ seed: String(seed), scenario: "blob-test", flowsimVersion: "0", nodeVersion: process.version, level: "detailed", config: {} });
  const host = new Host(kernel, trace, { name: "tm-1", cores: 2 });
  const other = new Host(kernel, trace, { name: "tm-2", cores: 2 });
  const store = new BlobStore(kernel, trace, Rng.root(seed), spec, "blobStore", nics);
  const events = (kind: string) => sink.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.kind === kind);
  return { kernel, trace, host, other, store, events };
}

function recorder(kernel: Kernel) {
  const done: { label: string; atNs: number; code: string | undefined; obj?: BlobObject }[] = [];
  const cb =
    (label: string) =>
    (err?: BlobError, obj?: BlobObject): void => {
      done.push({ label, atNs: kernel.now, code: err?.code, ...(obj === undefined ? {} : { obj }) });
    };
  const at = (label: string) => done.find((d) => d.label === label);
  return { done, cb, at };
}

const FIXED: BlobStoreSpec = { latency: "20ms", bandwidthBytesPerS: 1e9 };

describe("blob store timing and data", () => {
  it("put then get: latency + size / bandwidth each, the object visible only once the put completes", () => {
    const { kernel, host, store } = world(FIXED);
    const r = recorder(kernel);
    store.put(host, "ckpt/1/state", 5_000_000, { records: [1, 2, 3] }, r.cb("put")); // 20 ms + 5 ms
    kernel.run({ untilNs: 24_999_999 });
    expect(store.has("ckpt/1/state")).toBe(false);
    kernel.run();
    expect(r.at("put")).toMatchObject({ atNs: 25_000_000, code: undefined });
    expect(store.has("ckpt/1/state")).toBe(true);
    expect(store.sizeOf("ckpt/1/state")).toBe(5_000_000);
    store.get(host, "ckpt/1/state", r.cb("get"));
    store.get(host, "ckpt/2/state", r.cb("missing"));
    kernel.run();
    expect(r.at("get")!.atNs).toBe(25_000_000 + 20_000_000 + 5_000_000);
    expect(r.at("get")!.obj).toEqual({ key: "ckpt/1/state", sizeBytes: 5_000_000, data: { records: [1, 2, 3] } });
    expect(r.at("missing")).toMatchObject({ atNs: 45_000_000, code: "NotFound" });
  });

  it("default latency is drawn from the store's own stream blob/<name>", () => {
    const { kernel, host, store } = world({}, 42);
    const r = recorder(kernel);
    for (let i = 0; i < 5; i++) store.put(host, `k${i}`, 0, null, r.cb(`p${i}`));
    kernel.run();
    const replica = Rng.root(42).child("blob/store");
    const sampler = parseDurationDist({ dist: "lognormal", median: "20ms", sigma: 0.5 }, "x").sampler;
    const expected = [0, 1, 2, 3, 4].map(() => sampler(replica));
    expect(r.done.map((d) => [d.label, d.atNs]).sort((a, b) => (a[1]! as number) - (b[1]! as number))).toEqual(
      expected.map((ns, i) => [`p${i}`, ns] as [string, number]).sort((a, b) => a[1] - b[1]),
    );
    // Lognormal with median 20 ms: spread around it, not constant.
    expect(new Set(expected).size).toBe(5);
    for (const ns of expected) expect(ns).toBeGreaterThan(2_000_000);
    for (const ns of expected) expect(ns).toBeLessThan(200_000_000);
  });

  it("transfers share the store's aggregate bandwidth", () => {
    const { kernel, host, other, store } = world(FIXED);
    const r = recorder(kernel);
    store.put(host, "a", 10_000_000, null, r.cb("a")); // 20 ms + 10 ms
    store.put(other, "b", 10_000_000, null, r.cb("b")); // waits for the link: ends 10 ms later
    kernel.run();
    expect(r.done.map((d) => [d.label, d.atNs])).toEqual([
      ["a", 30_000_000],
      ["b", 40_000_000],
    ]);
    expect(store.link.bytes).toBe(20_000_000);
    expect(store.totalBytes).toBe(20_000_000);
  });

  it("with nics, a put also crosses the host's egress and a get its ingress", () => {
    const egress = new Map<string, Link>();
    const ingress = new Map<string, Link>();
    const nic = (m: Map<string, Link>, dir: string) => (h: string) => {
      if (!m.has(h)) m.set(h, new Link(`${h}/${dir}`, 1e8));
      return m.get(h)!;
    };
    const { kernel, host, store } = world(FIXED, 1, { egress: nic(egress, "out"), ingress: nic(ingress, "in") });
    const r = recorder(kernel);
    store.put(host, "a", 1_000_000, null, r.cb("put")); // NIC 100 MB/s: 10 ms after the 20 ms latency
    kernel.run();
    store.get(host, "a", r.cb("get"));
    kernel.run();
    expect(r.at("put")!.atNs).toBe(30_000_000);
    expect(r.at("get")!.atNs).toBe(60_000_000);
    expect(egress.get("tm-1")!.bytes).toBe(1_000_000);
    expect(ingress.get("tm-1")!.bytes).toBe(1_000_000);
  });

  it("delete removes after its latency; deleting a missing key succeeds; list is sorted by key", () => {
    const { kernel, host, store } = world(FIXED);
    const r = recorder(kernel);
    for (const key of ["b/2", "a/1", "b/10", "b/1", "c"]) store.put(host, key, 10, key, r.cb(key));
    kernel.run();
    expect(store.list("b/")).toEqual(["b/1", "b/10", "b/2"]);
    expect(store.list()).toEqual(["a/1", "b/1", "b/10", "b/2", "c"]);
    expect(store.totalBytes).toBe(50);
    const t0 = kernel.now;
    store.delete(host, "b/10", r.cb("del"));
    store.delete(host, "nope", r.cb("delMissing"));
    kernel.run({ untilNs: t0 + 19_999_999 });
    expect(store.has("b/10")).toBe(true);
    kernel.run();
    expect(r.at("del")).toMatchObject({ atNs: t0 + 20_000_000, code: undefined });
    expect(r.at("delMissing")!.code).toBeUndefined();
    expect(store.has("b/10")).toBe(false);
    expect(store.totalBytes).toBe(40);
  });

  it("callbacks never run inside the call", () => {
    const { kernel, host, store } = world({ latency: 0 });
    let ran = 0;
    store.put(host, "k", 0, null, () => ran++);
    store.get(host, "missing", () => ran++);
    store.delete(host, "k", () => ran++);
    expect(ran).toBe(0);
    kernel.run();
    expect(ran).toBe(3);
  });
});

describe("blob store outages", () => {
  it('"fail": ops issued during the outage, or completing in it, fail with Unavailable after failAfter', () => {
    const { kernel, host, store, events } = world({ ...FIXED, failAfter: "2s" });
    const r = recorder(kernel);
    store.put(host, "inflight", 100_000_000, null, r.cb("inflight")); // would end at 120 ms
    kernel.schedule(50_000_000, () => store.startOutage());
    kernel.schedule(1_000_000_000, () => store.put(host, "during", 10, null, r.cb("during")));
    kernel.schedule(1_500_000_000, () => store.endOutage());
    kernel.schedule(1_600_000_000, () => store.put(host, "after", 10, null, r.cb("after")));
    kernel.run();
    expect(r.done.map((d) => [d.label, d.code, d.atNs])).toEqual([
      ["after", undefined, 1_620_000_010],
      ["inflight", "Unavailable", 2_000_000_000], // issued at 0, client timeout 2 s
      ["during", "Unavailable", 3_000_000_000], // issued at 1 s, lost even though the outage ended
    ]);
    expect(store.has("inflight")).toBe(false);
    expect(store.has("during")).toBe(false);
    expect(store.list()).toEqual(["after"]);
    expect(events("BlobOutageStarted")).toMatchObject([{ store: "store", mode: "fail" }]);
    expect(events("BlobOutageEnded")).toMatchObject([{ store: "store" }]);
    expect(events("BlobOpFailed")).toMatchObject([
      { store: "store", op: "put", key: "inflight", error: "Unavailable" },
      { store: "store", op: "put", key: "during", error: "Unavailable" },
    ]);
  });

  it('"delay": ops wait for the end of the outage and then proceed in issue order', () => {
    const { kernel, host, store, events } = world({ ...FIXED, outageMode: "delay" });
    const r = recorder(kernel);
    store.put(host, "inflight", 100_000_000, "v1", r.cb("inflight")); // would end at 120 ms
    kernel.schedule(50_000_000, () => store.startOutage());
    kernel.schedule(200_000_000, () => {
      store.get(host, "inflight", r.cb("get"));
      store.put(host, "later", 10, null, r.cb("later"));
    });
    kernel.schedule(1_000_000_000, () => {
      expect(store.has("inflight")).toBe(false); // held, not yet visible
      store.endOutage();
    });
    kernel.run();
    expect(r.done.map((d) => [d.label, d.code, d.atNs])).toEqual([
      ["inflight", undefined, 1_000_000_000], // finished its transfer, held until the end
      // Both start their latency at the end; the get, issued first, takes the link first
      // (100 MB, 100 ms) and the put's 10 bytes follow it.
      ["get", undefined, 1_120_000_000],
      ["later", undefined, 1_120_000_010],
    ]);
    expect(r.at("get")!.obj!.data).toBe("v1");
    expect(events("BlobOutageStarted")).toMatchObject([{ mode: "delay" }]);
    expect(events("BlobOpFailed")).toEqual([]);
  });

  it("an explicit mode overrides the spec's", () => {
    const { kernel, host, store } = world({ ...FIXED, outageMode: "delay", failAfter: "1s" });
    const r = recorder(kernel);
    store.startOutage("fail");
    store.get(host, "x", r.cb("get"));
    kernel.run();
    expect(r.done).toEqual([{ label: "get", atNs: 1_000_000_000, code: "Unavailable" }]);
    expect(() => store.startOutage()).toThrow(InvariantError);
    store.endOutage();
    expect(() => store.endOutage()).toThrow(InvariantError);
  });
});

describe("blob store and host crashes", () => {
  it("a put whose host crashes mid-flight is not visible and never calls back", () => {
    const { kernel, host, store } = world(FIXED);
    const r = recorder(kernel);
    store.put(host, "a", 10_000_000, null, r.cb("a")); // would end at 30 ms
    kernel.schedule(25_000_000, () => host.crash());
    kernel.run();
    expect(r.done).toEqual([]);
    expect(store.has("a")).toBe(false);
    expect(store.opsInFlight).toBe(0);
    expect(() => store.put(host, "b", 1, null, () => {})).toThrow(InvariantError);
  });

  it("a put from a past incarnation (crash and restart before it completes) is abandoned", () => {
    const { kernel, host, store } = world(FIXED);
    const r = recorder(kernel);
    store.put(host, "a", 0, null, r.cb("old"));
    kernel.schedule(5_000_000, () => {
      host.crash();
      host.restart();
      store.put(host, "b", 0, null, r.cb("new"));
    });
    kernel.run();
    expect(r.done.map((d) => d.label)).toEqual(["new"]);
    expect(store.list()).toEqual(["b"]);
  });

  it("stored objects survive crashes of the host that wrote them", () => {
    const { kernel, host, other, store } = world(FIXED);
    const r = recorder(kernel);
    store.put(host, "a", 100, "payload", r.cb("put"));
    kernel.run();
    host.crash();
    store.get(other, "a", r.cb("get"));
    kernel.run();
    expect(r.at("get")!.obj!.data).toBe("payload");
    host.restart();
    expect(store.has("a")).toBe(true);
  });
});

describe("blob store determinism", () => {
  function timings(seed: number): number[] {
    const { kernel, host, other, store } = world({}, seed);
    const out: number[] = [];
    for (let i = 0; i < 20; i++) {
      kernel.schedule(i * 7_000_000, () => store.put(i % 2 === 0 ? host : other, `k${i}`, 1_000_000 * (i % 5), i, () => out.push(kernel.now)));
    }
    kernel.run();
    return out;
  }

  it("same seed, same timings; another seed, other timings", () => {
    const a = timings(7);
    expect(a).toHaveLength(20);
    expect(timings(7)).toEqual(a);
    expect(timings(8)).not.toEqual(a);
  });
});

describe("blob store spec validation", () => {
  const message = (spec: unknown, field?: string) => {
    const kernel = new Kernel();
    const trace = new Trace(kernel);
    try {
      new BlobStore(kernel, trace, Rng.root(1), spec as BlobStoreSpec, field);
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      return (e as InputError).message;
    }
    throw new Error("no error");
  };

  it("names the field and the problem", () => {
    expect(message({ bandwidthBytesPerS: 0 })).toMatch(/^blobStore\.bandwidthBytesPerS: .*positive/);
    expect(message({ latency: { dist: "lognormal", median: "fast", sigma: 0.5 } })).toMatch(/^blobStore\.latency\.median: bad duration/);
    expect(message({ latency: { dist: "lognormal", median: "20ms", sigma: -1 } })).toMatch(/^blobStore\.latency\.sigma: /);
    expect(message({ outageMode: "fial" })).toBe('blobStore.outageMode: unknown outage mode "fial" (did you mean "fail"?)');
    expect(message({ failAfter: "0s" })).toMatch(/^blobStore\.failAfter: /);
    expect(message({ failAfter: "5" })).toMatch(/^blobStore\.failAfter: /);
    expect(message({ name: "" })).toMatch(/^blobStore\.name: /);
    expect(message({ latencyMs: 5 })).toMatch(/^blobStore\.latencyMs: unknown field/);
    expect(message({ bandwidthBytesPerS: -1 }, "cluster.blobStore")).toMatch(/^cluster\.blobStore\.bandwidthBytesPerS: /);
  });
});
