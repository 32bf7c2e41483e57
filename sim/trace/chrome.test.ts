import fc from "fast-check";
import { propRuns } from "../../test/prop";
import { describe, expect, it } from "vitest";
import { InputError, InvariantError } from "../errors";
import { Host } from "../host";
import { Kernel } from "../kernel";
import {
  CLUSTER_PID,
  KERNEL_KINDS_NOT_EXPORTED,
  exportChromeTrace,
  kernelChromeMapping,
  mergeMappings,
  numberField,
  stringField,
  type ChromeEvent,
  type ChromeMapping,
  type ChromeTrace,
} from "./chrome";
import { KERNEL_KIND_LEVELS, type TraceEvent } from "./events";
import { readTraceText } from "./reader";
import { MemorySink, Trace } from "./recorder";


interface Recording {
  kernel: Kernel;
  trace: Trace;
  sink: MemorySink;
}

function startRecording(): Recording {
  const kernel = new Kernel();
  const sink = new MemorySink();
  const trace = new Trace(kernel, { level: "detailed", sink });
  trace.start({ seed: "1", scenario: "t", flowsimVersion: "0", nodeVersion: process.version, level: "detailed", config: { k: 1 } });
  return { kernel, trace, sink };
}

function finishRecording(r: Recording): TraceEvent[] {
  r.kernel.run();
  r.trace.finish("idle");
  return readTraceText(r.sink.lines.join("\n"));
}

function ev(seq: number, t: number, kind: string, fields: Record<string, unknown> = {}): TraceEvent {
  return { v: 1, seq, t, kind, ...fields };
}

interface Slice {
  b: ChromeEvent;
  e: ChromeEvent;
}

/**
 * The structural check every export must pass: no X; ts non-decreasing; on each (pid,tid)
 * every E closes the most recent open B of the same name; nothing left open. Returns the
 * matched (B, E) pairs.
 */
function checkSlices(chrome: ChromeTrace): Slice[] {
  const stacks = new Map<string, ChromeEvent[]>();
  const slices: Slice[] = [];
  let lastTs = -Infinity;
  let seenNonMeta = false;
  for (const e of chrome.traceEvents) {
    expect(e.ph).not.toBe("X");
    if (e.ph === "M") {
      expect(seenNonMeta).toBe(false); // metadata first
      continue;
    }
    seenNonMeta = true;
    expect(e.ts).toBeGreaterThanOrEqual(lastTs);
    lastTs = e.ts;
    const lane = `${e.pid}/${e.tid}`;
    if (e.ph === "B") {
      expect(e.tid).toBeGreaterThan(0);
      let stack = stacks.get(lane);
      if (stack === undefined) stacks.set(lane, (stack = []));
      stack.push(e);
    } else if (e.ph === "E") {
      const open = stacks.get(lane)?.pop();
      expect(open, `E without open B on ${lane} at ts ${e.ts}`).toBeDefined();
      expect(e.name).toBe(open!.name);
      expect(e.ts).toBeGreaterThanOrEqual(open!.ts);
      slices.push({ b: open!, e });
    }
  }
  for (const [lane, stack] of stacks) expect(stack, `left open on ${lane}`).toHaveLength(0);
  return slices;
}

function threadNames(chrome: ChromeTrace): Map<string, string> {
  const names = new Map<string, string>();
  for (const e of chrome.traceEvents) {
    if (e.ph === "M" && e.name === "thread_name") names.set(`${e.pid}/${e.tid}`, e.args!.name as string);
  }
  return names;
}

function processNames(chrome: ChromeTrace): string[] {
  return chrome.traceEvents.filter((e) => e.ph === "M" && e.name === "process_name").map((e) => e.args!.name as string);
}

