/**
 * Determinism of whole engine runs (DESIGN, "Determinism rules"): every library job, in
 * both runtime modes and on rocksdb with incremental checkpoints, run in two separate processes gives the same fingerprint (and the
 * same as in this process); another seed changes the kernel hash — the seed really changes
 * what happens, not just the RunStarted line. The processes run test/fixtures/
 * run-library-job.ts with `node --import tsx`.
 */
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { jobNames } from "../scenarios/jobs/index";
import type { LibraryRunSummary } from "./fixtures/run-library-job";
import { reproduceLine, runLibraryCase, type LibraryCase } from "./library-run";

const ROOT = resolve(__dirname, "..");
const FIXTURE = resolve(__dirname, "fixtures", "run-library-job.ts");
const run = promisify(execFile);

/**
 * Small but not trivial: paced sources (periodic watermarks, timers), 3 × 2 slots; and per
 * job a STREAMING run on rocksdb with incremental checkpoints and a tiny write buffer
 * (background flushes and compactions on the disk, shared-state uploads); and a STREAMING
 * run with the changelog backend (log uploads and materializations every 100 ms).
 */
function casesFor(seed: number): LibraryCase[] {
  return jobNames().flatMap((job) =>
    (["STREAMING", "BATCH", "ROCKSDB", "CHANGELOG", "ADAPTIVE"] as const).flatMap((variant): LibraryCase[] => {
      // ADAPTIVE: BATCH with every parallelism left to the adaptive batch scheduler (decisions from bytes).
      if (variant === "ADAPTIVE" && job === "rebalance-rescale") return [];
      const mode = variant === "BATCH" || variant === "ADAPTIVE" ? "BATCH" : "STREAMING";
      const rocksdb =
        variant === "ROCKSDB"
          ? { "state.backend.type": "rocksdb", "state.backend.incremental": true, "state.backend.rocksdb.writebuffer.size": "64kb", "execution.checkpointing.interval": "100ms" }
          : variant === "CHANGELOG"
            ? { "state.changelog.enabled": true, "state.changelog.periodic-materialize.interval": "100ms", "execution.checkpointing.interval": "100ms" }
            : {};
      const params: Record<string, unknown> =
        job === "rebalance-rescale"
          ? { records: 400, sourceParallelism: 2, mapParallelism: 3, map2Parallelism: 4, sinkParallelism: 3 }
          : { records: 400, parallelism: variant === "ADAPTIVE" ? "auto" : 3 };
      const adaptive = variant === "ADAPTIVE" ? { "execution.batch.adaptive.auto-parallelism.avg-data-volume-per-task": "2kb", "execution.batch.adaptive.auto-parallelism.max-parallelism": 4 } : {};
      if (mode === "STREAMING") params.ratePerSecond = 2_000;
      return [
        {
          job,
          params,
          mode,
          config: { "taskmanager.numberOfTaskSlots": 2, "pipeline.auto-watermark-interval": "50ms", ...rocksdb, ...adaptive },
          cluster: { taskManagers: 2, coresPerTaskManager: 2 },
          seed,
        },
      ];
    }),
  );
}

/** Runs the cases in a fresh Node process; one summary per case. */
async function inChildProcess(cases: LibraryCase[]): Promise<LibraryRunSummary[]> {
  const { stdout } = await run(process.execPath, ["--import", "tsx", FIXTURE, JSON.stringify(cases)], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
  });
  const lines = stdout.trim().split("\n");
  expect(lines.length).toBe(cases.length);
  return lines.map((l) => JSON.parse(l) as LibraryRunSummary);
}

describe("engine determinism across processes", () => {
  it("every library job, in both modes: same seed ⇒ same fingerprint in two processes; another seed ⇒ another kernel hash", async () => {
    const seedA = 17;
    const seedB = 18;
    const casesA = casesFor(seedA);
    // The second process runs the cases in reverse order, so state leaking from one run into
    // the next (module-level counters, caches) shows up as a difference too.
    const [first, reversed, other] = await Promise.all([
      inChildProcess(casesA),
      inChildProcess([...casesA].reverse()),
      inChildProcess(casesFor(seedB)),
    ]);
    const second = [...reversed].reverse();
    casesA.forEach((c, i) => {
      const where = reproduceLine(c);
      const a = first[i]!;
      expect(a.status, where).toBe("FINISHED");
      expect(a.fingerprint, where).toMatch(/^[0-9a-f]{64}$/);
      expect(a.kernelHash, where).toMatch(/^[0-9a-f]{16}$/);
      expect(second[i], `second process differs\n${where}`).toEqual(a);
      expect(other[i]!.status, where).toBe("FINISHED");
      expect(other[i]!.kernelHash, `seeds ${seedA} and ${seedB} ran identical event schedules\n${where}`).not.toBe(a.kernelHash);
    });
    // The same run in this (vitest) process: same fingerprint as the child processes.
    const here = runLibraryCase(casesA[0]!);
    expect(here.fingerprint, reproduceLine(casesA[0]!)).toBe(first[0]!.fingerprint);
  }, 60_000);
});
