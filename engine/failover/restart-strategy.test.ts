/**
 * Restart strategies against hand-computed Flink 1.19+ behaviour (ExponentialDelay-,
 * FixedDelay-, FailureRate-, NoRestartBackoffTimeStrategy and the factory loader), plus
 * properties of exponential-delay's back-off and its seeded jitter.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { propRuns } from "../../test/prop";
import { InputError } from "../../sim/errors";
import { Rng } from "../../sim/rng";
import { NS_PER_H, NS_PER_MIN, NS_PER_MS, NS_PER_S } from "../../sim/time";
import { EngineConfig, effectiveRestartStrategy } from "../config";
import {
  ExponentialDelayRestartBackoffTimeStrategy,
  FailureRateRestartBackoffTimeStrategy,
  FixedDelayRestartBackoffTimeStrategy,
  NoRestartBackoffTimeStrategy,
  createRestartStrategy,
  exponentialBaseBackoffNs,
  resolveRestartStrategyType,
  type ExponentialDelayParams,
  type RestartBackoffTimeStrategy,
} from "./restart-strategy";

const CAUSE = "TaskManager lost";

/** Flink's exponential-delay defaults (1.19+), overridable. */
function expParams(overrides: Partial<ExponentialDelayParams> = {}): ExponentialDelayParams {
  return {
    initialBackoffNs: NS_PER_S,
    maxBackoffNs: NS_PER_MIN,
    backoffMultiplier: 1.5,
    resetBackoffThresholdNs: NS_PER_H,
    jitterFactor: 0.1,
    attemptsBeforeResetBackoff: 2_147_483_647,
    ...overrides,
  };
}

function exponential(overrides: Partial<ExponentialDelayParams> = {}, seed = 1): ExponentialDelayRestartBackoffTimeStrategy {
  return new ExponentialDelayRestartBackoffTimeStrategy(expParams(overrides), Rng.root(seed).child("restart"));
}

interface Outcome {
  canRestart: boolean;
  backoffNs: number;
  merged: boolean;
}

/** Notifies a failure at `nowNs` and reads the answer the way ExecutionFailureHandler does. */
function fail(strategy: RestartBackoffTimeStrategy, nowNs: number): Outcome {
  strategy.notifyFailure(nowNs, CAUSE);
  const canRestart = strategy.canRestart();
  return { canRestart, backoffNs: canRestart ? strategy.getBackoffTimeNs() : -1, merged: strategy.lastFailureMerged ?? false };
}

/**
 * Fails each time the previous restart has happened plus `runNs` of running, i.e. every
 * failure is a new attempt; returns the back-offs.
 */
function failAfterEachRestart(strategy: RestartBackoffTimeStrategy, count: number, runNs: number): number[] {
  const backoffs: number[] = [];
  let nowNs = 0;
  for (let i = 0; i < count; i++) {
    const outcome = fail(strategy, nowNs);
    expect(outcome.merged).toBe(false);
    backoffs.push(outcome.backoffNs);
    nowNs += outcome.backoffNs + runNs;
  }
  return backoffs;
}

