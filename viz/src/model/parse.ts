/**
 * Incremental trace v1 parsing for the browser: text arrives in chunks (a fetch stream, a
 * File stream) that split lines anywhere; this buffers the partial last line and checks
 * every complete line with the shared TraceReader (sim/trace/reader.ts), so the viewer
 * and the CLI agree on what a valid trace is.
 *
 * Invariants: the events are exactly those `readTraceText` gives for the same text,
 * whatever the chunk boundaries; the first bad line stops parsing and is reported as a
 * `problem` naming the line, while the valid prefix stays available, so the page always
 * has something to show.
 */
import { InputError } from "../../../sim/errors";
import type { TraceEvent } from "../../../sim/trace/events";
import { TraceReader } from "../../../sim/trace/reader";

export interface ParseProblem {
  /** 1-based line number, or 0 when the problem is the trace as a whole. */
  line: number;
  /** One line, naming the field and the problem. */
  message: string;
}

export interface ParseResult {
  events: TraceEvent[];
  /** The first problem met; parsing stopped there. */
  problem: ParseProblem | undefined;
  /** True when the trace has no RunEnded (a crashed or interrupted run, or a cut file). */
  truncated: boolean;
}

export class IncrementalTraceParser {
  private readonly reader = new TraceReader();
  private carry = "";
  private readonly events: TraceEvent[] = [];
  private problem: ParseProblem | undefined;

  /** Events accepted so far (grows as chunks arrive). */
  get parsed(): readonly TraceEvent[] {
    return this.events;
  }

  get failed(): boolean {
    return this.problem !== undefined;
  }

  /** Feeds the next piece of text; after a problem, further text is ignored. */
  push(chunk: string): void {
    if (this.problem !== undefined || chunk.length === 0) return;
    let text = this.carry + chunk;
    let start = 0;
    for (;;) {
      const nl = text.indexOf("\n", start);
      if (nl < 0) break;
      if (!this.accept(text.slice(start, nl))) return;
      start = nl + 1;
    }
    this.carry = start === 0 ? text : text.slice(start);
    text = "";
  }

  /** Ends the input: a last line without a newline is still a line. */
  finish(): ParseResult {
    if (this.problem === undefined && this.carry.length > 0) this.accept(this.carry);
    this.carry = "";
    if (this.problem === undefined && this.events.length === 0) {
      this.problem = { line: 0, message: "trace: empty (a trace starts with a RunStarted line)" };
    }
    return { events: this.events, problem: this.problem, truncated: !this.reader.sawRunEnded };
  }

  private accept(rawLine: string): boolean {
    // A CRLF file is the same trace; JSON.parse would accept the \r, the reader's "empty line" check would not.
    const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    try {
      this.events.push(this.reader.push(line));
      return true;
    } catch (err) {
      const lineNo = this.reader.linesRead + 1;
      const message = err instanceof InputError ? err.message : `trace line ${lineNo}: ${(err as Error).message}`;
      this.problem = { line: lineNo, message };
      return false;
    }
  }
}

/** Parses a whole text in one go (tests and small inputs). */
export function parseTraceText(text: string): ParseResult {
  const parser = new IncrementalTraceParser();
  parser.push(text);
  return parser.finish();
}

/**
 * Reads a stream of bytes (fetch body, File.stream()) through the parser, reporting
 * progress after each chunk so the page can show how far loading got.
 */
export async function parseTraceStream(
  stream: ReadableStream<Uint8Array>,
  onProgress?: (bytes: number, events: number) => void,
): Promise<ParseResult> {
  const parser = new IncrementalTraceParser();
  const decoder = new TextDecoder();
  const reader = stream.getReader();
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    parser.push(decoder.decode(value, { stream: true }));
    onProgress?.(bytes, parser.parsed.length);
    if (parser.failed) {
      await reader.cancel();
      break;
    }
  }
  parser.push(decoder.decode());
  return parser.finish();
}
