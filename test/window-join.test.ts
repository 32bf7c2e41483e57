/**
 * Tumbling-window join and coGroup (issue 9, item 3) and the library jobs of issue 9's
 * window and state items: window-join (join, coGroup, a median ProcessWindowFunction) and
 * item-tracker (ListState and MapState). Hand-computed joins through the oracle, the graph
 * Flink builds for a join, and the engine against the oracle in both modes, on every state
 * backend, through checkpoints and restarts.
 */
import { describe, expect, it } from "vitest";
import { StreamExecutionEnvironment } from "../engine/api/environment";
import { CollectSink } from "../engine/api/sinks";
import { GeneratorSource } from "../engine/api/sources";
import { TumblingEventTimeWindows } from "../engine/api/windows";
import { canonicalJson } from "../engine/oracle/canonical";
import { runOracle } from "../engine/oracle/oracle";
import { OperatorHarness } from "../engine/oracle/harness";
import { KeyedProcessOperator } from "../engine/api/operators";
import { buildJob, getJob } from "../scenarios/jobs/index";
import { itemTracker, type BucketSummary, type ItemEvent } from "../scenarios/jobs/item-tracker";
import type { CoGroupResult, JoinedPair, WindowMedian } from "../scenarios/jobs/window-join";
import { compareCase, runConfig, runLibraryCase, type LibraryCase } from "./library-run";
import { runJob } from "../engine/job-run";

interface Ev {
  key: string;
  seq: number;
  ts: number;
}

/** Orders a,b,a,a,b,a at 0,10,…,50 and payments a,b,a at 0,20,40, joined in 30 ms windows. */
function joinJob(kind: "join" | "coGroup") {
  const env = new StreamExecutionEnvironment("join");
  const orderKeys = ["a", "b", "a", "a", "b", "a"];
  const paymentKeys = ["a", "b", "a"];
  const source = (name: string, keys: string[], intervalMs: number) =>
    env.fromSource<Ev>(
      GeneratorSource({ records: keys.length, splits: 1, eventTime: { startMs: 0, intervalMs, maxDisorderMs: 0 }, value: (seq, _k, _rng, ts) => ({ key: keys[seq]!, seq, ts }) }),
      { outOfOrdernessMs: 0 },
      name,
    );
  const orders = source("orders", orderKeys, 10);
  const payments = source("payments", paymentKeys, 20);
  const window = TumblingEventTimeWindows.of(30);
  const out =
    kind === "join"
      ? orders
          .join(payments)
          .where((o) => o.key)
          .equalTo((p) => p.key)
          .window(window)
          .apply((o, p) => `o${o.seq}-p${p.seq}`)
      : orders
          .coGroup(payments)
          .where((o) => o.key)
          .equalTo((p) => p.key)
          .window(window)
          .apply<string>((os, ps, c) => c.collect(`${(os[0] ?? ps[0])!.key}@${Math.floor((os[0] ?? ps[0])!.ts / 30) * 30}:${os.length}/${ps.length}`));
  out.sinkTo(CollectSink("out"));
  return env;
}

const sorted = (xs: readonly unknown[] | undefined) => [...(xs ?? [])].map((x) => (typeof x === "string" ? x : canonicalJson(x))).sort();