describe("exportChromeTrace on a recorded run", () => {
  function scenario(): TraceEvent[] {
    const r = startRecording();
    const { kernel, trace } = r;
    // tm-2 is declared first, so it gets pid 1 although tm-1 works first.
    trace.emit("HostAdded", { host: "tm-2", cores: 1, speed: 1 });
    const h1 = new Host(kernel, trace, { name: "tm-1", cores: 1 });
    const h2 = new Host(kernel, trace, { name: "tm-2", cores: 1 });
    // On one core, A [0, 15 µs] and B [5, 20 µs] share the CPU and overlap without nesting.
    kernel.schedule(0, () => h1.run(10_000, () => {}, "A", "cpu"));
    kernel.schedule(5_000, () => h1.run(10_000, () => {}, "B", "cpu"));
    kernel.schedule(30_000, () => h1.run(1_000, () => {}, "C", "cpu"));
    kernel.schedule(1_000, () => h2.run(50_000, () => {}, "lost", "slot-1"));
    kernel.schedule(2_000, () => trace.emit("Metric", { name: "queue", entity: "map#0", host: "tm-1", value: 3 }));
    kernel.schedule(2_000, () => trace.emit("Metric", { name: "rate", entity: "job", value: 1.5 }));
    kernel.schedule(3_000, () => trace.emit("LinkPartitioned", { from: "tm-1", to: "tm-2", oneWay: false }));
    kernel.schedule(4_000, () => trace.emit("Note", { text: "hello" }));
    kernel.schedule(4_000, () => trace.emit("Mark", { name: "x.rare", host: "tm-1" }));
    kernel.schedule(6_000, () => trace.emit("ConnectionOpened", { conn: 1, from: "tm-1", to: "tm-2", label: "data" }));
    kernel.schedule(25_000, () => h2.crash());
    return finishRecording(r);
  }

  it("maps hosts to pids, lanes to named threads, and splits overlapping spans", () => {
    const events = scenario();
    const chrome = exportChromeTrace(events);
    expect(chrome.displayTimeUnit).toBe("ns");
    expect(processNames(chrome)).toEqual(["cluster", "tm-2", "tm-1"]);
    const slices = checkSlices(chrome);
    const byName = new Map(slices.map((s) => [s.b.name, s]));
    const a = byName.get("A")!;
    const b = byName.get("B")!;
    const c = byName.get("C")!;
    expect(a.b.pid).toBe(2);
    expect([a.b.ts, a.e.ts]).toEqual([0, 15]);
    expect([b.b.ts, b.e.ts]).toEqual([5, 20]);
    // B overlaps A without nesting: it gets a second thread of the lane; C fits the first again.
    expect(b.b.tid).not.toBe(a.b.tid);
    expect(c.b.tid).toBe(a.b.tid);
    const names = threadNames(chrome);
    expect(names.get(`2/${a.b.tid}`)).toBe("cpu");
    expect(names.get(`2/${b.b.tid}`)).toBe("cpu #2");
    expect(chrome.otherData.extraTracks).toBe(1);
    // Args keep the source event (with its seq) and the end's fields.
    const started = events.find((e) => e.kind === "WorkStarted" && e.label === "A")!;
    expect(a.b.args).toEqual({ seq: started.seq, host: "tm-1", lane: "cpu", work: 0, label: "A", workNs: 10_000 });
    expect(a.b.cat).toBe("work");
    expect(a.e.args!.endSeq).toBeGreaterThan(started.seq);
  });

  it("ends a crashed host's work at the crash, and shows faults as instants", () => {
    const events = scenario();
    const chrome = exportChromeTrace(events);
    const lost = checkSlices(chrome).find((s) => s.b.name === "lost")!;
    const crash = events.find((e) => e.kind === "HostCrashed")!;
    expect(lost.b.pid).toBe(1);
    expect(lost.e.ts).toBe(crash.t / 1000);
    expect(lost.e.args).toEqual({ endSeq: crash.seq, endedBy: "HostCrashed" });
    const instants = chrome.traceEvents.filter((e) => e.ph === "i");
    expect(instants.map((e) => [e.name, e.s, e.pid, e.tid])).toEqual([
      ["LinkPartitioned", "g", CLUSTER_PID, 0],
      ["Note", "g", CLUSTER_PID, 0],
      ["Mark", "p", 2, 0],
      ["HostCrashed", "p", 1, 0],
    ]);
    expect(instants[3]!.args).toEqual({ seq: crash.seq, host: "tm-2", silent: false, lostWorkItems: 1 });
    expect(instants[3]!.ts).toBe(25);
  });

  it("turns metrics into counters on the host's process", () => {
    const chrome = exportChromeTrace(scenario());
    const counters = chrome.traceEvents.filter((e) => e.ph === "C");
    expect(counters.map((e) => [e.name, e.pid, e.ts, e.args])).toEqual([
      ["queue", 2, 2, { "map#0": 3 }],
      ["rate", CLUSTER_PID, 2, { job: 1.5 }],
    ]);
  });

  it("records the run in otherData and counts skipped kinds", () => {
    const events = scenario();
    const chrome = exportChromeTrace(events);
    expect(chrome.otherData).toMatchObject({
      traceVersion: 1,
      seed: "1",
      scenario: "t",
      flowsimVersion: "0",
      nodeVersion: process.version,
      level: "detailed",
      config: { k: 1 },
      truncated: false,
      events: events.length,
      skippedKinds: { ConnectionOpened: 1 },
      unclosedSpans: 0,
      unmatchedEnds: 0,
      duplicateBegins: 0,
    });
    expect(chrome.otherData.runEnded).toMatchObject({ reason: "idle", droppedEvents: 0 });
  });

  it("is deterministic: two runs export to identical JSON", () => {
    expect(JSON.stringify(exportChromeTrace(scenario()))).toBe(JSON.stringify(exportChromeTrace(scenario())));
  });

  it("closes cancelled work at its cancel, and spans a truncated trace left open at the last event", () => {
    const r = startRecording();
    const h = new Host(r.kernel, r.trace, { name: "tm-1", cores: 1 });
    let id = -1;
    r.kernel.schedule(0, () => (id = h.run(100_000, () => {}, "cancelled", "cpu")));
    r.kernel.schedule(1_000, () => h.run(2_000, () => {}, "ok", "cpu"));
    r.kernel.schedule(7_000, () => h.cancel(id));
    r.kernel.schedule(9_000, () => r.trace.emit("Note", { text: "last" }));
    const events = finishRecording(r);
    const chrome = exportChromeTrace(events);
    const slices = checkSlices(chrome);
    const cancelled = slices.find((s) => s.b.name === "cancelled")!;
    // host.cancel writes WorkFinished {cancelled: true}, so the slice ends at 7 µs.
    expect(cancelled.e.ts).toBe(7);
    expect(cancelled.e.args!.cancelled).toBe(true);
    expect(chrome.otherData.unclosedSpans).toBe(0);

    const truncated = events.filter((e) => e.kind !== "RunEnded" && !(e.kind === "WorkFinished" && (e.label === "ok" || e.cancelled === true)));
    const t2 = exportChromeTrace(truncated);
    checkSlices(t2);
    expect(t2.otherData.truncated).toBe(true);
    expect(t2.otherData.runEnded).toBeNull();
    expect(t2.otherData.unclosedSpans).toBe(2);
    const ok = checkSlices(t2).find((s) => s.b.name === "ok")!;
    expect(ok.e.ts).toBe(9);
    expect(ok.e.args!.unclosed).toBe(true);
  });
});

