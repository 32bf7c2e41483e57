import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BarrierAligner, type AlignerOptions, type CheckpointingMode } from "./barrier-aligner";

/** An aligner over gates of the given sizes that records which channels are blocked. */
function setup(mode: CheckpointingMode | AlignerOptions, channelsPerGate: number[]) {
  const blocked = new Set<string>();
  const aligner = new BarrierAligner(mode, {
    channelsPerGate,
    block: (g, c) => blocked.add(`${g}/${c}`),
    unblockAll: () => blocked.clear(),
  });
  return { aligner, blocked };
}

describe("BarrierAligner", () => {
  it("EXACTLY_ONCE blocks each channel that delivered the barrier until the last one arrives", () => {
    const { aligner, blocked } = setup("EXACTLY_ONCE", [2, 1]);
    expect(aligner.onBarrier(0, 1, 1, 100, 110).kind).toBe("waiting");
    expect([...blocked]).toEqual(["0/1"]);
    expect(aligner.onBarrier(1, 0, 1, 100, 120).kind).toBe("waiting");
    expect([...blocked].sort()).toEqual(["0/1", "1/0"]);
    const done = aligner.onBarrier(0, 0, 1, 100, 150);
    expect(done).toEqual({ kind: "aligned", subsumed: undefined, result: { checkpointId: 1, triggerNs: 100, firstBarrierNs: 110, lastBarrierNs: 150 } });
    expect(blocked.size).toBe(0);
    expect(aligner.pending).toBeUndefined();
  });

  it("AT_LEAST_ONCE never blocks, and completes on the last barrier", () => {
    const { aligner, blocked } = setup("AT_LEAST_ONCE", [3]);
    aligner.onBarrier(0, 2, 4, 0, 5);
    aligner.onBarrier(0, 0, 4, 0, 6);
    expect(blocked.size).toBe(0);
    expect(aligner.onBarrier(0, 1, 4, 0, 9)).toMatchObject({ kind: "aligned", result: { checkpointId: 4, firstBarrierNs: 5, lastBarrierNs: 9 } });
  });

  it("a newer barrier subsumes the checkpoint being aligned; late barriers of older ones are ignored", () => {
    const { aligner, blocked } = setup("EXACTLY_ONCE", [2]);
    aligner.onBarrier(0, 0, 1, 0, 1);
    expect(aligner.onBarrier(0, 1, 2, 0, 2)).toEqual({ kind: "waiting", subsumed: 1 });
    expect([...blocked]).toEqual(["0/1"]);
    expect(aligner.onBarrier(0, 0, 1, 0, 3).kind).toBe("ignored");
    expect(aligner.onBarrier(0, 0, 2, 0, 4).kind).toBe("aligned");
  });

  it("an ended channel counts as aligned, also in the middle of an alignment", () => {
    const { aligner, blocked } = setup("EXACTLY_ONCE", [3]);
    aligner.onBarrier(0, 0, 1, 0, 1);
    expect(aligner.onChannelEnded(0, 2, 2)).toBeUndefined();
    expect(aligner.onChannelEnded(0, 1, 3)).toMatchObject({ kind: "aligned", result: { checkpointId: 1, lastBarrierNs: 3 } });
    expect(blocked.size).toBe(0);
    // From now on one live channel: its barrier alone completes the next checkpoint.
    expect(aligner.onBarrier(0, 0, 2, 0, 10).kind).toBe("aligned");
  });

  it("an aborted checkpoint releases its blocked channels", () => {
    const { aligner, blocked } = setup("EXACTLY_ONCE", [2]);
    aligner.onBarrier(0, 0, 3, 0, 1);
    expect(aligner.abort(2)).toBe(false);
    expect(aligner.abort(3)).toBe(true);
    expect(blocked.size).toBe(0);
    expect(aligner.onBarrier(0, 1, 3, 0, 2).kind).toBe("ignored");
  });

  it("property: any arrival order completes exactly when every live channel delivered, blocking exactly those that did", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
        fc.constantFrom<CheckpointingMode>("EXACTLY_ONCE", "AT_LEAST_ONCE"),
        fc.infiniteStream(fc.nat()),
        (gates, mode, picks) => {
          const { aligner, blocked } = setup(mode, gates);
          const channels = gates.flatMap((n, g) => Array.from({ length: n }, (_, c) => [g, c] as const));
          for (let id = 1; id <= 3; id++) {
            const order = [...channels];
            const it = picks[Symbol.iterator]();
            for (let i = order.length - 1; i > 0; i--) {
              const j = it.next().value! % (i + 1);
              [order[i], order[j]] = [order[j]!, order[i]!];
            }
            order.forEach(([g, c], k) => {
              const out = aligner.onBarrier(g, c, id, 0, k);
              const last = k === order.length - 1;
              expect(out.kind).toBe(last ? "aligned" : "waiting");
              if (!last) expect(blocked.size).toBe(mode === "EXACTLY_ONCE" ? k + 1 : 0);
            });
            expect(blocked.size).toBe(0);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("unaligned: snapshots at the first barrier, blocks nothing, records channels until their barrier", () => {
    const { aligner, blocked } = setup({ mode: "EXACTLY_ONCE" as const, unaligned: true, alignedTimeoutNs: 0 }, [3]);
    const start = aligner.onBarrier(0, 1, 1, 0, 10);
    expect(start).toMatchObject({ kind: "unalignedStart", done: false, switched: false, result: { checkpointId: 1, firstBarrierNs: 10 } });
    expect(blocked.size).toBe(0);
    expect([0, 1, 2].map((c) => aligner.isRecording(0, c))).toEqual([true, false, true]);
    expect(aligner.onBarrier(0, 0, 1, 0, 12).kind).toBe("waiting");
    expect(aligner.isRecording(0, 0)).toBe(false);
    expect(aligner.onBarrier(0, 2, 1, 0, 15)).toMatchObject({ kind: "unalignedDone", result: { lastBarrierNs: 15 } });
    expect(aligner.isRecording(0, 2)).toBe(false);
  });

  it("aligned-checkpoint timeout: aligned before it, unaligned from it on (at a barrier, by the timer, or by a priority barrier)", () => {
    const opts = { mode: "EXACTLY_ONCE" as const, unaligned: true, alignedTimeoutNs: 100 };
    // Before the timeout: aligned, blocking; the timer switches.
    const a = setup(opts, [2]);
    expect(a.aligner.onBarrier(0, 0, 1, 0, 50).kind).toBe("waiting");
    expect([...a.blocked]).toEqual(["0/0"]);
    expect(a.aligner.switchAtNs).toBe(100);
    expect(a.aligner.switchToUnaligned(100)).toMatchObject({ checkpointId: 1 });
    expect(a.blocked.size).toBe(0);
    expect([a.aligner.isRecording(0, 0), a.aligner.isRecording(0, 1)]).toEqual([false, true]);
    expect(a.aligner.onBarrier(0, 1, 1, 0, 130).kind).toBe("unalignedDone");
    // A first barrier after the timeout starts unaligned, and says it switched.
    const b = setup(opts, [2]);
    expect(b.aligner.onBarrier(0, 0, 1, 0, 150)).toMatchObject({ kind: "unalignedStart", switched: true });
    // A priority barrier while aligning switches at once.
    const c = setup(opts, [3]);
    c.aligner.onBarrier(0, 0, 1, 0, 20);
    expect(c.aligner.onBarrier(0, 1, 1, 0, 30, true)).toMatchObject({ kind: "unalignedStart", switched: true, done: false });
    expect(c.blocked.size).toBe(0);
    expect(c.aligner.isRecording(0, 2)).toBe(true);
  });
});
