/**
 * Builds the JobManager's speculative execution handler from the config: undefined unless
 * the job runs in BATCH mode with `execution.batch.speculative.enabled` (Flink speculates
 * only batch jobs), so a run without it is exactly what it was before speculation existed.
 */
import type { EngineConfig } from "../config";
import type { ExecutionGraph } from "../graph/execution-graph";
import type { JobGraph } from "../graph/job-graph";
import { ExecutionTimeBasedSlowTaskDetector } from "../scheduler/speculative/slow-task-detector";
import { SpeculativeExecutionHandler, type SpeculationHost } from "../scheduler/speculative/speculative-execution";

export function createSpeculation(config: EngineConfig, jobGraph: JobGraph, executionGraph: ExecutionGraph, host: SpeculationHost): SpeculativeExecutionHandler | undefined {
  if (jobGraph.runtimeMode !== "BATCH" || !config.get("execution.batch.speculative.enabled")) return undefined;
  const detector = new ExecutionTimeBasedSlowTaskDetector({
    baselineRatio: config.get("slow-task-detector.execution-time.baseline-ratio"),
    baselineMultiplier: config.get("slow-task-detector.execution-time.baseline-multiplier"),
    baselineLowerBoundNs: config.get("slow-task-detector.execution-time.baseline-lower-bound"),
  });
  return new SpeculativeExecutionHandler(
    host,
    {
      maxConcurrentExecutions: config.get("execution.batch.speculative.max-concurrent-executions"),
      blockSlowNodeDurationNs: config.get("execution.batch.speculative.block-slow-node-duration"),
      checkIntervalNs: config.get("slow-task-detector.check-interval"),
    },
    detector,
    jobGraph,
    executionGraph,
  );
}
