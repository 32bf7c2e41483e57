/**
 * The source scan of the determinism guard: finds nondeterministic APIs in the simulated
 * world (sim/, engine/, scenarios/). A scan is easy to evade, so the guard also runs the
 * demo twice in separate processes and compares fingerprints (determinism.test.ts).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

export const FORBIDDEN: { name: string; pattern: RegExp }[] = [
  { name: "Math.random", pattern: /\bMath\s*(\.\s*random|\[\s*["'`]random)/ },
  { name: "Date.now", pattern: /\bDate\s*(\.\s*now|\[\s*["'`]now)/ },
  { name: "new Date()", pattern: /\bnew\s+Date\b/ },
  { name: "performance.now", pattern: /\bperformance\s*\.\s*now/ },
  { name: "timers", pattern: /\b(setTimeout|setInterval|setImmediate|queueMicrotask)\s*\(|node:timers/ },
  { name: "process.hrtime", pattern: /\bprocess\s*\.\s*hrtime/ },
  { name: "crypto randomness", pattern: /\b(randomBytes|randomUUID|randomInt|getRandomValues|randomFill)\b/ },
];

export interface Violation {
  file: string;
  line: number;
  api: string;
  text: string;
}

/** Scans one source text (comments included: an API named in a comment is cheap to reword). */
export function scanSource(file: string, text: string): Violation[] {
  const out: Violation[] = [];
  text.split("\n").forEach((lineText, i) => {
    for (const { name, pattern } of FORBIDDEN) {
      if (pattern.test(lineText)) out.push({ file, line: i + 1, api: name, text: lineText.trim() });
    }
  });
  return out;
}

/** Non-test .ts/.js files under the given folders. */
export function sourceFiles(root: string, dirs: readonly string[]): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    let entries: string[];
    try {
      entries = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|js|mjs)$/.test(entry) && !/\.test\.(ts|js)$/.test(entry)) files.push(path);
    }
  };
  for (const d of dirs) walk(join(root, d));
  return files;
}

export function scanTree(root: string, dirs: readonly string[] = ["sim", "engine", "scenarios"]): Violation[] {
  return sourceFiles(root, dirs).flatMap((f) => scanSource(f.slice(root.length + 1), readFileSync(f, "utf8")));
}
