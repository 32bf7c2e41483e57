/**
 * rebalance-rescale: source → map → rebalance → map → rescale → sink, each stage at its
 * own parallelism, so the graph has an unset edge (resolved to rebalance when parallelisms
 * differ), an explicit all-to-all rebalance and a pointwise rescale. Stateless: the output
 * is the input, transformed, as a multiset.
 */
import { z } from "zod";
import { GeneratorSource } from "../../engine/api/sources";
import { defineJob, optionalRate, positiveInt, records, sinkInto, sinkKind } from "./job";

export interface Tagged {
  seq: number;
  doubled: number;
  label: string;
}

export const rebalanceRescale = defineJob({
  name: "rebalance-rescale",
  description: "source(p1) -> map(p2) -> rebalance -> map(p3) -> rescale -> sink(p4)",
  deterministic: true,
  compare: "multiset",
  params: z.object({
    records: records(1000),
    splits: positiveInt(4, 10_000),
    sourceParallelism: positiveInt(2, 4096),
    mapParallelism: positiveInt(3, 4096),
    map2Parallelism: positiveInt(4, 4096),
    sinkParallelism: positiveInt(2, 4096),
    ratePerSecond: optionalRate(),
    sink: sinkKind(),
  }),
  build(env, p) {
    const source = GeneratorSource({
      records: p.records,
      splits: p.splits,
      ...(p.ratePerSecond !== undefined ? { ratePerSecond: p.ratePerSecond } : {}),
    });
    const out = env
      .fromSource<{ key: number; seq: number }>(source, "none", "numbers")
      .setParallelism(p.sourceParallelism)
      .map((r) => ({ seq: r.seq, doubled: r.seq * 2 }), "Double")
      .setParallelism(p.mapParallelism)
      .rebalance()
      .map((r): Tagged => ({ ...r, label: r.seq % 3 === 0 ? "fizz" : "plain" }), "Label")
      .setParallelism(p.map2Parallelism)
      .rescale();
    sinkInto(out, p.sink, "tagged").setParallelism(p.sinkParallelism);
  },
});
