import { describe, expect, it } from "vitest";
import { propRuns } from "../test/prop";
import fc from "fast-check";
import { InputError } from "./errors";
import { Host } from "./host";
import { Kernel } from "./kernel";
import { Link } from "./link";
import { Network, type Connection, type EndpointHandler, type NetworkSpec } from "./network";
import { Rng } from "./rng";
import { MemorySink, Trace } from "./trace/recorder";
import type { DurationDistSpec } from "./distributions";

const runs = propRuns;

/** 1 byte per ns: transfer times equal sizes, so expected times are easy to read. */
const BW = 1e9;
const L = 100_000; // "100us"
const MS = 1_000_000;
const S = 1_000_000_000;

function world(opts: { hosts?: string[]; spec?: NetworkSpec; seed?: number } = {}) {
  const kernel = new Kernel();
  const sink = new MemorySink();
  const trace = new Trace(kernel, { level: "detailed", sink });
  const seed = opts.seed ?? 1;
  trace.start({ seed: String(seed), scenario: "network-test", flowsimVersion: "0", nodeVersion: process.version, level: "detailed", config: {} });
  const names = opts.hosts ?? ["h1", "h2", "h3"];
  const hosts = new Map(names.map((name) => [name, new Host(kernel, trace, { name, cores: 1 })] as const));
  const net = new Network(kernel, trace, Rng.root(seed), hosts, opts.spec ?? { hostBandwidthBytesPerS: BW, latency: "100us" });
  const kinds = (kind: string) => sink.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.kind === kind);
  return { kernel, trace, sink, hosts, net, kinds };
}

class Rec implements EndpointHandler {
  readonly got: { payload: unknown; sizeBytes: number; atNs: number }[] = [];
  readonly closes: { reason: string; atNs: number }[] = [];
  constructor(private readonly kernel: Kernel) {}
  onMessage(payload: unknown, sizeBytes: number): void {
    this.got.push({ payload, sizeBytes, atNs: this.kernel.now });
  }
  onClose(reason: string): void {
    this.closes.push({ reason, atNs: this.kernel.now });
  }
  get payloads(): unknown[] {
    return this.got.map((g) => g.payload);
  }
  get times(): number[] {
    return this.got.map((g) => g.atNs);
  }
}

function pair(w: ReturnType<typeof world>, from = "h1", to = "h2", label = "test") {
  const a = new Rec(w.kernel);
  const b = new Rec(w.kernel);
  const conn = w.net.connect(from, to, label, a, b);
  return { conn, a, b };
}

function at(kernel: Kernel, atNs: number, fn: () => void): void {
  kernel.schedule(atNs, fn);
}

