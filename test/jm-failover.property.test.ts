/**
 * Property: a BATCH library job (wordcount or batch-dag, parallelism fixed or "auto" for
 * the adaptive batch scheduler) whose JobManager crashes at a random time — sometimes with
 * a TaskManager crash too — still finishes with the oracle's output; with batch job
 * recovery on, no subtask whose job vertex had finished (and been logged) well before the
 * crash runs again, unless its partitions were lost (its TaskManager crashed) or a producer
 * it read from ran again (the region rule).
 *
 * Output: exact when no sink subtask had been deployed before the crash. Otherwise a sink
 * subtask that ran (and committed, at the end of its input) during the outage, or finished
 * with its event trimmed from the log, legitimately runs again and commits again — Flink's
 * non-idempotent sinks do the same — so only "nothing missing" is required.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MemorySink } from "../sim/trace/recorder";
import type { ExecutionVertexId } from "../engine/graph/execution-graph";
import { libraryCaseArb } from "./library-cases";
import { compareCase, reproduceLine, runLibraryCase, type LibraryCase } from "./library-run";
import { propRuns, propSeed, throwIfFailed } from "./prop";
import { runJob } from "../engine/job-run";
import { getJob } from "../scenarios/jobs/index";
import { oracleOutputs, runConfig } from "./library-run";

/** A job vertex finished this long before the crash: its events are durable (flushed at once, ~20 ms blob latency). */
const SAFE_NS = 2e9;

interface FailoverCase {
  c: LibraryCase;
  crashFraction: number;
  downtimeMs: number;
  recovery: boolean;
  /** tm-1 crashes at this fraction of (crash + downtime + 5 s), back 2 s later. */
  tmCrashFraction: number | undefined;
}

const caseArb: fc.Arbitrary<FailoverCase> = fc.record({
  c: libraryCaseArb({ jobs: ["wordcount", "batch-dag"] }).map((c) => ({
    ...c,
    mode: "BATCH" as const,
    // Rate-limited sources, so stages take a while; a restart strategy for the TaskManager crash.
    params: { ...c.params, ratePerSecond: 2_000, sink: "transactional" },
    config: { ...c.config, "restart-strategy.type": "fixed-delay", "restart-strategy.fixed-delay.attempts": 1000, "restart-strategy.fixed-delay.delay": "1s" },
  })),
  crashFraction: fc.double({ min: 0.05, max: 0.95, noNaN: true }),
  downtimeMs: fc.constantFrom(500, 5_000, 20_000, 70_000),
  recovery: fc.boolean(),
  tmCrashFraction: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined, freq: 3 }),
});

function reproduce(f: FailoverCase): string {
  return `crashFraction=${f.crashFraction} downtimeMs=${f.downtimeMs} recovery=${f.recovery} tmCrashFraction=${f.tmCrashFraction} ${reproduceLine(f.c)}`;
}