describe("exportChromeTrace ordering", () => {
  const start = ev(0, 0, "RunStarted", { seed: "s" });
  const work = (seq: number, t: number, work: number, label: string, lane = "L") =>
    ev(seq, t, "WorkStarted", { host: "h", lane, work, label, workNs: 0 });
  const done = (seq: number, t: number, work: number, label: string, lane = "L") => ev(seq, t, "WorkFinished", { host: "h", lane, work, label });

  it("emits B/E in nesting order at equal timestamps, with zero-length spans", () => {
    // A and B cover [0,10] exactly (B nests in A, being later); D is [10,20]; C is [10,10].
    const events = [
      start,
      work(1, 0, 1, "A"),
      work(2, 0, 2, "B"),
      done(3, 10, 2, "B"),
      done(4, 10, 1, "A"),
      work(5, 10, 3, "C"),
      work(6, 10, 4, "D"),
      done(7, 10, 3, "C"),
      done(8, 20, 4, "D"),
    ];
    const chrome = exportChromeTrace(events);
    const slicesOrder = chrome.traceEvents.filter((e) => e.ph === "B" || e.ph === "E").map((e) => `${e.ph}${e.name}@${e.ts * 1000}`);
    expect(slicesOrder).toEqual(["BA@0", "BB@0", "EB@10", "EA@10", "BD@10", "BC@10", "EC@10", "ED@20"]);
    const tids = new Set(chrome.traceEvents.filter((e) => e.ph === "B").map((e) => e.tid));
    expect(tids.size).toBe(1);
    checkSlices(chrome);
  });

  it("puts the longer span first among begins at the same time, whatever the seq", () => {
    const events = [start, work(1, 0, 1, "short"), work(2, 0, 2, "long"), done(3, 5, 1, "short"), done(4, 9, 2, "long")];
    const chrome = exportChromeTrace(events);
    const order = chrome.traceEvents.filter((e) => e.ph === "B" || e.ph === "E").map((e) => `${e.ph}${e.name}`);
    expect(order).toEqual(["Blong", "Bshort", "Eshort", "Elong"]);
    expect(chrome.otherData.extraTracks).toBe(0);
  });

  it("reuses a lane's first thread once it is free (greedy first fit)", () => {
    const events = [
      start,
      work(1, 0, 1, "x"),
      work(2, 5, 2, "y"),
      done(3, 15, 1, "x"),
      work(4, 15, 3, "z"), // starts exactly when x ends: fits the first thread
      done(5, 18, 3, "z"),
      done(6, 20, 2, "y"),
    ];
    const chrome = exportChromeTrace(events);
    const slices = checkSlices(chrome);
    const tid = (name: string) => slices.find((s) => s.b.name === name)!.b.tid;
    expect(tid("z")).toBe(tid("x"));
    expect(tid("y")).not.toBe(tid("x"));
    const order = chrome.traceEvents.filter((e) => e.ph === "B" || e.ph === "E").map((e) => `${e.ph}${e.name}@${e.ts * 1000}`);
    expect(order).toEqual(["Bx@0", "By@5", "Ex@15", "Bz@15", "Ez@18", "Ey@20"]);
  });

  it("counts unmatched ends and duplicate begins instead of producing broken slices", () => {
    const events = [start, done(1, 0, 9, "ghost"), work(2, 1, 1, "a"), work(3, 2, 1, "a2"), done(4, 3, 1, "a2")];
    const chrome = exportChromeTrace(events);
    const slices = checkSlices(chrome);
    expect(chrome.otherData.unmatchedEnds).toBe(1);
    expect(chrome.otherData.duplicateBegins).toBe(1);
    expect(slices.map((s) => [s.b.name, s.b.ts * 1000, s.e.ts * 1000])).toEqual([
      ["a", 1, 2],
      ["a2", 2, 3],
    ]);
    expect(slices[0]!.e.args).toMatchObject({ unclosed: true, endedBy: "duplicate WorkStarted" });
  });

  it("rejects events with badly typed fields, naming the seq and field", () => {
    const bad = [start, ev(1, 0, "WorkStarted", { host: "h", lane: "L", work: 1, label: 42, workNs: 0 })];
    expect(() => exportChromeTrace(bad)).toThrow(InputError);
    expect(() => exportChromeTrace(bad)).toThrow("trace seq 1 (WorkStarted): label: must be a string, got 42");
    const back = [start, ev(1, 5, "Note", { text: "a" }), ev(2, 4, "Note", { text: "b" })];
    expect(() => exportChromeTrace(back)).toThrow("trace seq 2 (Note): t");
  });

  it("converts ns to fractional microseconds", () => {
    const chrome = exportChromeTrace([start, ev(1, 1_234_567, "Note", { text: "x" })]);
    expect(chrome.traceEvents.find((e) => e.ph === "i")!.ts).toBe(1234.567);
  });
});

