/**
 * Scenario definitions: a cluster, a config (Flink option names), a job (from the job
 * library or inline), faults, how long to run, and expectations on the effect. A scenario
 * may declare a knock-out twin — option overrides that disable its mechanism — which must
 * fail the scenario's expectations (DESIGN style rule 10).
 *
 * Every field is validated once, with one-line errors naming the field.
 */
import { InputError, unknownNameProblem } from "../sim/errors";
import { describe, parseDuration, type Ns } from "../sim/time";
import type { StreamExecutionEnvironment } from "../engine/api/environment";
import type { ClusterShape, JobRunResult } from "../engine/job-run";
import { DEFAULT_COSTS, withCosts, type CostModel } from "../engine/costs";
import { JOBS, type LibraryJob } from "./jobs/index";
import { parsePhases } from "../engine/savepoint-run";

export interface ScenarioSpec {
  name: string;
  description: string;
  cluster: ClusterShape;
  config?: Record<string, unknown>;
  /** A library job name (scenarios/jobs) or a program taking the scenario's params. */
  job: string | ((env: StreamExecutionEnvironment, params: Record<string, unknown>) => void);
  /** Cost model overrides (engine/costs.ts field names, ns), e.g. { taskStartupNsPerTask: 20e6 }. */
  costs?: Record<string, number>;
  /** Parameters of the job (records, parallelism, keys, ...). */
  params?: Record<string, unknown>;
  faults?: unknown[];
  /** Virtual time after which an unbounded job is cancelled. */
  timeLimit?: string;
  /** The knock-out twin: option and/or param overrides that disable the mechanism (`phases`: per phase, merged by index). */
  knockout?: { config?: Record<string, unknown>; params?: Record<string, unknown>; phases?: ScenarioPhase[] };
  /**
   * A job's life over several runs joined by savepoints (engine/savepoint-run.ts): every
   * phase but the last stops with a savepoint, the next restores it with its own config
   * and params (parallelism, state backend, claim mode). Expectations see the last phase's
   * result with `phases` (all of them) and the output committed over all phases.
   */
  phases?: ScenarioPhase[];
  /** Checks on the result: each returns failures (empty when met). */
  expect?: Expectation[];
}

export interface ScenarioPhase {
  config?: Record<string, unknown>;
  params?: Record<string, unknown>;
  stopWithSavepoint?: { at: string | number; drain?: boolean; format?: "CANONICAL" | "NATIVE" };
  /** false: this phase starts from scratch, ignoring the savepoint (a knock-out: "restore without state"). */
  restore?: boolean;
}

export interface Expectation {
  /** Shown in the summary, e.g. "finishes", "source throughput within 5 % of the sink's". */
  name: string;
  check: (result: JobRunResult, ctx: ExpectationContext) => string | undefined;
}

export interface ExpectationContext {
  scenario: Scenario;
  seed: number;
  knockout: boolean;
}

export interface Scenario extends ScenarioSpec {
  timeLimitNs: Ns | undefined;
  /** The cost model with `costs` applied (undefined: the defaults). */
  costModel: CostModel | undefined;
  libraryJob: LibraryJob | undefined;
}

const FIELDS = ["name", "description", "cluster", "config", "costs", "job", "params", "faults", "timeLimit", "knockout", "expect", "phases"];

/** The spec a scenario was defined from (its derived fields dropped), to define a variant of it. */
export function specOf(scenario: Scenario): ScenarioSpec {
  const { timeLimitNs: _limit, costModel: _costs, libraryJob: _job, ...spec } = scenario;
  return spec;
}

export function defineScenario(spec: ScenarioSpec): Scenario {
  if (spec === null || typeof spec !== "object") throw new InputError("scenario", `expected an object, got ${describe(spec)}`);
  for (const key of Object.keys(spec)) {
    if (!FIELDS.includes(key)) throw new InputError(`scenario.${key}`, unknownNameProblem("field", key, FIELDS));
  }
  if (typeof spec.name !== "string" || spec.name.length === 0) throw new InputError("scenario.name", "must be a non-empty string");
  if (spec.job === undefined) throw new InputError("scenario.job", "missing: name a library job or give a program");
  let libraryJob: LibraryJob | undefined;
  if (typeof spec.job === "string") {
    libraryJob = JOBS.get(spec.job);
    if (libraryJob === undefined) throw new InputError("scenario.job", unknownNameProblem("library job", spec.job, [...JOBS.keys()]));
  } else if (typeof spec.job !== "function") {
    throw new InputError("scenario.job", `expected a library job name or a function, got ${describe(spec.job)}`);
  }
  if (spec.cluster === undefined || typeof spec.cluster !== "object") throw new InputError("scenario.cluster", "missing: give at least { taskManagers }");
  const timeLimitNs = spec.timeLimit === undefined ? undefined : parseDuration(spec.timeLimit, "scenario.timeLimit");
  const costModel = spec.costs === undefined ? undefined : withCosts(spec.costs, DEFAULT_COSTS, "scenario.costs");
  if (spec.phases !== undefined) parsePhases(spec.phases.map(({ params: _p, restore: _r, ...rest }) => rest), "scenario.phases");
  return { ...spec, timeLimitNs, costModel, libraryJob };
}

/** The program of a scenario (library job or inline function) with its params. */
export function programOf(scenario: Scenario, paramOverrides: Record<string, unknown> = {}): (env: StreamExecutionEnvironment) => void {
  const raw = { ...scenario.params, ...paramOverrides };
  if (scenario.libraryJob !== undefined) {
    const job = scenario.libraryJob;
    const params = job.parseParams(raw, "scenario.params");
    return (env) => job.build(env, params);
  }
  const program = scenario.job as (env: StreamExecutionEnvironment, params: Record<string, unknown>) => void;
  return (env) => program(env, raw);
}

/** Config and params of a scenario, or of its knock-out twin. */
export function variantOf(scenario: Scenario, knockout: boolean): { config: Record<string, unknown>; params: Record<string, unknown> } {
  return {
    config: { ...scenario.config, ...(knockout ? scenario.knockout?.config : {}) },
    params: { ...scenario.params, ...(knockout ? scenario.knockout?.params : {}) },
  };
}
