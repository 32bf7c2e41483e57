import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Host } from "../host";
import { Kernel } from "../kernel";
import {
  MISSING_LINE,
  SAME_FIELDS_DIFFERENT_TEXT,
  UNPARSEABLE_LINE,
  firstDivergence,
  firstDivergenceAsync,
  formatDivergence,
  formatTraceTime,
} from "./diff";
import { MemorySink, Trace } from "./recorder";

/** A real trace; `slowWorkNs` changes one work item so two runs diverge mid-trace. */
function recordTrace(slowWorkNs = 3_000_000): string[] {
  const kernel = new Kernel();
  const sink = new MemorySink();
  const trace = new Trace(kernel, { level: "detailed", sink });
  trace.start({ seed: "9", scenario: "diff", flowsimVersion: "0", nodeVersion: process.version, level: "detailed", config: {} });
  const h1 = new Host(kernel, trace, { name: "tm-1", cores: 2 });
  const h2 = new Host(kernel, trace, { name: "tm-2", cores: 1 });
  for (let i = 0; i < 10; i++) {
    kernel.schedule(i * 1_000_000, () => h1.run(2_500_000, () => {}, "map", `slot-${i % 2}`));
    kernel.schedule(i * 1_000_000 + 500, () => h2.run(i === 6 ? slowWorkNs : 1_200_000, () => {}, "sink", "slot-0"));
  }
  kernel.schedule(5_000_000, () => trace.emit("Metric", { name: "queue", entity: "map#0", host: "tm-1", value: 4 }));
  kernel.run();
  trace.finish("idle");
  return sink.lines;
}

/** Yields `lines` and counts how many were pulled, to check the finder stops early. */
class CountingSource implements Iterable<string> {
  pulled = 0;
  constructor(private readonly lines: readonly string[]) {}
  *[Symbol.iterator](): Iterator<string> {
    for (const line of this.lines) {
      this.pulled++;
      yield line;
    }
  }
}

