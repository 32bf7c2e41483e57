/**
 * Result partition types: how the output of a job edge is stored and when it may be read,
 * as in Flink's ResultPartitionType (the subset the simulator models).
 *
 * | type              | re-consumable | consume constraint                 | released by |
 * |-------------------|---------------|------------------------------------|-------------|
 * | PIPELINED_BOUNDED | no            | MUST_BE_PIPELINED (read as written) | upstream    |
 * | BLOCKING          | yes           | BLOCKING (read after producer done) | scheduler   |
 * | HYBRID_FULL       | yes (1.17+)   | CAN_BE_PIPELINED                    | scheduler   |
 * | HYBRID_SELECTIVE  | no            | CAN_BE_PIPELINED                    | scheduler   |
 *
 * HYBRID_FULL spills everything, so its data survives a consumer failure: Flink 1.16
 * declared it not re-consumable ("TODO support re-consumable"), later versions (the
 * simulator's 1.19–2.0 baseline) construct it with isReconsumable = true.
 *
 * Invariant: every predicate is total over the union; adding a type is a compile error in
 * each switch below.
 */

export type ResultPartitionType = "PIPELINED_BOUNDED" | "BLOCKING" | "HYBRID_FULL" | "HYBRID_SELECTIVE";

export const RESULT_PARTITION_TYPES: readonly ResultPartitionType[] = [
  "PIPELINED_BOUNDED",
  "BLOCKING",
  "HYBRID_FULL",
  "HYBRID_SELECTIVE",
];

/** Can the partition be read again (by a restarted consumer) without rerunning its producer? */
export function isReconsumable(type: ResultPartitionType): boolean {
  switch (type) {
    case "BLOCKING":
    case "HYBRID_FULL":
      return true;
    case "PIPELINED_BOUNDED":
    case "HYBRID_SELECTIVE":
      return false;
  }
}

/**
 * Must producer and consumer run at the same time? Such edges glue their endpoints into
 * one pipelined region; all other edges split regions.
 */
export function mustBePipelinedConsumed(type: ResultPartitionType): boolean {
  switch (type) {
    case "PIPELINED_BOUNDED":
      return true;
    case "BLOCKING":
    case "HYBRID_FULL":
    case "HYBRID_SELECTIVE":
      return false;
  }
}

/** May the consumer read while the producer still runs (pipelined and hybrid)? */
export function canBePipelinedConsumed(type: ResultPartitionType): boolean {
  switch (type) {
    case "PIPELINED_BOUNDED":
    case "HYBRID_FULL":
    case "HYBRID_SELECTIVE":
      return true;
    case "BLOCKING":
      return false;
  }
}

/** Hybrid shuffle (FLIP-235): consumers may but need not run with the producer. */
export function isHybrid(type: ResultPartitionType): boolean {
  return type === "HYBRID_FULL" || type === "HYBRID_SELECTIVE";
}

/** Partitions the scheduler releases (kept until no consumer needs them), vs. upstream after consumption. */
export function isReleasedByScheduler(type: ResultPartitionType): boolean {
  return !mustBePipelinedConsumed(type);
}

/**
 * `jobmanager.partition.hybrid.partition-data-consume-constraint` (Flink's
 * HybridPartitionDataConsumeConstraint): when a consumer of a hybrid partition group may be
 * scheduled, and which of its producers' data it reads.
 * - UNFINISHED_PRODUCERS: once the producers are scheduled; reads them while they run
 *   (DefaultInputConsumableDecider).
 * - ONLY_FINISHED_PRODUCERS: once at least one partition of the group is finished; reads
 *   only finished partitions, the others' channels stay unknown until their producer
 *   finishes (PartialFinishedInputConsumableDecider + unknown shuffle descriptors).
 * - ALL_PRODUCERS_FINISHED: once every partition of the group is finished, like blocking
 *   (AllFinishedInputConsumableDecider).
 */
export const HYBRID_CONSUME_CONSTRAINTS = ["UNFINISHED_PRODUCERS", "ONLY_FINISHED_PRODUCERS", "ALL_PRODUCERS_FINISHED"] as const;
export type HybridConsumeConstraint = (typeof HYBRID_CONSUME_CONSTRAINTS)[number];
