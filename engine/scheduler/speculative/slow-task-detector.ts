/**
 * Slow-task detection for speculative execution (flink-mechanics §3), behind a small
 * interface so another detector can be plugged in and compared (DESIGN style rule 6).
 *
 * ExecutionTimeBasedSlowTaskDetector follows Flink's class of that name: for each job
 * vertex that is not finished and whose finished fraction of subtasks is ≥ the baseline
 * ratio R, the finished executions are sorted by execution time per input byte (raw time
 * when input bytes are unknown, as for sources); the first round(N·R) are kept and the one
 * at index count/2 is the median T; baseline = T × multiplier. An execution that is not
 * terminal, CREATED or CANCELING is slow iff its raw time ≥ the lower bound and its
 * (weighted) time ≥ the baseline.
 *
 * Pure: a function of the snapshot and `nowNs`. Invariant: results are in input order
 * (vertices, then subtasks, then attempts), so a run stays deterministic.
 */
import type { ExecutionState } from "../../trace-events";

/** One attempt of a subtask, as the detector sees it. */
export interface ExecutionSnapshot {
  attemptId: string;
  state: ExecutionState;
  /** When it entered DEPLOYING (undefined: not yet deployed, execution time 0). */
  deployingNs: number | undefined;
  /** When it entered FINISHED (only read for FINISHED executions). */
  finishedNs: number | undefined;
  /** Bytes it reads; undefined when unknown (sources). */
  inputBytes: number | undefined;
}

export interface SubtaskSnapshot {
  /** The execution vertex id ("v1[3]"). */
  vertex: string;
  /** Its current attempts (failed ones are archived and left out). */
  executions: readonly ExecutionSnapshot[];
}

export interface JobVertexSnapshot {
  /** One entry per subtask, in subtask order; length = parallelism. */
  subtasks: readonly SubtaskSnapshot[];
}

export interface SlowTask {
  vertex: string;
  /** The slow attempts of that subtask, in the order given. */
  attemptIds: string[];
}

export interface SlowTaskDetector {
  readonly name: string;
  /** The slow subtasks now, in the order of the snapshot. */
  findSlowTasks(jobVertices: readonly JobVertexSnapshot[], nowNs: number): SlowTask[];
}

export interface ExecutionTimeDetectorSettings {
  /** slow-task-detector.execution-time.baseline-ratio */
  baselineRatio: number;
  /** slow-task-detector.execution-time.baseline-multiplier */
  baselineMultiplier: number;
  /** slow-task-detector.execution-time.baseline-lower-bound, ns */
  baselineLowerBoundNs: number;
}

/** An execution's time and input bytes, compared as Flink's ExecutionTimeWithInputBytes. */
export interface TimeWithBytes {
  timeNs: number;
  inputBytes: number | undefined;
}

/**
 * Flink's ExecutionTimeWithInputBytes.compareTo: time per input byte when both sides know
 * their bytes (bytes clamped away from 0), raw time when neither does. Flink throws when
 * only one side knows; here raw time decides (a mix happens only if a vertex's executions
 * disagree on knowing their input, which the JobManager never reports).
 */
export function compareTimeWithBytes(a: TimeWithBytes, b: TimeWithBytes): number {
  if (a.inputBytes === undefined || b.inputBytes === undefined) return a.timeNs - b.timeNs;
  return a.timeNs / Math.max(a.inputBytes, Number.MIN_VALUE) - b.timeNs / Math.max(b.inputBytes, Number.MIN_VALUE);
}

/** Execution time: FINISHED time (or now) − DEPLOYING time; 0 before deployment. */
export function executionTimeNs(e: ExecutionSnapshot, nowNs: number): number {
  if (e.deployingNs === undefined) return 0;
  if (e.state === "FINISHED") return (e.finishedNs ?? nowNs) - e.deployingNs;
  return nowNs - e.deployingNs;
}

function isTerminal(state: ExecutionState): boolean {
  return state === "FINISHED" || state === "CANCELED" || state === "FAILED";
}

export class ExecutionTimeBasedSlowTaskDetector implements SlowTaskDetector {
  readonly name = "execution-time";

  constructor(private readonly settings: ExecutionTimeDetectorSettings) {
    if (!(settings.baselineRatio >= 0 && settings.baselineRatio < 1)) throw new RangeError(`baseline ratio must be in [0, 1), got ${settings.baselineRatio}`);
    if (!(settings.baselineMultiplier > 0)) throw new RangeError(`baseline multiplier must be positive, got ${settings.baselineMultiplier}`);
    if (!(settings.baselineLowerBoundNs >= 0)) throw new RangeError(`baseline lower bound must be ≥ 0, got ${settings.baselineLowerBoundNs}`);
  }

  findSlowTasks(jobVertices: readonly JobVertexSnapshot[], nowNs: number): SlowTask[] {
    const slow: SlowTask[] = [];
    for (const jv of jobVertices) {
      const baseline = this.baseline(jv, nowNs);
      if (baseline === undefined) continue;
      for (const st of jv.subtasks) {
        // A finished subtask is not looked at (Flink: the vertex's state is terminal).
        if (st.executions.some((e) => e.state === "FINISHED")) continue;
        const attemptIds: string[] = [];
        for (const e of st.executions) {
          if (isTerminal(e.state) || e.state === "CREATED") continue;
          const timeNs = executionTimeNs(e, nowNs);
          if (timeNs >= this.settings.baselineLowerBoundNs && compareTimeWithBytes({ timeNs, inputBytes: e.inputBytes }, baseline) >= 0) attemptIds.push(e.attemptId);
        }
        if (attemptIds.length > 0) slow.push({ vertex: st.vertex, attemptIds });
      }
    }
    return slow;
  }

  /**
   * The vertex's baseline, or undefined when it is not checked: finished, or fewer than
   * the baseline ratio of its subtasks finished.
   */
  baseline(jv: JobVertexSnapshot, nowNs: number): TimeWithBytes | undefined {
    const n = jv.subtasks.length;
    const finished: TimeWithBytes[] = [];
    let finishedSubtasks = 0;
    for (const st of jv.subtasks) {
      let done = false;
      for (const e of st.executions) {
        if (e.state !== "FINISHED") continue;
        done = true;
        finished.push({ timeNs: executionTimeNs(e, nowNs), inputBytes: e.inputBytes });
      }
      if (done) finishedSubtasks++;
    }
    if (n === 0 || finishedSubtasks === n || finishedSubtasks / n < this.settings.baselineRatio) return undefined;
    const count = Math.round(n * this.settings.baselineRatio);
    // Flink: no finished execution counts, baseline 0 (every long-enough attempt is slow).
    if (count === 0) return { timeNs: 0, inputBytes: undefined };
    // Stable sort with a total order: ties keep subtask order.
    const first = finished
      .map((f, i) => ({ f, i }))
      .sort((a, b) => compareTimeWithBytes(a.f, b.f) || a.i - b.i)
      .slice(0, count);
    const median = first[Math.floor(count / 2)]!.f;
    return { timeNs: median.timeNs * this.settings.baselineMultiplier, inputBytes: median.inputBytes };
  }
}
