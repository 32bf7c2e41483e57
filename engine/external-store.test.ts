import { describe, expect, it } from "vitest";
import { ExternalStore } from "./external-store";

describe("ExternalStore", () => {
  it("transactions: open → preCommitted → committed makes records visible once, in write order", () => {
    const store = new ExternalStore();
    const seen: string[] = [];
    store.onCommit((sink, record, txn) => seen.push(`${sink}:${String(record)}:${txn ?? "append"}`));
    const t1 = store.beginTransaction("s", "s-0/attempt-0");
    const t2 = store.beginTransaction("s", "s-0/attempt-0");
    expect([t1, t2]).toEqual(["s/s-0/attempt-0/txn-0", "s/s-0/attempt-0/txn-1"]);
    store.write(t1, "a");
    store.write(t2, "x");
    store.write(t1, "b");
    store.append("s", "direct");
    store.preCommit(t2);
    store.preCommit(t1);
    store.commit(t2);
    store.commit(t1);
    store.commit(t1); // idempotent
    expect(store.committed("s")).toEqual(["direct", "x", "a", "b"]);
    expect(seen).toEqual(["s:direct:append", `s:x:${t2}`, `s:a:${t1}`, `s:b:${t1}`]);
    expect(store.stats).toMatchObject({ commits: 2, duplicateCommits: 1, appends: 1, transactionsBegun: 2 });
    expect(store.committed("nothing")).toEqual([]);
    expect(store.sinks()).toEqual(["s"]);
  });

  it("a fenced writer's operations are rejected and counted, never applied", () => {
    const store = new ExternalStore();
    const t = store.beginTransaction("s", "s-1/attempt-0");
    store.write(t, 1);
    store.abort(t);
    store.write(t, 2);
    store.preCommit(t);
    store.commit(t);
    expect(store.committed("s")).toEqual([]);
    expect(store.transaction(t)).toMatchObject({ state: "aborted", recordCount: 1 });
    expect(store.stats).toMatchObject({ rejectedWrites: 1, rejectedPreCommits: 1, rejectedCommits: 1, aborts: 1 });
    const p = store.beginTransaction("s", "w");
    store.preCommit(p);
    store.write(p, 3); // frozen after pre-commit
    expect(store.stats.rejectedWrites).toBe(2);
  });

  it("committing a transaction that was never pre-committed, or an unknown one, is an engine bug", () => {
    const store = new ExternalStore();
    const t = store.beginTransaction("s", "w");
    expect(() => store.commit(t)).toThrow(/never pre-committed/);
    expect(() => store.write("nope", 1)).toThrow(/unknown transaction nope/);
  });

  it("abortLingering aborts open and pre-committed transactions of one writer prefix only", () => {
    const store = new ExternalStore();
    const a0 = store.beginTransaction("s", "s-1/attempt-0");
    const a1 = store.beginTransaction("s", "s-1/attempt-1");
    const b = store.beginTransaction("s", "s-10/attempt-0");
    const other = store.beginTransaction("t", "s-1/attempt-0");
    const done = store.beginTransaction("s", "s-1/attempt-0");
    store.preCommit(a1);
    store.preCommit(done);
    store.commit(done);
    expect(store.openTransactions().map((x) => x.id)).toEqual([a0, a1, b, other]);
    expect(store.abortLingering("s", "s-1/")).toBe(2);
    expect(store.openTransactions().map((x) => x.id)).toEqual([b, other]);
    expect(store.transaction(done)!.state).toBe("committed");
  });

  it("an unsubscribed listener hears nothing more", () => {
    const store = new ExternalStore();
    let n = 0;
    const off = store.onCommit(() => n++);
    store.append("s", 1);
    off();
    store.append("s", 2);
    expect(n).toBe(1);
  });
});

describe("fencing", () => {
  it("a restore keeps the older attempt's pre-committed transactions of checkpoints up to the restored one, and aborts the rest", () => {
    const store = new ExternalStore();
    const fence = { key: "s-0/", epoch: 0 };
    const inRestored = store.beginTransaction("s", "s-0/attempt-0", fence, 3);
    store.write(inRestored, "a");
    store.preCommit(inRestored);
    const after = store.beginTransaction("s", "s-0/attempt-0", fence, 4);
    store.write(after, "b");
    store.preCommit(after);
    const open = store.beginTransaction("s", "s-0/attempt-0", fence, 5);
    store.write(open, "c");
    store.initTransactions("s", "s-0/", 1, 3);
    expect(store.transaction(inRestored)!.state).toBe("preCommitted");
    expect(store.transaction(after)!.state).toBe("aborted");
    expect(store.transaction(open)!.state).toBe("aborted");
    store.commit(inRestored); // the restored committer's re-commit
    expect(store.committed("s")).toEqual(["a"]);
    // Without a restored checkpoint (none completed) everything of the older attempt goes.
    const other = new ExternalStore();
    const t = other.beginTransaction("s", "s-0/attempt-0", fence, 1);
    other.preCommit(t);
    other.initTransactions("s", "s-0/", 1, 0);
    expect(other.transaction(t)!.state).toBe("aborted");
  });

  it("a newer attempt's initTransactions aborts and fences the older attempt's transactions", () => {
    const store = new ExternalStore();
    const zombie = store.beginTransaction("s", "s-0/attempt-0", { key: "s-0/", epoch: 0 });
    store.write(zombie, "a");
    store.initTransactions("s", "s-0/", 1);
    store.write(zombie, "b");
    store.preCommit(zombie);
    store.commit(zombie);
    expect(store.committed("s")).toEqual([]);
    expect(store.stats.fencedTransactions).toBe(1);
    expect(store.stats.rejectedWrites).toBe(1);
    // A zombie's new transaction is dead on arrival; the new attempt commits normally.
    const late = store.beginTransaction("s", "s-0/attempt-0", { key: "s-0/", epoch: 0 });
    store.write(late, "c");
    const fresh = store.beginTransaction("s", "s-0/attempt-1", { key: "s-0/", epoch: 1 });
    store.write(fresh, "d");
    store.preCommit(fresh);
    store.commit(fresh);
    expect(store.committed("s")).toEqual(["d"]);
    // Other subtasks are not fenced.
    const other = store.beginTransaction("s", "s-1/attempt-0", { key: "s-1/", epoch: 0 });
    store.write(other, "e");
    store.preCommit(other);
    store.commit(other);
    expect(store.committed("s")).toEqual(["d", "e"]);
  });
});
