import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { propRuns } from "../../test/prop";
import { World } from "../../sim/world";
import { DEFAULT_COSTS } from "../costs";
import type { ChangelogOperatorSnapshot, SubtaskSnapshot } from "../checkpoint/snapshot";
import { ChangelogStateBackend, emptyChangelogStats, resolveChangelogRestore, type ChangelogSettings } from "./changelog-backend";
import { HashMapStateBackend } from "./keyed-state";

const MS = 1e6;
const SETTINGS: ChangelogSettings = {
  materializationEnabled: true,
  materializationIntervalNs: 1000 * MS,
  maxMaterializationFailures: 3,
  preemptiveThresholdBytes: 5 * 1024 * 1024,
  persistDelayNs: 10 * MS,
  persistSizeThresholdBytes: 10 * 1024 * 1024,
  uploadTimeoutNs: 1000 * MS,
  maxAttempts: 3,
  nextAttemptDelayNs: 500 * MS,
};

function setup(settings: Partial<ChangelogSettings> = {}, inner = new HashMapStateBackend()) {
  const world = new World({ hosts: [{ name: "tm", cores: 2 }] }, { seed: 1, scenario: "changelog-backend" });
  const uploads: { t: number; bytes: number; changes: number; preemptive: boolean }[] = [];
  const materialized: { t: number; id: number; upTo: number; uploadedBytes: number }[] = [];
  const failures: string[] = [];
  const stats = emptyChangelogStats();
  let chargedNs = 0;
  const backend = new ChangelogStateBackend(inner, {
    settings: { ...SETTINGS, ...settings },
    costs: DEFAULT_COSTS,
    kernel: world.kernel,
    host: world.host("tm"),
    blobStore: world.blobStore,
    instanceName: "v1-0-a0-n1",
    label: "test",
    initialDelayNs: 0,
    charge: (ns) => {
      chargedNs += ns;
    },
    // The task's mailbox: the test runs mails at once.
    enqueueMail: (fn) => fn(),
    fail: (cause) => failures.push(cause),
    mark: () => {},
    uploaded: (e) => uploads.push({ t: world.now, ...e }),
    materialized: (e) => materialized.push({ t: world.now, ...e }),
    stats,
  });
  return { world, backend, inner, uploads, materialized, failures, stats, charged: () => chargedNs };
}

/** What a checkpoint's restore rebuilds: download its changelog blobs from the store and replay. */
function restoreOf(world: World, snap: ChangelogOperatorSnapshot) {
  const blobs = new Map<string, unknown>();
  for (const h of snap.shared) {
    expect(world.blobStore.has(h.blobKey), `${h.blobKey} is in the blob store`).toBe(true);
    world.blobStore.get(world.host("tm"), h.blobKey, (err, obj) => {
      expect(err).toBeUndefined();
      blobs.set(h.blobKey, obj!.data);
    });
  }
  world.run({ untilNs: world.now + 10_000 * MS });
  const subtask: SubtaskSnapshot = { operators: [{ node: "op", keyed: [], eventTimers: [], processingTimers: [], operator: undefined, changelog: snap }], sourceOffsets: undefined };
  return resolveChangelogRestore(subtask, blobs, DEFAULT_COSTS, "hashmap");
}

const sorted = (entries: [unknown, Record<string, unknown>][]) =>
  [...entries].map(([k, v]) => [k, Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))] as const).sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1));

function put(b: ChangelogStateBackend, key: number, name: string, value: unknown) {
  b.setCurrentKey(key);
  b.set(name, value);
}

