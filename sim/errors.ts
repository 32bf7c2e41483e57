/**
 * Errors that reach a user: bad input is reported as one line naming the field and the
 * problem. Engine invariant violations are a different thing (see `assert`).
 */

/** Invalid user input (a config field, a duration, a trace line); `field` names where. */
export class InputError extends Error {
  readonly field: string;
  readonly problem: string;
  constructor(field: string, problem: string) {
    super(`${field}: ${problem}`);
    this.name = "InputError";
    this.field = field;
    this.problem = problem;
  }
}

/** A broken invariant inside the simulator or engine: a bug, never a modelled fault. */
export class InvariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvariantError";
  }
}

/** Assertions stay on in the core (DESIGN, style rule 2). */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

/** Levenshtein distance, for "did you mean" suggestions on unknown names. */
export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The closest candidate to `name`, if one is close enough to be a plausible typo. */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/** "unknown host \"x\"" plus a suggestion when one is close. */
export function unknownNameProblem(what: string, name: string, candidates: readonly string[]): string {
  const hint = closestName(name, candidates);
  return `unknown ${what} "${name}"` + (hint !== undefined ? ` (did you mean "${hint}"?)` : "");
}
