import { describe, expect, it } from "vitest";
import { Kernel } from "../kernel";
import { fingerprintOfLines, MemorySink, Trace } from "./recorder";
import { readTraceText } from "./reader";

const START = { seed: "1", scenario: "rec", flowsimVersion: "0", nodeVersion: process.version, level: "summary" as const, config: { a: 1 } };

function recorder(options: ConstructorParameters<typeof Trace>[1] = {}) {
  const kernel = new Kernel();
  const sink = new MemorySink();
  const trace = new Trace(kernel, { sink, ...options });
  return { kernel, sink, trace };
}

describe("trace recorder", () => {
  it("writes v1 envelopes in order: RunStarted first, RunEnded last, seq dense, t from the clock", () => {
    const { kernel, sink, trace } = recorder();
    trace.start(START);
    kernel.schedule(5_000, () => trace.emit("Note", { text: "hello", host: "h" }));
    kernel.schedule(9_000, () => trace.emit("Mark", { name: "x.y" }));
    kernel.run();
    const fp = trace.finish("idle");
    expect(sink.ended).toBe(true);
    expect(sink.lines[1]).toBe('{"v":1,"seq":1,"t":5000,"kind":"Note","text":"hello","host":"h"}');
    const events = readTraceText(sink.lines.join("\n") + "\n");
    expect(events.map((e) => e.kind)).toEqual(["RunStarted", "Note", "Mark", "RunEnded"]);
    expect(events.map((e) => e.seq)).toEqual([0, 1, 2, 3]);
    expect(events[3]).toMatchObject({ kernelEvents: 2, traceEvents: 4, droppedEvents: 0, kernelHash: kernel.rollingHash });
    expect(fp).toBe(fingerprintOfLines(sink.lines));
    expect(trace.finish("again")).toBe(fp);
  });

  it("filters detailed kinds at the summary level", () => {
    for (const level of ["summary", "detailed"] as const) {
      const { sink, trace } = recorder({ level });
      trace.start({ ...START, level });
      trace.emit("MessageSent", { conn: 1, msg: 1, from: "a", to: "b", sizeBytes: 10 });
      trace.emit("HostCrashed", { host: "a", silent: false, lostWorkItems: 0 });
      trace.finish("idle");
      const kinds = sink.lines.map((l) => JSON.parse(l).kind);
      expect(kinds.includes("MessageSent")).toBe(level === "detailed");
      expect(kinds).toContain("HostCrashed");
    }
  });

  it("caps the number of events: TraceCapped once, RunEnded always, dropped ones counted", () => {
    const { sink, trace } = recorder({ maxEvents: 10 });
    trace.start(START);
    for (let i = 0; i < 50; i++) trace.emit("Note", { text: `n${i}` });
    trace.finish("idle");
    expect(sink.lines.length).toBe(10);
    const kinds = sink.lines.map((l) => JSON.parse(l).kind);
    expect(kinds.filter((k) => k === "TraceCapped").length).toBe(1);
    expect(kinds.at(-1)).toBe("RunEnded");
    const end = JSON.parse(sink.lines.at(-1)!);
    expect(end.droppedEvents).toBe(50 - 7);
  });

  it("enforces the lifecycle and the closed set of kinds", () => {
    const { trace } = recorder();
    expect(() => trace.emit("Note", { text: "early" })).toThrow(/before RunStarted/);
    trace.start(START);
    expect(() => trace.start(START)).toThrow(/twice/);
    expect(() => (trace as unknown as Trace<Record<string, object>>).emit("NoSuchKind", {})).toThrow(/unknown trace kind NoSuchKind/);
    trace.registerKinds({ TaskStarted: "summary" });
    expect(() => trace.registerKinds({ TaskStarted: "summary" })).toThrow(/registered twice/);
    (trace as unknown as Trace<Record<string, object>>).emit("TaskStarted", { vertex: "v1" });
    trace.finish("idle");
    expect(() => trace.emit("Note", { text: "late" })).toThrow(/after RunEnded/);
    expect(() => new Trace(new Kernel(), { level: "verbose" as never })).toThrow(/^trace\.level: /);
    expect(() => new Trace(new Kernel(), { maxEvents: 1 })).toThrow(/^trace\.maxEvents: /);
  });

  it("the fingerprint changes when only the kernel's events differ", () => {
    const run = (delay: number) => {
      const { kernel, trace } = recorder();
      trace.start(START);
      kernel.after(delay, () => {});
      kernel.after(100, () => trace.emit("Note", { text: "same" }));
      kernel.run();
      return trace.finish("idle");
    };
    expect(run(10)).toBe(run(10));
    expect(run(10)).not.toBe(run(11));
  });
});
