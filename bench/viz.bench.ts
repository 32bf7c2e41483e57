/**
 * Visualizer benchmark (`npm run bench:viz`; not a timed test): load and first render of
 * a 1,000,000-event trace in headless Chromium, and the frame cost of scrubbing it.
 * Prints JSON. Goals from issue 5: load + first render ≤ 3 s, a scrub frame ≤ 16 ms.
 *
 * - loadWallMs: navigation start to the first complete render, as the Node side sees it;
 * - page.loadMs / page.firstRenderMs: inside the page, fetch start to parsed / to rendered;
 * - scrub: 300 slider positions (a sweep and random jumps, fixed LCG), each an `input`
 *   event; renderMs is the page's own render of every view at that time (JS), frameMs the
 *   busy time of that frame: from the start of its animation-frame callbacks (ours runs
 *   first, then the app's render) to a task queued then, which runs once the frame's
 *   style, layout and paint are done. Waiting for the frame (vsync) is not counted.
 */
import { statSync } from "node:fs";
import { launchChromium } from "../test/e2e/browser";
import { startVizServer } from "../viz/serve";
import { generateTrace } from "./viz-trace-gen";

const EVENTS = Number(process.env.FLOWSIM_VIZ_BENCH_EVENTS ?? 1_000_000);
const PATH = `out/bench/viz-${EVENTS}.jsonl`;
const SCRUBS = 300;

function quantiles(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  const r = (x: number) => Math.round(x * 100) / 100;
  return { p50: r(q(0.5)), p95: r(q(0.95)), max: r(s[s.length - 1]!) };
}

const written = await generateTrace(PATH, { events: EVENTS });
const viz = await startVizServer([PATH], { port: 0 });
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1600 } });
  // tsx compiles with keepNames, which wraps functions passed to page.evaluate in a `__name` helper the page lacks.
  await page.addInitScript("window.__name = (f) => f");
  // Warm the dev server's module graph so the figure measures the viewer, not Vite's first transform.
  await page.goto(`${viz.origin}/`);
  await page.waitForFunction(() => (window as unknown as { __flowsimViz?: unknown }).__flowsimViz !== undefined);
  const t0 = Date.now();
  await page.goto(viz.pageUrl(0));
  await page.waitForFunction(() => (window as unknown as { __flowsimViz?: { ready: boolean } }).__flowsimViz?.ready === true, null, { timeout: 120_000 });
  const loadWallMs = Date.now() - t0;
  const probe = await page.evaluate(() => {
    const p = (window as unknown as { __flowsimViz: { loadMs: number; firstRenderMs: number; events: number; problem?: string } }).__flowsimViz;
    return { loadMs: Math.round(p.loadMs), firstRenderMs: Math.round(p.firstRenderMs), events: p.events, problem: p.problem ?? null };
  });
  const scrub = await page.evaluate(async (n) => {
    const slider = document.querySelector<HTMLInputElement>("#time-slider")!;
    const probe = (window as unknown as { __flowsimViz: { lastRenderMs: number; renders: number; viewMs: Record<string, number> } }).__flowsimViz;
    const viewMs: Record<string, number[]> = {};
    const max = Number(slider.max);
    let lcg = 7;
    const rand = () => ((lcg = (Math.imul(lcg, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const frame = () => new Promise<number>((r) => requestAnimationFrame(r));
    const task = () => new Promise<number>((r) => setTimeout(() => r(performance.now()), 0));
    const renderMs: number[] = [];
    const frameMs: number[] = [];
    for (let i = 0; i < n; i++) {
      // First half: a sweep like dragging the slider; second half: random jumps.
      const t = i < n / 2 ? Math.floor((max * i) / (n / 2)) : Math.floor(rand() * max);
      const before = probe.renders;
      await frame(); // start on a fresh frame boundary
      // Registered before the input, so this callback runs first in the frame that renders.
      const frameStart = new Promise<number>((r) => requestAnimationFrame(() => r(performance.now())));
      slider.value = String(t);
      slider.dispatchEvent(new Event("input"));
      const start = await frameStart;
      const end = await task();
      frameMs.push(end - start);
      if (probe.renders > before) {
        renderMs.push(probe.lastRenderMs);
        for (const [view, ms] of Object.entries(probe.viewMs)) (viewMs[view] ??= []).push(ms);
      }
    }
    return { renderMs, frameMs, viewMs };
  }, SCRUBS);
  console.log(
    JSON.stringify(
      {
        bench: "viz",
        traceEvents: written,
        traceMB: Math.round(statSync(PATH).size / 1e5) / 10,
        loadWallMs,
        page: probe,
        scrub: {
          scrubs: SCRUBS,
          renders: scrub.renderMs.length,
          renderMs: quantiles(scrub.renderMs),
          frameMs: quantiles(scrub.frameMs),
          viewMs: Object.fromEntries(Object.entries(scrub.viewMs).map(([v, xs]) => [v, quantiles(xs)])),
        },
        goals: { loadAndFirstRenderMs: 3000, frameMs: 16 },
        browser: browser.version(),
      },
      null,
      1,
    ),
  );
} finally {
  await browser.close();
  await viz.close();
}