describe("network delivery", () => {
  it("delivers after cut-through transfer plus latency, never synchronously", () => {
    const w = world();
    const { conn, b } = pair(w);
    expect(conn.a.send("x", 1000)).toBe(true);
    expect(b.got).toEqual([]); // not inside send
    w.kernel.run();
    expect(b.got).toEqual([{ payload: "x", sizeBytes: 1000, atNs: 1000 + L }]);
    expect(w.net.bytesSent("h1")).toBe(1000);
    expect(w.net.bytesReceived("h2")).toBe(1000);
    expect(w.net.egress("h1").busyNs).toBe(1000);
    expect(w.net.ingress("h2").bytes).toBe(1000);
    expect(w.kinds("ConnectionOpened")).toEqual([expect.objectContaining({ conn: conn.id, from: "h1", to: "h2", label: "test" })]);
    expect(w.kinds("MessageSent")).toHaveLength(1);
    expect(w.kinds("MessageDelivered")).toEqual([expect.objectContaining({ t: 1000 + L, from: "h1", to: "h2", sizeBytes: 1000 })]);
  });

  it("a slower core link bounds a path; a faster one does not slow it (cut-through)", () => {
    const slow = world({ spec: { hostBandwidthBytesPerS: BW, linkBandwidthBytesPerS: BW / 4, latency: 0 } });
    pair(slow).conn.a.send(1, 1000);
    slow.kernel.run();
    expect(slow.kernel.now).toBe(4000);
    expect(slow.net.core!.busyNs).toBe(4000);
    const fast = world({ spec: { hostBandwidthBytesPerS: BW, linkBandwidthBytesPerS: BW * 4, latency: 0 } });
    pair(fast).conn.a.send(1, 1000);
    fast.kernel.run();
    expect(fast.kernel.now).toBe(1000);
  });

  it("same-host connections deliver at now, in order, as kernel events", () => {
    const w = world();
    const { conn, b, a } = pair(w, "h1", "h1");
    at(w.kernel, 5000, () => {
      conn.a.send(1, 1_000_000);
      conn.a.send(2, 0);
      conn.b.send("back", 10);
      expect(b.got).toEqual([]);
    });
    w.kernel.run();
    expect(b.got).toEqual([
      { payload: 1, sizeBytes: 1_000_000, atNs: 5000 },
      { payload: 2, sizeBytes: 0, atNs: 5000 },
    ]);
    expect(a.payloads).toEqual(["back"]);
    expect(w.net.egress("h1").bytes).toBe(0); // no NIC crossed
  });

  it("FIFO per direction even when a later message would arrive sooner", () => {
    const w = world({ spec: { hostBandwidthBytesPerS: BW, latency: { dist: "uniform", min: "1us", max: "1ms" } } });
    const { conn, b } = pair(w);
    for (let i = 0; i < 200; i++) conn.a.send(i, 1);
    w.kernel.run();
    expect(b.payloads).toEqual([...Array(200).keys()]);
    const t = b.times;
    for (let i = 1; i < t.length; i++) expect(t[i]!).toBeGreaterThanOrEqual(t[i - 1]!);
  });

  it("lists connections and unknown-host errors name the field and suggest", () => {
    const w = world({ hosts: ["tm-1", "tm-2", "jobmanager"] });
    const r = new Rec(w.kernel);
    const err = (() => {
      try {
        w.net.connect("tm-1", "jobmanagr", "rpc", r, r);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).field).toBe("connect.to");
    expect((err as Error).message).toMatch(/unknown host "jobmanagr".*did you mean "jobmanager"/);
    expect(() => w.net.connect("tm-9x", "tm-1", "rpc", r, r)).toThrow(/^connect\.from: unknown host/);
    expect(() => w.net.partition("tm-1", "tm-1")).toThrow(/partition\.b/);
    const c = w.net.connect("tm-1", "tm-2", "rpc", r, r);
    expect(w.net.connectionsOf("tm-2")).toEqual([c]);
  });
});

describe("network properties", () => {
  const latencyArb = fc.constantFrom<DurationDistSpec>(
    "100us",
    0,
    { dist: "uniform", min: "10us", max: "2ms" },
    { dist: "exponential", mean: "200us" },
    { dist: "lognormal", median: "150us", sigma: 1 },
  );
  const minLatencyNs = (spec: DurationDistSpec) => (spec === "100us" ? L : spec === 0 ? 0 : typeof spec === "object" && spec.dist === "uniform" ? 10_000 : 0);

  it("per direction: in send order, exactly once, none lost; links account every byte", () => {
    fc.assert(
      fc.property(
        fc.record({
          hostCount: fc.integer({ min: 3, max: 4 }),
          conns: fc.array(fc.record({ from: fc.nat(3), to: fc.nat(3) }), { minLength: 1, maxLength: 5 }),
          hostBw: fc.constantFrom(1e7, 1e8, 1.25e9),
          coreBw: fc.option(fc.constantFrom(5e6, 1e8, 1e10), { nil: undefined }),
          latency: latencyArb,
          seed: fc.nat(1000),
          ops: fc.array(
            fc.record({ conn: fc.nat(4), fromA: fc.boolean(), sizeBytes: fc.integer({ min: 0, max: 200_000 }), sendAtNs: fc.integer({ min: 0, max: 5 * MS }) }),
            { maxLength: 60 },
          ),
        }),
        (p) => {
          const names = ["h0", "h1", "h2", "h3"].slice(0, p.hostCount);
          const spec: NetworkSpec = { hostBandwidthBytesPerS: p.hostBw, latency: p.latency };
          if (p.coreBw !== undefined) spec.linkBandwidthBytesPerS = p.coreBw;
          const w = world({ hosts: names, spec, seed: p.seed });
          const hostLink = new Link("ref", p.hostBw);
          const coreLink = p.coreBw === undefined ? undefined : new Link("ref-core", p.coreBw);
          type Sent = { key: string; seq: number; from: string; to: string; sizeBytes: number; sentNs: number };
          const sent = new Map<string, Sent[]>();
          const delivered = new Map<string, Sent[]>();
          const deliveredAt = new Map<Sent, number>();
          const conns: Connection[] = p.conns.map((c, i) => {
            const from = names[c.from % p.hostCount]!;
            const to = names[c.to % p.hostCount]!;
            const handler = (key: string): EndpointHandler => ({
              onMessage(payload) {
                const s = payload as Sent;
                expect(s.key).toBe(key);
                const list = delivered.get(key) ?? [];
                list.push(s);
                delivered.set(key, list);
                deliveredAt.set(s, w.kernel.now);
              },
              onClose() {
                throw new Error("no connection may close in a fault-free run");
              },
            });
            return w.net.connect(from, to, `c${i}`, handler(`${i}:a`), handler(`${i}:b`));
          });
          for (const op of p.ops) {
            const conn = conns[op.conn % conns.length]!;
            const ep = op.fromA ? conn.a : conn.b;
            const key = `${conn.id}:${op.fromA ? "b" : "a"}`; // keyed by the receiving side
            w.kernel.schedule(op.sendAtNs, () => {
              const list = sent.get(key) ?? [];
              const s: Sent = { key, seq: list.length, from: ep.host, to: op.fromA ? conn.to : conn.from, sizeBytes: op.sizeBytes, sentNs: w.kernel.now };
              list.push(s);
              sent.set(key, list);
              expect(ep.send(s, op.sizeBytes)).toBe(true);
            });
          }
          expect(w.kernel.run({ maxEvents: 100_000 }).reason).toBe("idle");

          // Order, exactly once, none lost.
          expect([...delivered.keys()].sort()).toEqual([...sent.keys()].sort());
          for (const [key, list] of sent) expect(delivered.get(key)).toEqual(list);

          // Bandwidth accounting against an independent sum of transfer times.
          const expectBusy = new Map<string, number>();
          const expectBytes = new Map<string, number>();
          const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
          let coreBusy = 0;
          const firstSend = new Map<string, number>();
          const lastDelivery = new Map<string, number>();
          for (const list of sent.values()) {
            for (const s of list) {
              const atNs = deliveredAt.get(s)!;
              expect(atNs).toBeGreaterThanOrEqual(s.sentNs);
              if (s.from === s.to) {
                expect(atNs).toBe(Math.max(s.sentNs, atNs)); // same host: no NIC, no latency
                continue;
              }
              const d = hostLink.transferNs(s.sizeBytes);
              expect(atNs).toBeGreaterThanOrEqual(s.sentNs + Math.max(d, coreLink?.transferNs(s.sizeBytes) ?? 0) + minLatencyNs(p.latency));
              add(expectBusy, `${s.from}/egress`, d);
              add(expectBusy, `${s.to}/ingress`, d);
              add(expectBytes, `${s.from}/egress`, s.sizeBytes);
              add(expectBytes, `${s.to}/ingress`, s.sizeBytes);
              if (coreLink !== undefined) coreBusy += coreLink.transferNs(s.sizeBytes);
              firstSend.set(s.from, Math.min(firstSend.get(s.from) ?? Infinity, s.sentNs));
              lastDelivery.set(s.from, Math.max(lastDelivery.get(s.from) ?? -Infinity, atNs));
            }
          }
          for (const h of names) {
            for (const link of [w.net.egress(h), w.net.ingress(h)]) {
              expect(link.busyNs).toBe(expectBusy.get(link.name) ?? 0);
              expect(link.bytes).toBe(expectBytes.get(link.name) ?? 0);
            }
            const egress = w.net.egress(h);
            if (firstSend.has(h)) {
              const spanNs = lastDelivery.get(h)! - firstSend.get(h)!;
              expect(spanNs).toBeGreaterThanOrEqual((egress.bytes * 1e9) / p.hostBw);
              expect(spanNs).toBeGreaterThanOrEqual(egress.busyNs);
            }
          }
          if (w.net.core !== undefined) expect(w.net.core.busyNs).toBe(coreBusy);

          // Application byte counters and the detailed trace agree with what happened.
          for (const h of names) {
            let out = 0;
            let inb = 0;
            for (const list of sent.values()) for (const s of list) (s.from === h ? (out += s.sizeBytes) : 0, s.to === h ? (inb += s.sizeBytes) : 0);
            expect(w.net.bytesSent(h)).toBe(out);
            expect(w.net.bytesReceived(h)).toBe(inb);
          }
          expect(w.kinds("MessageSent")).toHaveLength(p.ops.length);
          expect(w.kinds("MessageDelivered")).toHaveLength(p.ops.length);
          expect(w.kinds("MessageHeld")).toHaveLength(0);
          expect(conns.every((c) => c.open)).toBe(true);
        },
      ),
      { numRuns: runs(150) },
    );
  });

  it("back-to-back on an idle network: last delivery = n × max transferNs + latency", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.constantFrom(1e8, 1.25e9, 3e9),
        fc.option(fc.constantFrom(1e8, 1.25e9, 1e10), { nil: undefined }),
        fc.integer({ min: 0, max: 1_000_000 }),
        (n, sizeBytes, hostBw, coreBw, latencyNs) => {
          const spec: NetworkSpec = { hostBandwidthBytesPerS: hostBw, latency: latencyNs };
          if (coreBw !== undefined) spec.linkBandwidthBytesPerS = coreBw;
          const w = world({ spec });
          const { conn, b } = pair(w);
          for (let i = 0; i < n; i++) conn.a.send(i, sizeBytes);
          w.kernel.run();
          const perMessageNs = Math.max(
            Math.ceil((sizeBytes * 1e9) / hostBw),
            coreBw === undefined ? 0 : Math.ceil((sizeBytes * 1e9) / coreBw),
          );
          expect(b.got).toHaveLength(n);
          expect(b.got[n - 1]!.atNs).toBe(n * perMessageNs + latencyNs);
          expect(b.got[0]!.atNs).toBe(perMessageNs + latencyNs);
        },
      ),
      { numRuns: runs(200) },
    );
  });

  it("under random partitions, heals and clogs: order kept, exactly once, nothing crosses a blocked direction", () => {
    fc.assert(
      fc.property(
        fc.record({
          conns: fc.array(fc.record({ from: fc.nat(2), to: fc.nat(2) }), { minLength: 1, maxLength: 4 }),
          latency: latencyArb,
          seed: fc.nat(1000),
          ops: fc.array(
            fc.record({ conn: fc.nat(3), fromA: fc.boolean(), sizeBytes: fc.integer({ min: 0, max: 50_000 }), sendAtNs: fc.integer({ min: 0, max: 2 * MS }) }),
            { maxLength: 50 },
          ),
          faults: fc.array(
            fc.record({
              op: fc.constantFrom("partition", "oneWay", "heal", "clog", "unclog", "healAll"),
              a: fc.nat(2),
              b: fc.nat(2),
              atNs: fc.integer({ min: 0, max: 3 * MS }),
              delayNs: fc.integer({ min: 0, max: MS }),
            }),
            { maxLength: 12 },
          ),
        }),
        (p) => {
          const names = ["h0", "h1", "h2"];
          const w = world({ hosts: names, spec: { hostBandwidthBytesPerS: 1e8, latency: p.latency, resetAfterHeldNs: "1h" }, seed: p.seed });
          const sent = new Map<string, number[]>();
          const got = new Map<string, number[]>();
          const conns = p.conns.map((c, i) => {
            const from = names[c.from]!;
            const to = names[c.to]!;
            const handler = (key: string, src: string, dst: string): EndpointHandler => ({
              onMessage(payload) {
                if (src !== dst) expect(w.net.isBlocked(src, dst)).toBe(false);
                const list = got.get(key) ?? [];
                list.push(payload as number);
                got.set(key, list);
              },
              onClose() {
                throw new Error("nothing resets within the hour");
              },
            });
            return w.net.connect(from, to, `c${i}`, handler(`${i}:a`, to, from), handler(`${i}:b`, from, to));
          });
          for (const op of p.ops) {
            const conn = conns[op.conn % conns.length]!;
            const ep = op.fromA ? conn.a : conn.b;
            const key = `${conn.id}:${op.fromA ? "a" : "b"}`;
            w.kernel.schedule(op.sendAtNs, () => {
              const list = sent.get(key) ?? [];
              list.push(list.length);
              sent.set(key, list);
              ep.send(list.length - 1, op.sizeBytes);
            });
          }
          for (const f of p.faults) {
            const a = names[f.a]!;
            const b = names[(f.a + 1 + (f.b % 2)) % 3]!; // always a different host
            w.kernel.schedule(f.atNs, () => {
              if (f.op === "partition") w.net.partition(a, b);
              else if (f.op === "oneWay") w.net.partition(a, b, true);
              else if (f.op === "heal") w.net.heal(a, b);
              else if (f.op === "clog") w.net.clog(a, b, f.delayNs, f.delayNs % 2 === 0);
              else if (f.op === "unclog") w.net.unclog(a, b);
              else w.net.healAll();
            });
          }
          w.kernel.schedule(4 * MS, () => w.net.healAll());
          expect(w.kernel.run({ maxEvents: 100_000 }).reason).toBe("idle");
          // Keys: the sending side; what a sent is what b got.
          for (const [key, list] of sent) {
            const [id, side] = key.split(":");
            const recvKey = `${id}:${side === "a" ? "b" : "a"}`;
            expect(got.get(recvKey)).toEqual(list);
          }
          let total = 0;
          for (const list of got.values()) total += list.length;
          expect(total).toBe(p.ops.length);
          expect(w.kinds("MessageDelivered")).toHaveLength(p.ops.length);
        },
      ),
      { numRuns: runs(150) },
    );
  });
});

