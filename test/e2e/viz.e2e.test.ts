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
import { brokenVariants, MALFORMED_LINE, readEvents, runScenarios, SCENARIOS, TRUNCATED_LINES, VERSION_LINE, type ScenarioName } from "./traces";

const SHOTS = "out/e2e";
const RUNNING_RGB = [0x66, 0xbb, 0x6a];

let browser: Browser;
let viz: VizServer;
let traces: Record<ScenarioName, string>;
let broken: ReturnType<typeof brokenVariants>;
const events = {} as Record<ScenarioName, TraceEvent[]>;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  traces = runScenarios();
  broken = brokenVariants(traces["exactly-once-sink"]);
  for (const s of SCENARIOS) events[s] = readEvents(traces[s]);
  viz = await startVizServer([...SCENARIOS.map((s) => traces[s]), broken.malformed, broken.truncated, broken.version, broken.empty], { port: 0 });
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

async function hoverGantt(p: { x: number; y: number }): Promise<{ subtask?: string; attempt?: string; state?: string } | undefined> {
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
    const found = before.filter((b) => JSON.stringify(b.hit) === JSON.stringify(failedAttempt));
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