describe("mappings", () => {
  const engineMapping: ChromeMapping = {
    spans: [
      {
        begin: "TaskRunning",
        end: "TaskFinished",
        cat: "task",
        key: (e) => stringField(e, "attempt"),
        host: (e) => stringField(e, "tm"),
        lane: (e) => `slot ${numberField(e, "slot")}`,
        name: (e) => stringField(e, "vertex"),
        closedBy: { HostCrashed: (e) => stringField(e, "host") },
      },
    ],
    instants: { CheckpointTriggered: "g", TaskFailed: { scope: "p", host: (e) => stringField(e, "tm") } },
  };

  function engineRun(): TraceEvent[] {
    const r = startRecording();
    r.trace.registerKinds({ TaskRunning: "summary", TaskFinished: "summary", CheckpointTriggered: "summary", TaskFailed: "summary" });
    const emit = r.trace.emit.bind(r.trace) as (kind: string, fields: object) => void;
    const h = new Host(r.kernel, r.trace, { name: "tm-1", cores: 1 });
    r.kernel.schedule(0, () => emit("TaskRunning", { attempt: "v1#0.0", tm: "tm-1", slot: 0, vertex: "map" }));
    r.kernel.schedule(1_000, () => h.run(500, () => {}, "map", "slot 0"));
    r.kernel.schedule(2_000, () => emit("CheckpointTriggered", { checkpoint: 1 }));
    r.kernel.schedule(3_000, () => emit("TaskRunning", { attempt: "v1#1.0", tm: "tm-1", slot: 1, vertex: "map" }));
    r.kernel.schedule(4_000, () => emit("TaskFinished", { attempt: "v1#0.0", tm: "tm-1", state: "FINISHED" }));
    r.kernel.schedule(5_000, () => h.crash());
    r.kernel.schedule(6_000, () => emit("TaskFailed", { attempt: "v1#1.0", tm: "tm-1" }));
    return finishRecording(r);
  }

  it("the kernel mapping skips engine kinds and counts them", () => {
    const chrome = exportChromeTrace(engineRun(), kernelChromeMapping);
    expect(chrome.otherData.skippedKinds).toEqual({ CheckpointTriggered: 1, TaskFailed: 1, TaskFinished: 1, TaskRunning: 2 });
    expect(checkSlices(chrome).map((s) => s.b.name)).toEqual(["map"]);
  });

  it("a merged mapping shows engine spans and instants next to kernel ones", () => {
    const chrome = exportChromeTrace(engineRun(), mergeMappings(kernelChromeMapping, engineMapping));
    expect(chrome.otherData.skippedKinds).toEqual({});
    const slices = checkSlices(chrome).sort((x, y) => x.b.ts - y.b.ts);
    expect(slices.map((s) => [s.b.name, s.b.cat, s.b.ts, s.e.ts])).toEqual([
      ["map", "task", 0, 4],
      ["map", "work", 1, 1.5],
      ["map", "task", 3, 5], // ended by the crash
    ]);
    // The work item runs on the task's lane ("slot 0") within the task's span: they share a thread, nested.
    const names = threadNames(chrome);
    expect(slices.map((s) => names.get(`${s.b.pid}/${s.b.tid}`))).toEqual(["slot 0", "slot 0", "slot 1"]);
    expect(slices[0]!.b.tid).toBe(slices[1]!.b.tid);
    expect(slices[0]!.e.args).toMatchObject({ state: "FINISHED" });
    const instants = chrome.traceEvents.filter((e) => e.ph === "i").map((e) => [e.name, e.s, e.pid]);
    expect(instants).toEqual([
      ["CheckpointTriggered", "g", 0],
      ["HostCrashed", "p", 1],
      ["TaskFailed", "p", 1],
    ]);
  });

  it("the kernel mapping covers every kernel kind or says why not", () => {
    const m = kernelChromeMapping;
    const mapped = new Set<string>([
      ...(m.spans ?? []).flatMap((s) => [s.begin, s.end]),
      ...Object.keys(m.instants ?? {}),
      ...Object.keys(m.counters ?? {}),
      ...Object.keys(m.hosts ?? {}),
    ]);
    for (const kind of Object.keys(KERNEL_KIND_LEVELS)) {
      expect(mapped.has(kind) !== Object.hasOwn(KERNEL_KINDS_NOT_EXPORTED, kind), `kernel kind ${kind}`).toBe(true);
    }
    for (const kind of [...mapped, ...Object.keys(KERNEL_KINDS_NOT_EXPORTED)]) expect(Object.hasOwn(KERNEL_KIND_LEVELS, kind), kind).toBe(true);
  });

  it("rejects a kind mapped twice or reserved", () => {
    expect(() => mergeMappings(kernelChromeMapping, { instants: { Note: "g" } })).toThrow(InvariantError);
    expect(() => mergeMappings(kernelChromeMapping, { instants: { WorkStarted: "g" } })).toThrow(/WorkStarted mapped twice/);
    expect(() => mergeMappings(kernelChromeMapping, engineMapping.spans ? { spans: [...engineMapping.spans, ...engineMapping.spans] } : {})).toThrow(
      /TaskRunning mapped twice/,
    );
    expect(() => exportChromeTrace([], { instants: { RunStarted: "g" } })).toThrow(/handled by the exporter/);
  });
});

