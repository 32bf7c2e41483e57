import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { propRuns } from "../../test/prop";
import { SharedStateRegistry } from "./shared-state-registry";
import type { SharedFileHandle, StateHandle } from "./snapshot";

describe("shared state registry (Flink's SharedStateRegistry)", () => {
  it("a file shared by two retained checkpoints survives the discard of the first; it goes with the last", () => {
    const r = new SharedStateRegistry();
    const f1: SharedFileHandle = { name: "f1", blobKey: "shared/f1@1", bytes: 100, checkpointId: 1 };
    const f2: SharedFileHandle = { name: "f2", blobKey: "shared/f2@2", bytes: 50, checkpointId: 2 };
    const cp1: StateHandle = { checkpointId: 1, blobKey: "chk-1/a", stateBytes: 110, shared: [f1] };
    const cp2: StateHandle = { checkpointId: 2, blobKey: "chk-2/a", stateBytes: 160, shared: [f1, f2] };
    r.register([cp1]);
    r.register([cp2]);
    expect(r.count("shared/f1@1")).toBe(2);
    expect(r.release([cp1])).toEqual(["chk-1/a"]);
    expect(r.count("shared/f1@1")).toBe(1);
    expect(r.release([cp2])).toEqual(["chk-2/a", "shared/f1@1", "shared/f2@2"]);
    expect(r.keys()).toEqual([]);
  });

  it("property: deleting what release returns never deletes a blob a retained checkpoint uses, and leaves none that no retained checkpoint uses", () => {
    // A subtask's incremental snapshots: each checkpoint flushes a new file, compaction
    // sometimes replaces several files by one; files new since the last *confirmed*
    // checkpoint are uploaded (unique keys), the others referenced. Checkpoints complete
    // or abort; `retained` of them are kept.
    const step = fc.record({ compact: fc.integer({ min: 0, max: 4 }), complete: fc.boolean() });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 4 }), (steps, retained) => {
        const registry = new SharedStateRegistry();
        const deleted = new Set<string>();
        const completed: StateHandle[] = [];
        let files: string[] = [];
        let confirmed = new Map<string, SharedFileHandle>();
        let nextFile = 0;
        steps.forEach((s, i) => {
          const id = i + 1;
          files.push(`f${nextFile++}`);
          if (s.compact >= 2 && files.length >= s.compact) files = [...files.slice(s.compact), `f${nextFile++}`];
          const shared = files.map((name) => confirmed.get(name) ?? { name, blobKey: `shared/${name}@${id}`, bytes: 10, checkpointId: id });
          const handle: StateHandle = { checkpointId: id, blobKey: `chk-${id}`, stateBytes: 10 + shared.length * 10, shared };
          for (const f of shared) if (f.checkpointId !== id) expect(deleted.has(f.blobKey), `checkpoint ${id} references deleted ${f.blobKey}`).toBe(false);
          if (!s.complete) {
            // Aborted: its own uploads are deleted, referenced files are not.
            for (const k of [handle.blobKey, ...shared.filter((f) => f.checkpointId === id).map((f) => f.blobKey)]) deleted.add(k);
            return;
          }
          registry.register([handle]);
          completed.push(handle);
          confirmed = new Map(shared.map((f) => [f.name, f]));
          while (completed.length > retained) for (const k of registry.release([completed.shift()!])) deleted.add(k);
          const live = new Set(completed.flatMap((h) => [h.blobKey, ...h.shared!.map((f) => f.blobKey)]));
          for (const k of live) expect(deleted.has(k), `${k} is used by a retained checkpoint but was deleted`).toBe(false);
          expect(new Set(registry.keys())).toEqual(live);
        });
      }),
      { numRuns: propRuns(200) },
    );
  });
});
