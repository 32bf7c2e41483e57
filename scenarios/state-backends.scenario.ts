/**
 * State backends: a keyed job whose operator keeps a 128 KB profile per key (200 keys),
 * read and written once per record, 1,000 records/s. On `rocksdb` every
 * access serializes or deserializes the profile (JNI, bytes) and reads through the LSM:
 * the memtable (64 MiB) fills and is flushed to L0 SST files on the local disk, four L0
 * files are compacted into L1, and reads of flushed keys go through the 8 MiB block cache
 * (the live state, ~13 MB per subtask, does not fit), missing to disk. On `hashmap` an
 * access is a heap lookup. All RocksDB options are Flink's defaults.
 * Knock-out twin: `hashmap` — the per-record cost expectation and the flush/compaction
 * expectation fail.
 */
import { DiscardingSink } from "../engine/api/sinks";
import { GeneratorSource } from "../engine/api/sources";
import { DEFAULT_COSTS, recordCpuNs, stateAccessNs } from "../engine/costs";
import { defineScenario } from "./define";
import { finishes } from "./expectations";

const KEYED = "Profile";

/** The heap backend's modelled CPU for one record of the keyed operator (framework share + a get and a set). */
const HEAP_NS_PER_RECORD = recordCpuNs(undefined, "keyed", DEFAULT_COSTS, "hashmap") + 2 * stateAccessNs("hashmap");

/** Busy ns per record of the keyed operator, over all its subtasks. */
export function keyedBusyNsPerRecord(r: Parameters<NonNullable<ReturnType<typeof defineScenario>["expect"]>[number]["check"]>[0]): number {
  const v = r.vertices.find((x) => x.name.startsWith(KEYED));
  return v === undefined || v.recordsIn === 0 ? NaN : v.busyNs / v.recordsIn;
}

export default defineScenario({
  name: "state-backends",
  description: "a keyed job with 128 KB of state per key: rocksdb costs more CPU per record than hashmap, and flushes and compacts",
  cluster: { taskManagers: 2, coresPerTaskManager: 2 },
  config: {
    "taskmanager.numberOfTaskSlots": 2,
    "parallelism.default": 2,
    "state.backend.type": "rocksdb",
  },
  params: { records: 5000, keys: 200, profileBytes: 128 * 1024, ratePerSecond: 500 },
  knockout: { config: { "state.backend.type": "hashmap" } },
  job: (env, p) => {
    const profile = "p".repeat(Number(p.profileBytes));
    env
      .fromSource<{ key: number; seq: number }>(GeneratorSource({ records: Number(p.records), splits: 2, ratePerSecond: Number(p.ratePerSecond), keys: { count: Number(p.keys), distribution: "uniform" } }), "none", "events")
      .keyBy((r) => r.key)
      .process<{ key: number; n: number }>(
        {
          processElement(value, ctx, out) {
            const prev = ctx.state.get<{ n: number; profile: string }>("profile");
            const n = (prev?.n ?? 0) + 1;
            ctx.state.set("profile", { n, profile });
            out.collect({ key: value.key, n });
          },
        },
        KEYED,
      )
      .sinkTo(DiscardingSink("out"));
  },
  timeLimit: "10m",
  expect: [
    finishes(),
    {
      name: `the keyed operator is busy more than 5× the heap backend's modelled CPU per record (${(HEAP_NS_PER_RECORD / 1000).toFixed(2)} µs)`,
      check: (r) => {
        const ns = keyedBusyNsPerRecord(r);
        return ns > 5 * HEAP_NS_PER_RECORD ? undefined : `busy ${(ns / 1000).toFixed(2)} µs per record`;
      },
    },
    {
      name: "RocksDB flushed memtables and compacted SST files (RocksDbFlush and RocksDbCompaction events)",
      check: (r) => {
        const s = r.rocksdb;
        if (s === undefined) return "no RocksDB instance (state.backend.type is not rocksdb)";
        return s.flushes >= 1 && s.compactions >= 1 ? undefined : `${s.flushes} flushes, ${s.compactions} compactions`;
      },
    },
  ],
});
