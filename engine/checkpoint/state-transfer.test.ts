import { describe, expect, it } from "vitest";
import { World } from "../../sim/world";
import type { SubtaskSnapshot } from "./snapshot";
import { downloadSubtaskSnapshot, uploadSubtaskSnapshot } from "./state-transfer";

function world() {
  return new World({ hosts: [{ name: "tm", cores: 1 }] }, { seed: 1, scenario: "state-transfer" });
}

const snapshotWith = (files: { name: string; checkpointId: number; bytes: number }[]): SubtaskSnapshot => ({
  operators: [
    {
      node: "op",
      keyed: [],
      eventTimers: [],
      processingTimers: [],
      operator: undefined,
      rocksdb: { files: [], shared: files.map((f) => ({ ...f, blobKey: `checkpoints/shared/${f.name}@chk-${f.checkpointId}` })) },
    },
  ],
  sourceOffsets: undefined,
});

describe("moving incremental snapshots to and from the blob store", () => {
  it("uploads the private blob and only the shared files new in this checkpoint; the handle lists them all", () => {
    const w = world();
    const store = w.blobStore;
    const snap = snapshotWith([
      { name: "a", checkpointId: 1, bytes: 1000 },
      { name: "b", checkpointId: 2, bytes: 300 },
    ]);
    let result: { err: string | undefined; uploaded: unknown } | undefined;
    uploadSubtaskSnapshot(store, w.host("tm"), 2, "checkpoints/chk-2/x", snap, 100, (err, uploaded) => (result = { err, uploaded }));
    w.run();
    expect(result).toEqual({ err: undefined, uploaded: { handle: { checkpointId: 2, blobKey: "checkpoints/chk-2/x", stateBytes: 1400, shared: snap.operators[0]!.rocksdb!.shared }, uploadedBytes: 400, snapshot: snap } });
    expect(store.list("").sort()).toEqual(["checkpoints/chk-2/x", "checkpoints/shared/b@chk-2"]);
  });

  it("a restore downloads every file of the handle: a missing shared file fails it", () => {
    const w = world();
    const host = w.host("tm");
    const snap = snapshotWith([
      { name: "a", checkpointId: 1, bytes: 1000 },
      { name: "b", checkpointId: 1, bytes: 300 },
    ]);
    const handle = { checkpointId: 1, blobKey: "checkpoints/chk-1/x", stateBytes: 1400, shared: snap.operators[0]!.rocksdb!.shared };
    uploadSubtaskSnapshot(w.blobStore, host, 1, handle.blobKey, snap, 100, () => {});
    w.run();
    let got: [string | undefined, unknown] | undefined;
    downloadSubtaskSnapshot(w.blobStore, host, handle, (err, s) => (got = [err, s]));
    w.run();
    expect(got![0]).toBeUndefined();
    expect(got![1]).toEqual(snap);
    w.blobStore.delete(host, "checkpoints/shared/b@chk-1", () => {});
    w.run();
    downloadSubtaskSnapshot(w.blobStore, host, handle, (err, s) => (got = [err, s]));
    w.run();
    expect(got).toEqual(["checkpoints/shared/b@chk-1: NotFound", undefined]);
  });
});