describe("window join and coGroup (JoinedStreams, CoGroupedStreams)", () => {
  it("join: every (order, payment) pair of a key in the same window, and nothing across windows", () => {
    for (const mode of ["STREAMING", "BATCH"] as const) {
      const out = runOracle(joinJob("join").getStreamGraph(), { runtimeMode: mode, seed: 1 }).get("out");
      // [0,30): a: o0,o2 × p0; b: o1 × p1. [30,60): a: o3,o5 × p2; b: o4 × none.
      expect(sorted(out), mode).toEqual(["o0-p0", "o1-p1", "o2-p0", "o3-p2", "o5-p2"]);
    }
  });

  it("coGroup: once per key and window where either side has data, with both sides' elements", () => {
    const out = runOracle(joinJob("coGroup").getStreamGraph(), { runtimeMode: "STREAMING", seed: 1 }).get("out");
    expect(sorted(out)).toEqual(["a@0:2/1", "a@30:2/1", "b@0:1/1", "b@30:1/0"]);
  });

  it("is built as Flink builds it: a tagging Map per side, a union into one keyed window with CoGroupWindowFunction", () => {
    const g = joinJob("join").getStreamGraph();
    const names = g.nodes.map((n) => n.name);
    expect(names).toEqual(["Source: orders", "Source: payments", "Map", "Map", "Window(TumblingEventTimeWindows(30), EventTimeTrigger, CoGroupWindowFunction)", "out: Writer"]);
    const window = g.nodes[4]!;
    const into = g.edges.filter((e) => e.targetId === window.id);
    expect(into.map((e) => [g.nodes[e.sourceId]!.name, e.partitioner, e.typeNumber])).toEqual([
      ["Map", "hash", 0],
      ["Map", "hash", 0],
    ]);
    // The taggers feed forward from their sources, so they chain to them.
    expect(g.edges.filter((e) => g.nodes[e.targetId]!.name === "Map").map((e) => e.partitioner)).toEqual(["forward", "forward"]);
  });

  it("bad input is one clear error", () => {
    const env = new StreamExecutionEnvironment("bad");
    const s = env.fromSource<Ev>(GeneratorSource({ records: 1, splits: 1 }), "none", "s");
    expect(() => s.join(s).where("key" as never)).toThrow(/join.where: must be a key selector function/);
    expect(() => s.coGroup(s).where((e) => e.key).equalTo(3 as never)).toThrow(/coGroup.equalTo: must be a key selector function/);
    const w = s.join(s).where((e) => e.key).equalTo((e) => e.key).window(TumblingEventTimeWindows.of(5));
    expect(() => w.allowedLateness(-1)).toThrow(/join.allowedLateness: must be a non-negative integer/);
    expect(() => w.apply(null as never)).toThrow(/join.apply: must be a JoinFunction/);
    expect(() => new StreamExecutionEnvironment("other").fromSource(GeneratorSource({ records: 1, splits: 1 }), "none", "t").join(s)).toThrow(/join: streams of different environments/);
  });
});

describe("item-tracker's function (ListState buffer, MapState quantities), hand-computed", () => {
  it("buffers events to their bucket's timer, applies them in (ts, seq) order, removes stale items", () => {
    const h = new OperatorHarness(new KeyedProcessOperator(itemTracker(10, 20)), { keySelector: (e) => (e as ItemEvent).key }).open();
    const ev = (seq: number, ts: number, item: string, qty: number): ItemEvent => ({ key: "u", seq, ts, item, qty });
    h.processElement(ev(0, 3, "x", 2), 3);
    h.processElement(ev(1, 12, "y", 5), 12); // next bucket: stays in the buffer
    h.processElement(ev(2, 1, "y", 1), 1);
    h.processWatermark(9);
    expect(h.values()).toEqual([{ key: "u", bucketEndMs: 9, events: 2, distinct: 2, top: "x", topQty: 2 } satisfies BucketSummary]);
    expect((h.stateOf("u")!.get("buffer") as ItemEvent[]).map((e) => e.seq)).toEqual([1]);
    h.processWatermark(19);
    expect(h.values()[1]).toEqual({ key: "u", bucketEndMs: 19, events: 1, distinct: 2, top: "y", topQty: 6 });
    expect(h.stateOf("u")!.has("buffer")).toBe(false);
    // x was last seen at 3, y at 12: at 39 (retention 20) both are stale, and z is new.
    h.processElement(ev(3, 35, "z", 1), 35);
    h.processWatermark(39);
    expect(h.values()[2]).toEqual({ key: "u", bucketEndMs: 39, events: 1, distinct: 1, top: "z", topQty: 1 });
    expect([...(h.stateOf("u")!.get("quantities") as Map<string, number>).keys()]).toEqual(["z"]);
  });
});

