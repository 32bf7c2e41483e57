import { describe, expect, it } from "vitest";
import { InputError } from "../../sim/errors";
import { checkAtLeastOnce, checkExactlyOnce, type Difference } from "./checker";

type Rec = { key: number; v: number };
const rec = (key: number, v: number): Rec => ({ key, v });
const outputs = (entries: Record<string, unknown[]>) => new Map(Object.entries(entries));
const kinds = (ds: readonly Difference[]) => ds.map((d) => d.kind);

describe("checkExactlyOnce, multiset", () => {
  const expected = outputs({ out: [rec(1, 10), rec(2, 20), rec(2, 20), rec(3, 30)] });

  it("a clean match is ok, whatever the order and property order", () => {
    const actual = outputs({ out: [{ v: 30, key: 3 }, rec(2, 20), rec(1, 10), rec(2, 20)] });
    const r = checkExactlyOnce(actual, expected, { compare: "multiset" });
    expect(r.ok).toBe(true);
    expect(r.differences).toEqual([]);
    expect(r.summary.split("\n")).toEqual([
      "exactly-once ok (multiset over 1 sink, 4 expected, 4 committed records)",
      "lost: 0 (0 records)",
      "duplicate: 0 (0 records)",
      "phantom: 0 (0 records)",
    ]);
  });

  it("a record committed fewer times than expected is lost (never, or once of twice)", () => {
    const actual = outputs({ out: [rec(1, 10), rec(2, 20)] });
    const r = checkExactlyOnce(actual, expected, { compare: "multiset" });
    expect(r.ok).toBe(false);
    expect(r.differences).toEqual([
      { kind: "lost", sink: "out", key: 2, record: rec(2, 20), expectedCount: 2, actualCount: 1 },
      { kind: "lost", sink: "out", key: 3, record: rec(3, 30), expectedCount: 1, actualCount: 0 },
    ]);
    expect(r.summary).toContain("lost: 2 (2 records)");
  });

  it("an expected record committed more often is a duplicate; an unknown one a phantom", () => {
    const actual = outputs({ out: [rec(1, 10), rec(1, 10), rec(1, 10), rec(2, 20), rec(2, 20), rec(3, 30), rec(3, 31)] });
    const r = checkExactlyOnce(actual, expected, { compare: "multiset" });
    expect(r.ok).toBe(false);
    expect(r.differences).toEqual([
      { kind: "duplicate", sink: "out", key: 1, record: rec(1, 10), expectedCount: 1, actualCount: 3 },
      { kind: "phantom", sink: "out", key: 3, record: rec(3, 31), expectedCount: 0, actualCount: 1 },
    ]);
    const lines = r.summary.split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^exactly-once VIOLATED/);
    expect(lines[1]).toBe("lost: 0 (0 records)");
    expect(lines[2]).toBe('duplicate: 1 (2 records) — out: key 1 {"key":1,"v":10} expected ×1, committed ×3');
    expect(lines[3]).toBe('phantom: 1 (1 record) — out: key 3 {"key":3,"v":31} expected ×0, committed ×1');
  });

  it("a sink the oracle does not know, or one the run never committed to, is all phantom / all lost", () => {
    const r = checkExactlyOnce(outputs({ other: [rec(9, 9)] }), expected, { compare: "multiset" });
    // Sinks in code-unit order: "other" before "out".
    expect(kinds(r.differences)).toEqual(["phantom", "lost", "lost", "lost"]);
    expect(r.differences[0]).toMatchObject({ sink: "other", kind: "phantom" });
    expect(r.summary.split("\n")[0]).toContain("over 2 sinks");
  });

  it("records without keys: keyOf gives keys, otherwise examples have none", () => {
    const e = outputs({ s: ["a", "b"] });
    const a = outputs({ s: ["a", "c"] });
    const plain = checkExactlyOnce(a, e, { compare: "multiset" });
    expect(plain.differences).toEqual([
      { kind: "lost", sink: "s", record: "b", expectedCount: 1, actualCount: 0 },
      { kind: "phantom", sink: "s", record: "c", expectedCount: 0, actualCount: 1 },
    ]);
    const keyed = checkExactlyOnce(a, e, { compare: "multiset", keyOf: (r) => (r as string).toUpperCase() });
    expect(keyed.differences.map((d) => d.key)).toEqual(["B", "C"]);
    expect(keyed.summary).toContain('s: key "B" "b" expected ×1, committed ×0');
  });

  it("the summary shows at most 3 examples per kind", () => {
    const e = outputs({ out: Array.from({ length: 5 }, (_, i) => rec(i, i)) });
    const r = checkExactlyOnce(outputs({}), e, { compare: "multiset" });
    const lost = r.summary.split("\n")[1]!;
    expect(lost.startsWith("lost: 5 (5 records) — ")).toBe(true);
    expect(lost.split(" | ")).toHaveLength(4);
    expect(lost.endsWith("| … 2 more")).toBe(true);
  });

  it("is deterministic: the same outputs in another order give the same report", () => {
    const a1 = outputs({ b: [rec(2, 1), rec(1, 1)], a: [rec(5, 5), rec(4, 4), rec(4, 4)] });
    const a2 = outputs({ a: [rec(4, 4), rec(5, 5), rec(4, 4)], b: [rec(1, 1), rec(2, 1)] });
    const e = outputs({ a: [rec(4, 4)], b: [rec(3, 3)] });
    expect(checkExactlyOnce(a1, e, { compare: "multiset" })).toEqual(checkExactlyOnce(a2, e, { compare: "multiset" }));
  });
});

