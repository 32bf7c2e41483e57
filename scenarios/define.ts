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
import { JOBS, type LibraryJob } from "./jobs/index";

export interface ScenarioSpec {
  name: string;
  description: string;
  cluster: ClusterShape;
  config?: Record<string, unknown>;
  /** A library job name (scenarios/jobs) or a program. */
  job: string | ((env: StreamExecutionEnvironment) => void);
  /** Parameters of a library job (records, parallelism, keys, ...). */
  params?: Record<string, unknown>;
  faults?: unknown[];
  /** Virtual time after which an unbounded job is cancelled. */
  timeLimit?: string;
  /** Option overrides of the knock-out twin. */
  knockout?: Record<string, unknown>;
  /** Checks on the result: each returns failures (empty when met). */
  expect?: Expectation[];
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
  libraryJob: LibraryJob | undefined;
}

const FIELDS = ["name", "description", "cluster", "config", "job", "params", "faults", "timeLimit", "knockout", "expect"];

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
  return { ...spec, timeLimitNs, libraryJob };
}

/** The program of a scenario (library job with its params, or the inline function). */
export function programOf(scenario: Scenario): (env: StreamExecutionEnvironment) => void {
  if (scenario.libraryJob !== undefined) {
    const job = scenario.libraryJob;
    const params = job.parseParams(scenario.params ?? {}, "scenario.params");
    return (env) => job.build(env, params);
  }
  return scenario.job as (env: StreamExecutionEnvironment) => void;
}