function inputErrorOf(f: () => unknown): InputError {
  try {
    f();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error("expected an InputError");
}

describe("none", () => {
  it("never restarts and never merges", () => {
    const s = new NoRestartBackoffTimeStrategy();
    expect(s.name).toBe("none");
    expect(fail(s, 0)).toEqual({ canRestart: false, backoffNs: -1, merged: false });
    expect(s.getBackoffTimeNs()).toBe(0);
  });
});

describe("fixed-delay", () => {
  it("attempts=3, delay=10s: three restarts after 10 s each, the fourth failure fails the job", () => {
    const s = new FixedDelayRestartBackoffTimeStrategy({ maxAttempts: 3, delayNs: 10 * NS_PER_S });
    const t = (sec: number) => sec * NS_PER_S;
    expect(fail(s, t(0))).toEqual({ canRestart: true, backoffNs: t(10), merged: false });
    expect(fail(s, t(30))).toEqual({ canRestart: true, backoffNs: t(10), merged: false });
    // Hours later still counts: fixed-delay never forgets an attempt.
    expect(fail(s, t(7200))).toEqual({ canRestart: true, backoffNs: t(10), merged: false });
    expect(fail(s, t(7300)).canRestart).toBe(false);
    expect(s.restartAttempts).toBe(4);
  });

  it("attempts=0 refuses the first failure", () => {
    const s = new FixedDelayRestartBackoffTimeStrategy({ maxAttempts: 0, delayNs: 0 });
    expect(fail(s, 0).canRestart).toBe(false);
  });

  it("counts every failure, even one inside the pending back-off (only exponential-delay merges)", () => {
    const s = new FixedDelayRestartBackoffTimeStrategy({ maxAttempts: 2, delayNs: 10 * NS_PER_S });
    expect(fail(s, 0)).toMatchObject({ canRestart: true, merged: false });
    expect(fail(s, NS_PER_S)).toMatchObject({ canRestart: true, merged: false });
    expect(fail(s, 2 * NS_PER_S).canRestart).toBe(false);
  });

  it("rejects what Flink's constructor rejects", () => {
    expect(inputErrorOf(() => new FixedDelayRestartBackoffTimeStrategy({ maxAttempts: -1, delayNs: 0 })).field).toBe(
      "restart-strategy.fixed-delay.attempts",
    );
    expect(inputErrorOf(() => new FixedDelayRestartBackoffTimeStrategy({ maxAttempts: 1, delayNs: -1 })).field).toBe(
      "restart-strategy.fixed-delay.delay",
    );
  });
});

describe("failure-rate", () => {
  const s = (sec: number) => sec * NS_PER_S;
  const make = () =>
    new FailureRateRestartBackoffTimeStrategy({ maxFailuresPerInterval: 2, intervalNs: NS_PER_MIN, delayNs: NS_PER_S });

  it("2 per 1 min: the third failure within the interval fails the job", () => {
    const r = make();
    expect(fail(r, s(0))).toEqual({ canRestart: true, backoffNs: NS_PER_S, merged: false });
    expect(fail(r, s(10))).toEqual({ canRestart: true, backoffNs: NS_PER_S, merged: false });
    expect(fail(r, s(20)).canRestart).toBe(false);
  });

  it("allows the third once the window has slid past the first (strictly more than the interval)", () => {
    const r = make();
    fail(r, s(0));
    fail(r, s(10));
    expect(fail(r, s(60) + 1).canRestart).toBe(true);
    // Window now holds 10 s, 60 s + 1 ns: a fourth failure at 65 s has 3 within (10, 65].
    expect(fail(r, s(65)).canRestart).toBe(false);
  });

  it("a third failure exactly one interval after the first still fails the job (Flink compares with >)", () => {
    const r = make();
    fail(r, s(0));
    fail(r, s(10));
    expect(fail(r, s(60)).canRestart).toBe(false);
  });

  it("slow steady failures never exceed the rate", () => {
    const r = make();
    for (let i = 0; i < 50; i++) expect(fail(r, s(31 * i)).canRestart).toBe(true);
  });

  it("rejects what Flink's constructor rejects", () => {
    expect(
      inputErrorOf(() => new FailureRateRestartBackoffTimeStrategy({ maxFailuresPerInterval: 0, intervalNs: 1, delayNs: 0 })).field,
    ).toBe("restart-strategy.failure-rate.max-failures-per-interval");
    expect(
      inputErrorOf(() => new FailureRateRestartBackoffTimeStrategy({ maxFailuresPerInterval: 1, intervalNs: 0, delayNs: 0 })).field,
    ).toBe("restart-strategy.failure-rate.failure-rate-interval");
  });
});

describe("exponential-delay", () => {
  it("without jitter: 1 s, 1.5 s, 2.25 s, … ×1.5 each, capped at 60 s", () => {
    const backoffs = failAfterEachRestart(exponential({ jitterFactor: 0 }), 14, 10 * NS_PER_S);
    expect(backoffs).toEqual([
      1_000_000_000, 1_500_000_000, 2_250_000_000, 3_375_000_000, 5_062_500_000, 7_593_750_000, 11_390_625_000,
      17_085_937_500, 25_628_906_250, 38_443_359_375, 57_665_039_062, 60_000_000_000, 60_000_000_000, 60_000_000_000,
    ]);
  });

  it("with jitter 0.1: each back-off within ±10 % of the un-jittered one and inside [1 s, 60 s]", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const backoffs = failAfterEachRestart(exponential({}, seed), 16, 10 * NS_PER_S);
      backoffs.forEach((b, n) => {
        const base = Math.floor(NS_PER_S * 1.5 ** n);
        const spread = Math.floor(base * 0.1);
        // Flink clamps the jittered value to [initial, max].
        expect(b).toBeGreaterThanOrEqual(Math.max(NS_PER_S, Math.min(base - spread, NS_PER_MIN)));
        expect(b).toBeLessThanOrEqual(Math.min(NS_PER_MIN, base + spread));
      });
    }
  });

  it("is deterministic per seed and differs between seeds", () => {
    const run = (seed: number) => failAfterEachRestart(exponential({}, seed), 12, 5 * NS_PER_S);
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it("failures inside the pending back-off window count once (Flink ≥ 1.19)", () => {
    const s = exponential({ jitterFactor: 0, attemptsBeforeResetBackoff: 2 });
    const ms = (n: number) => n * NS_PER_MS;
    expect(fail(s, 0)).toEqual({ canRestart: true, backoffNs: NS_PER_S, merged: false });
    expect(s.nextRestartTimeNs).toBe(NS_PER_S);
    // Another region fails 300 ms later: merged, restarts with the first at t = 1 s.
    expect(fail(s, ms(300))).toEqual({ canRestart: true, backoffNs: ms(700), merged: true });
    // Exactly at the scheduled restart still belongs to that window (now <= nextRestart).
    expect(fail(s, ms(1000))).toEqual({ canRestart: true, backoffNs: 0, merged: true });
    expect(s.restartAttempts).toBe(1);
    // One ns later is a new attempt: the back-off grows once, not three times.
    expect(fail(s, ms(1000) + 1)).toEqual({ canRestart: true, backoffNs: ms(1500), merged: false });
    expect(s.restartAttempts).toBe(2);
    // Merged failures did not use up attempts-before-reset-backoff = 2; the third attempt does.
    expect(fail(s, ms(2500) + 1 + ms(100)).canRestart).toBe(false);
  });

  it("merged failures draw no jitter: the stream stays aligned with a run without them", () => {
    const plain = exponential({}, 11);
    const noisy = exponential({}, 11);
    let nowNs = 0;
    for (let i = 0; i < 8; i++) {
      const a = fail(plain, nowNs);
      const b = fail(noisy, nowNs);
      expect(b).toEqual(a);
      // The noisy run sees two more failures inside each back-off window.
      expect(fail(noisy, nowNs + 1).merged).toBe(true);
      expect(fail(noisy, nowNs + a.backoffNs).merged).toBe(true);
      nowNs += a.backoffNs + NS_PER_S;
    }
  });

  it("resets to the initial back-off after reset-backoff-threshold of running since the last restart", () => {
    const s = exponential({ jitterFactor: 0 });
    failAfterEachRestart(s, 4, NS_PER_S); // back-offs 1, 1.5, 2.25, 3.375 s
    const restartNs = s.nextRestartTimeNs!;
    // One ns short of an hour after the restart: keeps growing (5.0625 s).
    const almost = exponential({ jitterFactor: 0 });
    failAfterEachRestart(almost, 4, NS_PER_S);
    expect(fail(almost, restartNs + NS_PER_H - 1)).toMatchObject({ backoffNs: 5_062_500_000, merged: false });
    // A full hour: back to 1 s, and the attempt count restarts at 1.
    expect(fail(s, restartNs + NS_PER_H)).toMatchObject({ canRestart: true, backoffNs: NS_PER_S, merged: false });
    expect(s.restartAttempts).toBe(1);
  });

  it("the reset threshold counts from the scheduled restart, not from the last failure", () => {
    // A 50 s back-off plus 20 s of running is 70 s since the failure but 20 s since the restart.
    const s = exponential({ jitterFactor: 0, initialBackoffNs: 50 * NS_PER_S, maxBackoffNs: 10 * NS_PER_MIN, resetBackoffThresholdNs: 60 * NS_PER_S });
    expect(fail(s, 0).backoffNs).toBe(50 * NS_PER_S);
    expect(fail(s, 70 * NS_PER_S).backoffNs).toBe(75 * NS_PER_S);
    // 60 s after the restart at 145 s: reset.
    expect(fail(s, 205 * NS_PER_S).backoffNs).toBe(50 * NS_PER_S);
  });

  it("attempts-before-reset-backoff: N restarts, then the job fails — unless the back-off reset in between", () => {
    const s = exponential({ jitterFactor: 0, attemptsBeforeResetBackoff: 3 });
    expect(failAfterEachRestart(s, 3, NS_PER_S)).toEqual([1_000_000_000, 1_500_000_000, 2_250_000_000]);
    const restartNs = s.nextRestartTimeNs!;
    const fresh = exponential({ jitterFactor: 0, attemptsBeforeResetBackoff: 3 });
    failAfterEachRestart(fresh, 3, NS_PER_S);
    expect(fail(fresh, restartNs + NS_PER_S).canRestart).toBe(false);
    expect(fail(s, restartNs + NS_PER_H)).toMatchObject({ canRestart: true, backoffNs: NS_PER_S });
  });

  it("rejects what Flink's constructor rejects", () => {
    const field = (o: Partial<ExponentialDelayParams>) => inputErrorOf(() => exponential(o)).field;
    expect(field({ backoffMultiplier: 1 })).toBe("restart-strategy.exponential-delay.backoff-multiplier");
    expect(field({ initialBackoffNs: 2 * NS_PER_MIN })).toBe("restart-strategy.exponential-delay.initial-backoff");
    expect(field({ jitterFactor: 1.5 })).toBe("restart-strategy.exponential-delay.jitter-factor");
    expect(field({ attemptsBeforeResetBackoff: 0 })).toBe("restart-strategy.exponential-delay.attempts-before-reset-backoff");
    expect(field({ resetBackoffThresholdNs: 0 })).toBe("restart-strategy.exponential-delay.reset-backoff-threshold");
  });

  it("huge attempt counts stay finite and at max-backoff", () => {
    expect(exponentialBaseBackoffNs({ initialBackoffNs: NS_PER_S, backoffMultiplier: 1.5 }, 5000)).toBe(Number.MAX_SAFE_INTEGER);
    const s = exponential({ jitterFactor: 1 });
    const backoffs = failAfterEachRestart(s, 200, 1);
    expect(backoffs.every((b) => b >= NS_PER_S && b <= NS_PER_MIN)).toBe(true);
  });

  it("the mean back-off over seeds grows with the attempt number (jitter is symmetric before clamping)", () => {
    const attempts = 14;
    const sums = new Array<number>(attempts).fill(0);
    const seeds = 300;
    for (let seed = 0; seed < seeds; seed++) {
      failAfterEachRestart(exponential({}, seed), attempts, NS_PER_S).forEach((b, n) => (sums[n]! += b));
    }
    const means = sums.map((s) => s / seeds);
    for (let n = 1; n < attempts; n++) expect(means[n]!).toBeGreaterThanOrEqual(means[n - 1]!);
    expect(means[attempts - 1]).toBe(NS_PER_MIN);
  });
});

describe("exponential-delay properties", () => {
  const paramsArb = fc
    .record({
      initialBackoffNs: fc.integer({ min: 1, max: 10 * NS_PER_S }),
      extraMaxNs: fc.integer({ min: 0, max: 100 * NS_PER_S }),
      backoffMultiplier: fc.double({ min: 1.0001, max: 4, noNaN: true }),
      resetBackoffThresholdNs: fc.integer({ min: 1, max: 2 * NS_PER_H }),
      jitterFactor: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })),
    })
    .map(
      (r): ExponentialDelayParams => ({
        initialBackoffNs: r.initialBackoffNs,
        maxBackoffNs: r.initialBackoffNs + r.extraMaxNs,
        backoffMultiplier: r.backoffMultiplier,
        resetBackoffThresholdNs: r.resetBackoffThresholdNs,
        jitterFactor: r.jitterFactor,
        attemptsBeforeResetBackoff: 2_147_483_647,
      }),
    );

  it("any failure pattern: back-off within [initial×(1−j), max×(1+j)] (in fact [initial, max]); merge and reset exactly as Flink decides", () => {
    fc.assert(
      fc.property(
        paramsArb,
        fc.integer(),
        fc.array(fc.integer({ min: 0, max: 3 * NS_PER_H }), { minLength: 1, maxLength: 40 }),
        (p, seed, gapsNs) => {
          const s = new ExponentialDelayRestartBackoffTimeStrategy(p, Rng.root(seed).child("restart"));
          let nowNs = 0;
          for (const gapNs of gapsNs) {
            nowNs += gapNs;
            const before = { next: s.nextRestartTimeNs, attempts: s.restartAttempts };
            const o = fail(s, nowNs);
            expect(o.canRestart).toBe(true);
            const shouldMerge = before.next !== undefined && nowNs <= before.next;
            expect(o.merged).toBe(shouldMerge);
            if (shouldMerge) {
              expect(o.backoffNs).toBe(before.next! - nowNs);
              expect(s.restartAttempts).toBe(before.attempts);
              continue;
            }
            const reset = before.next === undefined || nowNs - before.next >= p.resetBackoffThresholdNs;
            const attempt = reset ? 0 : before.attempts;
            expect(s.restartAttempts).toBe(attempt + 1);
            expect(o.backoffNs).toBeGreaterThanOrEqual(p.initialBackoffNs * (1 - p.jitterFactor));
            expect(o.backoffNs).toBeLessThanOrEqual(p.maxBackoffNs * (1 + p.jitterFactor));
            expect(o.backoffNs).toBeGreaterThanOrEqual(p.initialBackoffNs);
            expect(o.backoffNs).toBeLessThanOrEqual(p.maxBackoffNs);
            const base = exponentialBaseBackoffNs(p, attempt);
            const spread = Math.floor(base * p.jitterFactor);
            expect(o.backoffNs).toBeGreaterThanOrEqual(Math.max(p.initialBackoffNs, Math.min(base - spread, p.maxBackoffNs)));
            expect(o.backoffNs).toBeLessThanOrEqual(Math.max(p.initialBackoffNs, Math.min(base + spread, p.maxBackoffNs)));
            expect(Number.isSafeInteger(o.backoffNs)).toBe(true);
          }
        },
      ),
      { numRuns: propRuns(300) },
    );
  });

  it("without resets the back-off's range never moves down, and without jitter the back-off never decreases", () => {
    fc.assert(
      fc.property(
        paramsArb.filter((p) => p.resetBackoffThresholdNs >= 2),
        fc.integer(),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 2, maxLength: 30 }),
        (p, seed, runFractions) => {
          // Each failure comes after the restart (so it counts) and less than the reset
          // threshold after it (so it does not reset): 1 ≤ now − nextRestart ≤ threshold − 1.
          const nextFailureNs = (restartNs: number, fraction: number) =>
            restartNs + 1 + Math.floor(fraction * (p.resetBackoffThresholdNs - 2));
          const jittered = new ExponentialDelayRestartBackoffTimeStrategy(p, Rng.root(seed).child("restart"));
          const plain = new ExponentialDelayRestartBackoffTimeStrategy({ ...p, jitterFactor: 0 }, Rng.root(seed));
          let jitteredNowNs = 0;
          let plainNowNs = 0;
          let prevLow = 0;
          let prevHigh = 0;
          let prevPlain = 0;
          for (let n = 0; n < runFractions.length; n++) {
            const o = fail(jittered, jitteredNowNs);
            const q = fail(plain, plainNowNs);
            expect(o.merged).toBe(false);
            expect(q.merged).toBe(false);
            const base = exponentialBaseBackoffNs(p, n);
            const spread = Math.floor(base * p.jitterFactor);
            const low = Math.max(p.initialBackoffNs, Math.min(base - spread, p.maxBackoffNs));
            const high = Math.max(p.initialBackoffNs, Math.min(base + spread, p.maxBackoffNs));
            expect(o.backoffNs).toBeGreaterThanOrEqual(low);
            expect(o.backoffNs).toBeLessThanOrEqual(high);
            expect(low).toBeGreaterThanOrEqual(prevLow);
            expect(high).toBeGreaterThanOrEqual(prevHigh);
            expect(q.backoffNs).toBe(Math.min(base, p.maxBackoffNs));
            expect(q.backoffNs).toBeGreaterThanOrEqual(prevPlain);
            [prevLow, prevHigh, prevPlain] = [low, high, q.backoffNs];
            jitteredNowNs = nextFailureNs(jitteredNowNs + o.backoffNs, runFractions[n]!);
            plainNowNs = nextFailureNs(plainNowNs + q.backoffNs, runFractions[n]!);
          }
        },
      ),
      { numRuns: propRuns(300) },
    );
  });

  it("same seed ⇒ same back-offs; different seeds ⇒ different back-offs (jitter > 0)", () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer(),
        fc.double({ min: 0.05, max: 1, noNaN: true }),
        fc.array(fc.integer({ min: 0, max: 10 * NS_PER_MIN }), { minLength: 10, maxLength: 20 }),
        (seedA, seedB, jitterFactor, gapsNs) => {
          fc.pre(seedA !== seedB);
          const run = (seed: number) => {
            const s = exponential({ jitterFactor }, seed);
            let nowNs = 0;
            return gapsNs.map((g) => {
              nowNs += g;
              return fail(s, nowNs);
            });
          };
          expect(run(seedA)).toEqual(run(seedA));
          // Make every failure a counted one so each draws: ten draws of a spread ≥ 5 %
          // of ≥ 1 s cannot all coincide.
          const counted = (seed: number) => failAfterEachRestart(exponential({ jitterFactor }, seed), 10, NS_PER_S);
          expect(counted(seedA)).not.toEqual(counted(seedB));
        },
      ),
      { numRuns: propRuns(100) },
    );
  });
});