describe("checkExactlyOnce, finalPerKey", () => {
  // Rolling sums: key 1 emits 1, 3, 6; key 2 emits 5.
  const expected = outputs({ out: [rec(1, 1), rec(2, 5), rec(1, 3), rec(1, 6)] });
  const opts = { compare: "finalPerKey" as const, keyOf: (r: unknown) => (r as Rec).key };

  it("the same final values and emission counts are ok even when intermediate values differ", () => {
    const actual = outputs({ out: [rec(1, 2), rec(1, 5), rec(2, 5), rec(1, 6)] });
    const r = checkExactlyOnce(actual, expected, opts);
    expect(r.ok, r.summary).toBe(true);
  });

  it("the default key is the record's key field; a record without one is an input error", () => {
    expect(checkExactlyOnce(expected, expected, { compare: "finalPerKey" }).ok).toBe(true);
    expect(() => checkExactlyOnce(outputs({ out: [{ k: 1 }] }), expected, { compare: "finalPerKey" })).toThrow(InputError);
  });

  it("a differing final value is lost (expected) plus phantom (committed)", () => {
    const actual = outputs({ out: [rec(1, 1), rec(2, 5), rec(1, 3), rec(1, 7)] });
    const r = checkExactlyOnce(actual, expected, opts);
    expect(r.differences).toEqual([
      { kind: "lost", sink: "out", key: 1, record: rec(1, 6), expectedCount: 3, actualCount: 3 },
      { kind: "phantom", sink: "out", key: 1, record: rec(1, 7), expectedCount: 3, actualCount: 3 },
    ]);
    expect(r.summary).toContain('lost: 1 (1 key) — out: key 1 {"key":1,"v":6} expected ×3, committed ×3');
  });

  it("more emissions than expected with the right final value is a duplicate", () => {
    // A replay without state restore: key 2 emitted twice.
    const actual = outputs({ out: [rec(1, 1), rec(2, 5), rec(1, 3), rec(2, 5), rec(1, 6)] });
    const r = checkExactlyOnce(actual, expected, opts);
    expect(r.differences).toEqual([{ kind: "duplicate", sink: "out", key: 2, record: rec(2, 5), expectedCount: 1, actualCount: 2 }]);
  });

  it("fewer emissions with the right final value is lost; a missing key is lost; an unknown key is phantom", () => {
    const actual = outputs({ out: [rec(1, 6), rec(3, 1)] });
    const r = checkExactlyOnce(actual, expected, opts);
    expect(r.differences).toEqual([
      { kind: "lost", sink: "out", key: 1, record: rec(1, 6), expectedCount: 3, actualCount: 1 },
      { kind: "lost", sink: "out", key: 2, record: rec(2, 5), expectedCount: 1, actualCount: 0 },
      { kind: "phantom", sink: "out", key: 3, record: rec(3, 1), expectedCount: 0, actualCount: 1 },
    ]);
  });

  it("a wrong final value with extra emissions is lost, duplicate and phantom", () => {
    const actual = outputs({ out: [rec(1, 1), rec(2, 5), rec(1, 3), rec(1, 6), rec(1, 9)] });
    expect(kinds(checkExactlyOnce(actual, expected, opts).differences)).toEqual(["lost", "duplicate", "phantom"]);
  });
});

