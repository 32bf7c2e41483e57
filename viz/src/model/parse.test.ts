import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readTraceText } from "../../../sim/trace/reader";
import { IncrementalTraceParser, parseTraceStream, parseTraceText } from "./parse";
import { scenarioTraceText } from "./scenario-traces";

/** Feeds `text` in pieces cut at the given offsets. */
function parseInChunks(text: string, cuts: number[]) {
  const parser = new IncrementalTraceParser();
  let prev = 0;
  for (const c of [...new Set(cuts)].sort((a, b) => a - b)) {
    parser.push(text.slice(prev, c));
    prev = c;
  }
  parser.push(text.slice(prev));
  return parser.finish();
}

const line = (seq: number, t: number, kind: string, extra = "") => `{"v":1,"seq":${seq},"t":${t},"kind":"${kind}"${extra}}`;
const SMALL = [line(0, 0, "RunStarted", ',"seed":"1"'), line(1, 5, "Note", ',"text":"a"'), line(2, 9, "RunEnded")].join("\n") + "\n";

describe("incremental trace parsing", () => {
  it("parses a real scenario trace exactly as the CLI's reader does", async () => {
    const text = await scenarioTraceText("region-failover");
    const r = parseTraceText(text);
    expect(r.problem).toBeUndefined();
    expect(r.truncated).toBe(false);
    expect(r.events).toEqual(readTraceText(text));
  });

  it("gives the same events whatever the chunk boundaries (property)", async () => {
    const text = await scenarioTraceText("exactly-once-sink");
    const whole = parseTraceText(text);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: text.length }), { maxLength: 40 }), (cuts) => {
        const r = parseInChunks(text, cuts);
        expect(r.problem).toEqual(whole.problem);
        expect(r.events).toEqual(whole.events);
      }),
      { numRuns: 200 },
    );
  });

  it("reports the same first problem whatever the chunk boundaries, for corrupted traces (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: SMALL.length - 1 }), fc.string({ maxLength: 3 }), fc.array(fc.nat(SMALL.length + 3), { maxLength: 6 }), (at, insert, cuts) => {
        const text = SMALL.slice(0, at) + insert + SMALL.slice(at);
        const whole = parseTraceText(text);
        const chunked = parseInChunks(text, cuts);
        expect(chunked).toEqual(whole);
      }),
      { numRuns: 300 },
    );
  });

  it("names the line of a malformed line and keeps the events before it", () => {
    const text = [line(0, 0, "RunStarted", ',"seed":"1"'), line(1, 5, "Note"), '{"v":1,"seq":2,"t":7,"kind":"Note"', line(3, 9, "RunEnded")].join("\n");
    const r = parseTraceText(text);
    expect(r.events.map((e) => e.seq)).toEqual([0, 1]);
    expect(r.problem?.line).toBe(3);
    expect(r.problem?.message).toMatch(/^trace line 3: not valid JSON/);
  });

  it("reports an unknown version with its line", () => {
    const r = parseTraceText(line(0, 0, "RunStarted", ',"seed":"1"') + "\n" + line(1, 1, "Note").replace('"v":1', '"v":2'));
    expect(r.problem).toEqual({ line: 2, message: "trace line 2: v: unsupported trace version 2 (this reader reads version 1)" });
  });

  it("marks a trace without RunEnded as truncated, and a cut last line as a problem", () => {
    const noEnd = parseTraceText(SMALL.split("\n").slice(0, 2).join("\n") + "\n");
    expect(noEnd.problem).toBeUndefined();
    expect(noEnd.truncated).toBe(true);
    const cut = parseTraceText(SMALL.slice(0, SMALL.length - 10));
    expect(cut.truncated).toBe(true);
    expect(cut.problem?.line).toBe(3);
  });

  it("rejects an empty input with a message, not an empty page", () => {
    expect(parseTraceText("").problem?.message).toMatch(/empty/);
  });

  it("accepts CRLF line ends", () => {
    const r = parseTraceText(SMALL.replace(/\n/g, "\r\n"));
    expect(r.problem).toBeUndefined();
    expect(r.events).toHaveLength(3);
  });

  it("reads a byte stream split inside multi-byte characters", async () => {
    const text = [line(0, 0, "RunStarted", ',"seed":"1"'), line(1, 5, "Note", ',"text":"µs → ✓"'), line(2, 9, "RunEnded")].join("\n");
    const bytes = new TextEncoder().encode(text);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 7) c.enqueue(bytes.slice(i, i + 7));
        c.close();
      },
    });
    const r = await parseTraceStream(stream);
    expect(r.problem).toBeUndefined();
    expect(r.events[1]!.text).toBe("µs → ✓");
  });
});
