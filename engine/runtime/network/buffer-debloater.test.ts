import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BufferDebloater, throughputBytesPerS, type DebloatParams } from "./buffer-debloater";

const FLINK: DebloatParams = { targetNs: 1e9, samples: 20, thresholdPercent: 25, minBufferBytes: 256, maxBufferBytes: 32 * 1024 };

describe("buffer debloating", () => {
  it("throughput counts only non-idle time; a fully idle period gives none", () => {
    expect(throughputBytesPerS(100_000, 200e6, 100e6)).toBe(1_000_000);
    expect(throughputBytesPerS(100_000, 200e6, 0)).toBe(500_000);
    expect(throughputBytesPerS(0, 200e6, 200e6)).toBeUndefined();
  });

  it("converges to throughput × target / buffers in use, announcing only changes above the threshold", () => {
    const d = new BufferDebloater(FLINK);
    const announced: number[] = [];
    // 100 kB/s with 10 buffers in use: 1 s of data is 100 kB, 10 kB per buffer.
    for (let i = 0; i < 200; i++) {
      const size = d.recalculate(100_000, 10);
      if (size !== undefined) announced.push(size);
    }
    expect(announced.length).toBeGreaterThan(1);
    // Each announcement moved by ≥ 25 % from the one before (the first from 32 KiB).
    let last = FLINK.maxBufferBytes;
    for (const a of announced) {
      expect(Math.abs(1 - last / a) * 100).toBeGreaterThanOrEqual(25);
      last = a;
    }
    expect(Math.abs(d.lastAnnounced - 10_000) / 10_000).toBeLessThan(0.25);
  });

  it("clamps to [min-segment-size, segment size]", () => {
    const slow = new BufferDebloater({ ...FLINK, samples: 1 });
    expect(slow.recalculate(10, 100)).toBe(256);
    const fast = new BufferDebloater({ ...FLINK, samples: 1 });
    expect(fast.recalculate(1e12, 1)).toBeUndefined(); // already at the maximum
  });

  it("property: every announced size is within bounds and differs from the last by the threshold", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.double({ min: 0, max: 1e9, noNaN: true }), fc.nat(200)), { maxLength: 100 }), fc.integer({ min: 1, max: 50 }), (steps, samples) => {
        const d = new BufferDebloater({ ...FLINK, samples });
        let last = FLINK.maxBufferBytes;
        for (const [tp, inUse] of steps) {
          const size = d.recalculate(tp, inUse);
          if (size === undefined) continue;
          expect(size).toBeGreaterThanOrEqual(256);
          expect(size).toBeLessThanOrEqual(32 * 1024);
          expect(Math.abs(1 - last / size) * 100).toBeGreaterThanOrEqual(25);
          last = size;
        }
      }),
    );
  });
});
