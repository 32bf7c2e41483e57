/**
 * Serves the visualizer with one or more trace files: a Vite dev server on loopback
 * only, with a small middleware that serves exactly the given files at /traces/<i>/<name>
 * (nothing else from the disk), and the page URL that opens the first. Used by
 * `npm run viz -- <trace>`, `flowsim viz <trace>`, the e2e tests and the benchmark.
 */
import { createReadStream, statSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createServer, type Plugin, type ViteDevServer } from "vite";
import { InputError } from "../sim/errors";

const VIZ_ROOT = dirname(fileURLToPath(import.meta.url));
export const LOOPBACK = "127.0.0.1";

export interface VizServer {
  server: ViteDevServer;
  /** Base URL, e.g. http://127.0.0.1:5173 */
  origin: string;
  /** Served path of each trace, in the order given. */
  tracePaths: string[];
  /** The page URL that opens trace i. */
  pageUrl(i?: number): string;
  close(): Promise<void>;
}

function servedPath(i: number, file: string): string {
  return `/traces/${i}/${encodeURIComponent(basename(file))}`;
}

/** Serves the given files (absolute paths) and nothing else. */
function tracesPlugin(files: readonly string[]): Plugin {
  const byPath = new Map(files.map((f, i) => [servedPath(i, f), f]));
  return {
    name: "flowsim-traces",
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = (req.url ?? "").split("?")[0]!;
        const file = byPath.get(path);
        if (file === undefined) return next();
        res.setHeader("Content-Type", "application/x-ndjson; charset=utf-8");
        res.setHeader("Cache-Control", "no-store");
        // 1 MiB reads: fewer, larger chunks reach the page's incremental parser.
        createReadStream(file, { highWaterMark: 1 << 20 })
          .on("error", (err) => {
            res.statusCode = 500;
            res.end(String(err));
          })
          .pipe(res);
      });
    },
  };
}

export async function startVizServer(traceFiles: readonly string[], opts: { port?: number } = {}): Promise<VizServer> {
  const files = traceFiles.map((f) => resolve(f));
  for (const f of files) {
    let ok = false;
    try {
      ok = statSync(f).isFile();
    } catch {
      ok = false;
    }
    if (!ok) throw new InputError("trace", `no such file: ${f}`);
  }
  const server = await createServer({
    root: VIZ_ROOT,
    configFile: false,
    logLevel: "warn",
    clearScreen: false,
    server: { host: LOOPBACK, port: opts.port ?? 5173, strictPort: false },
    plugins: [tracesPlugin(files)],
    // Pre-bundle d3 up front so the first page load does not trigger a reload.
    optimizeDeps: { include: ["d3"] },
  });
  await server.listen();
  const address = server.httpServer?.address();
  const port = typeof address === "object" && address !== null ? address.port : opts.port ?? 5173;
  const origin = `http://${LOOPBACK}:${port}`;
  const tracePaths = files.map((f, i) => servedPath(i, f));
  return {
    server,
    origin,
    tracePaths,
    pageUrl: (i = 0) => (tracePaths[i] === undefined ? `${origin}/` : `${origin}/?trace=${encodeURIComponent(tracePaths[i]!)}`),
    close: () => server.close(),
  };
}

/** `npm run viz -- <trace...>`: serve until interrupted. */
async function cli(argv: string[]): Promise<void> {
  const files = argv.filter((a) => !a.startsWith("-"));
  try {
    const viz = await startVizServer(files);
    console.log(`flowsim viz: ${viz.pageUrl(0)}`);
    viz.tracePaths.slice(1).forEach((_, i) => console.log(`             ${viz.pageUrl(i + 1)}`));
  } catch (e) {
    console.error(`flowsim viz: ${(e as Error).message}`);
    process.exitCode = e instanceof InputError ? 2 : 1;
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await cli(process.argv.slice(2));