describe("network faults", () => {
  it("a partitioned pair delivers nothing; heal re-sends every held message in order", () => {
    const w = world();
    const { conn, a, b } = pair(w);
    const third = pair(w, "h1", "h3");
    w.net.partition("h1", "h2");
    for (let i = 0; i < 3; i++) {
      conn.a.send(`ab${i}`, 1000);
      conn.b.send(`ba${i}`, 1000);
    }
    third.conn.a.send("other", 1000);
    w.kernel.run({ untilNs: 10 * MS });
    expect(a.got).toEqual([]);
    expect(b.got).toEqual([]);
    expect(third.b.payloads).toEqual(["other"]); // other pairs are unaffected
    expect(w.kinds("MessageHeld")).toHaveLength(6);
    expect(w.kinds("LinkPartitioned")).toEqual([expect.objectContaining({ from: "h1", to: "h2", oneWay: false })]);
    w.net.heal("h1", "h2");
    w.kernel.run();
    const heal = 10 * MS;
    expect(b.got).toEqual([0, 1, 2].map((i) => ({ payload: `ab${i}`, sizeBytes: 1000, atNs: heal + 1000 * (i + 1) + L })));
    expect(a.payloads).toEqual(["ba0", "ba1", "ba2"]);
    expect(conn.open).toBe(true);
    expect(w.kinds("LinkHealed")).toEqual([expect.objectContaining({ from: "h1", to: "h2" })]);
  });

  it("a message in flight when the partition starts is held; one sent behind it keeps its place", () => {
    const w = world();
    const { conn, b } = pair(w);
    conn.a.send("m1", 1000); // due at 101 us
    at(w.kernel, 10_000, () => w.net.partition("h1", "h2"));
    at(w.kernel, 20_000, () => conn.a.send("m2", 1000)); // in flight behind m1, due at 121 us
    at(w.kernel, 110_000, () => {
      expect(b.got).toEqual([]); // m1 was held at 101 us
      w.net.heal("h1", "h2"); // before m2 was due: both are re-sent, in order
    });
    at(w.kernel, 115_000, () => conn.a.send("m3", 1000));
    w.kernel.run();
    expect(b.payloads).toEqual(["m1", "m2", "m3"]);
    expect(b.times).toEqual([110_000 + 1000 + L, 110_000 + 2000 + L, 115_000 + 1000 + L]);
    expect(w.kinds("MessageDelivered")).toHaveLength(3);
  });

  it("a one-way partition blocks only that direction", () => {
    const w = world();
    const { conn, a, b } = pair(w);
    w.net.partition("h1", "h2", true);
    expect(w.net.isBlocked("h1", "h2")).toBe(true);
    expect(w.net.isBlocked("h2", "h1")).toBe(false);
    conn.a.send("to-h2", 10);
    conn.b.send("to-h1", 10);
    w.kernel.run({ untilNs: 5 * MS });
    expect(b.got).toEqual([]);
    expect(a.got).toEqual([{ payload: "to-h1", sizeBytes: 10, atNs: 10 + L }]);
    w.net.heal("h1", "h2");
    w.kernel.run();
    expect(b.payloads).toEqual(["to-h2"]);
  });

  it("isolate cuts a host from all others; healAll restores", () => {
    const w = world();
    const p12 = pair(w, "h1", "h2");
    const p23 = pair(w, "h2", "h3");
    const p13 = pair(w, "h1", "h3");
    w.net.isolate("h2");
    p12.conn.a.send(1, 1);
    p23.conn.b.send(2, 1);
    p13.conn.a.send(3, 1);
    w.kernel.run({ untilNs: MS });
    expect([p12.b.got.length, p23.a.got.length, p13.b.got.length]).toEqual([0, 0, 1]);
    w.net.healAll();
    w.kernel.run();
    expect([p12.b.payloads, p23.a.payloads]).toEqual([[1], [2]]);
    expect(w.kinds("LinkHealed")).toHaveLength(2);
  });

  it("a direction held for resetAfterHeldNs resets the connection (timeout)", () => {
    const w = world({ spec: { hostBandwidthBytesPerS: BW, resetAfterHeldNs: "2s" } });
    const { conn, a, b } = pair(w);
    w.net.partition("h1", "h2");
    at(w.kernel, MS, () => conn.a.send("lost", 100));
    at(w.kernel, 3 * S, () => w.net.heal("h1", "h2"));
    w.kernel.run();
    expect(conn.open).toBe(false);
    expect(b.got).toEqual([]);
    expect(a.closes).toEqual([{ reason: "timeout", atNs: MS + 2 * S + L }]);
    expect(b.closes).toEqual([{ reason: "timeout", atNs: MS + 2 * S + L }]);
    expect(w.kinds("ConnectionReset")).toEqual([expect.objectContaining({ conn: conn.id, reason: "timeout" })]);
    expect(conn.a.send("late", 1)).toBe(false);
  });

  it("the default timeout is Linux's ~924 s", () => {
    const w = world();
    const { conn, a } = pair(w);
    w.net.partition("h1", "h2");
    conn.a.send(1, 1);
    w.kernel.run();
    expect(a.closes).toEqual([{ reason: "timeout", atNs: 924 * S + L }]);
  });

  it("clog adds its extra delay until unclog, both ways unless one-way, FIFO kept", () => {
    const w = world();
    const { conn, a, b } = pair(w);
    w.net.clog("h1", "h2", "5ms");
    conn.a.send("slow", 1000);
    conn.b.send("slow-back", 1000);
    at(w.kernel, 10_000, () => {
      w.net.unclog("h1", "h2");
      conn.a.send("after-unclog", 1000);
    });
    w.kernel.run();
    expect(b.times).toEqual([1000 + L + 5 * MS, 1000 + L + 5 * MS]); // FIFO: cannot pass the clogged one
    expect(b.payloads).toEqual(["slow", "after-unclog"]);
    expect(a.times).toEqual([1000 + L + 5 * MS]);

    const w2 = world();
    const p = pair(w2);
    w2.net.clog("h1", "h2", 2 * MS, true);
    p.conn.a.send(1, 0);
    p.conn.b.send(2, 0);
    w2.kernel.run();
    expect(p.b.times).toEqual([L + 2 * MS]);
    expect(p.a.times).toEqual([L]);
    expect(w2.kinds("LinkClogged")).toEqual([expect.objectContaining({ from: "h1", to: "h2", extraDelayNs: 2 * MS })]);
  });

  it("reset drops undelivered messages and calls both onClose handlers after a latency", () => {
    const w = world();
    const { conn, a, b } = pair(w);
    conn.a.send("x", 1000);
    conn.b.send("y", 1000);
    at(w.kernel, 50_000, () => {
      w.net.reset(conn);
      expect(a.closes).toEqual([]); // never synchronously
      expect(conn.open).toBe(false);
      expect(conn.b.send("z", 1)).toBe(false);
      w.net.reset(conn); // idempotent
    });
    w.kernel.run();
    expect(a.got).toEqual([]);
    expect(b.got).toEqual([]);
    expect(a.closes).toEqual([{ reason: "reset", atNs: 50_000 + L }]);
    expect(b.closes).toEqual([{ reason: "reset", atNs: 50_000 + L }]);
    expect(w.kinds("ConnectionReset")).toHaveLength(1);
    expect(w.kernel.pending).toBe(0);
    expect(w.net.connectionsOf("h1")).toEqual([]);
  });

  it("resetBetween resets every connection between two hosts, both directions, only those", () => {
    const w = world();
    const p1 = pair(w, "h1", "h2");
    const p2 = pair(w, "h2", "h1");
    const p3 = pair(w, "h1", "h3");
    w.net.resetBetween("h1", "h2", "fault");
    w.kernel.run();
    expect([p1.conn.open, p2.conn.open, p3.conn.open]).toEqual([false, false, true]);
    expect(p2.a.closes.map((c) => c.reason)).toEqual(["fault"]);
  });

  it("orderly close: already-sent messages arrive, then the peer gets onClose('closed')", () => {
    const w = world();
    const { conn, a, b } = pair(w);
    conn.b.send("to-closer", 1000); // in flight toward the closing side: dropped
    conn.a.send("m1", 1000);
    conn.a.send("m2", 1000);
    conn.close();
    expect(conn.open).toBe(false);
    expect(conn.b.send("refused", 1)).toBe(false);
    expect(conn.a.send("refused", 1)).toBe(false);
    w.kernel.run();
    expect(b.payloads).toEqual(["m1", "m2"]);
    expect(b.closes).toEqual([{ reason: "closed", atNs: 2000 + L }]);
    expect(a.got).toEqual([]);
    expect(a.closes).toEqual([]);
    expect(w.kinds("ConnectionClosed")).toEqual([expect.objectContaining({ conn: conn.id })]);
    expect(w.net.connectionsOf("h2")).toEqual([]);
  });

  it("host crash: the remote gets onClose('peer crashed'), in-flight messages are dropped", () => {
    const w = world();
    const { conn, a, b } = pair(w);
    const idle = pair(w, "h3", "h2");
    conn.a.send("to-dead", 1000);
    conn.b.send("from-dead", 1000);
    at(w.kernel, 50_000, () => {
      w.hosts.get("h2")!.crash();
      expect(a.closes).toEqual([]);
    });
    w.kernel.run();
    expect(a.got).toEqual([]);
    expect(b.got).toEqual([]);
    expect(b.closes).toEqual([]); // its process is dead
    expect(a.closes).toEqual([{ reason: "peer crashed", atNs: 50_000 + L }]);
    expect(idle.a.closes).toEqual([{ reason: "peer crashed", atNs: 50_000 + L }]);
    expect(conn.open).toBe(false);
    expect(w.kernel.pending).toBe(0);
  });

  it("silent crash: the remote notices only by sending — held, then reset after resetAfterHeldNs", () => {
    const w = world({ spec: { hostBandwidthBytesPerS: BW, resetAfterHeldNs: "2s" } });
    const { conn, a, b } = pair(w);
    const idle = pair(w, "h1", "h2");
    conn.b.send("from-dead", 1000); // in flight when h2 dies: dropped
    at(w.kernel, 50_000, () => w.hosts.get("h2")!.crash(true));
    at(w.kernel, MS, () => {
      expect(conn.open).toBe(true); // h1 has not noticed
      expect(conn.b.send("zombie", 1)).toBe(false); // the dead side cannot send
      expect(conn.a.send("to-dead", 1000)).toBe(true);
    });
    w.kernel.run();
    expect(a.got).toEqual([]);
    expect(b.got).toEqual([]);
    expect(b.closes).toEqual([]);
    // Held from the send at 1 ms (nothing in flight ahead of it) for 2 s, then the reset's latency.
    expect(a.closes).toEqual([{ reason: "timeout", atNs: MS + 2 * S + L }]);
    expect(idle.conn.open).toBe(true); // never sent: never noticed
    expect(idle.a.closes).toEqual([]);
  });

  it("restart after a silent crash resets held connections at once; idle ones on their next send", () => {
    const w = world({ spec: { hostBandwidthBytesPerS: BW, resetAfterHeldNs: "10s" } });
    const { conn, a, b } = pair(w);
    const idle = pair(w, "h1", "h2");
    at(w.kernel, 0, () => w.hosts.get("h2")!.crash(true));
    at(w.kernel, MS, () => conn.a.send("held", 10));
    at(w.kernel, 500 * MS, () => w.hosts.get("h2")!.restart());
    at(w.kernel, 600 * MS, () => {
      expect(idle.conn.open).toBe(true);
      expect(idle.conn.a.send("to-new-life", 10)).toBe(true);
    });
    w.kernel.run();
    expect(a.closes).toEqual([{ reason: "peer restarted", atNs: 500 * MS + L }]);
    expect(idle.a.closes).toEqual([{ reason: "peer restarted", atNs: 600 * MS + L }]);
    expect(b.closes).toEqual([]);
    expect(b.got).toEqual([]);
    expect(idle.b.got).toEqual([]);
    expect(idle.b.closes).toEqual([]);
    expect(w.kinds("ConnectionReset").map((e) => e.reason)).toEqual(["peer restarted", "peer restarted"]);
    // A new connection to the restarted host works.
    const fresh = pair(w);
    fresh.conn.a.send("hello", 10);
    w.kernel.run();
    expect(fresh.b.payloads).toEqual(["hello"]);
  });

  it("connecting to a crashed host is refused after a latency", () => {
    const w = world();
    w.hosts.get("h2")!.crash();
    const { conn, a, b } = pair(w);
    expect(conn.open).toBe(false);
    expect(conn.a.send("x", 1)).toBe(false);
    w.kernel.run();
    expect(a.closes).toEqual([{ reason: "refused", atNs: L }]);
    expect(b.closes).toEqual([]);
  });
});

