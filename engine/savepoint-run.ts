/**
 * A job's life over several runs joined by savepoints: each phase but the last stops with
 * a savepoint (stop-with-savepoint, optionally --drain), and the next phase starts the same
 * program from it (`execution.state-recovery.path`) with its own config — a new
 * parallelism, state backend or claim mode. The blob store's objects (the savepoint, and
 * whatever else the old job left) and the external store (the committed output) carry
 * over; each phase is a new simulated cluster whose virtual clock starts at 0.
 *
 * Invariants: phase i > 0 restores the savepoint phase i − 1 completed (a phase that did
 * not complete its savepoint ends the run with an error naming it); the external store is
 * one object across phases, so committed output accumulates exactly as one job's would.
 */
import { InputError } from "../sim/errors";
import { parseDuration } from "../sim/time";
import type { TraceOptions } from "../sim/trace/recorder";
import { parseSavepointFormat, type SavepointFormat } from "./checkpoint/savepoint";
import { EngineConfig } from "./config";
import { runJob, type JobRunOptions, type JobRunResult } from "./job-run";

export interface PhaseSpec {
  /** Config overrides for this phase (Flink option names): parallelism.default, state.backend.type, execution.state-recovery.claim-mode, ... */
  config?: Record<string, unknown>;
  /** The program of this phase (the same job, e.g. with other operator parallelisms); unset: the base job. */
  job?: JobRunOptions["job"];
  /** false: start from scratch, ignoring the previous phase's savepoint (a knock-out twin's "restore without state"). */
  restore?: boolean;
  /** stop-with-savepoint at this virtual time of the phase (every phase but the last). */
  stopWithSavepoint?: { at: string | number; drain?: boolean; format?: SavepointFormat };
}

export interface PhasedRunResult extends JobRunResult {
  /** Every phase's result, in order (the last is this result itself). */
  phases: JobRunResult[];
}

const PHASE_FIELDS = ["config", "params", "stopWithSavepoint", "restore"];
const STOP_FIELDS = ["at", "drain", "format"];

/** Validates phases (one-line errors naming the field). */
export function parsePhases(phases: unknown, field = "scenario.phases"): PhaseSpec[] {
  if (!Array.isArray(phases) || phases.length < 2) throw new InputError(field, "must be a list of at least two phases (the first stops with a savepoint, the next restores it)");
  return phases.map((p, i) => {
    const f = `${field}[${i}]`;
    if (p === null || typeof p !== "object") throw new InputError(f, "must be an object { config?, stopWithSavepoint? }");
    for (const k of Object.keys(p)) if (!PHASE_FIELDS.includes(k)) throw new InputError(`${f}.${k}`, `unknown field; expected one of ${PHASE_FIELDS.join(", ")}`);
    const s = (p as PhaseSpec).stopWithSavepoint;
    const last = i === phases.length - 1;
    if (!last && s === undefined) throw new InputError(`${f}.stopWithSavepoint`, "missing: every phase but the last stops with a savepoint the next one restores");
    if (s !== undefined) {
      for (const k of Object.keys(s)) if (!STOP_FIELDS.includes(k)) throw new InputError(`${f}.stopWithSavepoint.${k}`, `unknown field; expected one of ${STOP_FIELDS.join(", ")}`);
      parseDuration(s.at, `${f}.stopWithSavepoint.at`);
      parseSavepointFormat(s.format, `${f}.stopWithSavepoint.format`);
      if (s.drain !== undefined && typeof s.drain !== "boolean") throw new InputError(`${f}.stopWithSavepoint.drain`, "must be true or false");
    }
    return p as PhaseSpec;
  });
}

/**
 * Runs the phases; `base` is the job (its config is the first phase's, each phase's
 * overrides apply on top of it), `traceFor(i)` the trace of phase i.
 */
export function runPhases(base: JobRunOptions, phases: readonly PhaseSpec[], traceFor?: (phase: number) => TraceOptions | undefined): PhasedRunResult {
  const baseConfig = base.config instanceof EngineConfig ? base.config.toJSON() : (base.config ?? {});
  const results: JobRunResult[] = [];
  let previous: JobRunResult | undefined;
  phases.forEach((phase, i) => {
    const config: Record<string, unknown> = { ...baseConfig, ...phase.config };
    if (previous !== undefined && phase.restore !== false) {
      const sp = previous.savepoints?.completed.at(-1);
      if (sp === undefined) {
        const why = previous.savepoints?.failed.at(-1)?.reason ?? `the job was ${previous.status} before it`;
        throw new InputError(`phases[${i - 1}].stopWithSavepoint`, `phase ${i} completed no savepoint for phase ${i + 1} to restore (${why})`);
      }
      config["execution.state-recovery.path"] = sp.path;
    }
    const stop = phase.stopWithSavepoint;
    const trace = traceFor?.(i);
    const r = runJob({
      ...base,
      ...(phase.job !== undefined ? { job: phase.job } : {}),
      scenario: `${base.scenario} [phase ${i + 1}/${phases.length}]`,
      config,
      ...(trace !== undefined ? { trace } : {}),
      ...(stop !== undefined ? { savepoints: [{ atNs: parseDuration(stop.at, "stopWithSavepoint.at"), terminate: true, drain: stop.drain ?? false, format: parseSavepointFormat(stop.format, "stopWithSavepoint.format") }] } : {}),
      ...(previous !== undefined ? { blobObjects: previous.world.blobStore.objectsSnapshot(), externalStore: previous.store } : {}),
    });
    results.push(r);
    previous = r;
  });
  return { ...previous!, phases: results };
}

/** The phases of a result (a single run is one phase). */
export function phasesOf(r: JobRunResult): JobRunResult[] {
  return (r as Partial<PhasedRunResult>).phases ?? [r];
}
