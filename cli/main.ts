/**
 * The `flowsim` command line. Thin shell over the pure core: parses arguments, reads and
 * writes files, prints summaries. Bad input ends with one line naming the field and the
 * problem (exit 2); an engine bug ends with the invariant and a one-line reproducer.
 */
import { Command, CommanderError } from "commander";
import { writeFileSync, mkdirSync, renameSync } from "node:fs";
import { dirname } from "node:path";
import { InputError, InvariantError } from "../sim/errors";
import { exportChromeTrace } from "../sim/trace/chrome";
import { firstDivergence, formatDivergence } from "../sim/trace/diff";
import { fingerprintOfLines } from "../sim/trace/recorder";
import { TraceReader } from "../sim/trace/reader";
import { FLOWSIM_VERSION } from "../sim/version";
import { runDemoCommand } from "./demo";
import { parseSeeds, parseSets, runCommand } from "./run";
import { readLines } from "./files";

/** The reproducer line printed with any failure of a seeded run. */
let reproducer: string | undefined;
export function setReproducer(line: string): void {
  reproducer = line;
}

function parseSeed(value: string): number {
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new InputError("--seed", `must be an integer, got "${value}"`);
  return Number(value);
}

function program(): Command {
  const cli = new Command("flowsim")
    .description("Deterministic simulation testbed for a Flink-style stream/batch engine")
    .version(FLOWSIM_VERSION)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  cli
    .command("demo")
    .description("kernel demo: hosts exchanging messages through a crash and a partition")
    .option("--seed <n>", "root seed", "1")
    .option("--trace <file>", "trace output (JSONL v1)", "out/demo.trace.jsonl")
    .option("--level <level>", "trace level: summary | detailed", "detailed")
    .option("--duration <d>", "virtual time to run", "60s")
    .option("--json", "print the summary as JSON (for scripts)")
    .action((opts) => {
      const seed = parseSeed(opts.seed);
      setReproducer(`flowsim demo --seed ${seed}`);
      runDemoCommand({ seed, tracePath: opts.trace, level: opts.level, duration: opts.duration, json: opts.json === true });
    });

  cli
    .command("run")
    .description("run a scenario (*.scenario.ts): prints a summary, exits 1 when an expectation fails")
    .argument("<scenario>")
    .option("--seed <n>", "root seed", "1")
    .option("--seeds <range>", "run several seeds: N, A..B or a comma list (prints medians)")
    .option("--set <key=value>", "override an option; key=a,b runs a grid", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option("--trace <file>", "write the trace (JSONL v1)")
    .option("--level <level>", "trace level: summary | detailed", "summary")
    .option("--knockout", "run the scenario's knock-out twin")
    .option("--json", "print results as JSON")
    .action(async (path: string, opts) => {
      const seeds = opts.seeds !== undefined ? parseSeeds(opts.seeds) : [parseSeed(opts.seed)];
      if (opts.level !== "summary" && opts.level !== "detailed") throw new InputError("--level", `must be "summary" or "detailed", got "${opts.level}"`);
      setReproducer(`flowsim run ${path} --seed ${seeds[0]}`);
      process.exitCode = await runCommand({
        scenarioPath: path,
        seeds,
        sets: parseSets(opts.set),
        tracePath: opts.trace,
        level: opts.level,
        knockout: opts.knockout === true,
        json: opts.json === true,
      });
    });

  cli
    .command("fingerprint")
    .description("print a trace file's fingerprint (SHA-256 of the file)")
    .argument("<trace>")
    .action((path: string) => {
      const reader = new TraceReader();
      const lines: string[] = [];
      for (const line of readLines(path)) {
        reader.push(line);
        lines.push(line);
      }
      console.log(fingerprintOfLines(lines));
    });

  cli
    .command("diff")
    .description("report the first event where two traces diverge")
    .argument("<a>")
    .argument("<b>")
    .action((a: string, b: string) => {
      const d = firstDivergence(readLines(a, "a"), readLines(b, "b"));
      if (d === undefined) {
        console.log("traces are identical");
        return;
      }
      console.log(formatDivergence(d));
      process.exitCode = 1;
    });

  cli
    .command("export")
    .description("export a trace to the Chrome Trace Event Format (opens in Perfetto)")
    .argument("<trace>")
    .option("-o, --out <file>", "output file (default: <trace>.chrome.json)")
    .action((path: string, opts: { out?: string }) => {
      const reader = new TraceReader();
      const events = [];
      for (const line of readLines(path)) events.push(reader.push(line));
      const out = opts.out ?? path.replace(/\.jsonl$/, "") + ".chrome.json";
      const chrome = exportChromeTrace(events);
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(`${out}.partial`, JSON.stringify(chrome));
      renameSync(`${out}.partial`, out);
      console.log(`wrote ${out} (${chrome.traceEvents.length} events)`);
    });

  cli
    .command("viz")
    .description("open traces in the browser visualizer (serves on 127.0.0.1 until interrupted)")
    .argument("<trace...>")
    .option("--port <n>", "port (the next free one if taken)", "5173")
    .action(async (paths: string[], opts: { port: string }) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InputError("--port", `must be a port number, got "${opts.port}"`);
      // The content is not checked here: the page shows a bad line in its banner, with the valid prefix.
      const { startVizServer } = await import("../viz/serve");
      const viz = await startVizServer(paths, { port });
      console.log(`flowsim viz: ${viz.pageUrl(0)}`);
      viz.tracePaths.slice(1).forEach((_, i) => console.log(`             ${viz.pageUrl(i + 1)}`));
    });
  return cli;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof InputError) {
      console.error(`flowsim: ${e.message}`);
      return 2;
    }
    if (e instanceof InvariantError) {
      console.error(`flowsim: invariant violated: ${e.message}`);
      if (reproducer !== undefined) console.error(`reproduce: ${reproducer}`);
      if (process.env.FLOWSIM_DEBUG) console.error(e.stack);
      return 3;
    }
    console.error(`flowsim: ${(e as Error).message ?? String(e)}`);
    if (reproducer !== undefined) console.error(`reproduce: ${reproducer}`);
    if (process.env.FLOWSIM_DEBUG) console.error((e as Error).stack);
    return 1;
  }
}

process.exitCode = await main(process.argv);