describe("firstDivergence", () => {
  it("finds nothing in two runs of the same scenario", () => {
    const a = recordTrace();
    const b = recordTrace();
    expect(a.length).toBeGreaterThan(40);
    expect(firstDivergence(a, b)).toBeUndefined();
  });

  it("finds the exact seq and field changed in a copy", () => {
    const a = recordTrace();
    const index = a.findIndex((line, i) => i > 10 && line.includes('"kind":"WorkStarted"') && line.includes('"host":"tm-1"'));
    expect(index).toBeGreaterThan(10);
    const b = [...a];
    b[index] = b[index]!.replace('"host":"tm-1"', '"host":"tm-2"');
    const later = index + 5;
    b[later] = b[later]!.replace('"v":1', '"v":2'); // a later difference must not be reported
    const d = firstDivergence(a, b)!;
    expect(d).toBeDefined();
    expect(d.lineIndex).toBe(index);
    expect(d.seq).toBe(index);
    expect(d.field).toBe("host");
    expect(d.valueA).toBe("tm-1");
    expect(d.valueB).toBe("tm-2");
    expect(d.kindA).toBe("WorkStarted");
    expect(d.kindB).toBe("WorkStarted");
    expect(d.shorter).toBeUndefined();
    expect(d.a).toBe(a[index]);
    expect(d.b).toBe(b[index]);
    const t = (JSON.parse(a[index]!) as { t: number }).t;
    expect(d.t).toBe(t);
    expect(formatDivergence(d)).toBe(`first divergence at seq ${index} (t=${formatTraceTime(t)}): field "host" differs: tm-1 vs tm-2`);
  });

  it("finds where two genuinely different runs first differ", () => {
    const a = recordTrace();
    const b = recordTrace(3_000_001);
    const d = firstDivergence(a, b)!;
    expect(d).toBeDefined();
    let expected = 0;
    while (a[expected] === b[expected]) expected++;
    expect(d.lineIndex).toBe(expected);
    expect(d.seq).toBe(expected);
    // The first difference is the changed item's WorkStarted, in its workNs field.
    expect(d.kindA).toBe("WorkStarted");
    expect(d.field).toBe("workNs");
    expect(d.valueA).toBe(3_000_000);
    expect(d.valueB).toBe(3_000_001);
  });

  it("reports the earlier time and both kinds when time differs", () => {
    const a = [`{"v":1,"seq":0,"t":0,"kind":"RunStarted"}`, `{"v":1,"seq":1,"t":5000000,"kind":"Note","text":"x"}`];
    const b = [a[0]!, `{"v":1,"seq":1,"t":4000000,"kind":"Mark","name":"m"}`];
    const d = firstDivergence(a, b)!;
    expect(d.field).toBe("t");
    expect(d.t).toBe(4_000_000);
    expect(d.kindA).toBe("Note");
    expect(d.kindB).toBe("Mark");
    expect(formatDivergence(d)).toBe('first divergence at seq 1 (t=4.000ms): field "t" differs: 5000000 vs 4000000\n  kinds: Note vs Mark');
  });

  it("names a field present on one side only, and the kind when only it differs", () => {
    const base = `{"v":1,"seq":3,"t":10,"kind":"Note","text":"x"}`;
    const withHost = `{"v":1,"seq":3,"t":10,"kind":"Note","text":"x","host":"tm-1"}`;
    const onlyB = firstDivergence([base], [withHost])!;
    expect(onlyB.field).toBe("host");
    expect(onlyB.valueA).toBeUndefined();
    expect(formatDivergence(onlyB)).toBe('first divergence at seq 3 (t=0.00001ms): field "host" only in B: tm-1');
    const onlyA = firstDivergence([withHost], [base])!;
    expect(formatDivergence(onlyA)).toContain('field "host" only in A: tm-1');
    const kind = firstDivergence([base], [base.replace("Note", "Mark")])!;
    expect(kind.field).toBe("kind");
    expect(formatDivergence(kind)).toBe('first divergence at seq 3 (t=0.00001ms): field "kind" differs: Note vs Mark');
  });

  it("reports lines that differ only in encoding, and unparseable lines", () => {
    const a = `{"v":1,"seq":0,"t":0,"kind":"Note","text":"x","host":"h"}`;
    const reordered = `{"v":1,"seq":0,"t":0,"kind":"Note","host":"h","text":"x"}`;
    expect(firstDivergence([a], [reordered])!.field).toBe(SAME_FIELDS_DIFFERENT_TEXT);
    const broken = firstDivergence([a], [`{"v":1,"seq":0,`])!;
    expect(broken.field).toBe(UNPARSEABLE_LINE);
    expect(broken.seq).toBe(0);
    expect(formatDivergence(broken)).toMatch(/^first divergence at seq 0 \(t=0\.000ms\): line 1 of trace B is not a JSON object\n {2}B: \{"v":1,"seq":0,$/);
  });

  it("reports a prefix, with the extra line, either way round", () => {
    const full = recordTrace();
    const prefix = full.slice(0, 7);
    const d = firstDivergence(prefix, full)!;
    expect(d.shorter).toBe("a");
    expect(d.lineIndex).toBe(7);
    expect(d.field).toBe(MISSING_LINE);
    expect(d.a).toBeUndefined();
    expect(d.b).toBe(full[7]);
    expect(d.seq).toBe(7);
    expect(d.kindA).toBeUndefined();
    expect(d.kindB).toBe((JSON.parse(full[7]!) as { kind: string }).kind);
    const text = formatDivergence(d);
    expect(text.split("\n")).toHaveLength(2);
    expect(text).toMatch(/^trace A ends after 7 lines; trace B continues at seq 7 \(t=[\d.]+ms\)\n {2}B: /);

    const e = firstDivergence(full, full.slice(0, -1))!;
    expect(e.shorter).toBe("b");
    expect(e.lineIndex).toBe(full.length - 1);
    expect(e.kindA).toBe("RunEnded");
    expect(e.a).toBe(full.at(-1));
    expect(formatDivergence(e)).toContain(`trace B ends after ${full.length - 1} lines; trace A continues at seq ${full.length - 1}`);

    expect(firstDivergence([], [])).toBeUndefined();
    expect(firstDivergence([], ["x"])!.shorter).toBe("a");
  });

  it("streams: reads nothing past the divergence", () => {
    const lines = recordTrace();
    const changed = [...lines];
    changed[12] = changed[12]!.replace('"v":1', '"v":3');
    const a = new CountingSource(lines);
    const b = new CountingSource(changed);
    expect(firstDivergence(a, b)!.lineIndex).toBe(12);
    expect(a.pulled).toBe(13);
    expect(b.pulled).toBe(13);
  });

  it("compares long generated traces without materialising them", () => {
    const count = 300_000;
    function* gen(changeAt: number): Generator<string> {
      for (let i = 0; i < count; i++) {
        yield `{"v":1,"seq":${i},"t":${i * 1000},"kind":"Note","text":"${i === changeAt ? "changed" : "same"}"}`;
      }
    }
    expect(firstDivergence(gen(-1), gen(-1))).toBeUndefined();
    const d = firstDivergence(gen(-1), gen(count - 2))!;
    expect(d.seq).toBe(count - 2);
    expect(d.field).toBe("text");
    expect(formatDivergence(d)).toBe(`first divergence at seq ${count - 2} (t=${formatTraceTime((count - 2) * 1000)}): field "text" differs: same vs changed`);
  });

  it("has an async twin for line readers", async () => {
    const a = recordTrace();
    const b = [...a];
    b[9] = b[9]!.replace('"t":', '"t":1');
    async function* lines(src: string[]): AsyncGenerator<string> {
      for (const line of src) yield line;
    }
    const d = await firstDivergenceAsync(lines(a), lines(b));
    expect(d).toEqual(firstDivergence(a, b));
    expect(d!.lineIndex).toBe(9);
    expect(await firstDivergenceAsync(lines(a), a)).toBeUndefined();
  });

  it("property: a single changed field is found at its line, named exactly", () => {
    const value = fc.oneof(fc.integer(), fc.string({ maxLength: 6 }), fc.boolean(), fc.constant(null));
    const event = fc.record({
      kind: fc.constantFrom("Note", "Mark", "WorkStarted", "Metric"),
      fields: fc.uniqueArray(fc.tuple(fc.constantFrom("host", "lane", "work", "label", "value", "x"), value), {
        selector: ([k]) => k,
        maxLength: 5,
      }),
    });
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 40 }), fc.nat(), fc.nat(), (events, pickLine, pickField) => {
        const objects = events.map((e, i) => ({ v: 1, seq: i, t: i * 7, kind: e.kind, ...Object.fromEntries(e.fields) }));
        const a = objects.map((o) => JSON.stringify(o));
        const index = pickLine % objects.length;
        const changed: Record<string, unknown> = { ...objects[index]! };
        const keys = Object.keys(changed);
        const key = keys[pickField % keys.length]!;
        // A value of another type, so it surely differs.
        changed[key] = typeof changed[key] === "string" ? 12345 : "changed";
        const b = [...a];
        b[index] = JSON.stringify(changed);
        const d = firstDivergence(a, b)!;
        expect(d.lineIndex).toBe(index);
        expect(d.field).toBe(key);
        expect(d.shorter).toBeUndefined();
        expect(firstDivergence(a, [...a])).toBeUndefined();
      }),
      { seed: 20240601, numRuns: 200 },
    );
  });
});

describe("formatTraceTime", () => {
  it("prints ms with at least three decimals, exact to the ns", () => {
    expect(formatTraceTime(0)).toBe("0.000ms");
    expect(formatTraceTime(5_000_000)).toBe("5.000ms");
    expect(formatTraceTime(5_000_123)).toBe("5.000123ms");
    expect(formatTraceTime(5_120_000)).toBe("5.120ms");
    expect(formatTraceTime(1_234_567_890_123)).toBe("1234567.890123ms");
    expect(formatTraceTime(Number.MAX_SAFE_INTEGER)).toBe("9007199254.740991ms");
  });
});
