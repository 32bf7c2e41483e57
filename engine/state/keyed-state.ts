/**
 * Keyed state backends. `hashmap` keeps every key's state on the heap, grouped by key
 * group (pipeline.max-parallelism groups, the unit of rescaling); the BATCH single-key
 * backend (execution.batch-state-backend.enabled) keeps only the current key's state and
 * drops it when the key changes, because sorted input never returns to a key.
 *
 * Invariant: state is only touched with a current key set; a subtask only holds keys
 * of its own key-group range (asserted by the runtime when it sets the key).
 */
import { InvariantError } from "../../sim/errors";
import type { Key, KeyedState } from "../api/types";

export interface KeyedStateBackend extends KeyedState {
  setCurrentKey(key: Key): void;
  readonly currentKey: Key | undefined;
  /** Number of keys with state (heap backend: all; single-key: 0 or 1). */
  readonly keyCount: number;
  /** State accesses so far (cost model input). */
  readonly accesses: number;
}

export class HashMapStateBackend implements KeyedStateBackend {
  // Keys map to their state; the key group of a key is derived from it when needed
  // (snapshots, rescaling), so the per-record path is one map lookup.
  // Per key, a plain object of named values: every key's object gets the same few state
  // names in the same order, so V8 gives them one shape and lookups stay monomorphic.
  private readonly byKey = new Map<Key, Record<string, unknown>>();
  private current: Record<string, unknown> | undefined;
  private key: Key | undefined;
  accesses = 0;

  setCurrentKey(key: Key): void {
    this.key = key;
    this.current = this.byKey.get(key);
  }

  get currentKey(): Key | undefined {
    return this.key;
  }

  get keyCount(): number {
    return this.byKey.size;
  }

  /** Keys with state, in insertion order (snapshots group them by key group). */
  keys(): IterableIterator<Key> {
    return this.byKey.keys();
  }

  /** A key's named values, by reference (undefined: the key has no state). */
  peek(key: Key): Record<string, unknown> | undefined {
    return this.byKey.get(key);
  }

  /** Every key's named values (the caller deep-copies them). */
  entries(): [Key, Record<string, unknown>][] {
    return [...this.byKey];
  }

  /** Restore: replaces all state (the entries are the backend's from now on). */
  restore(entries: readonly [Key, Record<string, unknown>][]): void {
    this.byKey.clear();
    for (const [key, values] of entries) this.byKey.set(key, values);
    this.key = undefined;
    this.current = undefined;
  }

  get(name: string): unknown {
    // Per record: a key's state exists once set, so only a key without state needs the check.
    const current = this.current;
    if (current === undefined) this.check();
    this.accesses++;
    return current === undefined ? undefined : current[name];
  }

  set(name: string, value: unknown): void {
    const current = this.values();
    this.accesses++;
    current[name] = value;
  }

  clear(name: string): void {
    this.check();
    this.accesses++;
    // delete (not = undefined): operators with per-window names would otherwise leak names.
    if (this.current !== undefined && name in this.current) delete this.current[name];
  }

  addToList(name: string, element: unknown): void {
    this.accesses++;
    addToList(this.values(), name, element);
  }

  getMapEntry(name: string, userKey: Key): unknown {
    const current = this.current;
    if (current === undefined) this.check();
    this.accesses++;
    return (current?.[name] as Map<Key, unknown> | undefined)?.get(userKey);
  }

  putMapEntry(name: string, userKey: Key, value: unknown): void {
    this.accesses++;
    putMapEntry(this.values(), name, userKey, value);
  }

  removeMapEntry(name: string, userKey: Key): void {
    const current = this.current;
    if (current === undefined) this.check();
    this.accesses++;
    if (current !== undefined) removeMapEntry(current, name, userKey);
  }

  forEachKeyWith(name: string, visit: (key: Key) => void): void {
    const previous = this.key;
    // No copy: a visit only touches the visited key's state, which has an entry already.
    for (const [key, values] of this.byKey) {
      if (!(name in values)) continue;
      this.setCurrentKey(key);
      visit(key);
    }
    if (previous !== undefined) this.setCurrentKey(previous);
    else {
      this.key = undefined;
      this.current = undefined;
    }
  }

  /** The current key's value of `name` without counting an access (backends' cost models). */
  protected peekValue(name: string): unknown {
    return this.current?.[name];
  }

  /** The current key's named values, created on first write. */
  private values(): Record<string, unknown> {
    let current = this.current;
    if (current === undefined) {
      this.check();
      current = this.current = {};
      this.byKey.set(this.key!, current);
    }
    return current;
  }

  private check(): void {
    if (this.key === undefined) throw new InvariantError("keyed state accessed without a current key");
  }
}

export class SingleKeyStateBackend implements KeyedStateBackend {
  // A Map, not an object: BATCH windows use a name per window and delete it again.
  private state = new Map<string, unknown>();
  private key: Key | undefined;
  accesses = 0;

  setCurrentKey(key: Key): void {
    if (key !== this.key) this.state = new Map();
    this.key = key;
  }

  get currentKey(): Key | undefined {
    return this.key;
  }

  get keyCount(): number {
    return this.key === undefined ? 0 : 1;
  }

  get(name: string): unknown {
    this.accesses++;
    return this.state.get(name);
  }

  set(name: string, value: unknown): void {
    this.check();
    this.accesses++;
    this.state.set(name, value);
  }

  clear(name: string): void {
    this.accesses++;
    this.state.delete(name);
  }

  addToList(name: string, element: unknown): void {
    this.check();
    this.accesses++;
    const list = this.state.get(name) as unknown[] | undefined;
    if (list === undefined) this.state.set(name, [element]);
    else list.push(element);
  }

  getMapEntry(name: string, userKey: Key): unknown {
    this.accesses++;
    return (this.state.get(name) as Map<Key, unknown> | undefined)?.get(userKey);
  }

  putMapEntry(name: string, userKey: Key, value: unknown): void {
    this.check();
    this.accesses++;
    const map = this.state.get(name) as Map<Key, unknown> | undefined;
    if (map === undefined) this.state.set(name, new Map([[userKey, value]]));
    else map.set(userKey, value);
  }

  removeMapEntry(name: string, userKey: Key): void {
    this.accesses++;
    const map = this.state.get(name) as Map<Key, unknown> | undefined;
    if (map !== undefined && map.delete(userKey) && map.size === 0) this.state.delete(name);
  }

  /** Only the current key has state (BATCH sorted input): it is the one visited, if it holds `name`. */
  forEachKeyWith(name: string, visit: (key: Key) => void): void {
    if (this.key !== undefined && this.state.has(name)) visit(this.key);
  }

  private check(): void {
    if (this.key === undefined) throw new InvariantError("keyed state accessed without a current key");
  }
}

// List and map state over one key's named values (heap backend; see KeyedState).

function addToList(values: Record<string, unknown>, name: string, element: unknown): void {
  const list = values[name] as unknown[] | undefined;
  if (list === undefined) values[name] = [element];
  else list.push(element);
}

function putMapEntry(values: Record<string, unknown>, name: string, userKey: Key, value: unknown): void {
  const map = values[name] as Map<Key, unknown> | undefined;
  if (map === undefined) values[name] = new Map([[userKey, value]]);
  else map.set(userKey, value);
}

/** Removes one entry; a map left empty is removed (Flink's heap MapState drops it too). */
function removeMapEntry(values: Record<string, unknown>, name: string, userKey: Key): void {
  const map = values[name] as Map<Key, unknown> | undefined;
  if (map === undefined || !map.delete(userKey)) return;
  if (map.size === 0) delete values[name];
}
