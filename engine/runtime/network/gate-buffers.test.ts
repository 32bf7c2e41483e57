import { describe, expect, it } from "vitest";
import { defaultShuffleParams, gateBuffersSpec, resolveShuffleParams } from "./params";

const params = (extra: Record<string, number> = {}) => resolveShuffleParams({ ...defaultShuffleParams(128 * 1024 * 1024), ...extra });

describe("gateBuffersSpec (FLIP-266 InputGateSpecUtils)", () => {
  it("a small gate keeps buffers-per-channel exclusive and 1..floating-per-gate floating", () => {
    // 4 channels × 2 + 1 = 9 required ≤ 1000: exclusive min(2, ⌊8/4⌋) = 2; floating 9 − 8 = 1 .. 8 + 8 − 8 = 8.
    expect(gateBuffersSpec(4, params(), true)).toEqual({ exclusivePerChannel: 2, requiredFloating: 1, totalFloating: 8 });
    expect(gateBuffersSpec(4, params(), false)).toEqual({ exclusivePerChannel: 2, requiredFloating: 1, totalFloating: 8 });
  });

  it("a blocking gate over the 1000 limit shrinks its exclusive buffers, to none past 1000 channels", () => {
    // 600 × 2 + 1 = 1201 > 1000: required 1000, exclusive min(2, ⌊999/600⌋) = 1; floating 1000 − 600 = 400 .. 1208 − 600 = 608.
    expect(gateBuffersSpec(600, params(), true)).toEqual({ exclusivePerChannel: 1, requiredFloating: 400, totalFloating: 608 });
    // 1500 channels > 1000 required: no exclusive buffers; 1000 .. 3008 floating.
    expect(gateBuffersSpec(1500, params(), true)).toEqual({ exclusivePerChannel: 0, requiredFloating: 1000, totalFloating: 3008 });
  });

  it("a pipelined gate has no limit unless one is set", () => {
    expect(gateBuffersSpec(1500, params(), false)).toEqual({ exclusivePerChannel: 2, requiredFloating: 1, totalFloating: 8 });
    // Set to 4: 2 channels want 5; exclusive min(2, ⌊3/2⌋) = 1; floating 4 − 2 = 2 .. 12 − 2 = 10.
    expect(gateBuffersSpec(2, params({ readBufferRequiredPerGateMax: 4 }), false)).toEqual({ exclusivePerChannel: 1, requiredFloating: 2, totalFloating: 10 });
  });

  it("with no exclusive buffers configured, floating ones carry every channel", () => {
    expect(gateBuffersSpec(3, params({ exclusiveBuffersPerChannel: 0 }), true)).toEqual({ exclusivePerChannel: 0, requiredFloating: 1, totalFloating: 8 });
  });
});