describe("changelog backend: the DSTL log", () => {
  it("a checkpoint's persist request is uploaded after the persist delay, as one segment of the tail", () => {
    const s = setup();
    for (let k = 0; k < 10; k++) put(s.backend, k, "v", "x".repeat(100));
    const snap = s.backend.snapshot(1);
    let done: string | undefined | null = null;
    s.backend.awaitUploads(1, (err) => (done = err));
    expect(snap.segments).toHaveLength(1);
    // Nothing is issued before the persist delay.
    s.world.run({ untilNs: 10 * MS - 1 });
    expect(s.world.blobStore.opsInFlight).toBe(0);
    s.world.run();
    expect(done).toBeUndefined();
    expect(s.uploads).toHaveLength(1);
    expect(s.uploads[0]!.preemptive).toBe(false);
    expect(s.uploads[0]!.changes).toBe(10);
    expect(s.uploads[0]!.t).toBeGreaterThan(10 * MS);
    // The segment's size is every change's serialized size (key, name, value, overhead).
    expect(snap.segments[0]!.bytes).toBe(s.uploads[0]!.bytes);
    expect(s.world.blobStore.sizeOf(snap.segments[0]!.blobKey)).toBe(snap.segments[0]!.bytes);
  });

  it("requests within the persist delay are batched into one upload", () => {
    const s = setup({ preemptiveThresholdBytes: 1000 });
    // 10 changes of ~130 bytes: a pre-emptive request at the 8th, the checkpoint's request 1 ms later.
    for (let k = 0; k < 10; k++) put(s.backend, k, "v", "x".repeat(110));
    s.world.run({ untilNs: 1 * MS });
    s.backend.snapshot(1);
    s.world.run();
    expect(s.uploads.map((u) => [u.changes, u.preemptive])).toEqual([[10, false]]);
  });

  it("uploads pre-emptively once the unrequested bytes reach the threshold (property over change sizes and thresholds)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 60 }), fc.integer({ min: 50, max: 3000 }), (sizes, threshold) => {
        const s = setup({ preemptiveThresholdBytes: threshold, persistDelayNs: 0 });
        for (const [i, n] of sizes.entries()) {
          put(s.backend, i % 7, "v", "y".repeat(n));
          s.world.run(); // each request is its own upload (persist delay 0)
        }
        // Reference: each change's bytes as the log counts them (key 8 + overhead 10, name, string 4 + n);
        // a request when the unrequested sum reaches the threshold.
        let acc = 0;
        let expected = 0;
        const expectedBytes: number[] = [];
        for (const b of sizes.map((n) => 8 + 10 + 1 + (4 + n))) {
          acc += b;
          if (acc >= threshold) {
            expected++;
            expectedBytes.push(acc);
            acc = 0;
          }
        }
        s.world.run();
        expect(s.uploads.filter((u) => u.preemptive).map((u) => u.bytes)).toEqual(expectedBytes);
        expect(s.backend.log.activeBytes).toBe(acc);
        expect(s.stats.preemptiveUploads).toBe(expected);
      }),
      { numRuns: propRuns(100) },
    );
  });

  it("a checkpoint uploads only the tail; earlier segments are referenced, not uploaded again", () => {
    const s = setup({ preemptiveThresholdBytes: 2000 });
    for (let k = 0; k < 40; k++) {
      put(s.backend, k, "v", "z".repeat(200));
      s.world.run({ untilNs: s.world.now + 5 * MS });
    }
    s.world.run();
    const before = s.uploads.length;
    const uploadedBefore = s.stats.uploadedBytes;
    expect(before).toBeGreaterThan(1);
    const tail = s.backend.log.activeBytes;
    const snap = s.backend.snapshot(1);
    s.world.run();
    expect(s.uploads.length).toBe(before + 1);
    expect(s.stats.uploadedBytes - uploadedBefore).toBe(tail);
    // The checkpoint's log part: every segment since the start, the tail last.
    expect(snap.segments).toHaveLength(before + 1);
    expect(snap.segments.reduce((n, x) => n + x.bytes, 0)).toBe(s.stats.uploadedBytes);
    // A checkpoint with no change since only references.
    const again = s.backend.snapshot(2);
    s.world.run();
    expect(s.uploads.length).toBe(before + 1);
    expect(again.shared.map((h) => h.blobKey)).toEqual(snap.shared.map((h) => h.blobKey));
    expect(again.shared.every((h) => h.checkpointId === 1)).toBe(true);
  });

  it("materialization runs every interval, checkpoints then use it, and the log before it is truncated and deleted once no checkpoint needs it", () => {
    const s = setup({ materializationIntervalNs: 500 * MS });
    s.backend.start();
    for (let k = 0; k < 20; k++) put(s.backend, k, "v", k);
    const c1 = s.backend.snapshot(1);
    s.world.run({ untilNs: 100 * MS });
    s.backend.notifyCheckpointComplete(1); // the JobManager owns c1's segment now
    for (let k = 0; k < 20; k++) put(s.backend, k, "v", k + 100);
    const c2 = s.backend.snapshot(2); // pending: its segment must survive the truncation
    s.world.run({ untilNs: 150 * MS });
    for (let k = 0; k < 5; k++) put(s.backend, k, "w", k);
    // A pre-materialization segment no checkpoint will reference: requested by nobody, it stays in the active set.
    s.world.run({ untilNs: 800 * MS });
    expect(s.materialized).toHaveLength(1);
    const m = s.materialized[0]!;
    expect(m.upTo).toBe(45);
    const c3 = s.backend.snapshot(3);
    s.world.run({ untilNs: 900 * MS });
    // c3: the materialization only (no change since).
    expect(c3.materialization?.upTo).toBe(45);
    expect(c3.segments).toEqual([]);
    expect(c3.shared.map((h) => h.blobKey)).toEqual([c3.materialization!.blobKey]);
    // c1's segment is owned by the JobManager: the log does not delete it; c2's waits for c2.
    expect(s.world.blobStore.has(c1.segments[0]!.blobKey)).toBe(true);
    expect(s.world.blobStore.has(c2.segments[1]!.blobKey)).toBe(true);
    s.backend.notifyCheckpointAborted(2);
    s.world.run({ untilNs: 1000 * MS });
    expect(s.world.blobStore.has(c2.segments[1]!.blobKey)).toBe(false); // truncated, never completed: the log deleted it
    expect(s.world.blobStore.has(c1.segments[0]!.blobKey)).toBe(true);
    // The materialized state is the state.
    const r = restoreOf(s.world, c3);
    expect(sorted(r.snapshot.operators[0]!.keyed)).toEqual(sorted(s.inner.entries()));
    // No change since: the next materialization is skipped.
    s.world.run({ untilNs: s.world.now + 1500 * MS });
    expect(s.materialized).toHaveLength(1);
  });

  it("a materialization that no checkpoint used is deleted when the next one supersedes it", () => {
    const s = setup({ materializationIntervalNs: 200 * MS });
    s.backend.start();
    put(s.backend, 1, "v", 1);
    s.world.run({ untilNs: 300 * MS });
    put(s.backend, 1, "v", 2);
    s.world.run({ untilNs: 600 * MS });
    expect(s.materialized.map((m) => m.id)).toEqual([1, 2]);
    expect(s.world.blobStore.list("changelog/v1-0-a0-n1/materialization")).toEqual(["changelog/v1-0-a0-n1/materialization-2"]);
  });

  it("failed uploads are retried up to max-attempts; then the checkpoint fails", () => {
    const s = setup({ maxAttempts: 2, nextAttemptDelayNs: 50 * MS });
    s.world.blobStore.startOutage("fail");
    put(s.backend, 1, "v", 1);
    s.backend.snapshot(1);
    let result: string | undefined | null = null;
    s.backend.awaitUploads(1, (err) => (result = err));
    s.world.run({ untilNs: 20_000 * MS });
    expect(result).toMatch(/could not be uploaded \(2 attempts\)/);
    // Later checkpoints fail too until a materialization covers the lost changes (Flink's highestFailed).
    s.world.blobStore.endOutage();
    put(s.backend, 2, "v", 2);
    s.backend.snapshot(2);
    let second: string | undefined | null = null;
    s.backend.awaitUploads(2, (err) => (second = err));
    s.world.run({ untilNs: 21_000 * MS });
    expect(second).toMatch(/upload failed earlier/);
  });

  it("restore = the materialization plus the log replayed equals the checkpointed state (property)", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("set" as const), key: fc.integer({ min: 0, max: 6 }), name: fc.constantFrom("a", "b", "c"), value: fc.oneof(fc.integer(), fc.string({ maxLength: 5 }), fc.array(fc.integer(), { maxLength: 3 })) }),
      fc.record({ kind: fc.constant("clear" as const), key: fc.integer({ min: 0, max: 6 }), name: fc.constantFrom("a", "b", "c") }),
      fc.record({ kind: fc.constant("checkpoint" as const) }),
      fc.record({ kind: fc.constant("wait" as const), ms: fc.integer({ min: 1, max: 400 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.integer({ min: 30, max: 2000 }), (ops, threshold) => {
        const s = setup({ materializationIntervalNs: 300 * MS, preemptiveThresholdBytes: threshold, persistDelayNs: 5 * MS });
        s.backend.start();
        let id = 0;
        const checks: { snap: ChangelogOperatorSnapshot; expected: ReturnType<typeof sorted> }[] = [];
        for (const o of ops) {
          if (o.kind === "set") {
            s.backend.setCurrentKey(o.key);
            // In-place mutation before set, as operators do with their accumulators.
            const cur = s.backend.get(o.name);
            if (Array.isArray(cur) && Array.isArray(o.value)) {
              cur.push(...o.value);
              s.backend.set(o.name, cur);
            } else s.backend.set(o.name, o.value);
          } else if (o.kind === "clear") {
            s.backend.setCurrentKey(o.key);
            s.backend.clear(o.name);
          } else if (o.kind === "checkpoint") {
            id++;
            checks.push({ snap: structuredClone(s.backend.snapshot(id)), expected: sorted(structuredClone(s.inner.entries())) });
            s.backend.notifyCheckpointComplete(id);
          } else {
            s.world.run({ untilNs: s.world.now + o.ms * MS });
          }
        }
        id++;
        checks.push({ snap: structuredClone(s.backend.snapshot(id)), expected: sorted(structuredClone(s.inner.entries())) });
        s.world.run({ untilNs: s.world.now + 100 * MS });
        // The latest checkpoint restores to exactly its state (older ones' truncated blobs may be gone,
        // as the JobManager only keeps retained checkpoints).
        const last = checks[checks.length - 1]!;
        const r = restoreOf(s.world, last.snap);
        expect(sorted(r.snapshot.operators[0]!.keyed)).toEqual(last.expected);
        expect(s.failures).toEqual([]);
      }),
      { numRuns: propRuns(150) },
    );
  });

  it("replay costs deserialization and one state access per change", () => {
    const s = setup();
    for (let i = 0; i < 100; i++) put(s.backend, i % 10, "v", i);
    const snap = s.backend.snapshot(1);
    s.world.run();
    const r = restoreOf(s.world, snap);
    expect(r.totals.changes).toBe(100);
    const bytes = snap.segments[0]!.bytes;
    expect(r.totals.cpuNs).toBeCloseTo(100 * DEFAULT_COSTS.deserializeNsPerRecord + bytes * DEFAULT_COSTS.deserializeNsPerByte + 100 * DEFAULT_COSTS.heapStateNsPerAccess, 6);
    // Each change was serialized into the log on the task thread.
    expect(s.charged()).toBeCloseTo(100 * DEFAULT_COSTS.serializeNsPerRecord + bytes * DEFAULT_COSTS.serializeNsPerByte, 6);
  });
});

describe("changelog backend: list and map state log one element or entry per change", () => {
  it("list adds and map puts log the element's bytes, and a restore from the log rebuilds the list and map", () => {
    const s = setup();
    const element = "e".repeat(100);
    s.backend.setCurrentKey(1);
    for (let i = 0; i < 50; i++) s.backend.addToList("l", element);
    for (let i = 0; i < 50; i++) s.backend.putMapEntry("m", i, element);
    s.backend.removeMapEntry("m", 0);
    const snap = s.backend.snapshot(1);
    s.world.run();
    // 101 changes of about one element each, not of the whole list or map (≈ 50 × 5 KB).
    expect(s.uploads[0]!.changes).toBe(101);
    expect(snap.segments[0]!.bytes).toBeLessThan(101 * 150);
    expect(snap.segments[0]!.bytes).toBeGreaterThan(100 * 100);
    const restored = restoreOf(s.world, snap);
    const values = new Map(restored.snapshot.operators[0]!.keyed).get(1)!;
    expect(values.l).toEqual(Array(50).fill(element));
    expect([...(values.m as Map<number, string>).keys()]).toEqual([...Array(50).keys()].slice(1));
  });
});
