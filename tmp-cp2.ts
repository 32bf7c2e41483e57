import fc from "fast-check";
import { faultCaseArb, runFaultCase, checkFaultCase, MAIN_FAULT_KINDS } from "./test/exactly-once-cases";
import { MemorySink } from "./sim/trace/recorder";
const n = Number(process.argv[2] ?? 20);
const seed = Number(process.argv[3] ?? 1);
const cases = fc.sample(faultCaseArb({ sink: "transactional", kinds: MAIN_FAULT_KINDS, avoidKnownBugs: true }), { numRuns: n, seed });
let bad = 0;
for (const c0 of cases) {
  const c = { ...c0, mode: "STREAMING" as const, config: { ...c0.config, "execution.checkpointing.interval": process.env.CPI ?? "500ms" } };
  delete (c.config as any)["execution.batch-shuffle-mode"];
  const sink = new MemorySink();
  const r = runFaultCase(c, { level: "summary", sink } as any);
  const chk = checkFaultCase(c, r, "exactly-once");
  const lines = (sink as any).lines ?? [];
  const kinds: Record<string, number> = {};
  for (const l of lines) { const k = JSON.parse(l).kind; if (k.startsWith("Checkpoint")) kinds[k] = (kinds[k] ?? 0) + 1; }
  const ok = r.status === "FINISHED" && chk.ok;
  if (!ok) bad++;
  console.log(ok ? "ok " : "BAD", c.job, r.status, r.restarts, JSON.stringify(kinds), ok ? "" : (r.failureCause ?? "") + " " + JSON.stringify(chk).slice(0, 300), ok ? "" : JSON.stringify(c));
}
console.log("bad", bad);