describe("checkAtLeastOnce", () => {
  const expected = outputs({ out: [rec(1, 10), rec(2, 20)] });

  it("duplicates are allowed (and still listed)", () => {
    const actual = outputs({ out: [rec(1, 10), rec(1, 10), rec(2, 20)] });
    const r = checkAtLeastOnce(actual, expected, { compare: "multiset" });
    expect(r.ok).toBe(true);
    expect(kinds(r.differences)).toEqual(["duplicate"]);
    expect(r.summary.split("\n")[0]).toMatch(/^at-least-once ok/);
    expect(checkExactlyOnce(actual, expected, { compare: "multiset" }).ok).toBe(false);
  });

  it("anything lost fails it", () => {
    const r = checkAtLeastOnce(outputs({ out: [rec(1, 10), rec(1, 10)] }), expected, { compare: "multiset" });
    expect(r.ok).toBe(false);
    expect(kinds(r.differences)).toEqual(["duplicate", "lost"]);
  });

  it("a phantom fails it: no guarantee lets a job make up output", () => {
    const r = checkAtLeastOnce(outputs({ out: [rec(1, 10), rec(2, 20), rec(3, 30)] }), expected, { compare: "multiset" });
    expect(r.ok).toBe(false);
    expect(kinds(r.differences)).toEqual(["phantom"]);
  });

  it("finalPerKey: more emissions are fine, a wrong final value is not", () => {
    const e = outputs({ out: [rec(1, 1), rec(1, 3)] });
    expect(checkAtLeastOnce(outputs({ out: [rec(1, 1), rec(1, 1), rec(1, 3)] }), e, { compare: "finalPerKey" }).ok).toBe(true);
    expect(checkAtLeastOnce(outputs({ out: [rec(1, 1), rec(1, 3), rec(1, 1)] }), e, { compare: "finalPerKey" }).ok).toBe(false);
  });

  it("finalPerKey with a monotone measure: a final above the oracle's is a duplicate, one below is lost", () => {
    const e = outputs({ out: [rec(1, 1), rec(1, 3)] });
    const monotone = (r: unknown) => (r as Rec).v;
    const over = checkAtLeastOnce(outputs({ out: [rec(1, 1), rec(1, 2), rec(1, 5)] }), e, { compare: "finalPerKey", monotone });
    expect(over.ok).toBe(true);
    expect(kinds(over.differences)).toEqual(["duplicate"]);
    expect(checkExactlyOnce(outputs({ out: [rec(1, 1), rec(1, 5)] }), e, { compare: "finalPerKey", monotone }).ok).toBe(false);
    const under = checkAtLeastOnce(outputs({ out: [rec(1, 1), rec(1, 2)] }), e, { compare: "finalPerKey", monotone });
    expect(under.ok).toBe(false);
    expect(kinds(under.differences)).toEqual(["lost", "phantom"]);
  });
});
