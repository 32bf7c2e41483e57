/**
 * `flowsim run <scenario>`: loads a scenario module, runs it (or its knock-out twin, or a
 * grid of seeds × option values), prints a summary, and exits non-zero when an
 * expectation fails.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { InputError } from "../sim/errors";
import { formatDuration } from "../sim/time";
import type { TraceLevel } from "../sim/trace/events";
import type { TraceSink } from "../sim/trace/recorder";
import { runJob, type JobRunResult } from "../engine/job-run";
import { LatencyTracker } from "../engine/runtime/latency-tracker";
import { programOf, variantOf, type Scenario } from "../scenarios/define";
import { phasesOf, runPhases, type PhaseSpec } from "../engine/savepoint-run";
import { FileSink } from "./files";

export interface RunCommandOptions {
  scenarioPath: string;
  seeds: number[];
  sets: Record<string, string[]>;
  tracePath: string | undefined;
  level: TraceLevel;
  knockout: boolean;
  json: boolean;
}

export async function loadScenario(path: string): Promise<Scenario> {
  const file = resolve(path);
  if (!existsSync(file)) throw new InputError("scenario", `no such file "${path}"`);
  const mod = (await import(pathToFileURL(file).href)) as { default?: Scenario };
  if (mod.default === undefined || typeof mod.default !== "object" || !("name" in mod.default)) {
    throw new InputError("scenario", `"${path}" has no default export from defineScenario(...)`);
  }
  return mod.default;
}

export interface ScenarioOutcome {
  seed: number;
  variant: Record<string, string>;
  result: JobRunResult;
  failures: { expectation: string; problem: string }[];
}

/** Runs one scenario once (one seed, one variant). */
export function runScenarioOnce(
  scenario: Scenario,
  seed: number,
  overrides: Record<string, unknown>,
  knockout: boolean,
  trace?: { sink: TraceSink; level: TraceLevel; phaseSink?: (phase: number) => TraceSink },
): ScenarioOutcome {
  const variant = variantOf(scenario, knockout);
  const config = { ...variant.config, ...overrides };
  const result = scenario.phases !== undefined ? runScenarioPhases(scenario, seed, config, knockout, trace) : runJob({
    seed,
    scenario: scenario.name + (knockout ? " (knock-out)" : ""),
    config,
    cluster: scenario.cluster,
    job: programOf(scenario, knockout ? scenario.knockout?.params : {}),
    ...(scenario.costModel !== undefined ? { costs: scenario.costModel } : {}),
    ...(scenario.timeLimitNs !== undefined ? { timeLimitNs: scenario.timeLimitNs } : {}),
    ...(scenario.faults !== undefined ? { faults: scenario.faults } : {}),
    ...(trace !== undefined ? { trace: { sink: trace.sink, level: trace.level } } : {}),
  });
  const failures: ScenarioOutcome["failures"] = [];
  for (const e of scenario.expect ?? []) {
    const problem = e.check(result, { scenario, seed, knockout });
    if (problem !== undefined) failures.push({ expectation: e.name, problem });
  }
  return { seed, variant: Object.fromEntries(Object.entries(overrides).map(([k, v]) => [k, String(v)])), result, failures };
}

/**
 * A phased scenario: each phase's config is the scenario's, then the phase's, then the
 * twin's overrides (so a twin flips an option in every phase); params likewise. The last
 * phase writes the given trace; earlier ones `phaseSink(i)`.
 */
function runScenarioPhases(
  scenario: Scenario,
  seed: number,
  config: Record<string, unknown>,
  knockout: boolean,
  trace: { sink: TraceSink; level: TraceLevel; phaseSink?: (phase: number) => TraceSink } | undefined,
): JobRunResult {
  const phases = scenario.phases!;
  const twin = knockout ? scenario.knockout : undefined;
  const specs: PhaseSpec[] = phases.map((p, i) => {
    const k = twin?.phases?.[i] ?? {};
    const stop = k.stopWithSavepoint ?? p.stopWithSavepoint;
    const restore = k.restore ?? p.restore;
    return {
      config: { ...p.config, ...k.config, ...twin?.config },
      job: programOf(scenario, { ...p.params, ...k.params, ...twin?.params }),
      ...(stop !== undefined ? { stopWithSavepoint: stop } : {}),
      ...(restore !== undefined ? { restore } : {}),
    };
  });
  return runPhases(
    {
      seed,
      scenario: scenario.name + (knockout ? " (knock-out)" : ""),
      config,
      cluster: scenario.cluster,
      job: programOf(scenario, twin?.params ?? {}),
      ...(scenario.costModel !== undefined ? { costs: scenario.costModel } : {}),
      ...(scenario.timeLimitNs !== undefined ? { timeLimitNs: scenario.timeLimitNs } : {}),
      ...(scenario.faults !== undefined ? { faults: scenario.faults } : {}),
    },
    specs,
    trace === undefined
      ? undefined
      : (i) => {
          const sink = i === specs.length - 1 ? trace.sink : trace.phaseSink?.(i);
          return sink === undefined ? undefined : { sink, level: trace.level };
        },
  );
}