function check(f: FailoverCase): void {
  const base = runLibraryCase(f.c, { timeLimitNs: 600e9 });
  expect(base.status, "fault-free run").toBe("FINISHED");
  const crashNs = Math.max(1, Math.round(base.makespanNs! * f.crashFraction));
  const downtimeNs = f.downtimeMs * 1e6;
  const tmCrashNs = f.tmCrashFraction === undefined ? undefined : Math.max(1, Math.round((crashNs + downtimeNs + 5e9) * f.tmCrashFraction));
  const faults: unknown[] = [{ trigger: { at: `${crashNs}ns` }, fault: { type: "crash", restartAfter: `${f.downtimeMs}ms` }, target: "jm" }];
  if (tmCrashNs !== undefined) faults.push({ trigger: { at: `${tmCrashNs}ns` }, fault: { type: "crash", restartAfter: "2s" }, target: "tm-1" });
  const job = getJob(f.c.job);
  const params = job.parseParams(f.c.params);
  const sink = new MemorySink();
  const r = runJob({
    seed: f.c.seed,
    scenario: `library/${f.c.job}`,
    config: { ...runConfig(f.c), "execution.batch.job-recovery.enabled": f.recovery },
    cluster: f.c.cluster,
    job: (env) => job.build(env, params),
    faults,
    timeLimitNs: 900e9,
    trace: { sink, level: "summary" },
  });
  if (r.status !== "FINISHED") throw new Error(`status ${r.status}: ${r.failureCause}`);
  const events = sink.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const before = events.filter((e) => (e.t as number) < crashNs);
  const sinkVertices = new Set(r.jobManager.jobGraph.vertices.filter((v) => v.nodes.some((n) => n.kind === "sink")).map((v) => `v${v.index}`));
  const sinkDeployed = before.some((e) => e.kind === "TaskStateChanged" && sinkVertices.has(e.vertex as string) && e.state === "DEPLOYING");
  const cmp = compareCase(f.c, r);
  if (!sinkDeployed && !cmp.equal) throw new Error(`output differs from the oracle: ${cmp.summary}`);
  if (sinkDeployed) {
    // Reruns may commit again: the distinct records must still be exactly the oracle's (none lost, none made up).
    const expected = oracleOutputs(f.c);
    for (const [name, records] of expected) {
      const want = new Set(records.map((x) => JSON.stringify(x)));
      const got = new Set((r.outputs.get(name) ?? []).map((x) => JSON.stringify(x)));
      for (const x of want) if (!got.has(x)) throw new Error(`sink ${name} lost ${x}: ${cmp.summary}`);
      for (const x of got) if (!want.has(x)) throw new Error(`sink ${name} has ${x}, which the oracle has not: ${cmp.summary}`);
    }
  }

  const failover = r.jobManagerFailovers[0];
  if (failover === undefined) return; // the job ended before the crash
  const recovered = events.some((e) => e.kind === "JobManagerLeaderElected" && e.recovery === "event-log");
  if (!f.recovery || !recovered) return;
  // Latest finish (time, host) of every subtask before the crash; a job vertex's is its last subtask's.
  const finishedAt = new Map<string, { t: number; host: string }>();
  for (const e of before) if (e.kind === "TaskStateChanged" && e.state === "FINISHED") finishedAt.set(`${e.vertex as string}[${e.subtask as number}]`, { t: e.t as number, host: e.host as string });
  const vertexDoneAt = new Map<string, number>();
  for (const v of failover.finishedAtLoss) {
    const jv = v.slice(0, v.indexOf("["));
    vertexDoneAt.set(jv, Math.max(vertexDoneAt.get(jv) ?? 0, finishedAt.get(v)?.t ?? Infinity));
  }
  const subtasksOf = new Map<string, number>();
  for (const v of r.jobManager.executionGraph.vertices) subtasksOf.set(`v${v.vertexIndex}`, (subtasksOf.get(`v${v.vertexIndex}`) ?? 0) + 1);
  const safe = (v: string): boolean => {
    const jv = v.slice(0, v.indexOf("["));
    const done = failover.finishedAtLoss.filter((x) => x.startsWith(`${jv}[`)).length === subtasksOf.get(jv);
    const at = finishedAt.get(v);
    const lostHost = tmCrashNs !== undefined && at !== undefined && at.host === "tm-1" && tmCrashNs >= at.t;
    return done && (vertexDoneAt.get(jv) ?? Infinity) <= crashNs - SAFE_NS && !lostHost;
  };
  const rerun = new Set(failover.rerunFinished);
  const eg = r.jobManager.executionGraph;
  for (const v of rerun) {
    if (!safe(v)) continue;
    const vertex = eg.vertexById.get(v as ExecutionVertexId)!;
    const producers = vertex.inputGates.flatMap((g) => g.channels.map((ch) => eg.partitionById.get(ch.partitionId)!.producer as string));
    if (!producers.some((p) => rerun.has(p))) throw new Error(`${v} finished (and was logged) before the crash, its partitions survived and no producer of it reran, yet it ran again`);
  }
}

describe("JobManager failover of BATCH jobs", () => {
  it(
    "random library jobs with a JobManager crash (and sometimes a TaskManager crash) finish with the oracle's output; recovery reruns no safely finished subtask",
    () => {
      const details = fc.check(
        fc.property(caseArb, (f) => {
          check(f);
        }),
        { numRuns: propRuns(12), seed: propSeed(), endOnFailure: false, interruptAfterTimeLimit: 150_000, markInterruptAsFailure: false },
      );
      throwIfFailed(details, reproduce);
    },
    240_000,
  );
});
