/**
 * The visualizer in real Chromium on traces from real scenario runs. Every expected fact
 * (failover time and restarted set, checkpoint ids and completion times, which attempt
 * ran in which slot) is read from the trace file; the test scrubs to just before and just
 * after it with the page's own slider and asserts what the page shows — DOM for the graph,
 * tables and strip, pixels and hover hit-testing for the canvas Gantt.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import type { TraceEvent } from "../../sim/trace/events";
import { startVizServer, type VizServer } from "../../viz/serve";
import { launchChromium } from "./browser";
import { formatBytes, formatDuration } from "../../viz/src/model/format";
import { brokenVariants, MALFORMED_LINE, readEvents, runJmFailoverTraces, runSavepointTraces, runScenarios, SCENARIOS, TRUNCATED_LINES, VERSION_LINE, type ScenarioName } from "./traces";

const SHOTS = "out/e2e";
const RUNNING_RGB = [0x66, 0xbb, 0x6a];

let browser: Browser;
let viz: VizServer;
let traces: Record<ScenarioName, string>;
let broken: ReturnType<typeof brokenVariants>;
let jmTraces: ReturnType<typeof runJmFailoverTraces>;
let spTraces: ReturnType<typeof runSavepointTraces>;
const SP_TRACES = ["rescalePhase2", "rescaleLast", "noClaim", "claim", "jmStreaming"] as const;
const events = {} as Record<ScenarioName, TraceEvent[]>;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  traces = runScenarios();
  broken = brokenVariants(traces["exactly-once-sink"]);
  jmTraces = runJmFailoverTraces();
  spTraces = runSavepointTraces();
  for (const s of SCENARIOS) events[s] = readEvents(traces[s]);
  viz = await startVizServer([...SCENARIOS.map((s) => traces[s]), broken.malformed, broken.truncated, broken.version, broken.empty, jmTraces.recovery, jmTraces.knockout, ...SP_TRACES.map((k) => spTraces[k])], { port: 0 });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1600 } });
  page.on("pageerror", (e) => pageErrors.push(e.message));
});

afterAll(async () => {
  await browser?.close();
  await viz?.close();
});

const traceIndex = (s: ScenarioName) => SCENARIOS.indexOf(s);

async function waitReady(loads = 1): Promise<void> {
  await page.waitForFunction((n) => {
    const p = (window as unknown as { __flowsimViz?: { ready: boolean; loads: number } }).__flowsimViz;
    return p !== undefined && p.ready && p.loads >= n;
  }, loads, { timeout: 30_000 });
}

async function open(url: string): Promise<void> {
  await page.goto(url);
  await waitReady();
}

/** Scrubs with the page's own slider and waits until the views have rendered that time. */
async function scrub(tNs: number): Promise<void> {
  await page.locator("#time-slider").fill(String(tNs));
  await page.waitForFunction((t) => document.querySelector<HTMLElement>("#clock")?.dataset.t === String(t), tNs, { timeout: 5_000 });
}

async function failoverSubtasksShown(): Promise<string[]> {
  return (await page.locator('rect.subtask[data-failover="true"]').evaluateAll((els) => els.map((e) => e.getAttribute("data-subtask")!))).sort();
}

const subtaskOf = (e: TraceEvent) => `${e.vertex as string}[${e.subtask as number}]`;

/**
 * Canvas coordinates of time t in each track of slot `slot` ("tm-1/0") of the Gantt, from
 * the layout it publishes (with slot sharing a slot has a track per concurrent attempt).
 */
async function ganttPoints(tNs: number, slot: string): Promise<{ x: number; y: number }[]> {
  const d = await page.locator("#gantt").evaluate((c) => ({ ...(c as HTMLCanvasElement).dataset }));
  const [d0, d1] = d.domain!.split(",").map(Number) as [number, number];
  const [r0, r1] = d.range!.split(",").map(Number) as [number, number];
  const x = r0 + ((tNs - d0) / (d1 - d0)) * (r1 - r0);
  const tracks = d.lanes!.split(",").flatMap((l, i) => (l.startsWith(`${slot}/`) ? [i] : []));
  expect(tracks.length, `slot ${slot} in ${d.lanes}`).toBeGreaterThan(0);
  return tracks.map((i) => ({ x, y: Number(d.laneTop) + i * Number(d.laneHeight) + Number(d.laneHeight) / 2 }));
}

async function hoverGantt(p: { x: number; y: number }): Promise<{ subtask?: string; attempt?: string; state?: string; speculative?: string; race?: string } | undefined> {
  const canvas = page.locator("#gantt");
  await canvas.scrollIntoViewIfNeeded();
  const box = (await canvas.boundingBox())!;
  await page.mouse.move(box.x + p.x, box.y + p.y);
  const tip = page.locator("#gantt-tip");
  if (await tip.isHidden()) return undefined;
  return tip.evaluate((el) => ({ ...(el as HTMLElement).dataset }));
}

async function ganttPixel(p: { x: number; y: number }): Promise<number[]> {
  return page.locator("#gantt").evaluate((c, q) => {
    const ctx = (c as HTMLCanvasElement).getContext("2d")!;
    return [...ctx.getImageData(Math.round(q.x * devicePixelRatio), Math.round(q.y * devicePixelRatio), 1, 1).data].slice(0, 3);
  }, p);
}

