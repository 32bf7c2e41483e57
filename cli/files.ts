/**
 * File I/O for the shell: a buffered trace sink that writes to a temporary file and
 * renames it into place when the run ends (nothing half-written is left under the real
 * name), and a synchronous line reader for large trace files.
 */
import { closeSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { InputError } from "../sim/errors";
import type { TraceSink } from "../sim/trace/recorder";

const FLUSH_BYTES = 1 << 20;

export class FileSink implements TraceSink {
  private readonly fd: number;
  private readonly tmpPath: string;
  private buffer: string[] = [];
  private bufferedChars = 0;
  private closed = false;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.tmpPath = `${path}.partial`;
    this.fd = openSync(this.tmpPath, "w");
  }

  write(line: string): void {
    this.buffer.push(line, "\n");
    this.bufferedChars += line.length + 1;
    if (this.bufferedChars >= FLUSH_BYTES) this.flush();
  }

  end(): void {
    if (this.closed) return;
    this.flush();
    closeSync(this.fd);
    this.closed = true;
    renameSync(this.tmpPath, this.path);
  }

  /** Removes the partial file (the run failed before it finished). */
  abort(): void {
    if (this.closed) return;
    closeSync(this.fd);
    this.closed = true;
    rmSync(this.tmpPath, { force: true });
  }

  private flush(): void {
    if (this.buffer.length === 0) return;
    writeSync(this.fd, this.buffer.join(""));
    this.buffer = [];
    this.bufferedChars = 0;
  }
}

/** Yields the lines of a file without loading it whole (the last empty line is dropped). */
export function* readLines(path: string, field = "trace"): Generator<string> {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    throw new InputError(field, `cannot open "${path}"`);
  }
  const chunk = Buffer.alloc(1 << 20);
  let rest = "";
  // The decoder keeps a multi-byte character split across two chunks whole.
  const decoder = new StringDecoder("utf8");
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      const text = rest + decoder.write(chunk.subarray(0, n));
      const lines = text.split("\n");
      rest = lines.pop()!;
      yield* lines;
    }
    rest += decoder.end();
    if (rest.length > 0) yield rest;
  } finally {
    closeSync(fd);
  }
}