describe("property: arbitrary overlapping work exports to properly nested slices", () => {
  const item = fc.record({
    atNs: fc.integer({ min: 0, max: 20_000 }).map((t) => t - (t % 250)), // coarse, so equal times are common
    workNs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 8_000 })),
    host: fc.integer({ min: 0, max: 1 }),
    lane: fc.constantFrom("cpu", "io"),
    cancelAfterNs: fc.option(fc.integer({ min: 0, max: 5_000 }), { nil: undefined }),
  });
  const run = fc.record({
    cores: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    speed: fc.constantFrom(0.5, 1, 1.5),
    items: fc.array(item, { minLength: 1, maxLength: 40 }),
    crashAtNs: fc.option(fc.integer({ min: 0, max: 25_000 }), { nil: undefined }),
  });

  it("nests on every (pid, tid), orders by ts, and gives each WorkStarted one B and one E at the right times", () => {
    fc.assert(
      fc.property(run, (spec) => {
        const r = startRecording();
        const hosts = [0, 1].map((i) => new Host(r.kernel, r.trace, { name: `tm-${i + 1}`, cores: spec.cores[i]!, speed: spec.speed }));
        spec.items.forEach((it, i) => {
          r.kernel.schedule(it.atNs, () => {
            const host = hosts[it.host]!;
            if (!host.up) return;
            const id = host.run(it.workNs, () => {}, `w${i % 3}`, it.lane);
            if (it.cancelAfterNs !== undefined) r.kernel.after(it.cancelAfterNs, () => host.cancel(id));
          });
        });
        if (spec.crashAtNs !== undefined) r.kernel.schedule(spec.crashAtNs, () => hosts[0]!.crash());
        const events = finishRecording(r);
        const chrome = exportChromeTrace(events);
        const slices = checkSlices(chrome);

        // Where each work item's span should end: its WorkFinished, its host's crash, or the last event.
        const lastT = events.at(-1)!.t;
        const expectedEnd = new Map<number, number>();
        const open = new Map<string, number>();
        for (const e of events) {
          if (e.kind === "WorkStarted") {
            open.set(`${e.host}/${e.work}`, e.seq);
            expectedEnd.set(e.seq, lastT);
          } else if (e.kind === "WorkFinished") {
            expectedEnd.set(open.get(`${e.host}/${e.work}`)!, e.t);
            open.delete(`${e.host}/${e.work}`);
          } else if (e.kind === "HostCrashed") {
            for (const [key, seq] of open) {
              if (key.startsWith(`${e.host}/`)) {
                expectedEnd.set(seq, e.t);
                open.delete(key);
              }
            }
          }
        }
        const starts = events.filter((e) => e.kind === "WorkStarted");
        expect(slices).toHaveLength(starts.length);
        const bySeq = new Map<number, Slice>();
        for (const s of slices) {
          const seq = s.b.args!.seq as number;
          expect(bySeq.has(seq)).toBe(false);
          bySeq.set(seq, s);
        }
        for (const start of starts) {
          const s = bySeq.get(start.seq);
          expect(s, `no slice for WorkStarted seq ${start.seq}`).toBeDefined();
          expect(s!.b.ts).toBe(start.t / 1000);
          expect(s!.b.name).toBe(start.label);
          expect(s!.e.ts).toBe(expectedEnd.get(start.seq)! / 1000);
          if (s!.e.args!.work !== undefined) expect(s!.e.args!.work).toBe(start.work);
        }
        expect(chrome.otherData.unmatchedEnds).toBe(0);
        expect(chrome.otherData.duplicateBegins).toBe(0);
      }),
      { seed: 7, numRuns: propRuns(300) },
    );
  });
});
