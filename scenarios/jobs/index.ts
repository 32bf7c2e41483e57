/**
 * The job library's registry: jobs by name, for scenarios (`job: "wordcount"`), fuzz
 * reproducers (a job name and its params in JSON) and the CLI.
 */
import { InputError, unknownNameProblem } from "../../sim/errors";
import { StreamExecutionEnvironment } from "../../engine/api/environment";
import type { StreamGraph } from "../../engine/graph/stream-graph";
import type { JobDefinition } from "./job";
import { batchDag } from "./batch-dag";
import { broadcastRules } from "./broadcast-rules";
import { coProcessJoin } from "./co-process-join";
import { itemTrackerJob } from "./item-tracker";
import { idleSourceWindows } from "./idle-source-windows";
import { keyedTimers } from "./keyed-timers";
import { rebalanceRescale } from "./rebalance-rescale";
import { sessionWindow } from "./session-window";
import { lateDataWindow, slidingWindow, tumblingWindow } from "./tumbling-window";
import { windowJoin } from "./window-join";
import { wordcount } from "./wordcount";

export type { JobDefinition } from "./job";
/** A library job (the name scenarios use). */
export type LibraryJob = JobDefinition;

/** Every library job, in registration order. */
export const JOBS: ReadonlyMap<string, JobDefinition> = new Map(
  [wordcount, tumblingWindow, lateDataWindow, slidingWindow, sessionWindow, keyedTimers, rebalanceRescale, batchDag, coProcessJoin, broadcastRules, windowJoin, itemTrackerJob, idleSourceWindows].map((j) => [j.name, j as JobDefinition]),
);

export function jobNames(): string[] {
  return [...JOBS.keys()];
}

export function getJob(name: string): JobDefinition {
  const job = JOBS.get(name);
  if (job === undefined) throw new InputError("job", unknownNameProblem("job", name, jobNames()));
  return job;
}

export interface BuiltJob {
  readonly job: JobDefinition;
  /** The validated params, defaults filled in. */
  readonly params: unknown;
  readonly env: StreamExecutionEnvironment;
  readonly graph: StreamGraph;
}

/** Validates params and builds the job's StreamGraph in a fresh environment named after it. */
export function buildJob(name: string, params: unknown = {}): BuiltJob {
  const job = getJob(name);
  const parsed = job.parseParams(params);
  const env = new StreamExecutionEnvironment(name);
  job.build(env, parsed);
  return { job, params: parsed, env, graph: env.getStreamGraph() };
}
