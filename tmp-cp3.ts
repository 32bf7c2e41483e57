import { runFaultCase } from "./test/exactly-once-cases";
import { MemorySink } from "./sim/trace/recorder";
import { readFileSync } from "fs";
const c = JSON.parse(readFileSync(process.argv[2]!, "utf8"));
const sink = new MemorySink();
const r = runFaultCase(c, { level: "summary", sink } as any);
console.log(r.status, r.failureCause);
const re = new RegExp(process.argv[3] ?? ".");
for (const l of sink.lines) { const e = JSON.parse(l); if (re.test(e.kind) && e.kind !== "TaskMetrics") console.log((e.t/1e9).toFixed(3), e.kind, JSON.stringify(e).slice(0, 250)); }