describe.each(SCENARIOS)("%s trace", (name) => {
  it("opens without a banner and shows its job graph", async () => {
    await open(viz.pageUrl(traceIndex(name)));
    expect(await page.locator("#banner").isHidden()).toBe(true);
    const submitted = events[name].find((e) => e.kind === "JobSubmitted")!;
    const ids = (submitted.vertices as { id: string }[]).map((v) => v.id);
    expect(await page.locator("g.vertex").evaluateAll((els) => els.map((e) => e.getAttribute("data-vertex")))).toEqual(ids);
    expect(await page.locator("#log-count").getAttribute("data-count")).toBe(String(events[name].length));
    await page.screenshot({ path: `${SHOTS}/${name}-open.png`, fullPage: true });
  });

  it("shows each failover's restarted set from the failure until recovery, and none just before", async () => {
    const ev = events[name];
    const triggered = ev.filter((e) => e.kind === "FailoverTriggered");
    await open(viz.pageUrl(traceIndex(name)));
    const rows = page.locator("tr.failover");
    expect(await rows.count()).toBe(triggered.length);
    if (triggered.length === 0) {
      expect(await page.locator("[data-failovers]").getAttribute("data-failovers")).toBe("0");
      return;
    }
    for (const [i, f] of triggered.entries()) {
      const restartedAt = ev.find((e) => e.kind === "TasksRestarted" && e.seq > f.seq)!;
      await scrub(f.t - 1);
      expect(await rows.nth(i).getAttribute("data-phase")).toBe("future");
      if (i === 0) expect(await failoverSubtasksShown()).toEqual([]);
      await scrub(f.t);
      expect(await rows.nth(i).getAttribute("data-phase")).toBe("backoff");
      expect(await failoverSubtasksShown()).toEqual(expect.arrayContaining([...(f.vertices as string[])]));
      if (triggered.length === 1) expect(await failoverSubtasksShown()).toEqual([...(f.vertices as string[])].sort());
      expect(await rows.nth(i).locator(".cause").textContent()).toBe(f.cause);
      // The failed subtask's cell shows FAILED (or its restart already) at the failure time.
      const failedCell = page.locator(`rect.subtask[data-subtask="${f.failed as string}"]`);
      expect(["FAILED", "CANCELED"]).toContain(await failedCell.getAttribute("data-state"));
      await scrub(restartedAt.t);
      expect(await rows.nth(i).getAttribute("data-phase")).toBe("restarting");
      await page.screenshot({ path: `${SHOTS}/${name}-failover-${i}.png`, fullPage: true });
    }
  });

  it("finds the failed attempt on the canvas Gantt just before the failure, and not after", async () => {
    const ev = events[name];
    const f = ev.find((e) => e.kind === "FailoverTriggered");
    if (f === undefined) return; // no failover: covered by the checkpoint and graph tests
    const attemptEvents = ev.filter((e) => e.kind === "TaskStateChanged" && subtaskOf(e) === f.failed && e.t <= f.t);
    const last = attemptEvents[attemptEvents.length - 1]!;
    const running = attemptEvents.find((e) => e.attempt === last.attempt && e.state === "RUNNING")!;
    const lane = `${last.host as string}/${last.slot as number}`;
    await open(viz.pageUrl(traceIndex(name)));
    const span = f.t - running.t;
    await page.evaluate(([a, b]) => (window as unknown as { __flowsimViz: { focusGantt(a: number, b: number): void } }).__flowsimViz.focusGantt(a!, b!), [running.t - span * 0.25, f.t + span * 0.25]);
    const failedAttempt = { subtask: f.failed, attempt: String(last.attempt), state: "RUNNING" };
    const before: { p: { x: number; y: number }; hit: Awaited<ReturnType<typeof hoverGantt>> }[] = [];
    for (const p of await ganttPoints(f.t - span * 0.1, lane)) before.push({ p, hit: await hoverGantt(p) });
    // The tip also says whether the attempt is speculative and its part in a race; compare what identifies it.
    const found = before.filter((b) => b.hit !== undefined && JSON.stringify({ subtask: b.hit.subtask, attempt: b.hit.attempt, state: b.hit.state }) === JSON.stringify(failedAttempt));
    expect(found, JSON.stringify(before.map((b) => b.hit))).toHaveLength(1);
    expect(await ganttPixel(found[0]!.p)).toEqual(RUNNING_RGB);
    for (const p of await ganttPoints(f.t + span * 0.2, lane)) {
      const hit = await hoverGantt(p);
      expect(hit === undefined || hit.subtask !== f.failed || hit.attempt !== String(last.attempt)).toBe(true);
    }
    await page.screenshot({ path: `${SHOTS}/${name}-gantt.png`, fullPage: true });
  });

  it("shows each checkpoint pending just before it completes and completed (or aborted) at that time, with its unaligned subtasks", async () => {
    const ev = events[name];
    const ends = ev.filter((e) => e.kind === "CheckpointCompleted" || e.kind === "CheckpointAborted");
    await open(viz.pageUrl(traceIndex(name)));
    if (!ev.some((e) => e.kind === "CheckpointTriggered")) {
      expect(await page.locator("#cp-detail").textContent()).toMatch(/no checkpoints/);
      return;
    }
    let sawUnaligned = false;
    for (const end of ends.slice(0, 6)) {
      const id = end.checkpoint as number;
      const bar = page.locator(`#cp-strip .cp[data-id="${id}"]`);
      await scrub(end.t - 1);
      expect(await bar.getAttribute("data-status")).toBe("PENDING");
      await scrub(end.t);
      expect(await bar.getAttribute("data-status")).toBe(end.kind === "CheckpointCompleted" ? "COMPLETED" : "ABORTED");
      const detail = page.locator("#cp-detail");
      expect(await detail.getAttribute("data-checkpoint")).toBe(String(id));
      if (end.kind === "CheckpointCompleted") {
        const trigger = ev.find((e) => e.kind === "CheckpointTriggered" && e.checkpoint === id)!;
        const acks = ev.filter((e) => e.kind === "CheckpointAcknowledged" && e.checkpoint === id);
        const expected = acks.sort((a, b) => b.t - a.t || (String(a.subtask) < String(b.subtask) ? -1 : 1)).map((a) => a.subtask as string);
        expect(trigger.t).toBeLessThan(end.t);
        expect(await detail.getAttribute("data-rows")).toBe(expected.join(","));
        // Unaligned subtasks and the in-flight bytes they persisted, as the trace says.
        expect(await detail.getAttribute("data-unaligned")).toBe(String(acks.filter((a) => a.unaligned === true).length));
        if (acks.some((a) => a.unaligned === true)) {
          sawUnaligned = true;
          expect(await detail.textContent()).toMatch(/unaligned, .* in-flight persisted/);
        }
        expect(await detail.getAttribute("data-persisted-bytes")).toBe(String(acks.reduce((n, a) => n + ((a.persistedBytes as number | undefined) ?? 0), 0)));
      }
    }
    // The aligned-timeout scenario's checkpoints switch to unaligned: the view must say so.
    if (name === "aligned-timeout") expect(sawUnaligned).toBe(true);
    if (ends.length > 0) await page.screenshot({ path: `${SHOTS}/${name}-checkpoints.png`, fullPage: true });
  });
});

