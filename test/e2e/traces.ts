/**
 * Traces for the browser tests, produced by real scenario runs through the CLI (as a
 * user would make them), plus broken variants of one of them; and the facts the tests
 * expect, read from the trace files themselves rather than hard-coded.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TraceEvent } from "../../sim/trace/events";
import { readTraceText } from "../../sim/trace/reader";

export const SCENARIOS = ["quickstart", "backpressure", "region-failover", "exactly-once-sink", "zombie-fencing", "aligned-timeout", "adaptive-parallelism", "speculative-stragglers", "broadcast-rules", "window-join", "idle-source"] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
export const TRACE_DIR = "out/e2e/traces";

export function runScenarios(): Record<ScenarioName, string> {
  mkdirSync(TRACE_DIR, { recursive: true });
  const out = {} as Record<ScenarioName, string>;
  for (const name of SCENARIOS) {
    const path = join(TRACE_DIR, `${name}.jsonl`);
    execFileSync(process.execPath, ["bin/flowsim.mjs", "run", `scenarios/${name}.scenario.ts`, "--trace", path], { stdio: "pipe" });
    out[name] = path;
  }
  return out;
}

/**
 * The JobManager failover scenario and its knock-out twin (batch job recovery off). The
 * twin fails its "no finished subtask reruns" expectation by design, so the CLI exits 1
 * for it: accepted only when that is the one expectation failed.
 */
export function runJmFailoverTraces(): { recovery: string; knockout: string } {
  mkdirSync(TRACE_DIR, { recursive: true });
  const run = (file: string, knockout: boolean) => {
    const path = join(TRACE_DIR, file);
    const args = ["bin/flowsim.mjs", "run", "scenarios/jm-failover-batch.scenario.ts", "--trace", path, ...(knockout ? ["--knockout"] : [])];
    const r = spawnSync(process.execPath, args, { encoding: "utf8" });
    const failed = [...r.stdout.matchAll(/expect FAILED\s+(.*?) —/g)].map((m) => m[1]);
    const expected = knockout ? ["no subtask finished before the crash runs again"] : [];
    if (r.status !== (knockout ? 1 : 0) || JSON.stringify(failed) !== JSON.stringify(expected)) throw new Error(`flowsim ${args.join(" ")}: exit ${r.status}, failed ${JSON.stringify(failed)}\n${r.stdout}${r.stderr}`);
    return path;
  };
  return { recovery: run("jm-failover-batch.jsonl", false), knockout: run("jm-failover-batch-knockout.jsonl", true) };
}

/**
 * Savepoints and restores: savepoint-rescale (4 → 7 → 2) writes a trace per phase, of
 * which the tests open phase 2 (restored 4 → 7, then stopped with a savepoint) and the
 * last (restored 7 → 2); claim-modes restores NO_CLAIM, its knock-out twin CLAIM, which
 * deletes the savepoint's files and so fails the twin's two expectations about them by
 * design (exit 1, accepted only with exactly those failed). Also jm-failover-streaming,
 * whose new JobManager leader restores the latest completed checkpoint.
 */
export function runSavepointTraces(): { rescalePhase2: string; rescaleLast: string; noClaim: string; claim: string; jmStreaming: string } {
  mkdirSync(TRACE_DIR, { recursive: true });
  const run = (scenario: string, file: string, knockout: boolean, expectedFailed: string[]) => {
    const path = join(TRACE_DIR, file);
    const args = ["bin/flowsim.mjs", "run", `scenarios/${scenario}.scenario.ts`, "--trace", path, ...(knockout ? ["--knockout"] : [])];
    const r = spawnSync(process.execPath, args, { encoding: "utf8" });
    const failed = [...r.stdout.matchAll(/expect FAILED\s+(.*?) —/g)].map((m) => m[1]);
    if (r.status !== (expectedFailed.length > 0 ? 1 : 0) || JSON.stringify(failed) !== JSON.stringify(expectedFailed)) {
      throw new Error(`flowsim ${args.join(" ")}: exit ${r.status}, failed ${JSON.stringify(failed)}\n${r.stdout}${r.stderr}`);
    }
    return path;
  };
  const rescaleLast = run("savepoint-rescale", "savepoint-rescale.jsonl", false, []);
  return {
    rescalePhase2: join(TRACE_DIR, "savepoint-rescale.phase2.jsonl"),
    rescaleLast,
    noClaim: run("claim-modes", "claim-modes.jsonl", false, []),
    claim: run("claim-modes", "claim-modes-knockout.jsonl", true, [
      "the first checkpoint after the restore is full: every subtask uploaded its whole state",
      "no file of the savepoint was deleted: every one is still in the blob store",
    ]),
    // Streaming JobManager failover: the new leader recovers from the completed checkpoint store.
    jmStreaming: run("jm-failover-streaming", "jm-failover-streaming.jsonl", false, []),
  };
}

/** Broken traces: a malformed line, a cut last line, an unknown version, an empty file. */
export function brokenVariants(source: string): { malformed: string; truncated: string; version: string; empty: string } {
  const lines = readFileSync(source, "utf8").split("\n").filter((l) => l !== "");
  const write = (name: string, text: string) => {
    const p = join(TRACE_DIR, name);
    writeFileSync(p, text);
    return p;
  };
  const malformed = [...lines];
  malformed[MALFORMED_LINE - 1] = malformed[MALFORMED_LINE - 1]!.slice(0, 25) + "!!" + malformed[MALFORMED_LINE - 1]!.slice(25);
  const cut = lines.slice(0, TRUNCATED_LINES);
  const last = cut.pop()!;
  const versioned = [...lines];
  versioned[VERSION_LINE - 1] = versioned[VERSION_LINE - 1]!.replace('"v":1', '"v":7');
  return {
    malformed: write("malformed.jsonl", malformed.join("\n") + "\n"),
    truncated: write("truncated.jsonl", [...cut, last.slice(0, Math.floor(last.length / 2))].join("\n")),
    version: write("version.jsonl", versioned.join("\n") + "\n"),
    empty: write("empty.jsonl", ""),
  };
}

export const MALFORMED_LINE = 40;
export const TRUNCATED_LINES = 120;
export const VERSION_LINE = 5;

export function readEvents(path: string): TraceEvent[] {
  return readTraceText(readFileSync(path, "utf8"));
}
