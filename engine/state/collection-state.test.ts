/**
 * List and map state (issue 9, item 2): the heap backends, the BATCH single-key backend and
 * the oracle harness all behave as a plain model of Flink's ListState and MapState under
 * random operation sequences, and the user-facing views (engine/api/state-views.ts) reject
 * what Flink's state descriptors would.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { propRuns } from "../../test/prop";
import { OperatorHarness } from "../oracle/harness";
import { BaseOperator } from "../api/operators";
import { KeyedStateViews } from "../api/state-views";
import type { Key, KeyedState } from "../api/types";
import { HashMapStateBackend, SingleKeyStateBackend } from "./keyed-state";

type Op =
  | { op: "add"; name: string; v: number }
  | { op: "update"; name: string; vs: number[] }
  | { op: "put"; name: string; k: Key; v: number }
  | { op: "remove"; name: string; k: Key }
  | { op: "clear"; name: string };

const listName = fc.constantFrom("l1", "l2");
const mapName = fc.constantFrom("m1", "m2");
const userKey = fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constantFrom("x", "y", "4"), fc.boolean());
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("add" as const), name: listName, v: fc.integer() }),
  fc.record({ op: fc.constant("update" as const), name: listName, vs: fc.array(fc.integer(), { maxLength: 3 }) }),
  fc.record({ op: fc.constant("put" as const), name: mapName, k: userKey, v: fc.integer() }),
  fc.record({ op: fc.constant("remove" as const), name: mapName, k: userKey }),
  fc.record({ op: fc.constant("clear" as const), name: fc.constantFrom("l1", "l2", "m1", "m2") }),
);

/** The model: per key, lists as arrays and maps as Maps; empty maps disappear. */
class Model {
  readonly lists = new Map<string, number[]>();
  readonly maps = new Map<string, Map<Key, number>>();
  apply(o: Op): void {
    switch (o.op) {
      case "add":
        this.lists.set(o.name, [...(this.lists.get(o.name) ?? []), o.v]);
        break;
      case "update":
        if (o.vs.length === 0) this.lists.delete(o.name);
        else this.lists.set(o.name, [...o.vs]);
        break;
      case "put":
        this.maps.set(o.name, new Map(this.maps.get(o.name)).set(o.k, o.v));
        break;
      case "remove": {
        const m = new Map(this.maps.get(o.name));
        m.delete(o.k);
        if (m.size === 0) this.maps.delete(o.name);
        else this.maps.set(o.name, m);
        break;
      }
      case "clear":
        this.lists.delete(o.name);
        this.maps.delete(o.name);
        break;
    }
  }
}

function applyToViews(views: KeyedStateViews, o: Op): void {
  switch (o.op) {
    case "add":
      return views.listState<number>(o.name).add(o.v);
    case "update":
      return views.listState<number>(o.name).update(o.vs);
    case "put":
      return views.mapState<Key, number>(o.name).put(o.k, o.v);
    case "remove":
      return views.mapState<Key, number>(o.name).remove(o.k);
    case "clear":
      return o.name.startsWith("l") ? views.listState(o.name).clear() : views.mapState(o.name).clear();
  }
}

function expectSame(views: KeyedStateViews, model: Model, label: string): void {
  for (const name of ["l1", "l2"]) expect([...views.listState<number>(name).get()], `${label} ${name}`).toEqual(model.lists.get(name) ?? []);
  for (const name of ["m1", "m2"]) {
    const m = views.mapState<Key, number>(name);
    const want = model.maps.get(name) ?? new Map<Key, number>();
    expect([...m.entries()], `${label} ${name}`).toEqual([...want.entries()]);
    expect(m.isEmpty()).toBe(want.size === 0);
    for (const k of [0, 1, 4, "x", "4", true, false] as Key[]) {
      expect(m.get(k), `${label} ${name}[${String(k)}]`).toBe(want.get(k));
      expect(m.contains(k)).toBe(want.has(k));
    }
  }
}

