/**
 * Test helper: the trace text of a real scenario run, in memory, so the view models are
 * tested against what the engine actually writes rather than hand-made events only.
 * A run may be the scenario's knock-out twin, or the scenario with its faults replaced
 * (a variant the scenario's own tests run, such as a second fault during an outage).
 */
import { loadScenario, runScenarioOnce } from "../../../cli/run";
import { defineScenario, specOf } from "../../../scenarios/define";
import { MemorySink } from "../../../sim/trace/recorder";

export interface TraceVariant {
  knockout?: boolean;
  /** Replaces the scenario's faults (same shape as a scenario's `faults`). */
  faults?: unknown[];
  /** A phased scenario: the trace of this phase (1-based, as the CLI names phase files); the last phase by default. */
  phase?: number;
}

const cache = new Map<string, string>();

export async function scenarioTraceText(name: string, seed = 1, variant: TraceVariant = {}): Promise<string> {
  const key = `${name}#${seed}#${JSON.stringify(variant)}`;
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const loaded = await loadScenario(`scenarios/${name}.scenario.ts`);
  const scenario = variant.faults === undefined ? loaded : defineScenario({ ...specOf(loaded), faults: variant.faults as never });
  const sink = new MemorySink();
  const phaseSinks = new Map<number, MemorySink>();
  const phaseSink = (i: number) => {
    const s = new MemorySink();
    phaseSinks.set(i + 1, s);
    return s;
  };
  runScenarioOnce(scenario, seed, {}, variant.knockout === true, { sink, level: "summary", phaseSink });
  const chosen = variant.phase === undefined ? sink : phaseSinks.get(variant.phase) ?? (variant.phase === phaseSinks.size + 1 ? sink : undefined);
  if (chosen === undefined) throw new Error(`${name} has no phase ${variant.phase}`);
  const text = chosen.lines.map((l) => l + "\n").join("");
  cache.set(key, text);
  return text;
}
