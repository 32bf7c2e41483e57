import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { runKernelDemo } from "../scenarios/kernel-demo";
import { propRuns } from "./prop";

describe("fingerprints", () => {
  it("same seed ⇒ same fingerprint; different seeds ⇒ different fingerprints", () => {
    const seen = new Map<string, number>();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), (seed) => {
        const first = runKernelDemo({ seed, duration: "2s", level: "summary" });
        const second = runKernelDemo({ seed, duration: "2s", level: "summary" });
        expect(second.fingerprint, `reproduce: flowsim demo --seed ${seed} --duration 2s`).toBe(first.fingerprint);
        // The seed is written in RunStarted, so fingerprints differ trivially; the kernel
        // hash must differ too: the seed really changes what happens.
        const other = seen.get(first.kernelHash);
        expect(other === undefined || other === seed, `seeds ${other} and ${seed} ran identical event schedules`).toBe(true);
        seen.set(first.kernelHash, seed);
      }),
      { numRuns: propRuns(25) },
    );
  });
});