describe("createRestartStrategy (RestartBackoffTimeStrategyFactoryLoader)", () => {
  const rng = () => Rng.root(3).child("failover/restart-backoff");
  const create = (config: Record<string, unknown>, checkpointing: boolean) =>
    createRestartStrategy(EngineConfig.parse(config), rng(), checkpointing);

  it("unset: none without checkpointing, exponential-delay with it", () => {
    expect(create({}, false).name).toBe("none");
    expect(create({}, true).name).toBe("exponential-delay");
  });

  it("agrees with effectiveRestartStrategy when checkpointing follows execution.checkpointing.interval", () => {
    const configs = [
      {},
      { "execution.checkpointing.interval": "10 s" },
      { "restart-strategy.type": "fixed-delay" },
      { "restart-strategy.type": "none", "execution.checkpointing.interval": "1 s" },
      { "restart-strategy.type": "failure-rate", "execution.checkpointing.interval": "1 s" },
      { "restart-strategy.type": "exponential-delay" },
    ];
    for (const input of configs) {
      const config = EngineConfig.parse(input);
      const checkpointing = config.get("execution.checkpointing.interval") !== undefined;
      expect(resolveRestartStrategyType(config, checkpointing)).toBe(effectiveRestartStrategy(config));
      expect(createRestartStrategy(config, rng(), checkpointing).name).toBe(effectiveRestartStrategy(config));
    }
  });

  it("the unset default uses Flink's default parameters, ignoring exponential-delay.* options (as Flink's loader does)", () => {
    const config = { "restart-strategy.exponential-delay.initial-backoff": "5 s", "restart-strategy.exponential-delay.jitter-factor": 0 };
    const implicit = create(config, true) as ExponentialDelayRestartBackoffTimeStrategy;
    expect(implicit.params).toEqual(expParams());
    const explicit = create({ ...config, "restart-strategy.type": "exponential-delay" }, true) as ExponentialDelayRestartBackoffTimeStrategy;
    expect(explicit.params).toEqual(expParams({ initialBackoffNs: 5 * NS_PER_S, jitterFactor: 0 }));
    expect(fail(explicit, 0).backoffNs).toBe(5 * NS_PER_S);
  });

  it("builds each strategy from its options, with Flink's defaults and aliases", () => {
    const fixed = create({ "restart-strategy": "fixeddelay" }, false) as FixedDelayRestartBackoffTimeStrategy;
    expect(fixed).toBeInstanceOf(FixedDelayRestartBackoffTimeStrategy);
    expect([fixed.maxAttempts, fixed.delayNs]).toEqual([1, NS_PER_S]);
    const rate = create(
      {
        "restart-strategy.type": "failure-rate",
        "restart-strategy.failure-rate.max-failures-per-interval": 2,
        "restart-strategy.failure-rate.failure-rate-interval": "1 min",
        "restart-strategy.failure-rate.delay": "10 s",
      },
      true,
    ) as FailureRateRestartBackoffTimeStrategy;
    expect([rate.maxFailuresPerInterval, rate.intervalNs, rate.delayNs]).toEqual([2, NS_PER_MIN, 10 * NS_PER_S]);
    expect(create({ "restart-strategy.type": "disable" }, true)).toBeInstanceOf(NoRestartBackoffTimeStrategy);
  });

  it("durations reach the strategies in whole ms, as Flink's Duration.toMillis()", () => {
    const fixed = create(
      { "restart-strategy.type": "fixed-delay", "restart-strategy.fixed-delay.delay": "1500us" },
      false,
    ) as FixedDelayRestartBackoffTimeStrategy;
    expect(fixed.delayNs).toBe(NS_PER_MS);
  });

  it("a multiplier of 1 passes config validation but fails the strategy, as Flink's constructor does", () => {
    const config = { "restart-strategy.exponential-delay.backoff-multiplier": 1 };
    expect(create(config, true).name).toBe("exponential-delay"); // unset type: defaults, multiplier ignored
    expect(inputErrorOf(() => create({ ...config, "restart-strategy.type": "exponential-delay" }, true)).field).toBe(
      "restart-strategy.exponential-delay.backoff-multiplier",
    );
  });
});