function libraryCase(job: string, mode: "STREAMING" | "BATCH", config: Record<string, unknown>, seed: number, params: Record<string, unknown> = {}): LibraryCase {
  return {
    job,
    params: { ratePerSecond: 2000, ...params },
    mode,
    config: { "taskmanager.numberOfTaskSlots": 2, ...(mode === "STREAMING" ? { "execution.checkpointing.interval": "50ms" } : {}), ...config },
    cluster: { taskManagers: 2, coresPerTaskManager: 2 },
    seed,
  };
}

describe("window-join and item-tracker in the engine match the oracle", () => {
  const backends: Record<string, unknown>[] = [{ "state.backend.type": "hashmap" }, { "state.backend.type": "rocksdb" }, { "state.backend.type": "rocksdb", "state.changelog.enabled": true }];
  for (const job of ["window-join", "item-tracker"]) {
    for (const mode of ["STREAMING", "BATCH"] as const) {
      for (const backend of mode === "STREAMING" ? backends : [{}]) {
        it(`${job} ${mode} ${JSON.stringify(backend)}`, () => {
          const c = libraryCase(job, mode, backend, 5);
          const r = runLibraryCase(c);
          expect(r.status).toBe("FINISHED");
          expect(compareCase(c, r).summary).toMatch(/^equal/);
          // Not vacuous: the join matched, coGroups saw one-sided windows, items were removed.
          if (job === "window-join") {
            expect((r.outputs.get("pairs") as JoinedPair[]).length).toBeGreaterThan(100);
            const groups = r.outputs.get("groups") as CoGroupResult[];
            expect(groups.some((g) => g.orders > 0 && g.payments > 0)).toBe(true);
            expect(groups.some((g) => g.orders === 0 || g.payments === 0)).toBe(true);
            expect((r.outputs.get("medians") as WindowMedian[]).some((m) => m.n > 2)).toBe(true);
          } else {
            const s = r.outputs.get("summaries") as BucketSummary[];
            expect(s.length).toBeGreaterThan(50);
            expect(new Set(s.map((x) => x.distinct)).size).toBeGreaterThan(2);
          }
        });
      }
    }
  }

  it("item-tracker survives a TaskManager crash (list and map state restored from a checkpoint) with the oracle's output", () => {
    const c = libraryCase("item-tracker", "STREAMING", { "state.backend.type": "rocksdb", "state.backend.incremental": true }, 7, { ratePerSecond: 200 });
    const job = getJob(c.job);
    const params = job.parseParams(c.params);
    const r = runJob({
      seed: c.seed,
      scenario: "library/item-tracker",
      config: runConfig(c),
      cluster: c.cluster,
      job: (env) => job.build(env, params),
      faults: [{ trigger: { at: "600ms" }, fault: { type: "crash", restartAfter: "1s" }, target: "tm-1" }],
    });
    expect(r.status).toBe("FINISHED");
    expect(r.restarts).toBeGreaterThan(0);
    expect(compareCase(c, r).summary).toMatch(/^equal/);
  });
});

describe("the jobs' graphs", () => {
  it("window-join has two taggers per join and the three window operators", () => {
    const names = buildJob("window-join").graph.nodes.map((n) => n.name);
    expect(names.filter((n) => n === "Map")).toHaveLength(4);
    expect(names.filter((n) => n.endsWith("CoGroupWindowFunction)"))).toHaveLength(2);
    expect(names).toContain("Window(TumblingEventTimeWindows(100), EventTimeTrigger, ProcessWindowFunction)");
    expect(buildJob("window-join", { slideMs: 25 }).graph.nodes.map((n) => n.name)).toContain("Window(SlidingEventTimeWindows(100, 25), EventTimeTrigger, ProcessWindowFunction)");
  });
});
