import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { scanSource, scanTree } from "./forbidden-apis";
import { fingerprintOfLines } from "../sim/trace/recorder";

const ROOT = resolve(__dirname, "..");
const BIN = join(ROOT, "bin", "flowsim.mjs");

function demo(seed: number, dir: string, name: string) {
  const trace = join(dir, `${name}.jsonl`);
  const out = execFileSync(process.execPath, [BIN, "demo", "--seed", String(seed), "--trace", trace, "--json"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  return { summary: JSON.parse(out) as { fingerprint: string; kernelHash: string; kernelEvents: number }, trace };
}

describe("determinism guard", () => {
  it("finds no nondeterministic APIs in sim/, engine/, scenarios/", () => {
    const violations = scanTree(ROOT);
    expect(violations.map((v) => `${v.file}:${v.line} ${v.api}: ${v.text}`)).toEqual([]);
  });

  it("the scan catches planted violations (so the check above can fail)", () => {
    const planted = [
      "const x = Math.random();",
      "const t = Date.now();",
      "const d = new Date();",
      "performance.now()",
      "setTimeout(() => {}, 1)",
      "process.hrtime.bigint()",
      "crypto.randomUUID()",
      'const r = Math["random"]();',
    ];
    for (const line of planted) expect(scanSource("x.ts", line).length, line).toBeGreaterThan(0);
    expect(scanSource("x.ts", "const rng = world.rng.child('x'); kernel.after(5, f);")).toEqual([]);
  });

  it("the demo run twice in separate processes has the same fingerprint; another seed differs", () => {
    const dir = mkdtempSync(join(tmpdir(), "flowsim-det-"));
    const a = demo(7, dir, "a");
    const b = demo(7, dir, "b");
    const c = demo(8, dir, "c");
    expect(a.summary.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(b.summary.fingerprint).toBe(a.summary.fingerprint);
    expect(c.summary.fingerprint).not.toBe(a.summary.fingerprint);
    expect(c.summary.kernelHash).not.toBe(a.summary.kernelHash);
    // The fingerprint is the SHA-256 of the trace file, so anyone can recompute it.
    const lines = readFileSync(a.trace, "utf8").split("\n");
    lines.pop();
    expect(fingerprintOfLines(lines)).toBe(a.summary.fingerprint);
    expect(readFileSync(b.trace, "utf8")).toBe(readFileSync(a.trace, "utf8"));
  }, 120_000);
});