/** Where phase i (0-based, not the last) of a phased scenario writes its trace: out.jsonl → out.phase1.jsonl. */
export function phaseTracePath(path: string, phase: number): string {
  return path.replace(/(\.jsonl)?$/, `.phase${phase + 1}.jsonl`);
}

export async function runCommand(opts: RunCommandOptions): Promise<number> {
  const scenario = await loadScenario(opts.scenarioPath);
  if (opts.knockout && scenario.knockout === undefined) throw new InputError("--knockout", `scenario "${scenario.name}" declares no knock-out twin`);
  const variants = expandGrid(opts.sets);
  const single = opts.seeds.length === 1 && variants.length === 1;
  if (!single && opts.tracePath !== undefined) throw new InputError("--trace", "write a trace for one seed and one variant at a time");
  const outcomes: ScenarioOutcome[] = [];
  for (const variant of variants) {
    for (const seed of opts.seeds) {
      const sink = single && opts.tracePath !== undefined ? new FileSink(opts.tracePath) : undefined;
      try {
        const tracePath = opts.tracePath;
        const phaseSink = tracePath === undefined ? undefined : (i: number) => new FileSink(phaseTracePath(tracePath, i));
        outcomes.push(runScenarioOnce(scenario, seed, variant, opts.knockout, sink && { sink, level: opts.level, ...(phaseSink !== undefined ? { phaseSink } : {}) }));
      } catch (e) {
        sink?.abort();
        throw e;
      }
    }
  }
  const reproducer = (o: ScenarioOutcome) =>
    `flowsim run ${opts.scenarioPath} --seed ${o.seed}` +
    Object.entries(o.variant).map(([k, v]) => ` --set ${k}=${v}`).join("") +
    (opts.knockout ? " --knockout" : "");
  if (opts.json) {
    console.log(JSON.stringify(outcomes.map((o) => ({ seed: o.seed, variant: o.variant, ...summaryOf(o.result), failures: o.failures }))));
  } else if (single) {
    printSummary(scenario, outcomes[0]!, opts.tracePath);
  } else {
    printGrid(scenario, outcomes);
  }
  const failed = outcomes.filter((o) => o.failures.length > 0);
  for (const o of failed) {
    for (const f of o.failures) console.error(`expectation failed: ${f.expectation}: ${f.problem}`);
    console.error(`reproduce: ${reproducer(o)}`);
  }
  return failed.length > 0 ? 1 : 0;
}

function expandGrid(sets: Record<string, string[]>): Record<string, string>[] {
  let grid: Record<string, string>[] = [{}];
  for (const [key, values] of Object.entries(sets)) {
    grid = grid.flatMap((g) => values.map((v) => ({ ...g, [key]: v })));
  }
  return grid;
}

export function summaryOf(r: JobRunResult) {
  const sinkRecords = Object.fromEntries([...r.outputs].map(([k, v]) => [k, v.length]));
  const seconds = (r.makespanNs ?? r.endNs) / 1e9;
  const sources = r.vertices.filter((v) => v.name.startsWith("Source"));
  const sourceRecords = sources.reduce((a, v) => a + v.recordsIn, 0);
  return {
    status: r.status,
    failureCause: r.failureCause ?? null,
    runtimeMode: r.runtimeMode,
    makespanNs: r.makespanNs ?? null,
    endNs: r.endNs,
    sourceRecordsPerS: seconds > 0 ? Math.round(sourceRecords / seconds) : 0,
    sinkRecords,
    vertices: r.vertices.map((v) => ({
      name: v.name,
      parallelism: v.parallelism,
      recordsIn: v.recordsIn,
      recordsOut: v.recordsOut,
      busy: round2(v.busyRatio),
      backpressured: round2(v.backpressuredRatio),
      idle: round2(v.idleRatio),
    })),
    restarts: r.restarts,
    restartedTasks: r.restartedTasks,
    slotSeconds: Math.round(r.slotSeconds * 1000) / 1000,
    speculation: r.speculation === undefined ? null : { ...r.speculation },
    jobManagerFailovers: r.jobManagerFailovers.map((f) => ({
      lostS: f.lostNs / 1e9,
      recovery: f.recovery ?? null,
      restoredCheckpoint: f.restoredCheckpoint ?? null,
      downS: f.runningNs === undefined ? null : (f.runningNs - f.lostNs) / 1e9,
      rerunFinished: f.rerunFinished.length,
    })),
    checkpoints:
      r.checkpoints === undefined
        ? null
        : {
            completed: r.checkpoints.completed,
            aborted: r.checkpoints.aborted,
            p50Ms: r.checkpoints.durationsNs.length === 0 ? null : Math.round((LatencyTracker.percentile(r.checkpoints.durationsNs, 0.5) ?? 0) / 1e3) / 1e3,
            maxMs: r.checkpoints.durationsNs.length === 0 ? null : Math.round(Math.max(...r.checkpoints.durationsNs) / 1e3) / 1e3,
          },
    processingLatencyMs: latencySummary(r.processingLatencyNs),
    visibilityLatencyMs: latencySummary(r.visibilityLatencyNs),
    kernelEvents: r.kernelEvents,
    phases: phasesOf(r).length > 1 ? phasesOf(r).map(phaseSummary) : null,
    fingerprint: r.fingerprint,
  };
}

