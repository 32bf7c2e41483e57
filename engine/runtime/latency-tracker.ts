/**
 * Latency from latency markers (metrics.latency.interval), in the two senses DESIGN asks
 * for: processing latency — source emission to arrival at a sink — and visibility
 * latency — source emission to the moment the sink's output containing it became
 * visible: at once for a non-transactional sink, at the next commit of that sink subtask's
 * transaction for a transactional one.
 */
export class LatencyTracker {
  readonly processingNs: number[] = [];
  readonly visibilityNs: number[] = [];
  /** Markers waiting for their transactional sink subtask's next commit. */
  private readonly pending = new Map<string, number[]>();

  constructor(private readonly transactionalSinks: ReadonlySet<string>) {}

  markerAtSink(sink: string, subtask: number, originNs: number, nowNs: number): void {
    this.processingNs.push(nowNs - originNs);
    if (!this.transactionalSinks.has(sink)) {
      this.visibilityNs.push(nowNs - originNs);
      return;
    }
    const key = `${sink}-${subtask}`;
    let list = this.pending.get(key);
    if (list === undefined) this.pending.set(key, (list = []));
    list.push(originNs);
  }

  /** A transaction of `writerId` ("<sink>-<subtask>/attempt-<n>") committed at `nowNs`. */
  committed(writerId: string, nowNs: number): void {
    const key = writerId.split("/")[0]!;
    const list = this.pending.get(key);
    if (list === undefined) return;
    for (const origin of list) this.visibilityNs.push(nowNs - origin);
    this.pending.delete(key);
  }

  static percentile(samples: readonly number[], p: number): number | undefined {
    if (samples.length === 0) return undefined;
    const sorted = [...samples].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  }
}
