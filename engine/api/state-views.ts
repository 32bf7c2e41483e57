/**
 * The keyed state user functions see (Flink's KeyedStateStore): value, list and map state
 * by name, as views over the operator's KeyedState. A view reads the current key when it
 * is used, so one view per name serves every key; views are made once per operator.
 *
 * As with Flink's state descriptors, a name is one kind of state: asking for a list under
 * a map's name is an error. Elements and map values must not be undefined (it means "no
 * state"), and map keys are Keys (numbers, strings, booleans), as the backends need them.
 */
import { InputError } from "../../sim/errors";
import type { KeyedStateStore, ListState, MapState, ValueStates } from "./functions";
import type { Key, KeyedState } from "./types";

const EMPTY_LIST: readonly never[] = Object.freeze([]);
const EMPTY_MAP: ReadonlyMap<any, any> = new Map();

type StateKind = "list" | "map";

export class KeyedStateViews implements KeyedStateStore {
  readonly state: ValueStates;
  private readonly views = new Map<string, { kind: StateKind; view: ListView<unknown> | MapView<Key, unknown> }>();

  constructor(
    private readonly keyed: KeyedState,
    private readonly where: string,
  ) {
    this.state = {
      get: <V>(name: string) => keyed.get(name) as V | undefined,
      set: <V>(name: string, value: V) => keyed.set(name, value),
      clear: (name: string) => keyed.clear(name),
    };
  }

  listState<T>(name: string): ListState<T> {
    return this.view(name, "list") as ListState<T>;
  }

  mapState<UK extends Key, V>(name: string): MapState<UK, V> {
    return this.view(name, "map") as MapState<UK, V>;
  }

  private view(name: string, kind: StateKind): ListView<unknown> | MapView<Key, unknown> {
    const known = this.views.get(name);
    if (known !== undefined) {
      if (known.kind !== kind) throw new InputError(`${this.where} state "${name}"`, `is ${known.kind} state; a name holds one kind of state`);
      return known.view;
    }
    if (typeof name !== "string" || name.length === 0) throw new InputError(`${this.where} ${kind}State`, "the state name must be a non-empty string");
    const view = kind === "list" ? new ListView(this.keyed, name, this.where) : new MapView(this.keyed, name, this.where);
    this.views.set(name, { kind, view });
    return view;
  }
}

class ListView<T> implements ListState<T> {
  constructor(
    private readonly keyed: KeyedState,
    private readonly name: string,
    private readonly where: string,
  ) {}

  get(): readonly T[] {
    return (this.keyed.get(this.name) as T[] | undefined) ?? EMPTY_LIST;
  }

  add(value: T): void {
    if (value === undefined) throw new InputError(`${this.where} list state "${this.name}"`, "cannot add undefined");
    this.keyed.addToList(this.name, value);
  }

  addAll(values: readonly T[]): void {
    for (const v of values) this.add(v);
  }

  update(values: readonly T[]): void {
    if (values.some((v) => v === undefined)) throw new InputError(`${this.where} list state "${this.name}"`, "cannot hold undefined");
    if (values.length === 0) this.keyed.clear(this.name);
    else this.keyed.set(this.name, [...values]);
  }

  clear(): void {
    this.keyed.clear(this.name);
  }
}

class MapView<UK extends Key, V> implements MapState<UK, V> {
  constructor(
    private readonly keyed: KeyedState,
    private readonly name: string,
    private readonly where: string,
  ) {}

  get(key: UK): V | undefined {
    return this.keyed.getMapEntry(this.name, key) as V | undefined;
  }

  put(key: UK, value: V): void {
    const t = typeof key;
    if (t !== "string" && t !== "number" && t !== "boolean") throw new InputError(`${this.where} map state "${this.name}"`, `keys must be numbers, strings or booleans, got ${t}`);
    if (value === undefined) throw new InputError(`${this.where} map state "${this.name}"`, `cannot put undefined (key ${String(key)}); use remove`);
    this.keyed.putMapEntry(this.name, key, value);
  }

  putAll(entries: Iterable<readonly [UK, V]>): void {
    for (const [k, v] of entries) this.put(k, v);
  }

  remove(key: UK): void {
    this.keyed.removeMapEntry(this.name, key);
  }

  contains(key: UK): boolean {
    return this.get(key) !== undefined;
  }

  entries(): IterableIterator<[UK, V]> {
    return this.whole().entries();
  }

  keys(): IterableIterator<UK> {
    return this.whole().keys();
  }

  values(): IterableIterator<V> {
    return this.whole().values();
  }

  isEmpty(): boolean {
    return this.whole().size === 0;
  }

  clear(): void {
    this.keyed.clear(this.name);
  }

  private whole(): ReadonlyMap<UK, V> {
    return (this.keyed.get(this.name) as Map<UK, V> | undefined) ?? EMPTY_MAP;
  }
}
