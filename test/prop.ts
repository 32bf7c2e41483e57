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
