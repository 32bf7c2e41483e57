import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(__dirname, "..");
const BIN = join(ROOT, "bin", "flowsim.mjs");

function flowsim(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A bad-input failure: non-zero exit, exactly one stderr line, no stack trace. */
function expectOneLineError(r: ReturnType<typeof flowsim>, pattern: RegExp) {
  expect(r.code).not.toBe(0);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines.length, r.stderr).toBe(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/);
}

describe("flowsim CLI", () => {
  const dir = mkdtempSync(join(tmpdir(), "flowsim-cli-"));

  it("viz rejects a missing trace or a bad port with one line, before serving anything", () => {
    expectOneLineError(flowsim("viz", join(dir, "missing.jsonl")), /^flowsim: trace: no such file: .*missing\.jsonl$/);
    expectOneLineError(flowsim("viz", "--port", "http", join(dir, "missing.jsonl")), /^flowsim: --port: must be a port number, got "http"$/);
  });

  it("rejects bad input with one line naming the field, and writes no trace", () => {
    const trace = join(dir, "bad.jsonl");
    expectOneLineError(flowsim("demo", "--seed", "abc", "--trace", trace), /^flowsim: --seed: must be an integer/);
    expectOneLineError(flowsim("demo", "--duration", "5 parsecs", "--trace", trace), /^flowsim: --duration: bad duration "5 parsecs"/);
    expectOneLineError(flowsim("demo", "--level", "verbose", "--trace", trace), /^flowsim: --level: must be "summary" or "detailed"/);
    expect(existsSync(trace)).toBe(false);
    expect(existsSync(`${trace}.partial`)).toBe(false);
    expectOneLineError(flowsim("fingerprint", join(dir, "missing.jsonl")), /^flowsim: trace: cannot open/);
    const bad = join(dir, "malformed.jsonl");
    writeFileSync(bad, '{"v":1,"seq":0,"t":0,"kind":"RunStarted","seed":"1"}\n{"v":1,"seq":1,"t":0,"kind":\n');
    expectOneLineError(flowsim("fingerprint", bad), /^flowsim: trace line 2/);
    expect(flowsim("nosuchcommand").code).toBe(2);
  });

  it("runs the demo, fingerprints, diffs and exports its trace", () => {
    const a = join(dir, "a.jsonl");
    const b = join(dir, "b.jsonl");
    const ra = flowsim("demo", "--seed", "3", "--duration", "5s", "--trace", a, "--json");
    expect(ra.code, ra.stderr).toBe(0);
    const summary = JSON.parse(ra.stdout) as { fingerprint: string; repliesReceived: number };
    expect(summary.repliesReceived).toBeGreaterThan(0);
    expect(flowsim("fingerprint", a).stdout.trim()).toBe(summary.fingerprint);

    expect(flowsim("demo", "--seed", "4", "--duration", "5s", "--trace", b, "--json").code).toBe(0);
    const diff = flowsim("diff", a, b);
    expect(diff.code).toBe(1);
    expect(diff.stdout).toMatch(/^first divergence at seq \d+/);
    expect(flowsim("diff", a, a).stdout.trim()).toBe("traces are identical");

    const out = join(dir, "a.chrome.json");
    const ex = flowsim("export", a, "-o", out);
    expect(ex.code, ex.stderr).toBe(0);
    const chrome = JSON.parse(readFileSync(out, "utf8")) as { traceEvents: { ph: string }[] };
    const phases = new Set(chrome.traceEvents.map((e) => e.ph));
    for (const ph of ["M", "B", "E", "i", "C"]) expect(phases.has(ph), ph).toBe(true);
    expect(phases.has("X")).toBe(false);
  }, 60_000);

  it("prints a human summary by default", () => {
    const r = flowsim("demo", "--seed", "1", "--duration", "3s", "--trace", join(dir, "h.jsonl"));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/requests\s+\d+ sent/);
    expect(r.stdout).toMatch(/fingerprint\s+[0-9a-f]{64}/);
  });
});
