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
