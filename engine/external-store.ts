/**
 * The simulated external system sinks write into (a transactional log or database, like
 * Kafka with transactions). What it has committed is the job's visible output — the thing
 * exactly-once is checked on.
 *
 * Transactions go open → preCommitted → committed, or → aborted from open/preCommitted.
 * Invariants:
 * - committed records of a sink are kept in commit order; a transaction's records become
 *   visible all at once, in write order, exactly once (commit is idempotent by id);
 * - ids are deterministic: `${sink}/${writerId}/txn-${epoch}`, epoch counting the
 *   transactions that writer began, so they never depend on other writers' timing;
 * - writes or pre-commits to a transaction that is not open, and commits of an aborted one,
 *   are modelled faults (a fenced zombie writer), not bugs: the store rejects and counts
 *   them. Unknown ids, and committing a transaction that was never pre-committed, are
 *   engine bugs (assertions).
 */
import { assert } from "../sim/errors";
import type { ExternalStoreApi, TransactionId } from "./api/types";

export type TransactionState = "open" | "preCommitted" | "committed" | "aborted";

export interface TransactionInfo {
  readonly id: TransactionId;
  readonly sink: string;
  readonly writerId: string;
  readonly epoch: number;
  readonly state: TransactionState;
  /** Records written (kept until commit or abort). */
  readonly recordCount: number;
}

export interface ExternalStoreStats {
  appends: number;
  transactionsBegun: number;
  commits: number;
  /** Commits of an already committed transaction (idempotent no-ops; recovery re-commits). */
  duplicateCommits: number;
  aborts: number;
  rejectedWrites: number;
  rejectedPreCommits: number;
  rejectedCommits: number;
  /** Transactions aborted or refused because a newer attempt of their writer fenced them. */
  fencedTransactions: number;
}

/** Called once per record when it becomes visible; `txn` is undefined for appends. */
export type CommitListener = (sink: string, record: unknown, txn: TransactionId | undefined) => void;

/** A limit on everything (DESIGN style 3): more transactions than this is a runaway loop. */
export const MAX_TRANSACTIONS = 10_000_000;

interface Txn {
  readonly id: TransactionId;
  readonly sink: string;
  readonly writerId: string;
  readonly epoch: number;
  /** `${sink}/${fencing key}` and the writer's fencing epoch, when the writer is fenced. */
  readonly fenceKey: string | undefined;
  readonly fenceEpoch: number;
  /** The checkpoint the transaction belongs to, when the writer checkpoints. */
  readonly checkpoint: number | undefined;
  state: TransactionState;
  records: unknown[];
  recordCount: number;
}

export class ExternalStore implements ExternalStoreApi {
  private readonly committedBySink = new Map<string, unknown[]>();
  private readonly txns = new Map<TransactionId, Txn>();
  /** Transactions not yet committed or aborted, in begin order. */
  private readonly live = new Set<Txn>();
  private readonly epochs = new Map<string, number>();
  /** Highest fencing epoch announced per `${sink}/${fencing key}`. */
  private readonly fenceEpochs = new Map<string, number>();
  private readonly listeners: CommitListener[] = [];
  private readonly txnListeners: ((txn: TransactionInfo) => void)[] = [];
  readonly stats: ExternalStoreStats = {
    appends: 0,
    transactionsBegun: 0,
    commits: 0,
    duplicateCommits: 0,
    aborts: 0,
    rejectedWrites: 0,
    rejectedPreCommits: 0,
    rejectedCommits: 0,
    fencedTransactions: 0,
  };

