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
  setCurrentKey(key: Key, keyGroup: number): void;
  readonly currentKey: Key | undefined;
  /** Number of keys with state (heap backend: all; single-key: 0 or 1). */
  readonly keyCount: number;
  /** State accesses so far (cost model input). */
  readonly accesses: number;
}

export class HashMapStateBackend implements KeyedStateBackend {
  private readonly groups = new Map<number, Map<Key, Map<string, unknown>>>();
  private current: Map<string, unknown> | undefined;
  private key: Key | undefined;
  private group = -1;
  accesses = 0;

  setCurrentKey(key: Key, keyGroup: number): void {
    this.key = key;
    this.group = keyGroup;
    this.current = this.groups.get(keyGroup)?.get(key);
  }

  get currentKey(): Key | undefined {
    return this.key;
  }

  get keyCount(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.size;
    return n;
  }

  get(name: string): unknown {
    this.check();
    this.accesses++;
    return this.current?.get(name);
  }

  set(name: string, value: unknown): void {
    this.check();
    this.accesses++;
    if (this.current === undefined) {
      let g = this.groups.get(this.group);
      if (g === undefined) this.groups.set(this.group, (g = new Map()));
      this.current = new Map();
      g.set(this.key!, this.current);
    }
    this.current.set(name, value);
  }

  clear(name: string): void {
    this.check();
    this.accesses++;
    this.current?.delete(name);
  }

  private check(): void {
    if (this.key === undefined) throw new InvariantError("keyed state accessed without a current key");
  }
}

export class SingleKeyStateBackend implements KeyedStateBackend {
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
    if (this.key === undefined) throw new InvariantError("keyed state accessed without a current key");
    this.accesses++;
    this.state.set(name, value);
  }

  clear(name: string): void {
    this.accesses++;
    this.state.delete(name);
  }
}