/** One phase of a phased run: how it ended, its savepoint, what it restored and how long that took. */
export function phaseSummary(r: JobRunResult) {
  const sp = r.savepoints?.completed.at(-1);
  const from = r.savepoints?.restoredFrom;
  const restoreNs = r.restores.reduce((m, x) => Math.max(m, x.durationNs), 0);
  const restoreBytes = r.restores.reduce((n, x) => n + x.stateBytes, 0);
  return {
    status: r.status,
    endNs: r.endNs,
    savepoint: sp === undefined ? null : { id: sp.id, path: sp.path, format: sp.format, drained: sp.drained, stateBytes: sp.stateBytes, durationMs: Math.round((sp.completedNs - sp.triggerNs) / 1e3) / 1e3 },
    savepointFailures: r.savepoints?.failed.map((f) => f.reason) ?? [],
    restoredFrom:
      from === undefined
        ? null
        : { path: from.path, claimMode: from.claimMode, parallelism: from.oldParallelism.map((p, i) => `${p}→${from.newParallelism[i]}`).join(" "), readBytes: restoreBytes, slowestRestoreMs: Math.round(restoreNs / 1e3) / 1e3 },
    checkpointsCompleted: r.checkpoints?.completed ?? 0,
    deletedSavepointFiles: from === undefined ? 0 : r.world.blobStore.deletions.filter((d) => d.key.startsWith(`${from.path}/`)).length,
    fingerprint: r.fingerprint,
  };
}

function latencySummary(samples: readonly number[]): { p50: number; p99: number; samples: number } | null {
  if (samples.length === 0) return null;
  const ms = (x: number | undefined) => Math.round((x ?? 0) / 1e3) / 1e3;
  return { p50: ms(LatencyTracker.percentile(samples, 0.5)), p99: ms(LatencyTracker.percentile(samples, 0.99)), samples: samples.length };
}

