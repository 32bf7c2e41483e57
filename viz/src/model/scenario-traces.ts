/**
 * Test helper: the trace text of a real scenario run, in memory, so the view models are
 * tested against what the engine actually writes rather than hand-made events only.
 */
import { loadScenario, runScenarioOnce } from "../../../cli/run";
import { MemorySink } from "../../../sim/trace/recorder";

const cache = new Map<string, string>();

export async function scenarioTraceText(name: string, seed = 1): Promise<string> {
  const key = `${name}#${seed}`;
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const scenario = await loadScenario(`scenarios/${name}.scenario.ts`);
  const sink = new MemorySink();
  runScenarioOnce(scenario, seed, {}, false, { sink, level: "summary" });
  const text = sink.lines.map((l) => l + "\n").join("");
  cache.set(key, text);
  return text;
}
