/**
 * The node blocklist (FLIP-224) as speculative execution uses it: a host that ran a slow
 * attempt gets no new slots until its entry expires; tasks already running there keep
 * running. Blocking a blocked host again extends its entry to the later end.
 *
 * Invariants: at most one entry (and one expiry timer) per host; an entry expires exactly
 * at its end time on the virtual clock; every add, extension and expiry is in the trace.
 */
export interface BlocklistContext {
  now(): number;
  /** Runs `fn` at virtual time `atNs`; returns a timer id for `cancel`. */
  schedule(atNs: number, fn: () => void): number;
  cancel(timer: number): void;
  added(host: string, untilNs: number, cause: string, extended: boolean): void;
  expired(host: string): void;
}

interface Entry {
  untilNs: number;
  timer: number;
}

export class Blocklist {
  private readonly entries = new Map<string, Entry>();
  /** Hosts newly blocked so far (extensions not counted). */
  added = 0;

  constructor(private readonly ctx: BlocklistContext) {}

  isBlocked(host: string): boolean {
    return this.entries.has(host);
  }

  /** Blocked hosts, in the order they were blocked. */
  blockedHosts(): string[] {
    return [...this.entries.keys()];
  }

  block(host: string, untilNs: number, cause: string): void {
    if (untilNs <= this.ctx.now()) return;
    const existing = this.entries.get(host);
    if (existing !== undefined) {
      if (untilNs <= existing.untilNs) return;
      this.ctx.cancel(existing.timer);
    } else {
      this.added++;
    }
    const entry: Entry = { untilNs, timer: -1 };
    entry.timer = this.ctx.schedule(untilNs, () => {
      if (this.entries.get(host) !== entry) return;
      this.entries.delete(host);
      this.ctx.expired(host);
    });
    this.entries.set(host, entry);
    // An extension (the host still runs a slow attempt at the next check) is traced too, so
    // the trace's untilNs is always the entry's real end.
    this.ctx.added(host, untilNs, cause, existing !== undefined);
  }

  /** Drops every entry without expiry events (the job ended). */
  clear(): void {
    for (const e of this.entries.values()) this.ctx.cancel(e.timer);
    this.entries.clear();
  }
}
