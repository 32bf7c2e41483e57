/**
 * How a job's components get their random streams. The runtime and the oracle both derive
 * them here, so a source produces the same data in both, whatever the parallelism: sources
 * draw record data only from per-split streams under sourceRng(job, sourceNodeName),
 * created in SourceSpec.createSplits.
 *
 * The chain of streams: the run's root Rng (world.rng, = Rng.root(seed)) → jobRng(root)
 * ("job") → "source/<node name>" (→ "split-i" / "partition-i" per split, "reader-i" per
 * reader) and "operator/<node name>/<subtask>". The functions below take the *job* stream.
 * Streams are named by node name (stable when unrelated nodes are added), never by node id
 * or parallelism. Source node names are unique within a job (the environment checks).
 */
import type { Rng } from "../../sim/rng";

/** The job's stream under the run's root (world.rng). */
export function jobRng(root: Rng): Rng {
  return root.child("job");
}

/** Passed to SourceSpec.createSplits (the enumerator's stream; splits derive their data streams from it). */
export function sourceRng(job: Rng, sourceNodeName: string): Rng {
  return job.child(`source/${sourceNodeName}`);
}

/** Passed to SourceSpec.createReader for subtask `subtaskIndex` (reader-local randomness only, never data). */
export function readerRng(job: Rng, sourceNodeName: string, subtaskIndex: number): Rng {
  return sourceRng(job, sourceNodeName).child(`reader-${subtaskIndex}`);
}

/** OperatorContext.rng of one subtask of one node (user randomness; depends on parallelism by nature). */
export function operatorRng(job: Rng, nodeName: string, subtaskIndex: number): Rng {
  return job.child(`operator/${nodeName}/${subtaskIndex}`);
}
