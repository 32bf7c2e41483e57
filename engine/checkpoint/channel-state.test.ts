import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LATENCY_MARKER, WATERMARK } from "../runtime/buffer";
import { ChannelStateRecorder, ChannelStateReplay } from "./channel-state";

const buffer = (values: unknown[], sizeBytes = 10 * values.length) => ({ values, timestamps: values.map((_, i) => i), sizeBytes });

describe("channel state", () => {
  it("records records per channel in arrival order, without watermarks or latency markers", () => {
    const r = new ChannelStateRecorder();
    r.recordInput(0, 1, buffer(["a", WATERMARK, "b"]));
    r.recordInput(1, 0, buffer(["x"]));
    r.recordInput(0, 1, buffer([LATENCY_MARKER, "c"]));
    r.recordInput(0, 2, buffer([WATERMARK])); // nothing but a watermark: no bytes
    expect(r.input.map((e) => [e.gate, e.channel, e.values])).toEqual([
      [0, 1, ["a", "b", "c"]],
      [1, 0, ["x"]],
      [0, 2, []],
    ]);
    expect(r.bytes).toBe(30 + 20 + 10);
  });

  it("the rest of a buffer counts its share of the bytes", () => {
    const r = new ChannelStateRecorder();
    r.recordInputRest(0, 0, buffer(["a", "b", "c", "d"], 100), 1);
    expect(r.input[0]!.values).toEqual(["b", "c", "d"]);
    expect(r.input[0]!.bytes).toBe(75);
  });

  it("property: replay gives back every recorded record once, output state before input state, whatever the slicing", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer(), { maxLength: 5 }), { maxLength: 4 }),
        fc.array(fc.array(fc.integer(), { maxLength: 5 }), { maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 8 }),
        (outs, ins, slices) => {
          const r = new ChannelStateRecorder();
          outs.forEach((values, i) => r.recordOutput(0, [{ subpartition: i, values, timestamps: values.map(() => 0), bytes: values.length }]));
          ins.forEach((values, i) => r.recordInput(0, i, buffer(values)));
          const replay = new ChannelStateReplay(r.output, r.input);
          const seen: string[] = [];
          // Each round lets `budget` records through, as free output buffers would.
          for (let round = 0; !replay.done && round < 1000; round++) {
            let budget = slices[round % slices.length]!;
            const ok = () => budget-- > 0;
            if (!replay.replayOutput(ok, (_o, sp, v) => seen.push(`out${sp}:${String(v)}`))) continue;
            replay.replayInput(ok, (v) => seen.push(`in:${String(v)}`));
          }
          expect(replay.done).toBe(true);
          const expected = [...outs.flatMap((vs, i) => vs.map((v) => `out${i}:${v}`)), ...ins.flatMap((vs) => vs.map((v) => `in:${v}`))];
          expect(seen).toEqual(expected);
        },
      ),
    );
  });
});