/** The oracle harness's KeyedState, reached through a keyed operator it opens. */
function harnessState(): { state: KeyedState; setKey: (k: Key) => void } {
  let state!: KeyedState;
  let current: Key = "";
  class Probe extends BaseOperator {
    override open(ctx: Parameters<BaseOperator["open"]>[0], out: Parameters<BaseOperator["open"]>[1]): void {
      super.open(ctx, out);
      state = ctx.state;
    }
    processElement(): void {}
  }
  const h = new OperatorHarness(new Probe(), { keySelector: () => current }).open();
  return {
    state,
    // The harness sets its key on an element, as the runtime does.
    setKey: (k) => {
      current = k;
      h.processElement(k, 0);
    },
  };
}

describe("list and map state: every backend is Flink's ListState/MapState", () => {
  it("random operations over two keys: heap, single-key (one key), harness and model agree after each step", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom("a", "b"), opArb), { maxLength: 40 }), (steps) => {
        const heap = new HashMapStateBackend();
        const heapViews = new KeyedStateViews(heap, "heap");
        const h = harnessState();
        const harnessViews = new KeyedStateViews(h.state, "harness");
        const models = new Map<Key, Model>([
          ["a", new Model()],
          ["b", new Model()],
        ]);
        // The single-key backend sees one key's operations (BATCH never returns to a key).
        const single = new SingleKeyStateBackend();
        single.setCurrentKey("a");
        const singleViews = new KeyedStateViews(single, "single");
        for (const [key, o] of steps) {
          heap.setCurrentKey(key);
          h.setKey(key);
          applyToViews(heapViews, o);
          applyToViews(harnessViews, o);
          models.get(key)!.apply(o);
          expectSame(heapViews, models.get(key)!, `heap ${key}`);
          expectSame(harnessViews, models.get(key)!, `harness ${key}`);
          if (key === "a") {
            applyToViews(singleViews, o);
            expectSame(singleViews, models.get("a")!, "single");
          }
        }
        // The other key's state is untouched by this key's operations.
        for (const key of ["a", "b"]) {
          heap.setCurrentKey(key);
          expectSame(heapViews, models.get(key)!, `heap ${key} at the end`);
        }
        // An emptied map leaves no state name behind (no leak of per-key names).
        for (const key of ["a", "b"]) {
          const names = Object.keys(heap.peek(key) ?? {});
          for (const n of names) expect(models.get(key)!.lists.has(n) || models.get(key)!.maps.has(n), `${key}.${n}`).toBe(true);
        }
      }),
      { numRuns: propRuns(150) },
    );
  });

  it("the single-key backend drops the lists and maps of the previous key", () => {
    const single = new SingleKeyStateBackend();
    const views = new KeyedStateViews(single, "single");
    single.setCurrentKey(1);
    views.listState<number>("l").add(5);
    views.mapState<string, number>("m").put("x", 1);
    single.setCurrentKey(2);
    expect(views.listState("l").get()).toEqual([]);
    expect(views.mapState("m").isEmpty()).toBe(true);
  });
});

describe("state views reject what Flink's descriptors would", () => {
  const heap = new HashMapStateBackend();
  heap.setCurrentKey("k");
  const views = new KeyedStateViews(heap, "op");

  it("a name is one kind of state", () => {
    views.listState("s").add(1);
    expect(() => views.mapState("s")).toThrow(/op state "s": is list state; a name holds one kind of state/);
  });

  it("undefined elements and values, and non-key map keys, are errors naming the state", () => {
    expect(() => views.listState("l").add(undefined)).toThrow(/list state "l": cannot add undefined/);
    expect(() => views.listState("l").update([1, undefined])).toThrow(/cannot hold undefined/);
    expect(() => views.mapState<any, number>("m").put({} as never, 1)).toThrow(/map state "m": keys must be numbers, strings or booleans, got object/);
    expect(() => views.mapState<string, unknown>("m").put("x", undefined)).toThrow(/cannot put undefined \(key x\); use remove/);
  });

  it("without a current key, writes are an invariant error", () => {
    const fresh = new HashMapStateBackend();
    expect(() => new KeyedStateViews(fresh, "op").listState("l").add(1)).toThrow(/without a current key/);
    expect(() => new KeyedStateViews(fresh, "op").mapState("m").put("x", 1)).toThrow(/without a current key/);
  });
});
