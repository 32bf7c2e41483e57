import { describe, expect, it } from "vitest";
import { InputError } from "../errors";
import { Host } from "../host";
import { Kernel } from "../kernel";
import { MemorySink, Trace } from "./recorder";
import { TraceReader, parseTraceLine, readTraceLines, readTraceText, summarizeTrace, traceLines } from "./reader";

/** A real trace from the recorder: two hosts, overlapping work, a crash, a metric. */
function recordTrace(): string[] {
  const kernel = new Kernel();
  const sink = new MemorySink();
  const trace = new Trace(kernel, { level: "detailed", sink });
  trace.start({ seed: "42", scenario: "reader", flowsimVersion: "0", nodeVersion: process.version, level: "detailed", config: { a: 1 } });
  const h1 = new Host(kernel, trace, { name: "tm-1", cores: 2 });
  const h2 = new Host(kernel, trace, { name: "tm-2", cores: 1 });
  kernel.schedule(0, () => h1.run(10_000, () => {}, "map", "slot-0"));
  kernel.schedule(2_000, () => h1.run(5_000, () => {}, "map", "slot-0"));
  kernel.schedule(3_000, () => h2.run(4_000, () => {}, "sink", "slot-0"));
  kernel.schedule(5_000, () => trace.emit("Metric", { name: "queue", entity: "map#0", host: "tm-1", value: 3 }));
  kernel.schedule(20_000, () => h2.crash());
  kernel.run();
  trace.finish("idle");
  return sink.lines;
}

/** Expects an InputError whose field and message name the line and (optionally) the field. */
function expectInputError(fn: () => unknown, field: string, problem: RegExp): InputError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(InputError);
  const err = caught as InputError;
  expect(err.field).toBe(field);
  expect(err.problem).toMatch(problem);
  expect(err.message).not.toContain("\n");
  return err;
}

const start = (seq = 0, t = 0) => `{"v":1,"seq":${seq},"t":${t},"kind":"RunStarted","seed":"7","scenario":"s"}`;
const note = (seq: number, t: number) => `{"v":1,"seq":${seq},"t":${t},"kind":"Note","text":"n${seq}"}`;
const end = (seq: number, t: number) =>
  `{"v":1,"seq":${seq},"t":${t},"kind":"RunEnded","reason":"idle","kernelEvents":1,"traceEvents":${seq + 1},"droppedEvents":0,"kernelHash":"0"}`;

