import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { propRuns, propSeed } from "../test/prop";

/** CI's fixed seed, or FLOWSIM_PROP_SEED to replay a failure. */
const seedOption = (): { seed?: number } => {
  const seed = propSeed();
  return seed === undefined ? {} : { seed };
};
import { Host } from "./host";
import { Kernel } from "./kernel";
import { MemorySink, Trace } from "./trace/recorder";

function world() {
  const kernel = new Kernel();
  const sink = new MemorySink();
  const trace = new Trace(kernel, { level: "detailed", sink });
  trace.start({ seed: "1", scenario: "host-test", flowsimVersion: "0", nodeVersion: process.version, level: "detailed", config: {} });
  return { kernel, trace, sink };
}

interface Job {
  arriveNs: number;
  workNs: number;
}

/**
 * Reference processor sharing, computed plainly: advance every job's remaining work at
 * each change point (the approach the host avoids for speed). Exact floats, no rounding.
 */
function referencePs(jobs: Job[], cores: number, speeds: { atNs: number; speed: number }[], speed0: number): number[] {
  const remaining = jobs.map((j) => j.workNs);
  const finish = jobs.map(() => NaN);
  let now = 0;
  let speed = speed0;
  const changes = [...speeds].sort((a, b) => a.atNs - b.atNs);
  let nextChange = 0;
  for (let guard = 0; guard < 10_000; guard++) {
    const active = jobs.map((_, i) => i).filter((i) => jobs[i]!.arriveNs <= now && Number.isNaN(finish[i]!));
    const pendingArrivals = jobs.filter((j, i) => j.arriveNs > now && Number.isNaN(finish[i]!)).map((j) => j.arriveNs);
    const rate = active.length === 0 ? 0 : speed * Math.min(1, cores / active.length);
    const tDone = active.length === 0 ? Infinity : now + Math.min(...active.map((i) => remaining[i]!)) / rate;
    const tArrive = pendingArrivals.length === 0 ? Infinity : Math.min(...pendingArrivals);
    const tChange = nextChange < changes.length ? changes[nextChange]!.atNs : Infinity;
    const next = Math.min(tDone, tArrive, tChange);
    if (next === Infinity) break;
    for (const i of active) remaining[i] = remaining[i]! - (next - now) * rate;
    now = next;
    for (const i of active) if (remaining[i]! <= 1e-6) finish[i] = now;
    while (nextChange < changes.length && changes[nextChange]!.atNs <= now) speed = changes[nextChange++]!.speed;
  }
  return finish;
}

function simulate(jobs: Job[], cores: number, speeds: { atNs: number; speed: number }[], speed0: number) {
  const { kernel, trace } = world();
  const host = new Host(kernel, trace, { name: "h", cores, speed: speed0 });
  const finish = jobs.map(() => NaN);
  jobs.forEach((job, i) => kernel.schedule(job.arriveNs, () => host.run(job.workNs, () => (finish[i] = kernel.now))));
  for (const change of speeds) kernel.schedule(change.atNs, () => host.setSpeed(change.speed, "test"));
  kernel.run();
  return finish;
}

describe("host processor sharing", () => {
  it("equal work on fewer cores than items: closed form", () => {
    // 6 items of 30 ms on 2 cores at speed 1.5: each gets 1.5 * 2/6 = 0.5 of a core.
    const jobs = Array.from({ length: 6 }, () => ({ arriveNs: 0, workNs: 30_000_000 }));
    expect(simulate(jobs, 2, [], 1.5)).toEqual(Array(6).fill(60_000_000));
  });

  it("unequal work: the closed form of processor sharing", () => {
    // 1 core, works 10, 20, 40 (ms): finishes at 30, 50, 70.
    const ms = 1_000_000;
    const jobs = [10, 20, 40].map((w) => ({ arriveNs: 0, workNs: w * ms }));
    expect(simulate(jobs, 1, [], 1)).toEqual([30 * ms, 50 * ms, 70 * ms]);
  });

  it("matches the reference for arbitrary arrivals, works, cores and speed changes", () => {
    const job = fc.record({ arriveNs: fc.integer({ min: 0, max: 1_000_000 }), workNs: fc.integer({ min: 1, max: 2_000_000 }) });
    const speedChange = fc.record({
      atNs: fc.integer({ min: 1, max: 3_000_000 }),
      speed: fc.constantFrom(0.25, 0.5, 1, 2, 3),
    });
    fc.assert(
      fc.property(
        fc.array(job, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 4 }),
        fc.uniqueArray(speedChange, { maxLength: 3, selector: (c) => c.atNs }),
        fc.constantFrom(0.5, 1, 2),
        (jobs, cores, speeds, speed0) => {
          const got = simulate(jobs, cores, speeds, speed0);
          const want = referencePs(jobs, cores, speeds, speed0);
          // Completion times round up to whole ns and leftover work below 1 ns (at speed 1)
          // counts as done, so each change point can move a completion by up to 1 ns plus
          // 1 ns of work at the slowest rate (e.g. 8 ns at speed 0.25 shared by two items).
          const minRate = Math.min(speed0, ...speeds.map((c) => c.speed)) * Math.min(1, cores / jobs.length);
          const slackNs = (jobs.length + speeds.length + 2) * (1 + Math.ceil(1 / minRate));
          got.forEach((t, i) => {
            expect(t).toBeGreaterThanOrEqual(Math.floor(want[i]!) - slackNs);
            expect(t).toBeLessThanOrEqual(Math.ceil(want[i]!) + slackNs);
          });
        },
      ),
      { numRuns: propRuns(300), ...seedOption() },
    );
  });

  it("tracks busy core time", () => {
    const { kernel, trace } = world();
    const host = new Host(kernel, trace, { name: "h", cores: 2 });
    host.run(100, () => {});
    host.run(300, () => {});
    kernel.run();
    expect(kernel.now).toBe(300);
    expect(host.busyCoreNs).toBe(400);
  });

  it("cancel removes work, crash drops all work and restart brings the host back", () => {
    const { kernel, trace, sink } = world();
    const host = new Host(kernel, trace, { name: "tm-1", cores: 1 });
    const done: string[] = [];
    const a = host.run(100, () => done.push("a"));
    host.run(100, () => done.push("b"));
    kernel.schedule(50, () => host.cancel(a));
    kernel.run();
    // b ran alone after the cancel: 25 done by t=50 (shared), 75 more alone.
    expect(done).toEqual(["b"]);
    expect(kernel.now).toBe(125);
    host.run(1000, () => done.push("lost"));
    let crashed = 0;
    host.onCrash(() => crashed++);
    kernel.schedule(kernel.now + 10, () => host.crash());
    kernel.run();
    expect(done).toEqual(["b"]);
    expect(crashed).toBe(1);
    expect(host.up).toBe(false);
    expect(() => host.run(1, () => {})).toThrow(/crashed host/);
    host.restart();
    expect(host.incarnation).toBe(1);
    host.run(10, () => done.push("after"));
    kernel.run();
    expect(done).toEqual(["b", "after"]);
    const kinds = sink.lines.map((l) => JSON.parse(l).kind);
    expect(kinds).toContain("HostCrashed");
    expect(kinds).toContain("HostRestarted");
    expect(kinds.filter((k) => k === "WorkStarted").length).toBe(4);
  });

  it("rejects bad specs naming the field", () => {
    const { kernel, trace } = world();
    expect(() => new Host(kernel, trace, { name: "h", cores: 0 })).toThrow(/^hosts\.h\.cores: /);
    expect(() => new Host(kernel, trace, { name: "h", cores: 2, speed: -1 })).toThrow(/^hosts\.h\.speed: /);
  });
});