describe("scenario-specific views", () => {
  it("broadcast-rules: the two-input vertex gets its keyed input and its second, broadcast input, each edge saying which", async () => {
    const submitted = events["broadcast-rules"].find((e) => e.kind === "JobSubmitted")!;
    const edges = submitted.edges as { source: string; target: string; input: number; partitioner: string }[];
    const second = edges.filter((e) => e.input === 1);
    expect(second.map((e) => e.partitioner)).toEqual(["broadcast"]);
    const target = second[0]!.target;
    expect(edges.filter((e) => e.target === target).map((e) => e.input)).toEqual([0, 1]);
    await open(viz.pageUrl(traceIndex("broadcast-rules")));
    const secondPaths = page.locator("path.edge.second-input");
    expect(await secondPaths.count()).toBe(1);
    expect(await secondPaths.getAttribute("class")).toContain("broadcast");
    expect(await secondPaths.locator("title").textContent()).toBe(`${second[0]!.source} → ${target} (input 2, broadcast): broadcast, PIPELINED_BOUNDED`);
    expect(await page.locator('path.edge[data-input="0"]').count()).toBe(edges.length - 1);
    expect(await page.locator(`g.vertex[data-vertex="${target}"] title.vertex-title`).textContent()).toContain("Co-Process-Broadcast-Keyed");
    await page.screenshot({ path: `${SHOTS}/broadcast-rules-graph.png`, fullPage: true });
  });

  it("window-join: each join window vertex takes the union of both tagged sources, and the boxes name the window function first", async () => {
    const submitted = events["window-join"].find((e) => e.kind === "JobSubmitted")!;
    const vertices = submitted.vertices as { id: string; name: string; chain: string[] }[];
    const edges = submitted.edges as { source: string; target: string; input: number; partitioner: string }[];
    const joins = vertices.filter((v) => v.chain[0]!.endsWith("CoGroupWindowFunction)"));
    expect(joins).toHaveLength(2);
    const sources = vertices.filter((v) => v.chain[0]!.startsWith("Source: ")).map((v) => v.id);
    await open(viz.pageUrl(traceIndex("window-join")));
    for (const j of joins) {
      // A union: one keyed edge from each source's tagging Map, both the window's one input.
      const into = edges.filter((e) => e.target === j.id);
      expect(into.map((e) => e.source).sort()).toEqual([...sources].sort());
      expect(into.every((e) => e.input === 0 && e.partitioner === "hash")).toBe(true);
      const box = page.locator(`g.vertex[data-vertex="${j.id}"]`);
      expect(await box.locator("text.name").textContent()).toMatch(/^CoGroup: Tumbling\(100\)/);
      expect(await box.locator("title.vertex-title").textContent()).toContain("CoGroupWindowFunction");
      expect(await page.locator(`path.edge[data-input="0"]`).filter({ has: page.locator("title", { hasText: `→ ${j.id}:` }) }).count()).toBe(2);
    }
    const median = vertices.find((v) => v.chain[0]!.endsWith("ProcessWindowFunction)"))!;
    expect(await page.locator(`g.vertex[data-vertex="${median.id}"] text.name`).textContent()).toMatch(/^Process: Sliding\(100,50/);
    // The taggers chain to their sources: "Source: orders -> (Map, Map)" in the tooltip.
    expect(await page.locator(`g.vertex[data-vertex="${sources[0]}"] title.vertex-title`).textContent()).toContain("Source: orders → Map → Map");
    await page.screenshot({ path: `${SHOTS}/window-join-graph.png`, fullPage: true });
  });

  it("idle-source: the source vertex shows its idle subtask from WatermarkStatusChanged IDLE until ACTIVE", async () => {
    const changes = events["idle-source"].filter((e) => e.kind === "WatermarkStatusChanged");
    const idle = changes.find((e) => e.status === "IDLE")!;
    const active = changes.find((e) => e.status === "ACTIVE" && e.vertex === idle.vertex && e.subtask === idle.subtask && e.t > idle.t)!;
    const submitted = events["idle-source"].find((e) => e.kind === "JobSubmitted")!;
    const parallelism = (submitted.vertices as { id: string; parallelism: number }[]).find((v) => v.id === idle.vertex)!.parallelism;
    await open(viz.pageUrl(traceIndex("idle-source")));
    const box = page.locator(`g.vertex[data-vertex="${idle.vertex as string}"]`);
    await scrub(idle.t - 1);
    expect(await box.getAttribute("data-idle")).toBe("0");
    expect(await box.locator("text.watermark").textContent()).not.toContain("idle");
    await scrub(idle.t);
    expect(await box.getAttribute("data-idle")).toBe("1");
    expect(await box.locator("text.watermark").textContent()).toMatch(new RegExp(`^idle 1/${parallelism} · wm `));
    await page.screenshot({ path: `${SHOTS}/idle-source-idle.png`, fullPage: true });
    await scrub(active.t);
    expect(await box.getAttribute("data-idle")).toBe("0");
  });

  it("backpressure: colours the backpressured vertex HIGH when a sample says so, and not before any sample", async () => {
    const ev = events.backpressure;
    const sample = ev.find((e) => e.kind === "TaskMetrics" && (e.backpressured as number) > 0.5)!;
    const first = ev.find((e) => e.kind === "TaskMetrics")!;
    await open(viz.pageUrl(traceIndex("backpressure")));
    await scrub(first.t - 1);
    expect(await page.locator(`g.vertex[data-vertex="${sample.vertex as string}"]`).getAttribute("data-level")).toBe("NA");
    await scrub(sample.t);
    expect(await page.locator(`g.vertex[data-vertex="${sample.vertex as string}"]`).getAttribute("data-level")).toBe("HIGH");
    expect(await page.locator(`#metrics [data-vertex="${sample.vertex as string}"]`).first().textContent()).toMatch(/\d/);
    await page.screenshot({ path: `${SHOTS}/backpressure-high.png`, fullPage: true });
  });

  it("quickstart: every subtask shows its last state at the end of the run", async () => {
    const ev = events.quickstart;
    const lastState = new Map<string, string>();
    for (const e of ev) if (e.kind === "TaskStateChanged") lastState.set(subtaskOf(e), e.state as string);
    await open(viz.pageUrl(traceIndex("quickstart")));
    await scrub(ev[ev.length - 1]!.t);
    for (const [id, state] of lastState) expect(await page.locator(`rect.subtask[data-subtask="${id}"]`).getAttribute("data-state")).toBe(state);
  });

  it("event log: filters by kind, seeks to a clicked event, and keeps time and selection in the URL across a reload", async () => {
    const ev = events["zombie-fencing"];
    const failover = ev.find((e) => e.kind === "FailoverTriggered")!;
    await open(viz.pageUrl(traceIndex("zombie-fencing")));
    await page.locator("#filter-kind").selectOption("FailoverTriggered");
    expect(await page.locator("#log-count").getAttribute("data-count")).toBe(String(ev.filter((e) => e.kind === "FailoverTriggered").length));
    await page.locator(`#log .row[data-seq="${failover.seq}"]`).click();
    await page.waitForFunction((t) => document.querySelector<HTMLElement>("#clock")?.dataset.t === String(t), failover.t);
    expect(await page.locator("#event-detail").textContent()).toContain('"kind": "FailoverTriggered"');
    await page.waitForFunction((seq) => location.hash.includes(`sel=${seq}`), failover.seq);
    await page.reload();
    await waitReady();
    expect(await page.locator("#clock").getAttribute("data-t")).toBe(String(failover.t));
    expect(await page.locator("#filter-kind").inputValue()).toBe("FailoverTriggered");
    expect(await failoverSubtasksShown()).toEqual([...(failover.vertices as string[])].sort());
    // Step moves to the next event time.
    await page.locator("#step").click();
    const next = ev.find((e) => e.t > failover.t)!;
    await page.waitForFunction((t) => document.querySelector<HTMLElement>("#clock")?.dataset.t === String(t), next.t);
  });

  it("play advances virtual time and pause stops it", async () => {
    await open(viz.pageUrl(traceIndex("exactly-once-sink")));
    await page.locator("#speed").selectOption("10");
    await page.locator("#play").click();
    await page.waitForFunction(() => Number(document.querySelector<HTMLElement>("#clock")?.dataset.t) > 1e9, null, { timeout: 10_000 });
    await page.locator("#play").click();
    // Let a render already scheduled by the last playback tick land before sampling the clock.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const t1 = await page.locator("#clock").getAttribute("data-t");
    expect(Number.isInteger(Number(t1))).toBe(true);
    await page.waitForTimeout(300);
    expect(await page.locator("#clock").getAttribute("data-t")).toBe(t1);
  });

  it("export to Perfetto downloads a Chrome trace with the run's events", async () => {
    await open(viz.pageUrl(traceIndex("region-failover")));
    const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#export-perfetto").click()]);
    const path = `${SHOTS}/region-failover.chrome.json`;
    await download.saveAs(path);
    const chrome = JSON.parse(readFileSync(path, "utf8")) as { traceEvents: { name: string; ph: string }[] };
    expect(chrome.traceEvents.some((e) => e.name === "FailoverTriggered" && e.ph === "i")).toBe(true);
  });
});

/** Canvas point at time t in the middle of lane `key` (as the Gantt's data-lanes names it), scrolled into view. */
async function ganttLanePoint(tNs: number, key: string, dy?: number): Promise<{ x: number; y: number }> {
  const d = await page.locator("#gantt").evaluate((c) => ({ ...(c as HTMLCanvasElement).dataset }));
  const [d0, d1] = d.domain!.split(",").map(Number) as [number, number];
  const [r0, r1] = d.range!.split(",").map(Number) as [number, number];
  const i = d.lanes!.split(",").indexOf(key);
  expect(i, `lane ${key} in ${d.lanes}`).toBeGreaterThanOrEqual(0);
  const y = Number(d.laneTop) + i * Number(d.laneHeight) + (dy ?? Number(d.laneHeight) / 2);
  await page.locator("#gantt-wrap").evaluate((w, top) => (w.scrollTop = Math.max(0, top - 80)), y);
  return { x: r0 + ((tNs - d0) / (d1 - d0)) * (r1 - r0), y };
}

const visibleCells = (vertex: string) => page.locator(`g.vertex[data-vertex="${vertex}"] rect.subtask:not([display="none"])`);

describe("adaptive parallelism, speculative attempts and the blocklist", () => {
  it("adaptive-parallelism: a vertex is undecided (×?, hatched, no cells) 1 ns before its decision and shows it from then on, also scrubbing back", async () => {
    const ev = events["adaptive-parallelism"];
    const decisions = ev.filter((e) => e.kind === "VertexParallelismDecided");
    const submitted = ev.find((e) => e.kind === "JobSubmitted")!;
    expect(decisions.map((e) => e.vertex).sort()).toEqual((submitted.vertices as { id: string; parallelism: number }[]).filter((v) => v.parallelism === -1).map((v) => v.id).sort());
    await open(viz.pageUrl(traceIndex("adaptive-parallelism")));
    for (const d of decisions) {
      const vertex = page.locator(`g.vertex[data-vertex="${d.vertex as string}"]`);
      await scrub(d.t - 1);
      expect(await vertex.getAttribute("data-parallelism")).toBe("?");
      expect(await vertex.getAttribute("class")).toContain("undecided");
      expect(await vertex.locator("text.name").textContent()).toMatch(/×\?$/);
      expect(await vertex.locator("rect.box").getAttribute("fill")).toBe("url(#undecided-hatch)");
      expect(await visibleCells(d.vertex as string).count()).toBe(0);
      await scrub(d.t);
      expect(await vertex.getAttribute("data-parallelism")).toBe(String(d.parallelism));
      expect(await vertex.getAttribute("class")).not.toContain("undecided");
      expect(await vertex.locator("text.name").textContent()).toMatch(new RegExp(`×${d.parallelism as number}$`));
      expect(await visibleCells(d.vertex as string).count()).toBe(d.parallelism);
      // The decision, on click: path, input bytes, each input, ranges and summary as the trace has them.
      await vertex.click();
      const detail = page.locator("#vertex-detail");
      expect(await detail.getAttribute("data-vertex")).toBe(d.vertex);
      expect(await detail.getAttribute("data-decided")).toBe("true");
      expect(await detail.getAttribute("data-path")).toBe(d.path);
      const text = (await detail.textContent())!;
      expect(text).toContain(`parallelism ${d.parallelism as number} decided at`);
      expect(text).toContain(`subpartition ranges: ${d.ranges as string}`);
      for (const input of d.inputs as { name: string; partitions: number; subpartitions: number }[]) expect(text).toContain(`input ${input.name}: `);
      expect(text).toContain(d.summary as string);
      expect(await vertex.locator("title.vertex-title").textContent()).toContain(d.summary as string);
    }
    await page.screenshot({ path: `${SHOTS}/adaptive-decided.png`, fullPage: true });
    // Scrubbing back before the last decision hides it again, detail included.
    const last = decisions[decisions.length - 1]!;
    await scrub(last.t - 1);
    expect(await page.locator(`g.vertex[data-vertex="${last.vertex as string}"]`).getAttribute("data-parallelism")).toBe("?");
    expect(await visibleCells(last.vertex as string).count()).toBe(0);
    expect(await page.locator("#vertex-detail").getAttribute("data-decided")).toBe("false");
    expect(await page.locator("#vertex-detail").textContent()).toMatch(/not decided yet/);
    await page.screenshot({ path: `${SHOTS}/adaptive-undecided.png`, fullPage: true });
    // The log's group filter selects the decisions and initializations together.
    await page.locator("#filter-kind").selectOption("@adaptive");
    expect(await page.locator("#log-count").getAttribute("data-count")).toBe(String(ev.filter((e) => e.kind === "VertexParallelismDecided" || e.kind === "VertexInitialized").length));
  });

  it("speculative-stragglers: a subtask races two attempts from the launch on, drawn side by side with the winner marked and the loser cancelled", async () => {
    const ev = events["speculative-stragglers"];
    const launch = ev.find((e) => e.kind === "SpeculativeAttemptLaunched")!;
    const sub = `${launch.vertex as string}[${launch.subtask as number}]`;
    const finished = ev.find((e) => e.kind === "SpeculativeExecutionFinished" && `${e.vertex as string}[${e.subtask as number}]` === sub)!;
    const loser = ev.find((e) => e.kind === "TaskStateChanged" && subtaskOf(e) === sub && e.attempt !== finished.winner && e.state === "CANCELED")!;
    expect(loser.t).toBe(finished.t);
    await open(viz.pageUrl(traceIndex("speculative-stragglers")));
    const cell = page.locator(`rect.subtask[data-subtask="${sub}"]`);
    await scrub(launch.t - 1);
    expect(await cell.getAttribute("data-live-attempts")).toBe("1");
    expect(await cell.getAttribute("class")).not.toContain("racing");
    await scrub(launch.t);
    expect(await cell.getAttribute("data-live-attempts")).toBe("2");
    expect(await cell.getAttribute("class")).toContain("racing");
    await scrub(finished.t - 1);
    expect(await cell.getAttribute("data-live-attempts")).toBe("2");
    await scrub(finished.t);
    expect(await cell.getAttribute("data-live-attempts")).toBe("0");
    expect(await cell.getAttribute("data-state")).toBe("FINISHED");
    // The Gantt: one lane per racing attempt of the subtask; hover finds each attempt in its own lane.
    const mid = (launch.t + finished.t) / 2;
    const winnerLane = `race:${sub}/${finished.winner as number}`;
    const loserLane = `race:${sub}/${loser.attempt as number}`;
    const w = await hoverGantt(await ganttLanePoint(mid, winnerLane));
    expect(w).toMatchObject({ subtask: sub, attempt: String(finished.winner), speculative: String(finished.speculativeWin), race: "winner", state: "RUNNING" });
    const l = await hoverGantt(await ganttLanePoint(mid, loserLane));
    expect(l).toMatchObject({ subtask: sub, attempt: String(loser.attempt), race: "cancelled", state: "RUNNING" });
    // Before the launch the speculative lane is empty.
    expect(await hoverGantt(await ganttLanePoint(launch.t - (finished.t - launch.t) / 4, `race:${sub}/${launch.attempt as number}`))).toBeUndefined();
    // Distinct style: the winner's gold outline along its top edge; the loser's bar is hatched (dark stripes among its colour).
    expect(await ganttPixel(await ganttLanePoint(mid, winnerLane, 2))).toEqual([0xff, 0xb3, 0x00]);
    const lp = await ganttLanePoint(mid, loserLane);
    const row = await Promise.all([0, 1, 2, 3, 4, 5].map((dx) => ganttPixel({ x: lp.x + dx, y: lp.y })));
    expect(row.some((p) => JSON.stringify(p) === JSON.stringify(RUNNING_RGB))).toBe(true);
    expect(row.some((p) => p[0]! < 0x66 && p[1]! < 0xbb)).toBe(true);
    await page.screenshot({ path: `${SHOTS}/speculative-race.png`, fullPage: true });
  });

  it("speculative-stragglers: a blocklisted host is shaded on its Gantt lanes and named in the strip from NodeBlocked until NodeUnblocked", async () => {
    const ev = events["speculative-stragglers"];
    // Extensions (extended: true) only push an open interval's end.
    const blocks = ev.filter((e) => e.kind === "NodeBlocked" && e.extended !== true);
    expect(blocks.length).toBeGreaterThan(0);
    await open(viz.pageUrl(traceIndex("speculative-stragglers")));
    const strip = page.locator("#gantt-blocked");
    const lanes = (await page.locator("#gantt").getAttribute("data-lanes"))!.split(",");
    for (const b of blocks) {
      const host = b.host as string;
      const unblock = ev.find((e) => e.kind === "NodeUnblocked" && e.host === host && e.seq > b.seq)!;
      await scrub(b.t - 1);
      expect((await strip.getAttribute("data-blocked"))!.split(",")).not.toContain(host);
      await scrub(b.t);
      expect((await strip.getAttribute("data-blocked"))!.split(",")).toContain(host);
      expect(await strip.locator(`.blocked-host[data-host="${host}"]`).textContent()).toMatch(/until/);
      await scrub(unblock.t - 1);
      expect((await strip.getAttribute("data-blocked"))!.split(",")).toContain(host);
      await scrub(unblock.t);
      expect((await strip.getAttribute("data-blocked"))!.split(",")).not.toContain(host);
      // Every lane of the host: the red band along the top inside [blocked, unblocked), not before.
      for (const key of lanes.filter((k) => k.startsWith(`${host}/`))) {
        const inside = await ganttLanePoint((b.t + unblock.t) / 2, key, 2);
        expect(await ganttPixel(inside)).toEqual([0xe5, 0x39, 0x35]);
        expect(await ganttPixel({ x: inside.x - ((inside.x - (await ganttLanePoint(b.t, key, 2)).x) + 3), y: inside.y })).not.toEqual([0xe5, 0x39, 0x35]);
      }
    }
    expect(await page.locator("#gantt-legend .key.blocked").isVisible()).toBe(true);
    await page.locator("#filter-kind").selectOption("@blocklist");
    expect(await page.locator("#log-count").getAttribute("data-count")).toBe(String(ev.filter((e) => e.kind === "NodeBlocked" || e.kind === "NodeUnblocked").length));
    await scrub(blocks[0]!.t);
    await page.screenshot({ path: `${SHOTS}/speculative-blocklist.png`, fullPage: true });
  });
});

/** Colours of the JobManager lane's bands (views/colors JM_COLORS). */
const JM_OUTAGE_RGB = [0x45, 0x5a, 0x64];
const JM_RECONCILING_RGB = [0x00, 0x89, 0x7b];

/** The pixel of the JobManager lane's band 3 px left and right of time t, zoomed to t ± 100 ns (a ns is several px). */
async function jmLaneAround(tNs: number): Promise<{ before: number[]; after: number[] }> {
  await page.evaluate(([a, b]) => (window as unknown as { __flowsimViz: { focusGantt(a: number, b: number): void } }).__flowsimViz.focusGantt(a!, b!), [tNs - 100, tNs + 100]);
  // Mid-lane: below the markers' triangles at the top of the chart; the band's label starts 8 px into it.
  const p = await ganttLanePoint(tNs, "jobmanager");
  const pixels = { before: await ganttPixel({ x: p.x - 3, y: p.y }), after: await ganttPixel({ x: p.x + 3, y: p.y }) };
  // Back to the whole run, for the screenshots.
  await page.evaluate(() => {
    const slider = document.querySelector<HTMLInputElement>("#time-slider")!;
    (window as unknown as { __flowsimViz: { focusGantt(a: number, b: number): void } }).__flowsimViz.focusGantt(Number(slider.min), Number(slider.max));
  });
  return pixels;
}

describe("JobManager failover (jm-failover-batch and its knock-out twin)", () => {
  const jmUrl = (twin: "recovery" | "knockout") => viz.pageUrl(SCENARIOS.length + 4 + (twin === "recovery" ? 0 : 1));
  const status = async () => ({ ...(await page.locator("#job-status").evaluate((el) => ({ ...(el as HTMLElement).dataset }))) });
  const panel = () => page.locator(".jm-failover").first();
  /** The job status the trace says at t: the last JobStatusChanged at or before it. */
  const tracedStatus = (ev: TraceEvent[], t: number) => ev.filter((e) => e.kind === "JobStatusChanged" && e.t <= t).pop()?.status;
  /** Subtasks FINISHED at the loss that ran an attempt begun after it, from the TaskStateChanged events alone. */
  function rerunFromTrace(ev: TraceEvent[], lostNs: number): { finished: string[]; rerun: string[] } {
    const last = new Map<string, string>();
    for (const e of ev) if (e.kind === "TaskStateChanged" && e.t <= lostNs) last.set(subtaskOf(e), e.state as string);
    const finished = [...last].filter(([, st]) => st === "FINISHED").map(([id]) => id);
    const later = new Set(ev.filter((e) => e.kind === "TaskStateChanged" && e.t > lostNs).map(subtaskOf));
    return { finished, rerun: finished.filter((id) => later.has(id)) };
  }

  for (const twin of ["recovery", "knockout"] as const) {
    it(`${twin}: the panel, the job status and the Gantt's outage band at 1 ns before and at the loss, the election and the recovery's end`, async () => {
      const ev = readEvents(jmTraces[twin]);
      const lost = ev.find((e) => e.kind === "JobManagerLost")!;
      const elected = ev.find((e) => e.kind === "JobManagerLeaderElected" && e.seq > lost.seq)!;
      const recovered = ev.find((e) => e.kind === "JobRecoveryFinished");
      expect(ev.filter((e) => e.kind === "JobManagerLost")).toHaveLength(1);
      expect(elected.recovery).toBe(twin === "recovery" ? "event-log" : "from-scratch");
      expect(recovered === undefined).toBe(twin === "knockout");
      const { finished, rerun } = rerunFromTrace(ev, lost.t);
      expect(finished.length).toBeGreaterThan(0);
      expect(rerun.length).toBe(twin === "recovery" ? 0 : finished.length);
      await open(jmUrl(twin));
      expect(await page.locator("#banner").isHidden()).toBe(true);
      expect(await page.locator(".jm-failover").count()).toBe(1);
      const p = panel();
      expect(await p.getAttribute("data-lost")).toBe(String(lost.t));
      expect(await p.getAttribute("data-elected")).toBe(String(elected.t));
      expect(await p.getAttribute("data-recovery")).toBe(elected.recovery);
      expect(await p.getAttribute("data-rerun")).toBe(String(rerun.length));
      expect(await p.getAttribute("data-finished-at-loss")).toBe(String(finished.length));
      expect(await p.locator('[data-field="rerun"]').textContent()).toBe(`${rerun.length} of ${finished.length} subtasks finished at the loss`);
      expect(await p.locator('[data-field="elected"]').textContent()).toContain(`down ${((elected.t - lost.t) / 1e9).toPrecision(3)} s`);
      if (twin === "recovery") {
        const replayed = ev.find((e) => e.kind === "JobEventsReplayed")!;
        const reconciled = ev.find((e) => e.kind === "PartitionsReconciled")!;
        expect(await p.locator('[data-field="replayed"]').textContent()).toContain(`${replayed.events as number} events from ${replayed.segments as number} segments`);
        expect(await p.locator('[data-field="replayed"]').textContent()).toContain(
          `${(replayed.initialized as string[]).length} vertices initialized, ${(replayed.finished as string[]).length} subtasks finished, ${(replayed.trimmed as string[]).length} trimmed`,
        );
        expect(await p.locator('[data-field="reconciled"]').textContent()).toContain(`${reconciled.found as number}/${reconciled.expected as number} found`);
        expect(await p.locator('[data-field="recovery-finished"]').textContent()).toContain(`${recovered!.recoveredFinished as number} finished subtasks recovered`);
      } else {
        for (const f of ["replayed", "reconciled", "recovery-finished"]) expect(await p.locator(`[data-field="${f}"]`).count()).toBe(0);
      }
      // A subtask running at the loss, and one finished by then.
      const runningAtLoss = ev.filter((e) => e.kind === "TaskStateChanged" && e.t < lost.t && e.state === "RUNNING").map(subtaskOf).find((id) => !finished.includes(id))!;
      const cell = (id: string) => page.locator(`rect.subtask[data-subtask="${id}"]`);

      // 1 ns before the loss, then at it.
      await scrub(lost.t - 1);
      expect(await p.getAttribute("data-phase")).toBe("future");
      expect(await status()).toMatchObject({ status: tracedStatus(ev, lost.t - 1), jm: "leader" });
      expect(await cell(runningAtLoss).getAttribute("data-state")).toBe("RUNNING");
      await scrub(lost.t);
      expect(await p.getAttribute("data-phase")).toBe("outage");
      expect(await status()).toMatchObject({ status: tracedStatus(ev, lost.t), jm: "outage" });
      expect(await page.locator("#job-status").textContent()).toContain("JobManager down since");
      expect(await cell(runningAtLoss).getAttribute("data-state")).toBe("CANCELED");
      for (const id of finished) expect(await cell(id).getAttribute("data-state")).toBe("FINISHED");
      await page.screenshot({ path: `${SHOTS}/jm-failover-${twin}-outage.png`, fullPage: true });
      const atLoss = await jmLaneAround(lost.t);
      expect(atLoss.before).not.toEqual(JM_OUTAGE_RGB);
      expect(atLoss.after).toEqual(JM_OUTAGE_RGB);

      // 1 ns before the election, then at it.
      await scrub(elected.t - 1);
      expect(await p.getAttribute("data-phase")).toBe("outage");
      expect(await status()).toMatchObject({ status: tracedStatus(ev, elected.t - 1), jm: "outage" });
      await scrub(elected.t);
      const atElection = await jmLaneAround(elected.t);
      expect(atElection.before).toEqual(JM_OUTAGE_RGB);
      for (const id of finished) expect(await cell(id).getAttribute("data-state")).toBe("FINISHED");
      if (twin === "knockout") {
        // From scratch: nothing to reconcile, the job RUNNING under the new leader at once.
        expect(await p.getAttribute("data-phase")).toBe("recovered");
        expect(await status()).toMatchObject({ status: "RUNNING", jm: "leader" });
        expect(atElection.after).not.toEqual(JM_OUTAGE_RGB);
        expect(atElection.after).not.toEqual(JM_RECONCILING_RGB);
        expect(await page.locator("#gantt-legend .key.jm-outage").isVisible()).toBe(true);
        expect(await page.locator("#gantt-legend .key.jm-reconciling").isVisible()).toBe(false);
        // Each rerun subtask shows its new, higher attempt once that begins.
        const again = ev.find((e) => e.kind === "TaskStateChanged" && e.t >= lost.t && rerun.includes(subtaskOf(e)))!;
        await scrub(again.t);
        const c = cell(subtaskOf(again));
        expect(await c.getAttribute("data-state")).toBe(ev.filter((e) => e.kind === "TaskStateChanged" && subtaskOf(e) === subtaskOf(again) && e.t <= again.t).pop()!.state);
        expect(await c.locator("title").textContent()).toContain(`attempt ${again.attempt as number}:`);
        expect(again.attempt as number).toBeGreaterThan(0);
        await page.screenshot({ path: `${SHOTS}/jm-failover-knockout-rerun.png`, fullPage: true });
        return;
      }
      expect(await p.getAttribute("data-phase")).toBe("reconciling");
      expect(await status()).toMatchObject({ status: "RECONCILING", jm: "reconciling" });
      expect(tracedStatus(ev, elected.t)).toBe("RECONCILING");
      expect(atElection.after).toEqual(JM_RECONCILING_RGB);
      await page.screenshot({ path: `${SHOTS}/jm-failover-recovery-reconciling.png`, fullPage: true });

      // 1 ns before the recovery's end, then at it: RUNNING again, the finished subtasks still FINISHED on their first attempt.
      await scrub(recovered!.t - 1);
      expect(await p.getAttribute("data-phase")).toBe("reconciling");
      expect(await status()).toMatchObject({ status: "RECONCILING", jm: "reconciling" });
      await scrub(recovered!.t);
      expect(await p.getAttribute("data-phase")).toBe("recovered");
      expect(await status()).toMatchObject({ status: tracedStatus(ev, recovered!.t), jm: "leader" });
      expect(tracedStatus(ev, recovered!.t)).toBe("RUNNING");
      const atEnd = await jmLaneAround(recovered!.t);
      expect(atEnd.before).toEqual(JM_RECONCILING_RGB);
      expect(atEnd.after).not.toEqual(JM_RECONCILING_RGB);
      for (const id of finished) {
        expect(await cell(id).getAttribute("data-state")).toBe("FINISHED");
        expect(await cell(id).locator("title").textContent()).toContain("attempt 0:");
      }
      // And at the end of the run, still on the first attempt.
      await scrub(ev[ev.length - 1]!.t);
      for (const id of finished) expect(await cell(id).locator("title").textContent()).toContain("attempt 0: FINISHED");
      expect(await page.locator("#gantt-legend .key.jm-outage").isVisible()).toBe(true);
      expect(await page.locator("#gantt-legend .key.jm-reconciling").isVisible()).toBe(true);
      expect(await page.locator("#gantt-legend .key.blocked").isVisible()).toBe(false);
    });
  }

  it("the log's JobManager group selects the failover and recovery events and stays in the URL across a reload", async () => {
    const ev = readEvents(jmTraces.recovery);
    const kinds = ["JobManagerLost", "JobManagerLeaderElected", "JobEventsFlushed", "JobEventsReplayed", "PartitionsReconciled", "RecoveryVerticesReset", "JobRecoveryFinished"];
    await open(jmUrl("recovery"));
    await page.locator("#filter-kind").selectOption("@jobmanager");
    const count = String(ev.filter((e) => kinds.includes(e.kind)).length);
    expect(await page.locator("#log-count").getAttribute("data-count")).toBe(count);
    await page.waitForFunction(() => location.hash.includes("kind=%40jobmanager"));
    await page.reload();
    await waitReady();
    expect(await page.locator("#filter-kind").inputValue()).toBe("@jobmanager");
    expect(await page.locator("#log-count").getAttribute("data-count")).toBe(count);
  });
});

describe("savepoints, restores with their claim mode, and the rescale (savepoint-rescale, claim-modes and its twin)", () => {
  const spUrl = (k: (typeof SP_TRACES)[number]) => viz.pageUrl(SCENARIOS.length + 6 + SP_TRACES.indexOf(k));
  const card = () => page.locator("#restore-card");
  const cardData = async () => ({ ...(await card().evaluate((el) => ({ ...(el as HTMLElement).dataset }))) });
  const detailData = async () => ({ ...(await page.locator("#cp-detail").evaluate((el) => ({ ...(el as HTMLElement).dataset }))) });
  const vertexBox = (id: string) => page.locator(`g.vertex[data-vertex="${id}"]`);
  const restoreOf = (ev: TraceEvent[]) => ev.find((e) => e.kind === "JobRestoredFromSavepoint")!;
  type Rescale = { vertex: string; oldParallelism: number; newParallelism: number };

  /** The restore card and the graph at time 0: claim mode, format, savepoint and each vertex's old → new parallelism. */
  async function expectRestoreShown(ev: TraceEvent[]): Promise<void> {
    const restored = restoreOf(ev);
    expect(restored.t).toBe(0);
    await scrub(0);
    expect(await card().isVisible()).toBe(true);
    const vertices = restored.vertices as Rescale[];
    expect(await cardData()).toMatchObject({
      claimMode: restored.claimMode,
      format: restored.format,
      checkpoint: String(restored.checkpoint),
      path: restored.path,
      rescales: vertices.map((v) => `${v.vertex}:${v.oldParallelism}>${v.newParallelism}`).join(","),
    });
    expect(await card().locator(".claim-mode").textContent()).toBe(restored.claimMode);
    for (const v of vertices) {
      expect(await card().locator(`tr[data-vertex="${v.vertex}"] .rescale`).textContent()).toContain(`${v.oldParallelism} → ${v.newParallelism}`);
      const box = vertexBox(v.vertex);
      expect(await box.getAttribute("data-parallelism")).toBe(String(v.newParallelism));
      const rescaled = v.oldParallelism !== v.newParallelism;
      expect(await box.getAttribute("data-was-parallelism")).toBe(rescaled ? String(v.oldParallelism) : "");
      const label = await box.locator("text.name").textContent();
      if (rescaled) expect(label).toContain(`×${v.newParallelism} (was ×${v.oldParallelism})`);
      else expect(label).not.toContain("was");
    }
  }

  it("phase 2 of savepoint-rescale: the restore 4 → 7 from time 0, then the stop-with-savepoint mark at 1 ns before and at its trigger, completion and storing", async () => {
    const ev = readEvents(spTraces.rescalePhase2);
    const trig = ev.find((e) => e.kind === "SavepointTriggered")!;
    const done = ev.find((e) => e.kind === "SavepointCompleted" && e.checkpoint === trig.checkpoint)!;
    const stored = ev.find((e) => e.kind === "SavepointStored" && e.checkpoint === trig.checkpoint)!;
    expect((restoreOf(ev).vertices as Rescale[]).map((v) => `${v.oldParallelism}→${v.newParallelism}`)).toEqual(["4→7", "4→7"]);
    await open(spUrl("rescalePhase2"));
    expect(await page.locator("#banner").isHidden()).toBe(true);
    await expectRestoreShown(ev);
    const mark = page.locator(`#cp-strip .cp[data-id="${trig.checkpoint as number}"]`);
    await scrub(trig.t - 1);
    expect(await page.locator("#cp-strip .cp.savepoint").count()).toBe(0);
    await scrub(trig.t);
    expect(await mark.getAttribute("data-kind")).toBe("savepoint");
    expect(await mark.getAttribute("data-status")).toBe("PENDING");
    expect(await mark.textContent()).toBe("SP");
    expect(await page.locator("#cp-strip .cp.savepoint").count()).toBe(1);
    expect(await detailData()).toMatchObject({ checkpoint: String(trig.checkpoint), kind: "savepoint", format: trig.format, terminate: String(trig.terminate), drain: String(trig.drain), path: "" });
    expect(await page.locator("#cp-detail").textContent()).toContain(`savepoint #${trig.checkpoint as number} PENDING (stop-with-savepoint, ${trig.format as string})`);
    await scrub(done.t - 1);
    expect(await mark.getAttribute("data-status")).toBe("PENDING");
    const acks = ev.filter((e) => e.kind === "CheckpointAcknowledged" && e.checkpoint === trig.checkpoint);
    expect((await detailData()).rows!.split(",").filter((x) => x !== "")).toHaveLength(acks.filter((a) => a.t <= done.t - 1).length);
    await scrub(done.t);
    expect(await mark.getAttribute("data-status")).toBe("COMPLETED");
    // The per-subtask Gantt: one row per subtask that acked the savepoint, as for a checkpoint.
    expect((await detailData()).rows!.split(",").sort()).toEqual(acks.map((a) => a.subtask as string).sort());
    expect(acks).toHaveLength(trig.subtasks as number);
    const text = await page.locator("#cp-detail").textContent();
    expect(text).toContain(formatDuration(done.durationNs as number));
    expect(text).toContain(formatBytes(done.stateBytes as number));
    expect((await detailData()).path).toBe("");
    await scrub(stored.t - 1);
    expect((await detailData()).path).toBe("");
    await scrub(stored.t);
    expect((await detailData()).path).toBe(stored.path);
    expect(await page.locator("#cp-detail").textContent()).toContain(`stored at ${stored.path as string}`);
    await page.screenshot({ path: `${SHOTS}/savepoint-rescale-phase2-savepoint.png`, fullPage: true });
  });

  it("last phase of savepoint-rescale: the restore 7 → 2 with its claim mode from time 0, and no file deleted (NO_CLAIM)", async () => {
    const ev = readEvents(spTraces.rescaleLast);
    expect((restoreOf(ev).vertices as Rescale[]).map((v) => `${v.oldParallelism}→${v.newParallelism}`)).toEqual(["7→2", "7→2"]);
    expect(ev.some((e) => e.kind === "SnapshotFileDeleted")).toBe(false);
    await open(spUrl("rescaleLast"));
    await expectRestoreShown(ev);
    await page.screenshot({ path: `${SHOTS}/savepoint-rescale-last-restore.png`, fullPage: true });
    await scrub(ev[ev.length - 1]!.t);
    expect((await cardData()).deleted).toBe("0");
  });

  it("claim-modes: NO_CLAIM deletes nothing; the CLAIM twin's deletion count follows the scrub time, 1 ns before and at each deletion", async () => {
    const noClaim = readEvents(spTraces.noClaim);
    expect(restoreOf(noClaim).claimMode).toBe("NO_CLAIM");
    await open(spUrl("noClaim"));
    await expectRestoreShown(noClaim);
    await scrub(noClaim[noClaim.length - 1]!.t);
    expect((await cardData()).deleted).toBe("0");
    expect(await card().locator(".deleted-files li").count()).toBe(0);

    const claim = readEvents(spTraces.claim);
    expect(restoreOf(claim).claimMode).toBe("CLAIM");
    const deletions = claim.filter((e) => e.kind === "SnapshotFileDeleted");
    expect(deletions.length).toBeGreaterThan(0);
    await open(spUrl("claim"));
    await expectRestoreShown(claim);
    expect((await cardData()).deleted).toBe("0");
    for (const t of [...new Set(deletions.map((d) => d.t))]) {
      await scrub(t - 1);
      expect((await cardData()).deleted).toBe(String(deletions.filter((d) => d.t < t).length));
      await scrub(t);
      const upTo = deletions.filter((d) => d.t <= t);
      expect((await cardData()).deleted).toBe(String(upTo.length));
      expect(await card().locator(".deleted-count").textContent()).toBe(String(upTo.length));
      // The newest deleted file is listed.
      expect(await card().locator(".deleted-files").textContent()).toContain(upTo[upTo.length - 1]!.key as string);
    }
    await page.screenshot({ path: `${SHOTS}/claim-modes-claim-deleted.png`, fullPage: true });
  });

  it("the log's savepoint group selects the savepoint and restore events and stays in the URL across a reload", async () => {
    const ev = readEvents(spTraces.rescalePhase2);
    const kinds = ["SavepointTriggered", "SavepointCompleted", "SavepointFailed", "SavepointStored", "JobRestoredFromSavepoint", "SnapshotFileDeleted"];
    const count = String(ev.filter((e) => kinds.includes(e.kind)).length);
    expect(count).toBe("4");
    await open(spUrl("rescalePhase2"));
    await page.locator("#filter-kind").selectOption("@savepoint");
    expect(await page.locator("#log-count").getAttribute("data-count")).toBe(count);
    await page.waitForFunction(() => location.hash.includes("kind=%40savepoint"));
    await page.reload();
    await waitReady();
    expect(await page.locator("#filter-kind").inputValue()).toBe("@savepoint");
    expect(await page.locator("#log-count").getAttribute("data-count")).toBe(count);
  });

  it("jm-failover-streaming: the failover card shows recovery from a checkpoint, the checkpoint restored and the store read", async () => {
    const ev = readEvents(spTraces.jmStreaming);
    const elected = ev.find((e) => e.kind === "JobManagerLeaderElected" && e.recovery !== "none")!;
    const store = ev.find((e) => e.kind === "CheckpointStoreRecovered")!;
    const restored = ev.find((e) => e.kind === "CheckpointRestored" && e.seq > elected.seq)!;
    expect(elected.recovery).toBe("checkpoint");
    await open(spUrl("jmStreaming"));
    const p = page.locator(".jm-failover").first();
    expect(await p.getAttribute("data-recovery")).toBe("checkpoint");
    expect(await p.getAttribute("data-restored-checkpoint")).toBe(String(restored.checkpoint));
    expect(await p.locator('[data-field="recovery"]').textContent()).toBe("checkpoint");
    expect(await p.locator('[data-field="restored-checkpoint"]').textContent()).toBe(`#${restored.checkpoint as number}`);
    const read = await p.locator('[data-field="store-recovered"]').textContent();
    expect(read).toContain(`${formatBytes(store.bytes as number)} in ${formatDuration(store.readNs as number)}, ${store.attempts as number} attempt`);
    await scrub(store.t);
    expect(await p.getAttribute("data-phase")).toBe("recovered");
    await page.screenshot({ path: `${SHOTS}/jm-failover-streaming-card.png`, fullPage: true });
  });
});

describe("bad input", () => {
  const broke = (i: number) => viz.pageUrl(SCENARIOS.length + i);

  it("a malformed line shows a banner naming the line, and the prefix stays usable", async () => {
    await open(broke(0));
    const banner = page.locator("#banner");
    expect(await banner.isVisible()).toBe(true);
    expect(await banner.getAttribute("data-line")).toBe(String(MALFORMED_LINE));
    expect(await banner.textContent()).toMatch(new RegExp(`^trace line ${MALFORMED_LINE}: not valid JSON`));
    expect(await page.locator("#log-count").getAttribute("data-count")).toBe(String(MALFORMED_LINE - 1));
    expect(await page.locator("g.vertex").count()).toBeGreaterThan(0);
    const lastT = events["exactly-once-sink"][MALFORMED_LINE - 2]!.t;
    await scrub(lastT);
    await page.screenshot({ path: `${SHOTS}/bad-malformed.png`, fullPage: true });
  });

  it("a truncated trace (cut mid-line) names the cut line; an unknown version names its line; an empty file says so", async () => {
    await open(broke(1));
    expect(await page.locator("#banner").getAttribute("data-line")).toBe(String(TRUNCATED_LINES));
    expect(await page.locator("#log-count").getAttribute("data-count")).toBe(String(TRUNCATED_LINES - 1));
    await open(broke(2));
    expect(await page.locator("#banner").textContent()).toContain(`trace line ${VERSION_LINE}: v: unsupported trace version 7`);
    await open(broke(3));
    expect(await page.locator("#banner").textContent()).toMatch(/empty/);
    // Still usable: a good trace opens from the file picker on the same page.
    await page.locator("#file-input").setInputFiles(traces.quickstart);
    await waitReady(2);
    expect(await page.locator("#banner").isHidden()).toBe(true);
    expect(await page.locator("#log-count").getAttribute("data-count")).toBe(String(events.quickstart.length));
  });

  it("a trace without RunEnded shows a truncation warning; drag and drop opens a file", async () => {
    await open(viz.pageUrl(traceIndex("quickstart")));
    const lines = readFileSync(traces["zombie-fencing"], "utf8").split("\n").slice(0, 30).join("\n") + "\n";
    await page.evaluate((text) => {
      const dt = new DataTransfer();
      dt.items.add(new File([text], "cut.jsonl"));
      window.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, lines);
    await waitReady(2);
    expect(await page.locator("#banner").getAttribute("data-level")).toBe("warning");
    expect(await page.locator("#banner").textContent()).toMatch(/truncated: no RunEnded after line 30/);
    expect(await page.locator("#log-count").getAttribute("data-count")).toBe("30");
  });

  it("raised no uncaught page errors", () => {
    expect(pageErrors).toEqual([]);
  });
});
