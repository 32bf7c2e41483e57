/**
 * applyToKeyedState (KeyedBroadcastProcessFunction's broadcast side): a broadcast element
 * visits the keyed state of every key of the subtask. Hand-computed on the harness, and on
 * every state backend in the engine through a crash, where conservation must hold: each
 * keyed element is counted once, either by a broadcast "flush" that visited its key or by
 * the key's end-of-input timer.
 */
import { describe, expect, it } from "vitest";
import type { KeyedBroadcastProcessFunction } from "../engine/api/co-functions";
import { StreamExecutionEnvironment } from "../engine/api/environment";
import { OperatorHarness } from "../engine/oracle/harness";
import { CoBroadcastWithKeyedOperator } from "../engine/api/two-input-operators";
import { GeneratorSource } from "../engine/api/sources";
import { TransactionalSink } from "../engine/api/sinks";
import { runJob } from "../engine/job-run";
import { runOracle } from "../engine/oracle/oracle";

interface Ev {
  key: string;
  seq: number;
}
interface Flushed {
  key: string;
  count: number;
  by: "flush" | "end";
}

const END = Number.MAX_SAFE_INTEGER;

/** Counts elements per key (value state) and their seqs (list state); a broadcast flush emits and clears every key's count. */
const flusher: KeyedBroadcastProcessFunction<string, Ev, number, Flushed> = {
  processElement(e, ctx) {
    const n = ctx.state.get<number>("count") ?? 0;
    if (n === 0) ctx.timerService.registerEventTimeTimer(END);
    ctx.state.set("count", n + 1);
    ctx.listState<number>("seqs").add(e.seq);
  },
  processBroadcastElement(_flush, ctx, out) {
    ctx.applyToKeyedState("count", (key, state) => {
      out.collect({ key, count: state.state.get<number>("count")!, by: "flush" });
      state.state.clear("count");
      state.listState("seqs").clear();
    });
  },
  onTimer(_ts, ctx, out) {
    const n = ctx.state.get<number>("count");
    if (n !== undefined) out.collect({ key: ctx.key, count: n, by: "end" });
    ctx.state.clear("count");
  },
};

describe("applyToKeyedState", () => {
  it("visits exactly the keys holding the state, each with its own state current, and leaves no key current", () => {
    const h = new OperatorHarness(new CoBroadcastWithKeyedOperator(flusher, []), { keySelector: (e) => (e as Ev).key }).open();
    h.processElement({ key: "a", seq: 0 }, 1);
    h.processElement({ key: "b", seq: 1 }, 2);
    h.processElement({ key: "a", seq: 2 }, 3);
    h.processElement2(1, 4);
    expect(h.values()).toEqual([
      { key: "a", count: 2, by: "flush" },
      { key: "b", count: 1, by: "flush" },
    ]);
    expect(h.keysWithState()).toEqual([]);
    // A second flush finds no key with a count; a new element starts over.
    h.processElement2(1, 5);
    h.processElement({ key: "b", seq: 3 }, 6);
    h.processElement2(1, 7);
    expect(h.values().slice(2)).toEqual([{ key: "b", count: 1, by: "flush" }]);
    expect(() => new OperatorHarness(new CoBroadcastWithKeyedOperator({ ...flusher, processBroadcastElement: (_v, ctx) => ctx.applyToKeyedState("count", 5 as never) }, []), { keySelector: (e) => (e as Ev).key }).open().processElement2(1, 0)).toThrow(/applyToKeyedState: needs a function/);
  });

  function job(env: StreamExecutionEnvironment): void {
    env.setParallelism(2);
    const events = env.fromSource<Ev>(GeneratorSource({ records: 3000, splits: 4, ratePerSecond: 1000, keys: { count: 50, distribution: "uniform" }, value: (seq, key) => ({ key: `k${key}`, seq }) }), "none", "events");
    const flushes = env.fromSource<number>(GeneratorSource({ records: 20, splits: 1, ratePerSecond: 25, value: (seq) => seq }), "none", "flushes").setParallelism(1);
    events
      .keyBy((e) => e.key)
      .connect(flushes.broadcast("flushes"))
      .process(flusher)
      .sinkTo(TransactionalSink("out"));
  }

  for (const backend of [{ "state.backend.type": "hashmap" }, { "state.backend.type": "rocksdb" }, { "state.backend.type": "hashmap", "state.changelog.enabled": true }]) {
    it(`engine, ${JSON.stringify(backend)}, through a crash: every element counted once, some by flushes that visited all keys`, () => {
      const r = runJob({
        seed: 3,
        scenario: "apply-to-keyed-state",
        config: { "execution.runtime-mode": "STREAMING", "taskmanager.numberOfTaskSlots": 2, "execution.checkpointing.interval": "100ms", ...backend },
        cluster: { taskManagers: 2, coresPerTaskManager: 2 },
        job,
        faults: [{ trigger: { at: "400ms" }, fault: { type: "crash", restartAfter: "500ms" }, target: "tm-1" }],
      });
      expect(r.status).toBe("FINISHED");
      expect(r.restarts).toBeGreaterThan(0);
      const out = r.outputs.get("out") as Flushed[];
      expect(out.reduce((n, f) => n + f.count, 0)).toBe(3000);
      const flushed = out.filter((f) => f.by === "flush");
      expect(flushed.length).toBeGreaterThan(50);
      // A flush visits every key with a count on its subtask: most flushes cover many keys.
      expect(new Set(flushed.map((f) => f.key)).size).toBe(50);
    });
  }

  it("the oracle (like Flink's BATCH) has every flush before any key: nothing to visit, all counted at the end", () => {
    const env = new StreamExecutionEnvironment("batch");
    job(env);
    const out = runOracle(env.getStreamGraph(), { runtimeMode: "BATCH", seed: 3 }).get("out") as Flushed[];
    expect(out.every((f) => f.by === "end")).toBe(true);
    expect(out.reduce((n, f) => n + f.count, 0)).toBe(3000);
  });
});
