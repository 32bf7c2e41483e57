import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { propRuns } from "../test/prop";
import { Rng } from "./rng";

const draws = (rng: Rng, n: number) => Array.from({ length: n }, () => rng.double());

describe("Rng tree", () => {
  it("same seed and path give the same stream; different seeds differ", () => {
    expect(draws(Rng.root(7).child("net"), 20)).toEqual(draws(Rng.root(7).child("net"), 20));
    expect(draws(Rng.root(7).child("net"), 20)).not.toEqual(draws(Rng.root(8).child("net"), 20));
    expect(draws(Rng.root(7).child("net"), 20)).not.toEqual(draws(Rng.root(7).child("faults"), 20));
  });

  it("adding a named stream leaves the other streams' draws unchanged", () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.uniqueArray(fc.stringMatching(/^[a-z]{1,6}$/), { minLength: 2, maxLength: 6 }),
        fc.stringMatching(/^[a-z]{1,6}$/),
        (seed, names, extra) => {
          fc.pre(!names.includes(extra));
          const root1 = Rng.root(seed);
          const before = names.map((n) => draws(root1.child(n), 5));
          // A second world creates an extra stream first and draws from it in between.
          const root2 = Rng.root(seed);
          const extraStream = root2.child(extra);
          const after = names.map((n) => {
            extraStream.double();
            return draws(root2.child(n), 5);
          });
          expect(after).toEqual(before);
        },
      ),
      { numRuns: propRuns(100) },
    );
  });

  it("distributions have the right shape", () => {
    const rng = Rng.root(1).child("dist");
    const n = 20_000;
    let sumExp = 0;
    let sumNorm = 0;
    let sumSq = 0;
    let trues = 0;
    const logs: number[] = [];
    for (let i = 0; i < n; i++) {
      sumExp += rng.exponential(5);
      const x = rng.normal(10, 2);
      sumNorm += x;
      sumSq += (x - 10) ** 2;
      if (rng.bernoulli(0.3)) trues++;
      logs.push(rng.lognormal(Math.log(4), 0.5));
    }
    expect(sumExp / n).toBeGreaterThan(4.8);
    expect(sumExp / n).toBeLessThan(5.2);
    expect(sumNorm / n).toBeGreaterThan(9.95);
    expect(sumNorm / n).toBeLessThan(10.05);
    expect(Math.sqrt(sumSq / n)).toBeGreaterThan(1.95);
    expect(Math.sqrt(sumSq / n)).toBeLessThan(2.05);
    expect(trues / n).toBeGreaterThan(0.28);
    expect(trues / n).toBeLessThan(0.32);
    logs.sort((a, b) => a - b);
    expect(logs[n / 2]!).toBeGreaterThan(3.8); // median exp(mu) = 4
    expect(logs[n / 2]!).toBeLessThan(4.2);
    for (let i = 0; i < 1000; i++) {
      const u = rng.uniform(3, 4);
      expect(u >= 3 && u < 4).toBe(true);
      const k = rng.int(0, 3);
      expect([0, 1, 2]).toContain(k);
    }
  });

  it("zipf ranks follow 1/k^s", () => {
    const zipf = Rng.root(3).child("keys").zipf(1000, 1.1);
    const counts = new Array<number>(1000).fill(0);
    const n = 50_000;
    for (let i = 0; i < n; i++) counts[zipf.sample()]!++;
    let norm = 0;
    for (let k = 1; k <= 1000; k++) norm += 1 / k ** 1.1;
    for (const rank of [0, 1, 4, 9]) {
      const expected = n / (rank + 1) ** 1.1 / norm;
      expect(Math.abs(counts[rank]! - expected)).toBeLessThan(5 * Math.sqrt(expected) + 0.02 * expected);
    }
    expect(counts.every((c) => c >= 0)).toBe(true);
    expect(() => Rng.root(1).zipf(0, 1)).toThrow(/zipf.n/);
  });

  it("pick and shuffle are permutations drawn from the stream", () => {
    const items = ["a", "b", "c", "d", "e"];
    const s1 = Rng.root(9).child("s").shuffle(items);
    expect([...s1].sort()).toEqual(items);
    expect(Rng.root(9).child("s").shuffle(items)).toEqual(s1);
    expect(items).toEqual(["a", "b", "c", "d", "e"]);
    const seen = new Set<string>();
    const rng = Rng.root(9).child("p");
    for (let i = 0; i < 200; i++) seen.add(rng.pick(items));
    expect(seen.size).toBe(5);
  });
});
