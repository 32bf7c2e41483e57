/**
 * batch-dag: a multi-stage DAG mixing pointwise and all-to-all edges —
 * source → map → rescale → filter → keyBy(key) → reduce(sum) → keyBy(bucket) → reduce(max) → sink.
 * The first reduce sums values per key; the second keeps, per bucket (key mod buckets),
 * the record with the largest sum (ties: smaller key).
 *
 * Compared by finalPerKey on the bucket: in STREAMING the rolling updates depend on
 * interleaving, but their number per bucket does not (one per filtered input record of
 * the bucket's keys), nor does the final max (running sums only grow, so the last max is
 * the max of the final sums). BATCH emits one final record per key, then per bucket.
 */
import { z } from "zod";
import { GeneratorSource } from "../../engine/api/sources";
import { applyParallelism, defineJob, keyedGeneratorOptions, optionalRate, parallelism, positiveInt, records, sinkInto, sinkKind, skew } from "./job";

export interface KeyValue {
  key: number;
  value: number;
}

export const batchDag = defineJob({
  name: "batch-dag",
  description: "source -> map -> rescale -> filter -> keyBy -> reduce(sum) -> keyBy(bucket) -> reduce(max) -> sink",
  deterministic: true,
  compare: "finalPerKey",
  params: z.object({
    records: records(1000),
    keys: positiveInt(32),
    skew: skew(0),
    buckets: positiveInt(4, 10_000),
    splits: positiveInt(4, 10_000),
    parallelism: parallelism(2),
    ratePerSecond: optionalRate(),
    sink: sinkKind(),
  }),
  compareOptions: (p) => ({ keyOf: (r) => (r as KeyValue).key % p.buckets }),
  build(env, p) {
    applyParallelism(env, p.parallelism);
    const source = GeneratorSource(keyedGeneratorOptions(p));
    const out = env
      .fromSource<{ key: number; seq: number }>(source, "none", "pairs")
      .map((r): KeyValue => ({ key: r.key, value: 1 + (r.seq % 7) }), "Value")
      .rescale()
      .filter((kv) => kv.value !== 3, "Drop threes")
      .keyBy((kv) => kv.key)
      .reduce((a, b) => ({ key: a.key, value: a.value + b.value }), "Sum per key")
      .keyBy((kv) => kv.key % p.buckets)
      .reduce((a, b) => (b.value > a.value || (b.value === a.value && b.key < a.key) ? b : a), "Max per bucket");
    sinkInto(out, p.sink, "maxima");
  },
});
