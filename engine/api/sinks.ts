/**
 * Sink specifications for DataStream.sinkTo. A sink names its output in the external store
 * (engine/external-store.ts); sink names are unique within a job.
 * - CollectSink: one writer node that appends each record (visible at once; duplicates
 *   under failover — at-least-once).
 * - TransactionalSink: Sink V2 with two-phase commit — a writer node and a chained
 *   committer node (forward, same parallelism), see TransactionalSinkWriter /
 *   SinkCommitterOperator in operators.ts.
 */
import { InputError } from "../../sim/errors";

export interface SinkSpec {
  readonly kind: "collect" | "transactional" | "discard";
  /** The store's name for this sink's output. */
  readonly sinkName: string;
  /**
   * Transactional sinks: fence older attempts of the same subtask (Kafka-style, a stable
   * transactional id prefix per subtask). False gives each attempt unrelated ids, as a
   * sink configured with per-attempt transactional ids would: zombies are not fenced.
   */
  readonly fencing?: boolean;
}

function checkName(field: string, name: string): void {
  if (typeof name !== "string" || name.length === 0 || name.includes("/")) {
    throw new InputError(field, `must be a non-empty name without "/", got ${JSON.stringify(name)}`);
  }
}

export function CollectSink(name: string): SinkSpec {
  checkName("CollectSink.name", name);
  return { kind: "collect", sinkName: name };
}

/** Flink's DiscardingSink: consumes records and keeps nothing (throughput and backpressure studies). */
export function DiscardingSink(name: string): SinkSpec {
  checkName("DiscardingSink.name", name);
  return { kind: "discard", sinkName: name };
}

export function TransactionalSink(name: string, options: { fencing?: boolean } = {}): SinkSpec {
  checkName("TransactionalSink.name", name);
  return { kind: "transactional", sinkName: name, fencing: options.fencing ?? true };
}
