/**
 * Programs several scenarios share, so each scenario states only what it studies (its
 * config, faults and expectations), and twins of one workload stay the same program.
 */
import type { StreamExecutionEnvironment } from "../engine/api/environment";
import { DiscardingSink, TransactionalSink } from "../engine/api/sinks";
import { GeneratorSource } from "../engine/api/sources";

export interface SlowMapParams {
  /** Records per second per split. */
  ratePerSecond: number;
  splits: number;
  /** The slow map's capacity as a fraction of the source rate (0.2: 5× backpressure). */
  capacityFraction: number;
  /** Serialized size of the records on the rebalance edge (default 64). */
  recordBytes?: number;
}

/** Parallelism of both stages. */
const SLOW_MAP_PARALLELISM = 2;

/**
 * Backpressure: an unbounded source → rebalance → "Slow Map" whose per-record CPU cost
 * gives it `capacityFraction` of the source rate (sink capacity = parallelism × 1e9 / cost
 * = capacityFraction × splits × rate), into a discarding sink.
 */
export function slowMapJob(env: StreamExecutionEnvironment, p: Record<string, unknown>): void {
  const q = p as unknown as SlowMapParams;
  const rate = Number(q.ratePerSecond);
  const splits = Number(q.splits);
  const sinkCostNs = Math.round((SLOW_MAP_PARALLELISM * 1e9) / (Number(q.capacityFraction) * splits * rate));
  env
    .fromSource<number>(GeneratorSource({ splits, ratePerSecond: rate, value: (i) => i }), "none", "numbers")
    .map((x) => x + 1)
    .withCost({ recordBytes: Number(q.recordBytes ?? 64) })
    .rebalance()
    .map((x) => x * 2)
    .withCost({ cpuNsPerRecord: sinkCostNs })
    .name("Slow Map")
    .sinkTo(DiscardingSink("out"));
}

export interface LargeStateParams {
  keys: number;
  /** Bytes of each key's value. */
  valueBytes: number;
  /** Records after the ones that create every key. */
  updates: number;
  /** Records per second per split (2 splits). */
  ratePerSplit: number;
}

/**
 * Large keyed state updated steadily: the first records create every key (record s stands
 * for keys [s·100, s·100 + 100)), then uniform updates; the "State" operator keeps a count
 * and a `valueBytes` string per key.
 */
export function largeStateJob(env: StreamExecutionEnvironment, p: LargeStateParams): void {
  const fanOut = 100;
  const seeds = Math.ceil(p.keys / fanOut);
  const value = "s".repeat(p.valueBytes);
  env
    .fromSource<{ key: number; seq: number }>(
      GeneratorSource({ records: seeds + p.updates, splits: 2, ratePerSecond: p.ratePerSplit, keys: { count: p.keys, distribution: "uniform" } }),
      "none",
      "updates",
    )
    .flatMap<{ key: number }>((r, out) => {
      if (r.seq < seeds) for (let k = r.seq * fanOut; k < Math.min(p.keys, (r.seq + 1) * fanOut); k++) out.collect({ key: k });
      else out.collect({ key: r.key });
    })
    .keyBy((r) => r.key)
    .process<number>(
      {
        processElement(_r, ctx, out) {
          const n = (ctx.state.get<{ n: number; value: string }>("v")?.n ?? 0) + 1;
          ctx.state.set("v", { n, value });
          out.collect(n);
        },
      },
      "State",
    )
    .sinkTo(DiscardingSink("out"));
}

/** A record of paddedRollingSumJob's keyed state: the pad makes the state per key large. */
export type PaddedRecord = { key: number; seq: number; pad: string };

/**
 * Keyed rolling sums of padded records into the transactional sink "sums" (the pad is kept
 * in the keyed state, dropped before the sink): about `padBytes` of state per key, the
 * savepoint and claim-mode scenarios' job.
 */
export function paddedRollingSumJob(env: StreamExecutionEnvironment, p: { records: number; keys: number; padBytes: number; splits: number; ratePerSecond: number }): void {
  const pad = "x".repeat(p.padBytes);
  env
    .fromSource<{ key: number; seq: number }>(GeneratorSource({ records: p.records, splits: p.splits, ratePerSecond: p.ratePerSecond, keys: { count: p.keys, distribution: "uniform" } }), "none", "events")
    .map((r) => ({ ...r, pad }))
    .keyBy((r: PaddedRecord) => r.key)
    .reduce((a: PaddedRecord, b: PaddedRecord) => ({ key: a.key, seq: a.seq + b.seq, pad: a.pad }))
    .map((r: PaddedRecord) => ({ key: r.key, seq: r.seq }))
    .sinkTo(TransactionalSink("sums"));
}