  /** Subscribes to records becoming visible (the world mixes them into the run's hash). Returns an unsubscribe. */
  onCommit(listener: CommitListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Subscribes to transaction commits (once per transaction, after its records became visible). */
  onTransactionCommitted(listener: (txn: TransactionInfo) => void): () => void {
    this.txnListeners.push(listener);
    return () => {
      const i = this.txnListeners.indexOf(listener);
      if (i >= 0) this.txnListeners.splice(i, 1);
    };
  }

  append(sink: string, record: unknown): void {
    this.stats.appends++;
    this.visible(sink, record, undefined);
  }

  initTransactions(sink: string, fencingKey: string, epoch: number, keepUpToCheckpoint?: number): void {
    const key = `${sink}/${fencingKey}`;
    const current = this.fenceEpochs.get(key) ?? -1;
    if (epoch < current) return; // a zombie announcing itself late: already fenced
    this.fenceEpochs.set(key, epoch);
    for (const txn of [...this.live]) {
      // Pre-committed in a checkpoint being restored: its committer will commit it.
      const recovered = keepUpToCheckpoint !== undefined && txn.state === "preCommitted" && txn.checkpoint !== undefined && txn.checkpoint <= keepUpToCheckpoint;
      if (txn.fenceKey === key && txn.fenceEpoch < epoch && !recovered) {
        this.abort(txn.id);
        this.stats.fencedTransactions++;
      }
    }
  }

  beginTransaction(sink: string, writerId: string, fencing?: { key: string; epoch: number }, checkpoint?: number): TransactionId {
    assert(this.txns.size < MAX_TRANSACTIONS, `external store: more than ${MAX_TRANSACTIONS} transactions`);
    const writerKey = `${sink}/${writerId}`;
    const epoch = this.epochs.get(writerKey) ?? 0;
    this.epochs.set(writerKey, epoch + 1);
    const id = `${writerKey}/txn-${epoch}`;
    const fenceKey = fencing === undefined ? undefined : `${sink}/${fencing.key}`;
    const fenceEpoch = fencing?.epoch ?? 0;
    const txn: Txn = { id, sink, writerId, epoch, fenceKey, fenceEpoch, checkpoint, state: "open", records: [], recordCount: 0 };
    this.txns.set(id, txn);
    this.live.add(txn);
    this.stats.transactionsBegun++;
    // A fenced zombie's new transaction is dead on arrival: all it does will be rejected.
    if (fenceKey !== undefined && fenceEpoch < (this.fenceEpochs.get(fenceKey) ?? -1)) {
      this.abort(id);
      this.stats.fencedTransactions++;
    }
    return id;
  }

  write(txnId: TransactionId, record: unknown): void {
    const txn = this.get(txnId);
    if (txn.state !== "open") {
      this.stats.rejectedWrites++;
      return;
    }
    txn.records.push(record);
    txn.recordCount++;
  }

  preCommit(txnId: TransactionId): void {
    const txn = this.get(txnId);
    if (txn.state !== "open") {
      this.stats.rejectedPreCommits++;
      return;
    }
    txn.state = "preCommitted";
  }

  commit(txnId: TransactionId): void {
    const txn = this.get(txnId);
    if (txn.state === "committed") {
      this.stats.duplicateCommits++;
      return;
    }
    if (txn.state === "aborted") {
      this.stats.rejectedCommits++;
      return;
    }
    assert(txn.state === "preCommitted", `external store: commit of ${txnId} that was never pre-committed`);
    txn.state = "committed";
    this.live.delete(txn);
    this.stats.commits++;
    const records = txn.records;
    txn.records = []; // committed records live in the sink's list only
    for (const record of records) this.visible(txn.sink, record, txn.id);
    for (const listener of this.txnListeners) listener(info(txn));
  }

  abort(txnId: TransactionId): void {
    const txn = this.get(txnId);
    if (txn.state === "committed" || txn.state === "aborted") return;
    txn.state = "aborted";
    txn.records = [];
    this.live.delete(txn);
    this.stats.aborts++;
  }

  /**
   * Aborts every open or pre-committed transaction of `sink` whose writer id starts with
   * `writerPrefix` (e.g. "sink-2/" for all attempts of subtask 2). On restore, call it after
   * re-committing the recovered committables, so only the lingering ones go. Returns how
   * many it aborted.
   */
  abortLingering(sink: string, writerPrefix: string): number {
    let n = 0;
    for (const txn of [...this.live]) {
      if (txn.sink === sink && txn.writerId.startsWith(writerPrefix)) {
        this.abort(txn.id);
        n++;
      }
    }
    return n;
  }

  /** The sink's visible output in commit order ([] for a sink that never committed). */
  committed(sink: string): readonly unknown[] {
    return this.committedBySink.get(sink) ?? [];
  }

  /** Sinks with visible output, in the order they first committed. */
  sinks(): string[] {
    return [...this.committedBySink.keys()];
  }

  /** Transactions neither committed nor aborted, in begin order. */
  openTransactions(): TransactionInfo[] {
    return [...this.live].map(info);
  }

  transaction(txnId: TransactionId): TransactionInfo | undefined {
    const txn = this.txns.get(txnId);
    return txn === undefined ? undefined : info(txn);
  }

  private get(txnId: TransactionId): Txn {
    const txn = this.txns.get(txnId);
    assert(txn !== undefined, `external store: unknown transaction ${txnId}`);
    return txn;
  }

  private visible(sink: string, record: unknown, txn: TransactionId | undefined): void {
    let list = this.committedBySink.get(sink);
    if (list === undefined) {
      list = [];
      this.committedBySink.set(sink, list);
    }
    list.push(record);
    for (const listener of this.listeners) listener(sink, record, txn);
  }
}

function info(txn: Txn): TransactionInfo {
  return { id: txn.id, sink: txn.sink, writerId: txn.writerId, epoch: txn.epoch, state: txn.state, recordCount: txn.recordCount };
}
