import type { RunDetails } from "fast-check";

/**
 * Property-test case counts: the suite's budget (DESIGN, "Test-suite budget") times
 * FLOWSIM_PROP_SCALE, so a long campaign is `FLOWSIM_PROP_SCALE=20 npm test`.
 */
const scale = Number(process.env.FLOWSIM_PROP_SCALE ?? "1");
if (!(scale > 0) || !Number.isFinite(scale)) {
  throw new Error(`FLOWSIM_PROP_SCALE: must be a positive number, got "${process.env.FLOWSIM_PROP_SCALE}"`);
}

export const PROP_SCALE = scale;

/** Number of runs for a property: `base` scaled, at least 1. */
export function propRuns(base: number): number {
  return Math.max(1, Math.round(base * PROP_SCALE));
}

/**
 * The fast-check seed of the engine-level properties: FLOWSIM_PROP_SEED when set (replay);
 * in CI a fixed one, so a landing is never decided by a lucky draw; locally a fresh one
 * per run, so everyday runs keep exploring.
 */
export function propSeed(): number | undefined {
  const env = process.env.FLOWSIM_PROP_SEED;
  if (env !== undefined) return Number(env);
  return process.env.CI ? 20261121 : undefined;
}

/**
 * Throws when a property failed: the shrunk case's problem, fast-check's replay line and the
 * case's own one-line reproducer (with its simulation seed).
 */
export function throwIfFailed<C>(details: RunDetails<[C]>, reproducer: (c: C) => string): void {
  if (!details.failed) return;
  const c = details.counterexample![0];
  const problem = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(
    `${problem}\n(fast-check seed ${details.seed}, path "${details.counterexamplePath}", shrunk ${details.numShrinks} times; FLOWSIM_PROP_SEED=${details.seed} replays)\n` +
      reproducer(c),
  );
}
