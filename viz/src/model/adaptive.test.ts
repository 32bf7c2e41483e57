import { describe, expect, it } from "vitest";
import type { TraceEvent } from "../../../sim/trace/events";
import { buildDecisions, decisionLines, finalParallelism, parallelismAt } from "./adaptive";
import { filterEvents, kindGroupsPresent } from "./event-log";
import { readJobGraph, vertexViewsAt } from "./graph";
import { buildMetrics } from "./metrics";
import { parseTraceText } from "./parse";
import { buildReplay } from "./replay";
import { scenarioTraceText } from "./scenario-traces";
import { buildTasks } from "./tasks";

const ev = (seq: number, t: number, kind: string, extra: Record<string, unknown> = {}): TraceEvent => ({ v: 1, seq, t, kind, ...extra });

const submitted = ev(0, 0, "JobSubmitted", {
  job: "j",
  runtimeMode: "BATCH",
  vertices: [
    { id: "v0", name: "Source", parallelism: 2, maxParallelism: 8, chain: ["Source"] },
    { id: "v1", name: "Count", parallelism: -1, maxParallelism: 8, chain: ["Count"] },
  ],
  edges: [{ source: "v0", target: "v1", distribution: "ALL_TO_ALL", partitioner: "HASH", partitionType: "BLOCKING" }],
  regions: [],
});
const input = { name: "Source", pattern: "ALL_TO_ALL", broadcast: false, partitions: 2, subpartitions: 8, bytes: 3 * 1024 * 1024 };
const decided = ev(5, 100, "VertexParallelismDecided", { vertex: "v1", name: "Count", parallelism: 3, path: "even-data", inputBytes: input.bytes, inputs: [input], ranges: "[0,2] [3,5] [6,7]", summary: "Count: parallelism 3 by even-data" });
const initialized = ev(6, 100, "VertexInitialized", { vertex: "v1", parallelism: 3, subtasks: ["v1[0]", "v1[1]", "v1[2]"] });

describe("parallelism decisions", () => {
  const graph = readJobGraph(submitted)!;

  it("leave a -1 vertex undecided until its decision and show the decided parallelism from that time on", () => {
    const decisions = buildDecisions(graph, [decided, initialized]);
    expect(parallelismAt(graph, decisions, "v1", 99)).toBeUndefined();
    expect(parallelismAt(graph, decisions, "v1", 100)).toBe(3);
    expect(parallelismAt(graph, decisions, "v0", 0)).toBe(2);
    const tasks = buildTasks([]);
    const at = (t: number) => vertexViewsAt(graph, tasks, buildMetrics([]), new Set(), t, decisions).find((v) => v.id === "v1")!;
    expect(at(99)).toMatchObject({ parallelism: undefined, decision: undefined, subtasks: [] });
    expect(at(100).parallelism).toBe(3);
    expect(at(100).subtasks.map((s) => s.id)).toEqual(["v1[0]", "v1[1]", "v1[2]"]);
    expect(at(100).decision?.path).toBe("even-data");
    // Scrubbing back hides it again: the view is a function of t only.
    expect(at(0).parallelism).toBeUndefined();
  });

  it("keep the first decision, count VertexInitialized alone as a decision without a path, and ignore fixed vertices", () => {
    const later = { ...decided, seq: 9, t: 500, parallelism: 7 };
    expect(buildDecisions(graph, [decided, initialized, later]).get("v1")!.parallelism).toBe(3);
    const onlyInit = buildDecisions(graph, [{ ...initialized, t: 40 }]).get("v1")!;
    expect(onlyInit).toMatchObject({ tNs: 40, parallelism: 3, path: undefined, inputs: [] });
    // A decision arriving after VertexInitialized keeps the earlier time and adds the why.
    expect(buildDecisions(graph, [{ ...initialized, t: 40 }, decided]).get("v1")).toMatchObject({ tNs: 40, path: "even-data" });
    expect(buildDecisions(graph, [ev(1, 0, "VertexInitialized", { vertex: "v0", parallelism: 2 })]).size).toBe(0);
  });

  it("size the cells for the parallelism a vertex will have, never a negative count", () => {
    expect(finalParallelism(4, undefined)).toBe(4);
    expect(finalParallelism(-1, undefined)).toBe(0);
    expect(finalParallelism(-1, buildDecisions(graph, [decided]).get("v1"))).toBe(3);
  });

  it("describe a decision: path, input bytes, each input, ranges and summary", () => {
    const lines = decisionLines(buildDecisions(graph, [decided]).get("v1")!);
    expect(lines[0]).toBe("parallelism 3 decided at 0.000000100 s by even-data");
    expect(lines).toContain("input 3.0 MiB (non-broadcast)");
    expect(lines).toContain("input Source: ALL_TO_ALL, 2 partitions × 8 subpartitions, 3.0 MiB");
    expect(lines).toContain("subpartition ranges: [0,2] [3,5] [6,7]");
    expect(lines[lines.length - 1]).toBe("Count: parallelism 3 by even-data");
  });

  it("are selected together by the log's kind group", () => {
    const events = [submitted, decided, initialized];
    expect(kindGroupsPresent(["JobSubmitted", "VertexInitialized"])).toEqual(["@adaptive"]);
    expect([...filterEvents(events, { kind: "@adaptive", vertex: undefined, host: undefined })]).toEqual([1, 2]);
  });
});

describe("parallelism decisions on the adaptive-parallelism scenario", () => {
  it("show each runtime-decided vertex undecided 1 ns before its decision and decided at it, with the trace's numbers", async () => {
    const { events } = parseTraceText(await scenarioTraceText("adaptive-parallelism"));
    const replay = buildReplay(events);
    const graph = replay.graph!;
    const undecided = graph.vertices.filter((v) => v.parallelism === -1);
    const decidedEvents = events.filter((e) => e.kind === "VertexParallelismDecided");
    expect(undecided.length).toBeGreaterThan(0);
    expect(decidedEvents.map((e) => e.vertex).sort()).toEqual(undecided.map((v) => v.id).sort());
    for (const e of decidedEvents) {
      const views = (t: number) => vertexViewsAt(graph, replay.tasks, replay.metrics, new Set(), t, replay.decisions).find((v) => v.id === e.vertex)!;
      expect(views(e.t - 1)).toMatchObject({ parallelism: undefined, subtasks: [] });
      expect(views(e.t).parallelism).toBe(e.parallelism);
      expect(views(e.t).subtasks).toHaveLength(e.parallelism as number);
      expect(views(e.t).decision).toMatchObject({ path: e.path, inputBytes: e.inputBytes, ranges: e.ranges, summary: e.summary });
      // No attempt of the vertex starts before its decision.
      expect(replay.tasks.attempts.filter((a) => a.vertex === e.vertex).every((a) => a.phases[0]!.startNs >= e.t)).toBe(true);
    }
  });
});
