import { describe, expect, it } from "vitest";
import { BlobStore } from "../../sim/blob-store";
import { Host } from "../../sim/host";
import { Kernel } from "../../sim/kernel";
import { Rng } from "../../sim/rng";
import { MemorySink, Trace } from "../../sim/trace/recorder";
import type { ExecutionVertexId } from "../graph/execution-graph";
import type { CompletedCheckpoint } from "./coordinator";
import { CompletedCheckpointStore, METADATA_BYTES_PER_HANDLE, METADATA_BYTES_PER_SHARED_FILE, METADATA_HEADER_BYTES, metadataBytes, type StoreRecovery } from "./completed-checkpoint-store";

function setup() {
  const kernel = new Kernel();
  const trace = new Trace(kernel, { level: "summary", sink: new MemorySink() });
  trace.start({ seed: "1", scenario: "checkpoint-store-test", flowsimVersion: "0", nodeVersion: process.version, level: "summary", config: {} });
  const host = new Host(kernel, trace, { name: "jm", cores: 2 });
  // Fixed latency, so op times are exact.
  const blob = new BlobStore(kernel, trace, Rng.root(1), { latency: "20ms", bandwidthBytesPerS: 1e9 });
  const store = new CompletedCheckpointStore(blob, "ha/job/checkpoints");
  const recover = (): { err: unknown; recovery: StoreRecovery | undefined } => {
    let out: { err: unknown; recovery: StoreRecovery | undefined } | undefined;
    store.recover(host, kernel, (err, recovery) => (out = { err, recovery }));
    kernel.run({ untilNs: kernel.now + 10e9 });
    return out!;
  };
  return { kernel, host, blob, store, recover };
}

function checkpoint(id: number, subtasks = 2): CompletedCheckpoint {
  const handles = new Map(
    Array.from({ length: subtasks }, (_, i) => [`v0[${i}]` as ExecutionVertexId, { checkpointId: id, blobKey: `chk-${id}/v0-${i}`, stateBytes: 100 + i, ...(i === 0 ? { shared: [{ blobKey: `sst-${id}`, bytes: 10, checkpointId: id }] } : {}) }] as const),
  );
  return { id, triggerNs: id * 1e9, completedNs: id * 1e9 + 5e6, handles } as CompletedCheckpoint;
}

describe("completed checkpoint store (HA storage)", () => {
  it("the ID counter hands out increasing ids that never repeat", () => {
    const { store } = setup();
    expect([store.getAndIncrement(), store.getAndIncrement(), store.getAndIncrement()]).toEqual([1, 2, 3]);
    expect(store.nextCheckpointId).toBe(4);
  });

  it("a checkpoint is added only when its metadata put completed; a new leader reads it back at the blob store's cost", () => {
    const { kernel, host, blob, store, recover } = setup();
    const cp = checkpoint(1);
    let doneAt: number | undefined;
    kernel.schedule(100e6, () => store.add(host, cp, () => true, (err) => {
      expect(err).toBeUndefined();
      doneAt = kernel.now;
    }));
    kernel.run({ untilNs: 110e6 });
    // In flight: not yet in the store.
    expect(store.retainedIds).toEqual([]);
    kernel.run({ untilNs: 1e9 });
    expect(doneAt).toBeGreaterThanOrEqual(120e6);
    expect(store.retainedIds).toEqual([1]);
    expect(blob.sizeOf(store.metadataKey(1))).toBe(METADATA_HEADER_BYTES + 2 * METADATA_BYTES_PER_HANDLE + METADATA_BYTES_PER_SHARED_FILE);
    expect(metadataBytes(cp)).toBe(blob.sizeOf(store.metadataKey(1)));
    const { err, recovery } = recover();
    expect(err).toBeUndefined();
    expect(recovery!.checkpoints.map((c) => c.id)).toEqual([1]);
    expect([...recovery!.checkpoints[0]!.handles]).toEqual([...cp.handles]);
    expect(recovery!.bytes).toBe(metadataBytes(cp));
    // One get: the latency (20 ms) plus the transfer.
    expect(recovery!.readNs).toBeGreaterThanOrEqual(20e6);
    expect(recovery!.readNs).toBeLessThan(25e6);
  });

  it("a JobManager crash before the metadata put completed loses the checkpoint: nothing to recover, done never called", () => {
    const { kernel, host, store, recover } = setup();
    let called = false;
    kernel.schedule(100e6, () => store.add(host, checkpoint(1), () => true, () => (called = true)));
    kernel.schedule(110e6, () => host.crash());
    kernel.schedule(200e6, () => host.restart());
    kernel.run({ untilNs: 1e9 });
    expect(called).toBe(false);
    expect(store.retainedIds).toEqual([]);
    expect(recover().recovery!.checkpoints).toEqual([]);
  });

  it("a checkpoint aborted while its metadata was written is not added, and its metadata is deleted", () => {
    const { kernel, host, blob, store } = setup();
    let called = false;
    kernel.schedule(0, () => store.add(host, checkpoint(1), () => false, () => (called = true)));
    kernel.run({ untilNs: 1e9 });
    expect(called).toBe(false);
    expect(store.retainedIds).toEqual([]);
    expect(blob.has(store.metadataKey(1))).toBe(false);
  });

  it("a failed metadata put reports the error and adds nothing", () => {
    const { kernel, host, blob, store } = setup();
    let error: string | undefined;
    kernel.schedule(0, () => blob.startOutage("fail"));
    kernel.schedule(1, () => store.add(host, checkpoint(1), () => true, (err) => (error = err?.code)));
    kernel.run({ untilNs: 10e9 });
    expect(error).toBe("Unavailable");
    expect(store.retainedIds).toEqual([]);
  });

  it("subsumed checkpoints: the pointer goes at once, the metadata after; the newest retained ones are recovered in order", () => {
    const { kernel, host, blob, store, recover } = setup();
    for (const id of [1, 2, 3]) kernel.schedule(id * 1e9, () => store.add(host, checkpoint(id), () => true, () => {}));
    kernel.run({ untilNs: 3.5e9 });
    expect(store.retainedIds).toEqual([1, 2, 3]);
    store.remove(host, 1);
    expect(store.retainedIds).toEqual([2, 3]);
    expect(blob.has(store.metadataKey(1))).toBe(true);
    kernel.run({ untilNs: 4e9 });
    expect(blob.has(store.metadataKey(1))).toBe(false);
    const { recovery } = recover();
    expect(recovery!.checkpoints.map((c) => c.id)).toEqual([2, 3]);
    // Two gets, one after the other.
    expect(recovery!.readNs).toBeGreaterThanOrEqual(40e6);
  });

  it("a read that fails (blob store outage) fails the recovery", () => {
    const { kernel, host, blob, store, recover } = setup();
    kernel.schedule(0, () => store.add(host, checkpoint(1), () => true, () => {}));
    kernel.run({ untilNs: 1e9 });
    blob.startOutage("fail");
    const { err, recovery } = recover();
    expect((err as { code: string }).code).toBe("Unavailable");
    expect(recovery).toBeUndefined();
  });
});
