/**
 * The trace recorder: turns emitted events into JSONL v1 lines, filters by level, applies
 * the event cap, and hashes every byte written. The fingerprint of a run is the SHA-256
 * of its whole trace file, whose last line (RunEnded) carries the kernel's rolling hash —
 * so it covers both what the trace says and every kernel event, even ones the level or
 * the cap kept out of the file.
 *
 * The recorder never touches files itself: lines go to a TraceSink (the CLI's file sink,
 * or an in-memory one in tests).
 */
import { createHash, type Hash } from "node:crypto";
import { InvariantError, InputError } from "../errors";
import type { Kernel } from "../kernel";
import { KERNEL_KIND_LEVELS, TRACE_VERSION, type KernelEvents, type TraceLevel } from "./events";

export interface TraceSink {
  write(line: string): void;
  end(): void;
}

/** Keeps lines in memory (tests, in-process comparisons). */
export class MemorySink implements TraceSink {
  readonly lines: string[] = [];
  ended = false;
  write(line: string): void {
    this.lines.push(line);
  }
  end(): void {
    this.ended = true;
  }
}

/** Discards lines (fuzzing: only the fingerprint matters). */
export const NULL_SINK: TraceSink = { write() {}, end() {} };

export interface TraceOptions {
  level?: TraceLevel;
  /** At most this many events are written (RunEnded always is). */
  maxEvents?: number;
  sink?: TraceSink;
}

export const DEFAULT_TRACE_MAX_EVENTS = 5_000_000;

type FieldsOf<E, K extends keyof E> = E[K];

/** Records events of the kernel kinds plus any registered with `registerKinds`. */
export class Trace<E extends object = KernelEvents> {
  readonly level: TraceLevel;
  /** True when detailed events are recorded: check it before building their fields. */
  readonly detailed: boolean;
  readonly maxEvents: number;
  private readonly sink: TraceSink;
  private readonly hash: Hash = createHash("sha256");
  private readonly levels = new Map<string, TraceLevel>(Object.entries(KERNEL_KIND_LEVELS));
  private nextSeq = 0;
  private dropped = 0;
  private capped = false;
  private finished: string | undefined;
  private started = false;

  constructor(
    private readonly kernel: Kernel,
    options: TraceOptions = {},
  ) {
    this.level = options.level ?? "summary";
    if (this.level !== "summary" && this.level !== "detailed") {
      throw new InputError("trace.level", `must be "summary" or "detailed", got "${String(this.level)}"`);
    }
    this.detailed = this.level === "detailed";
    this.maxEvents = options.maxEvents ?? DEFAULT_TRACE_MAX_EVENTS;
    if (!Number.isSafeInteger(this.maxEvents) || this.maxEvents < 2) {
      throw new InputError("trace.maxEvents", `must be an integer ≥ 2, got ${this.maxEvents}`);
    }
    this.sink = options.sink ?? NULL_SINK;
  }

  /** Adds event kinds (the engine's); a kind may be registered once. */
  registerKinds(levels: Record<string, TraceLevel>): void {
    for (const [kind, level] of Object.entries(levels)) {
      if (this.levels.has(kind)) throw new InvariantError(`trace kind ${kind} registered twice`);
      this.levels.set(kind, level);
    }
  }

  /** Events written so far. */
  get written(): number {
    return this.nextSeq;
  }

  /** Writes RunStarted, which must be the first line of every trace. */
  start(info: KernelEvents["RunStarted"]): void {
    if (this.started) throw new InvariantError("RunStarted written twice");
    this.started = true;
    this.write("RunStarted", info);
  }

  /** How often each coverage mark (Mark event) was hit, by name. */
  readonly marks = new Map<string, number>();

  /** Records an event at the kernel's current time (if its level is on and the cap allows). */
  emit<K extends keyof E & string>(kind: K, fields: FieldsOf<E, K>): void {
    if (!this.started) throw new InvariantError(`trace event ${kind} before RunStarted`);
    if (kind === "Mark") {
      // Coverage marks are counted even when the trace is capped.
      const name = (fields as { name: string }).name;
      this.marks.set(name, (this.marks.get(name) ?? 0) + 1);
    }
    if (this.finished !== undefined) throw new InvariantError(`trace event ${kind} after RunEnded`);
    const level = this.levels.get(kind);
    if (level === undefined) throw new InvariantError(`unknown trace kind ${kind}`);
    if (level === "detailed" && !this.detailed) return;
    if (this.nextSeq >= this.maxEvents - 2) {
      // Keep two lines for TraceCapped and RunEnded.
      if (!this.capped) {
        this.capped = true;
        this.write("TraceCapped", { cap: this.maxEvents });
      }
      this.dropped++;
      return;
    }
    this.write(kind, fields as object);
  }

  /** Writes RunEnded, closes the sink and returns the run's fingerprint (hex SHA-256). */
  finish(reason: string): string {
    if (this.finished !== undefined) return this.finished;
    if (!this.started) throw new InvariantError("RunEnded before RunStarted");
    this.write("RunEnded", {
      reason,
      kernelEvents: this.kernel.eventsRun,
      traceEvents: this.nextSeq + 1,
      droppedEvents: this.dropped,
      kernelHash: this.kernel.rollingHash,
    });
    this.sink.end();
    this.finished = this.hash.digest("hex");
    return this.finished;
  }

  get fingerprint(): string | undefined {
    return this.finished;
  }

  private write(kind: string, fields: object): void {
    const body = JSON.stringify(fields);
    const line =
      `{"v":${TRACE_VERSION},"seq":${this.nextSeq},"t":${this.kernel.now},"kind":"${kind}"` +
      (body.length > 2 ? "," + body.slice(1) : "}");
    this.nextSeq++;
    this.hash.update(line);
    this.hash.update("\n");
    this.sink.write(line);
  }
}

/** SHA-256 of a whole trace text: equals the recorder's fingerprint for the same lines. */
export function fingerprintOfLines(lines: Iterable<string>): string {
  const hash = createHash("sha256");
  for (const line of lines) {
    hash.update(line);
    hash.update("\n");
  }
  return hash.digest("hex");
}