function printSummary(scenario: Scenario, o: ScenarioOutcome, tracePath: string | undefined): void {
  const s = summaryOf(o.result);
  console.log(`flowsim run: ${scenario.name} (seed ${o.seed}) — ${scenario.description}`);
  console.log(`  status             ${s.status}${s.failureCause ? `: ${s.failureCause}` : ""}`);
  console.log(`  mode               ${s.runtimeMode}`);
  if (s.makespanNs !== null) console.log(`  makespan           ${formatDuration(s.makespanNs)}`);
  else console.log(`  ran for            ${formatDuration(s.endNs)}`);
  console.log(`  source throughput  ${s.sourceRecordsPerS} records/s`);
  console.log(`  failovers          ${s.restarts} restarts, ${s.restartedTasks} task attempts restarted`);
  console.log(`  slot time          ${s.slotSeconds} slot-s`);
  if (s.speculation !== null) {
    const sp = s.speculation;
    console.log(`  speculation        ${sp.numSpeculativeAttempts} speculative attempts, ${sp.numEffectiveSpeculativeExecutions} won; ${sp.numBlockedNodes} hosts blocklisted`);
  }
  for (const f of s.jobManagerFailovers) {
    console.log(`  JobManager lost    at ${f.lostS} s; recovery ${f.recovery ?? "none"}${f.restoredCheckpoint !== null ? ` (checkpoint ${f.restoredCheckpoint})` : ""}${f.downS !== null ? `, running again after ${f.downS.toFixed(3)} s` : ""}; ${f.rerunFinished} finished subtasks rerun`);
  }
  const cp = s.checkpoints;
  console.log(`  checkpoints        ${cp === null ? "off" : `${cp.completed} completed, ${cp.aborted} aborted${cp.p50Ms !== null ? `; duration p50 ${cp.p50Ms} ms, max ${cp.maxMs} ms` : ""}`}`);
  const lat = (l: { p50: number; p99: number; samples: number } | null) =>
    l === null ? "n/a (set metrics.latency.interval)" : `p50 ${l.p50} ms, p99 ${l.p99} ms (${l.samples} markers)`;
  console.log(`  processing latency ${lat(s.processingLatencyMs)}`);
  console.log(`  visibility latency ${lat(s.visibilityLatencyMs)}`);
  console.log(`  sink records       ${Object.entries(s.sinkRecords).map(([k, n]) => `${k} ${n}`).join(", ") || "none"}`);
  console.log(`  vertices           records in/out, busy / backpressured / idle`);
  for (const v of s.vertices) {
    console.log(`    ${v.name.padEnd(44)} p=${v.parallelism}  ${v.recordsIn}/${v.recordsOut}  ${v.busy} / ${v.backpressured} / ${v.idle}`);
  }
  for (const e of scenario.expect ?? []) {
    const failure = o.failures.find((f) => f.expectation === e.name);
    console.log(`  expect ${failure ? "FAILED" : "met   "}      ${e.name}${failure ? ` — ${failure.problem}` : ""}`);
  }
  for (const [i, p] of (s.phases ?? []).entries()) {
    const sp = p.savepoint === null ? (p.savepointFailures.length > 0 ? `savepoint failed: ${p.savepointFailures.join("; ")}` : "no savepoint") : `savepoint ${p.savepoint.path} (${p.savepoint.format}${p.savepoint.drained ? ", drained" : ""}) ${p.savepoint.stateBytes} B in ${p.savepoint.durationMs} ms`;
    const rf = p.restoredFrom === null ? "started fresh" : `restored ${p.restoredFrom.path} (${p.restoredFrom.claimMode}, parallelism ${p.restoredFrom.parallelism}): read ${p.restoredFrom.readBytes} B, slowest subtask ${p.restoredFrom.slowestRestoreMs} ms; ${p.deletedSavepointFiles} savepoint files deleted`;
    console.log(`  phase ${i + 1}            ${p.status} after ${formatDuration(p.endNs)}; ${rf}; ${p.checkpointsCompleted} checkpoints; ${sp}`);
  }
  console.log(`  kernel events      ${s.kernelEvents}`);
  if (tracePath !== undefined) console.log(`  trace              ${tracePath}`);
  console.log(`  fingerprint        ${s.fingerprint}`);
}

function printGrid(scenario: Scenario, outcomes: ScenarioOutcome[]): void {
  console.log(`flowsim run: ${scenario.name} — ${outcomes.length} runs; medians per variant`);
  const byVariant = new Map<string, ScenarioOutcome[]>();
  for (const o of outcomes) {
    const key = JSON.stringify(o.variant);
    byVariant.set(key, [...(byVariant.get(key) ?? []), o]);
  }
  console.log(`  ${"variant".padEnd(40)} ${"runs".padStart(5)} ${"makespan".padStart(12)} ${"src rec/s".padStart(12)} ${"failed".padStart(7)}`);
  for (const [key, list] of byVariant) {
    const makespans = list.map((o) => o.result.makespanNs ?? o.result.endNs).sort((a, b) => a - b);
    const rates = list.map((o) => summaryOf(o.result).sourceRecordsPerS).sort((a, b) => a - b);
    const median = (xs: number[]) => xs[Math.floor(xs.length / 2)]!;
    const label = key === "{}" ? "(scenario config)" : Object.entries(JSON.parse(key)).map(([k, v]) => `${k}=${v}`).join(" ");
    console.log(
      `  ${label.padEnd(40)} ${String(list.length).padStart(5)} ${formatDuration(median(makespans)).padStart(12)} ${String(median(rates)).padStart(12)} ${String(list.filter((o) => o.failures.length > 0).length).padStart(7)}`,
    );
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** "1..5" or "3" or "1,4,9" → seeds. */
export function parseSeeds(text: string): number[] {
  const range = /^(-?\d+)\.\.(-?\d+)$/.exec(text);
  if (range) {
    const a = Number(range[1]);
    const b = Number(range[2]);
    if (b < a || b - a > 100_000) throw new InputError("--seeds", `bad range "${text}"`);
    return Array.from({ length: b - a + 1 }, (_, i) => a + i);
  }
  const parts = text.split(",");
  if (parts.some((p) => !/^-?\d+$/.test(p))) throw new InputError("--seeds", `expected N, A..B or a comma list, got "${text}"`);
  return parts.map(Number);
}

/** --set key=a,b repeated → { key: [a, b] }. */
export function parseSets(items: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const item of items) {
    const i = item.indexOf("=");
    if (i <= 0) throw new InputError("--set", `expected key=value, got "${item}"`);
    out[item.slice(0, i)] = item.slice(i + 1).split(",");
  }
  return out;
}
