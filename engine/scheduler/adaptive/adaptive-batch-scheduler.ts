/**
 * When a job runs under the adaptive batch scheduler, and its planner's configuration.
 *
 * Flink runs every BATCH job under the AdaptiveBatchScheduler (the default since 1.17) and
 * refuses one with pipelined exchanges there. flowsim uses it when it can change
 * something: a BATCH job whose exchanges are all blocking or hybrid
 * (`execution.batch-shuffle-mode` ALL_EXCHANGES_BLOCKING / _HYBRID_FULL / _HYBRID_SELECTIVE)
 * with auto-parallelism on and at least one vertex whose parallelism the user left unset.
 * Every other BATCH job runs under the static graph, which schedules a job with all
 * parallelisms set the same way, and keeps the pipelined batch modes usable.
 *
 * "Unset" follows Flink's client: `parallelism.default` written in the config is applied
 * to the program (ExecutionConfig.configure), so only operators of a program run without
 * it and without setParallelism (operator or environment) are decided.
 */
import type { EngineConfig } from "../../config";
import type { JobGraph } from "../../graph/job-graph";
import type { StreamGraph } from "../../graph/stream-graph";
import { DynamicExecutionGraph } from "../../graph/dynamic-execution-graph";
import type { RuntimeMode } from "../../api/types";
import { AdaptiveBatchPlanner } from "./adaptive-batch-planner";
import { DEFAULT_RECORD_BYTES } from "../../api/types";
import { defaultParallelismDecider, type DeciderOptions } from "./parallelism-decider";

const ADAPTIVE_SHUFFLE_MODES = new Set(["ALL_EXCHANGES_BLOCKING", "ALL_EXCHANGES_HYBRID_FULL", "ALL_EXCHANGES_HYBRID_SELECTIVE"]);

export function usesAdaptiveBatchScheduler(config: EngineConfig, runtimeMode: RuntimeMode, streamGraph: StreamGraph): boolean {
  return (
    runtimeMode === "BATCH" &&
    config.get("execution.batch.adaptive.auto-parallelism.enabled") &&
    ADAPTIVE_SHUFFLE_MODES.has(config.get("execution.batch-shuffle-mode")) &&
    !config.isSet("parallelism.default") &&
    streamGraph.nodes.some((n) => n.parallelism === undefined)
  );
}

export function deciderOptions(config: EngineConfig): DeciderOptions {
  const p = "execution.batch.adaptive.auto-parallelism";
  return {
    minParallelism: config.get(`${p}.min-parallelism`),
    maxParallelism: config.get(`${p}.max-parallelism`),
    avgDataVolumePerTaskBytes: config.get(`${p}.avg-data-volume-per-task`),
    defaultSourceParallelism: config.get(`${p}.default-source-parallelism`),
  };
}

export function createAdaptivePlanner(config: EngineConfig, jobGraph: JobGraph): AdaptiveBatchPlanner {
  const nodes = jobGraph.streamGraph.nodes;
  // A chain runs at one parallelism: it is the user's if any of its operators set it.
  const userParallelism = jobGraph.vertices.map((v) => (v.nodes.some((n) => nodes[n.id]!.parallelism !== undefined) ? v.parallelism : undefined));
  const options = deciderOptions(config);
  const inference = { upperBound: options.defaultSourceParallelism, avgDataVolumePerTaskBytes: options.avgDataVolumePerTaskBytes, defaultRecordBytes: DEFAULT_RECORD_BYTES };
  return new AdaptiveBatchPlanner(jobGraph, new DynamicExecutionGraph(jobGraph), defaultParallelismDecider(options), userParallelism, inference);
}