describe("trace reader", () => {
  it("reads a real recorded trace, and a trailing newline is ignored", () => {
    const lines = recordTrace();
    const text = lines.join("\n") + "\n";
    const events = readTraceText(text);
    expect(events).toHaveLength(lines.length);
    events.forEach((e, i) => {
      expect(e.seq).toBe(i);
      expect(e.v).toBe(1);
    });
    expect(events[0]!.kind).toBe("RunStarted");
    expect(events.at(-1)!.kind).toBe("RunEnded");
    // Same result without the final newline, and from split("\n") with its trailing "".
    expect(readTraceText(lines.join("\n"))).toEqual(events);
    expect([...readTraceLines(text.split("\n"))]).toEqual(events);
  });

  it("summarizes a complete trace", () => {
    const lines = recordTrace();
    const s = summarizeTrace(readTraceText(lines.join("\n")));
    expect(s.events).toBe(lines.length);
    expect(s.seed).toBe("42");
    expect(s.scenario).toBe("reader");
    expect(s.complete).toBe(true);
    expect(s.truncated).toBe(false);
    expect(s.endReason).toBe("idle");
    expect(s.capped).toBe(false);
    expect(s.droppedEvents).toBe(0);
    expect(s.firstT).toBe(0);
    expect(s.lastT).toBe(20_000);
    expect(s.lastSeq).toBe(lines.length - 1);
    expect(s.countsByKind).toEqual({
      HostCrashed: 1,
      Metric: 1,
      RunEnded: 1,
      RunStarted: 1,
      WorkFinished: 3,
      WorkStarted: 3,
    });
    expect(Object.keys(s.countsByKind)).toEqual([...Object.keys(s.countsByKind)].sort());
  });

  it("summarizes a trace without RunEnded as truncated instead of throwing", () => {
    const lines = recordTrace().slice(0, -1);
    const s = summarizeTrace(readTraceText(lines.join("\n")));
    expect(s.truncated).toBe(true);
    expect(s.complete).toBe(false);
    expect(s.endReason).toBeUndefined();
    expect(s.events).toBe(lines.length);
    expect(s.countsByKind.RunEnded).toBeUndefined();
    expect(s.seed).toBe("42");
  });

  it("reports the event cap", () => {
    const kernel = new Kernel();
    const sink = new MemorySink();
    const trace = new Trace(kernel, { level: "summary", sink, maxEvents: 4 });
    trace.start({ seed: "1", scenario: "cap", flowsimVersion: "0", nodeVersion: process.version, level: "summary", config: {} });
    for (let i = 0; i < 5; i++) trace.emit("Note", { text: `n${i}` });
    trace.finish("idle");
    const s = summarizeTrace(readTraceText(sink.lines.join("\n")));
    expect(s.capped).toBe(true);
    // Line budget 4: RunStarted, one Note, TraceCapped, RunEnded; the other four Notes are dropped.
    expect(s.countsByKind).toEqual({ Note: 1, RunEnded: 1, RunStarted: 1, TraceCapped: 1 });
    expect(s.droppedEvents).toBe(4);
    expect(s.complete).toBe(true);
  });

  it("streams: TraceReader.push gives the same events one line at a time", () => {
    const lines = recordTrace();
    const reader = new TraceReader();
    const events = lines.map((line) => reader.push(line));
    expect(events).toEqual(readTraceText(lines.join("\n")));
    expect(reader.linesRead).toBe(lines.length);
    expect(reader.sawRunEnded).toBe(true);
  });

  it("rejects malformed JSON, naming the line", () => {
    const text = [start(), note(1, 5), `{"v":1,"seq":2,"t":5,"kind":"Note"`].join("\n");
    const err = expectInputError(() => readTraceText(text), "trace line 3", /not valid JSON/);
    expect(err.message).toMatch(/^trace line 3: not valid JSON/);
  });

  it("rejects lines that are JSON but not objects", () => {
    expectInputError(() => readTraceText([start(), "[1,2]"].join("\n")), "trace line 2", /expected a JSON object, got an array/);
    expectInputError(() => readTraceText([start(), "17"].join("\n")), "trace line 2", /expected a JSON object, got 17/);
    expectInputError(() => readTraceText([start(), "null"].join("\n")), "trace line 2", /expected a JSON object, got null/);
  });

  it("rejects an unsupported version, naming the line and v", () => {
    const text = [start(), `{"v":2,"seq":1,"t":0,"kind":"Note"}`].join("\n");
    expectInputError(() => readTraceText(text), "trace line 2: v", /unsupported trace version 2/);
    expectInputError(() => readTraceText(`{"seq":0,"t":0,"kind":"RunStarted","seed":"1"}`), "trace line 1: v", /missing/);
    expectInputError(() => readTraceText(`{"v":"1","seq":0,"t":0,"kind":"RunStarted","seed":"1"}`), "trace line 1: v", /unsupported trace version "1"/);
  });

  it("rejects a seq gap, a repeated seq and a first seq other than 0", () => {
    const gap = [start(), note(1, 0), note(3, 0)].join("\n");
    expectInputError(() => readTraceText(gap), "trace line 3: seq", /expected 2 \(previous seq \+ 1\), got 3/);
    const repeat = [start(), note(1, 0), note(1, 0)].join("\n");
    expectInputError(() => readTraceText(repeat), "trace line 3: seq", /expected 2 .* got 1/);
    expectInputError(() => readTraceText(start(1)), "trace line 1: seq", /expected 0 on the first line, got 1/);
    expectInputError(() => readTraceText(`{"v":1,"seq":-1,"t":0,"kind":"RunStarted"}`), "trace line 1: seq", /non-negative integer, got -1/);
    expectInputError(() => readTraceText([start(), `{"v":1,"seq":1.5,"t":0,"kind":"Note"}`].join("\n")), "trace line 2: seq", /got 1.5/);
  });

  it("rejects time going backwards, and non-integer times", () => {
    const back = [start(0, 0), note(1, 100), note(2, 99)].join("\n");
    expectInputError(() => readTraceText(back), "trace line 3: t", /99 is before the previous line's 100/);
    // Equal times are fine.
    expect(readTraceText([start(), note(1, 100), note(2, 100)].join("\n"))).toHaveLength(3);
    expectInputError(() => readTraceText([start(), `{"v":1,"seq":1,"t":1.5,"kind":"Note"}`].join("\n")), "trace line 2: t", /integer/);
    expectInputError(() => readTraceText([start(), `{"v":1,"seq":1,"kind":"Note"}`].join("\n")), "trace line 2: t", /got nothing/);
  });

  it("rejects a first line that is not RunStarted, and RunStarted later", () => {
    expectInputError(() => readTraceText(note(0, 0)), "trace line 1: kind", /first line must be RunStarted, got "Note"/);
    expectInputError(() => readTraceText([start(), start(1)].join("\n")), "trace line 2: kind", /only be the first line/);
    expectInputError(() => readTraceText(`{"v":1,"seq":0,"t":0,"kind":"RunStarted"}`), "trace line 1: seed", /string seed/);
  });

  it("rejects kinds that are not PascalCase strings", () => {
    expectInputError(() => readTraceText([start(), `{"v":1,"seq":1,"t":0,"kind":"note"}`].join("\n")), "trace line 2: kind", /PascalCase/);
    expectInputError(() => readTraceText([start(), `{"v":1,"seq":1,"t":0,"kind":"__proto__"}`].join("\n")), "trace line 2: kind", /PascalCase/);
    expectInputError(() => readTraceText([start(), `{"v":1,"seq":1,"t":0,"kind":7}`].join("\n")), "trace line 2: kind", /got 7/);
  });

  it("rejects events after RunEnded and empty lines in the middle", () => {
    expectInputError(() => readTraceText([start(), end(1, 0), note(2, 0)].join("\n")), "trace line 3: kind", /after RunEnded/);
    expectInputError(() => readTraceText([start(), "", note(1, 0)].join("\n")), "trace line 2", /empty line/);
    // Two trailing newlines leave an empty line that is not the last one.
    expectInputError(() => readTraceText([start(), note(1, 0)].join("\n") + "\n\n"), "trace line 3", /empty line/);
    expectInputError(() => readTraceText(""), "trace", /empty/);
  });

  it("parseTraceLine checks one line alone", () => {
    const e = parseTraceLine(note(5, 10), 6);
    expect(e).toEqual({ v: 1, seq: 5, t: 10, kind: "Note", text: "n5" });
    expectInputError(() => parseTraceLine("{", 9), "trace line 9", /not valid JSON/);
  });

  it("traceLines splits lazily and treats a final newline as a terminator", () => {
    expect([...traceLines("a\nb\n")]).toEqual(["a", "b"]);
    expect([...traceLines("a\nb")]).toEqual(["a", "b"]);
    expect([...traceLines("a\n\nb")]).toEqual(["a", "", "b"]);
    expect([...traceLines("")]).toEqual([]);
  });
});
