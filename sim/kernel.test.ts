import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { propRuns } from "../test/prop";
import { Kernel } from "./kernel";
import { Rng } from "./rng";

describe("event queue and kernel", () => {
  it("pops in (time, seq) order under arbitrary schedules and cancellations", () => {
    const op = fc.oneof(
      fc.record({ type: fc.constant("schedule" as const), delay: fc.integer({ min: 0, max: 50 }), nested: fc.integer({ min: -1, max: 30 }) }),
      fc.record({ type: fc.constant("cancel" as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const kernel = new Kernel();
        const fired: { t: number; order: number }[] = [];
        const live = new Map<number, { t: number; order: number }>();
        const handles: number[] = [];
        let order = 0;
        const add = (t: number, nested: number) => {
          const me = { t, order: order++ };
          const h = kernel.schedule(t, () => {
            expect(kernel.now).toBe(me.t);
            fired.push(me);
            live.delete(h);
            // Events scheduled from a handler get a later seq than everything before.
            if (nested >= 0) add(kernel.now + nested, -1);
          });
          live.set(h, me);
          handles.push(h);
        };
        for (const o of ops) {
          if (o.type === "schedule") add(o.delay, o.nested);
          else if (handles.length > 0) {
            const h = handles[o.pick % handles.length]!;
            const wasLive = live.has(h);
            expect(kernel.cancel(h)).toBe(wasLive);
            live.delete(h);
            expect(kernel.cancel(h)).toBe(false);
          }
        }
        const expectedCount = live.size;
        expect(kernel.pending).toBe(expectedCount);
        kernel.run();
        for (let i = 1; i < fired.length; i++) {
          const a = fired[i - 1]!;
          const b = fired[i]!;
          expect(a.t < b.t || (a.t === b.t && a.order < b.order)).toBe(true);
        }
        expect(kernel.pending).toBe(0);
      }),
      { numRuns: propRuns(300) },
    );
  });

  it("mass cancellation compacts the heap and keeps the order of the survivors", () => {
    const kernel = new Kernel();
    const rng = Rng.root(11).child("cancel");
    const fired: number[] = [];
    const handles: number[] = [];
    const times: number[] = [];
    for (let i = 0; i < 6000; i++) {
      const t = rng.int(0, 1000);
      times.push(t);
      handles.push(kernel.schedule(t, (x: number) => fired.push(x), i));
    }
    const cancelled = new Set<number>();
    for (const i of rng.shuffle(handles.map((_, i) => i)).slice(0, 5000)) {
      expect(kernel.cancel(handles[i]!)).toBe(true);
      cancelled.add(i);
    }
    expect(kernel.pending).toBe(1000);
    for (const i of cancelled) expect(kernel.isPending(handles[i]!)).toBe(false);
    // New events reuse freed slots; old handles must stay dead.
    for (let i = 0; i < 100; i++) kernel.schedule(2000 + i, () => {});
    for (const i of cancelled) expect(kernel.cancel(handles[i]!)).toBe(false);
    kernel.run();
    const expected = times
      .map((t, i) => ({ t, i }))
      .filter(({ i }) => !cancelled.has(i))
      .sort((a, b) => a.t - b.t || a.i - b.i)
      .map(({ i }) => i);
    expect(fired).toEqual(expected);
  });

  it("stops at untilNs, at maxEvents, when idle, and when stopped", () => {
    const kernel = new Kernel();
    let count = 0;
    const tick = () => {
      count++;
      kernel.after(10, tick);
    };
    kernel.after(10, tick);
    expect(kernel.run({ untilNs: 95 })).toEqual({ reason: "until", events: 9 });
    expect(kernel.now).toBe(95);
    expect(kernel.run({ maxEvents: 3 })).toEqual({ reason: "maxEvents", events: 3 });
    expect(kernel.now).toBe(120);
    kernel.after(1, () => kernel.stop());
    expect(kernel.run().reason).toBe("stopped");
    expect(count).toBe(12);

    const idle = new Kernel();
    let beats = 0;
    const beat = () => {
      beats++;
      idle.scheduleDaemon(idle.now + 5, beat);
    };
    idle.scheduleDaemon(0, beat);
    idle.schedule(22, () => {});
    // Daemons alone do not keep the run going.
    expect(idle.run().reason).toBe("idle");
    expect(idle.now).toBe(22);
    expect(beats).toBe(5);
  });

  it("rejects times in the past or fractional", () => {
    const kernel = new Kernel();
    kernel.schedule(10, () => {});
    kernel.run();
    expect(() => kernel.schedule(5, () => {})).toThrow(/time must be a whole ns/);
    expect(() => kernel.after(0.5, () => {})).toThrow(/whole ns/);
    expect(() => kernel.after(NaN, () => {})).toThrow();
  });

  it("the rolling hash reflects event timing", () => {
    const hashOf = (delays: number[]) => {
      const k = new Kernel();
      for (const d of delays) k.after(d, () => {});
      k.run();
      return k.rollingHash;
    };
    expect(hashOf([1, 2, 3])).toBe(hashOf([1, 2, 3]));
    expect(hashOf([1, 2, 3])).not.toBe(hashOf([1, 2, 4]));
    expect(hashOf([1, 2, 3])).not.toBe(hashOf([1, 2]));
  });

  it("passes the argument to the handler and grows past the initial capacity", () => {
    const kernel = new Kernel();
    const seen: number[] = [];
    const handler = (x: number) => seen.push(x);
    for (let i = 0; i < 5000; i++) kernel.schedule(5000 - i, handler, i);
    kernel.run();
    expect(seen.length).toBe(5000);
    expect(seen[0]).toBe(4999);
    expect(seen[4999]).toBe(0);
  });
});