describe("network input validation", () => {
  const build = (spec: unknown, field?: string) => {
    const kernel = new Kernel();
    const trace = new Trace(kernel);
    const hosts = new Map([["h1", new Host(kernel, trace, { name: "h1", cores: 1 })]]);
    return () => new Network(kernel, trace, Rng.root(1), hosts, spec as NetworkSpec, field);
  };

  it("names the field of a bad bandwidth, latency or timeout", () => {
    expect(build({ hostBandwidthBytesPerS: -5 })).toThrow(/^network\.hostBandwidthBytesPerS: /);
    expect(build({ linkBandwidthBytesPerS: 0 })).toThrow(/^network\.linkBandwidthBytesPerS: /);
    expect(build({ latency: "5 parsecs" })).toThrow(/^network\.latency: /);
    expect(build({ latency: { dist: "lognormal", median: "1ms", sigma: -1 } })).toThrow(/^network\.latency\.sigma: /);
    expect(build({ resetAfterHeldNs: "soon" })).toThrow(/^network\.resetAfterHeldNs: /);
    expect(build({ hostBandwidthBytesPerS: "fast" }, "cluster.network")).toThrow(/^cluster\.network\.hostBandwidthBytesPerS: /);
    expect(build({ latncy: "1ms" })).toThrow(/^network\.latncy: unknown field "latncy" \(did you mean "latency"\?\)/);
    expect(build({})).not.toThrow();
  });
});

describe("network determinism", () => {
  function deliveryTimes(seed: number, extraTraffic: boolean): number[] {
    const w = world({
      hosts: ["h1", "h2", "h3", "h4"],
      seed,
      spec: { hostBandwidthBytesPerS: 1.25e9, latency: { dist: "lognormal", median: "200us", sigma: 0.8 } },
    });
    const { conn, b } = pair(w);
    const other = pair(w, "h3", "h4");
    for (let i = 0; i < 50; i++) {
      at(w.kernel, i * 37_000, () => {
        conn.a.send(i, 4096);
        if (extraTraffic) other.conn.a.send(i, 65536);
      });
    }
    w.kernel.run();
    return b.times;
  }

  it("same seed, same delivery times; another seed, different ones", () => {
    const t1 = deliveryTimes(7, false);
    expect(t1).toHaveLength(50);
    expect(deliveryTimes(7, false)).toEqual(t1);
    expect(deliveryTimes(8, false)).not.toEqual(t1);
  });

  it("traffic between other hosts does not shift a pair's latency draws (common random numbers)", () => {
    expect(deliveryTimes(7, true)).toEqual(deliveryTimes(7, false));
  });
});
