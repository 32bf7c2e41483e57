/**
 * Restart strategies: whether a failed job may restart, and after how long. This is
 * Flink's RestartBackoffTimeStrategy (flink-runtime, executiongraph/failover/) behind
 * a small pluggable interface (DESIGN style rule 6), with Flink's four strategies as of
 * 1.19–2.0 (none, fixed-delay, failure-rate, exponential-delay) and the factory that
 * picks one from the config as RestartBackoffTimeStrategyFactoryLoader does.
 *
 * Protocol (as Flink's ExecutionFailureHandler uses it): for each failure the caller
 * calls `notifyFailure(nowNs, cause)` and then, at the same virtual instant,
 * `canRestart()` and, if true, `getBackoffTimeNs()`; the restart happens that long after
 * `nowNs`. Because of that, `canRestart` and `getBackoffTimeNs` are evaluated at the time
 * of the last notified failure (Flink reads its clock again in them, but no time passes
 * on the JobMaster's main thread in between).
 *
 * Invariants:
 * - Failures are notified in virtual-time order (`nowNs` never decreases); every time and
 *   duration is a non-negative safe integer of ns.
 * - No wall clock, no global randomness: exponential-delay's jitter comes from the `Rng`
 *   stream passed in, exactly one draw per counted (non-merged) failure when the jitter
 *   factor is > 0, none otherwise — so the draw count is a function of the failure times.
 * - Only exponential-delay merges failures (Flink ≥ 1.19, FLIP-364): a failure that
 *   arrives at or before the restart already scheduled (`now <= nextRestart`) does not
 *   count as an attempt, does not grow the back-off and does not draw; its back-off is
 *   the time left until that scheduled restart. fixed-delay and failure-rate count every
 *   failure, as in Flink.
 * - exponential-delay's back-off is always within [initial-backoff, max-backoff].
 *
 * Deliberate differences from Flink, all below the model's resolution:
 * - Flink's clock is in ms; ours is in ns. The factory truncates configured durations
 *   to whole ms as Flink's `Duration.toMillis()` does, but failure times are compared in
 *   ns, so only failures less than 1 ms apart can be judged differently.
 * - Flink computes `(long) (initial × multiplier^attempt)` in Java longs, which saturate
 *   and then overflow when the jitter is added (with the defaults, from the 91st attempt
 *   without a reset, about half the back-offs collapse to initial-backoff). We cap the
 *   un-jittered back-off at Number.MAX_SAFE_INTEGER ns instead, so the back-off stays at
 *   max-backoff: modelling a Java overflow is not the point of the simulator.
 */
import { InputError, assert } from "../../sim/errors";
import { NS_PER_MS } from "../../sim/time";
import type { Rng } from "../../sim/rng";
import { EngineConfig, type RestartStrategy } from "../config";

/** Decides whether and when a failed job restarts (Flink's RestartBackoffTimeStrategy). */
export interface RestartBackoffTimeStrategy {
  /** Records a failure at virtual time `nowNs` (non-decreasing across calls). */
  notifyFailure(nowNs: number, cause: string): void;
  /** Whether the job may restart after the failures notified so far. */
  canRestart(): boolean;
  /** How long after the last notified failure the restart happens, in ns. */
  getBackoffTimeNs(): number;
  /** The strategy's Flink name (`restart-strategy.type`), for traces and messages. */
  readonly name: string;
  /** Flink ≥1.19: true when this failure was merged into the current back-off window */
  readonly lastFailureMerged?: boolean;
}

/** Checks a notified failure time and that time does not run backwards. */
function checkFailureTime(nowNs: number, previousNs: number | undefined, strategy: string): void {
  assert(Number.isSafeInteger(nowNs) && nowNs >= 0, `${strategy}: failure time must be a non-negative integer ns, got ${nowNs}`);
  assert(
    previousNs === undefined || nowNs >= previousNs,
    `${strategy}: failures must be notified in time order (${nowNs} ns after ${previousNs} ns)`,
  );
}

function requireInt(value: number, min: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new InputError(field, `must be an integer ≥ ${min}, got ${value}`);
  }
}

function requireNs(value: number, min: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new InputError(field, `must be a whole number of ns ≥ ${min}, got ${value}`);
  }
}

// ---- none ---------------------------------------------------------------------------------

/** Never restarts (Flink's NoRestartBackoffTimeStrategy). */
export class NoRestartBackoffTimeStrategy implements RestartBackoffTimeStrategy {
  readonly name = "none" satisfies RestartStrategy;
  // Flink's notifyFailure returns true ("a new attempt"): nothing is ever merged.
  readonly lastFailureMerged = false;
  private lastFailureNs: number | undefined;

  notifyFailure(nowNs: number, _cause: string): void {
    checkFailureTime(nowNs, this.lastFailureNs, this.name);
    this.lastFailureNs = nowNs;
  }

  canRestart(): boolean {
    return false;
  }

  getBackoffTimeNs(): number {
    return 0;
  }

  toString(): string {
    return "NoRestartBackoffTimeStrategy";
  }
}

// ---- fixed-delay --------------------------------------------------------------------------

export interface FixedDelayParams {
  /** restart-strategy.fixed-delay.attempts: restarts allowed, ≥ 0. */
  readonly maxAttempts: number;
  /** restart-strategy.fixed-delay.delay, ≥ 0. */
  readonly delayNs: number;
}

/**
 * A fixed number of restarts with a fixed pause (Flink's
 * FixedDelayRestartBackoffTimeStrategy). Every failure counts, even one arriving while a
 * restart is pending: Flink counts the attempt in notifyFailure and allows a restart
 * while attempts ≤ maxAttempts, so `attempts = 3` allows exactly 3 restarts.
 */
export class FixedDelayRestartBackoffTimeStrategy implements RestartBackoffTimeStrategy {
  readonly name = "fixed-delay" satisfies RestartStrategy;
  readonly lastFailureMerged = false;
  readonly maxAttempts: number;
  readonly delayNs: number;
  private attempts = 0;
  private lastFailureNs: number | undefined;

  constructor(params: FixedDelayParams) {
    requireInt(params.maxAttempts, 0, "restart-strategy.fixed-delay.attempts");
    requireNs(params.delayNs, 0, "restart-strategy.fixed-delay.delay");
    this.maxAttempts = params.maxAttempts;
    this.delayNs = params.delayNs;
  }

  /** Failures notified so far (Flink's currentRestartAttempt). */
  get restartAttempts(): number {
    return this.attempts;
  }

  notifyFailure(nowNs: number, _cause: string): void {
    checkFailureTime(nowNs, this.lastFailureNs, this.name);
    this.lastFailureNs = nowNs;
    this.attempts++;
  }

  canRestart(): boolean {
    return this.attempts <= this.maxAttempts;
  }

  getBackoffTimeNs(): number {
    return this.delayNs;
  }

  toString(): string {
    return `FixedDelayRestartBackoffTimeStrategy(maxNumberRestartAttempts=${this.maxAttempts}, backoffTimeNs=${this.delayNs})`;
  }
}

// ---- failure-rate -------------------------------------------------------------------------

export interface FailureRateParams {
  /** restart-strategy.failure-rate.max-failures-per-interval, ≥ 1. */
  readonly maxFailuresPerInterval: number;
  /** restart-strategy.failure-rate.failure-rate-interval, > 0. */
  readonly intervalNs: number;
  /** restart-strategy.failure-rate.delay, ≥ 0. */
  readonly delayNs: number;
}

/**
 * Restarts while the failure rate stays below a limit (Flink's
 * FailureRateRestartBackoffTimeStrategy). Flink keeps the timestamps of the last
 * max + 1 failures; once it holds max + 1 of them, a restart is allowed only if the
 * oldest is strictly more than one interval before now — i.e. the job fails when
 * max + 1 failures fall within one interval (ends included).
 */
export class FailureRateRestartBackoffTimeStrategy implements RestartBackoffTimeStrategy {
  readonly name = "failure-rate" satisfies RestartStrategy;
  readonly lastFailureMerged = false;
  readonly maxFailuresPerInterval: number;
  readonly intervalNs: number;
  readonly delayNs: number;
  /** Times of the most recent failures, oldest first; at most max + 1 (style rule 3). */
  private readonly failureTimesNs: number[] = [];
  private lastFailureNs: number | undefined;

  constructor(params: FailureRateParams) {
    requireInt(params.maxFailuresPerInterval, 1, "restart-strategy.failure-rate.max-failures-per-interval");
    requireNs(params.intervalNs, 1, "restart-strategy.failure-rate.failure-rate-interval");
    requireNs(params.delayNs, 0, "restart-strategy.failure-rate.delay");
    this.maxFailuresPerInterval = params.maxFailuresPerInterval;
    this.intervalNs = params.intervalNs;
    this.delayNs = params.delayNs;
  }

  notifyFailure(nowNs: number, _cause: string): void {
    checkFailureTime(nowNs, this.lastFailureNs, this.name);
    this.lastFailureNs = nowNs;
    if (this.isWindowFull()) this.failureTimesNs.shift();
    this.failureTimesNs.push(nowNs);
    assert(
      this.failureTimesNs.length <= this.maxFailuresPerInterval + 1,
      `failure-rate: kept ${this.failureTimesNs.length} failure times, limit ${this.maxFailuresPerInterval + 1}`,
    );
  }

  canRestart(): boolean {
    if (!this.isWindowFull()) return true;
    // Evaluated at the last failure's time: the caller asks right after notifying.
    return this.lastFailureNs! - this.failureTimesNs[0]! > this.intervalNs;
  }

  getBackoffTimeNs(): number {
    return this.delayNs;
  }

  toString(): string {
    return `FailureRateRestartBackoffTimeStrategy(failuresIntervalNs=${this.intervalNs}, backoffTimeNs=${this.delayNs}, maxFailuresPerInterval=${this.maxFailuresPerInterval})`;
  }

  /** Flink's "queue full": it holds max + 1 timestamps, not max. */
  private isWindowFull(): boolean {
    return this.failureTimesNs.length > this.maxFailuresPerInterval;
  }
}

// ---- exponential-delay --------------------------------------------------------------------

export interface ExponentialDelayParams {
  /** restart-strategy.exponential-delay.initial-backoff, ≥ 1 ns. */
  readonly initialBackoffNs: number;
  /** restart-strategy.exponential-delay.max-backoff, ≥ initial. */
  readonly maxBackoffNs: number;
  /** restart-strategy.exponential-delay.backoff-multiplier, > 1 (Flink rejects 1). */
  readonly backoffMultiplier: number;
  /** restart-strategy.exponential-delay.reset-backoff-threshold, ≥ 1 ns. */
  readonly resetBackoffThresholdNs: number;
  /** restart-strategy.exponential-delay.jitter-factor, in [0, 1]. */
  readonly jitterFactor: number;
  /** restart-strategy.exponential-delay.attempts-before-reset-backoff, ≥ 1. */
  readonly attemptsBeforeResetBackoff: number;
}

/**
 * Exponentially growing pauses (Flink's ExponentialDelayRestartBackoffTimeStrategy, in
 * its 1.19+ form). On a counted failure at `now`:
 * - if `now - nextRestart ≥ reset-backoff-threshold` (the job ran failure-free that long
 *   after its last scheduled restart), the attempt count goes back to 0;
 * - the back-off is `floor(initial × multiplier^attempt)` plus a uniform integer jitter
 *   in [−j, +j], j = floor(that × jitter-factor), clamped to [initial, max];
 * - `nextRestart = now + back-off`, and the attempt count grows by one.
 * A restart is allowed while attempts ≤ attempts-before-reset-backoff.
 */
export class ExponentialDelayRestartBackoffTimeStrategy implements RestartBackoffTimeStrategy {
  readonly name = "exponential-delay" satisfies RestartStrategy;
  readonly params: ExponentialDelayParams;
  private readonly rng: Rng;
  /** Counted failures since the last reset (Flink's currentRestartAttempt). */
  private attempts = 0;
  /** When the pending (or last) restart is scheduled; undefined before any failure. */
  private nextRestartNs: number | undefined;
  private lastFailureNs: number | undefined;
  private merged = false;

  constructor(params: ExponentialDelayParams, rng: Rng) {
    const p = params;
    requireNs(p.initialBackoffNs, 1, "restart-strategy.exponential-delay.initial-backoff");
    requireNs(p.maxBackoffNs, 1, "restart-strategy.exponential-delay.max-backoff");
    if (p.initialBackoffNs > p.maxBackoffNs) {
      throw new InputError(
        "restart-strategy.exponential-delay.initial-backoff",
        `must be ≤ max-backoff (${p.maxBackoffNs} ns), got ${p.initialBackoffNs} ns`,
      );
    }
    // Flink's checkArgument(backoffMultiplier > 1): a multiplier of 1 fails the job at start.
    if (!(Number.isFinite(p.backoffMultiplier) && p.backoffMultiplier > 1)) {
      throw new InputError("restart-strategy.exponential-delay.backoff-multiplier", `must be > 1, got ${p.backoffMultiplier}`);
    }
    requireNs(p.resetBackoffThresholdNs, 1, "restart-strategy.exponential-delay.reset-backoff-threshold");
    if (!(p.jitterFactor >= 0 && p.jitterFactor <= 1)) {
      throw new InputError("restart-strategy.exponential-delay.jitter-factor", `must be in [0, 1], got ${p.jitterFactor}`);
    }
    requireInt(p.attemptsBeforeResetBackoff, 1, "restart-strategy.exponential-delay.attempts-before-reset-backoff");
    this.params = { ...p };
    this.rng = rng;
  }

  get lastFailureMerged(): boolean {
    return this.merged;
  }

  /** Counted failures since the last back-off reset. */
  get restartAttempts(): number {
    return this.attempts;
  }

  /** The scheduled time of the pending (or last) restart; undefined before any failure. */
  get nextRestartTimeNs(): number | undefined {
    return this.nextRestartNs;
  }

  notifyFailure(nowNs: number, _cause: string): void {
    checkFailureTime(nowNs, this.lastFailureNs, this.name);
    this.lastFailureNs = nowNs;
    // FLIP-364: the tasks are already going to restart at nextRestart; this failure is
    // handled by that same restart, so it is not a new attempt.
    if (this.nextRestartNs !== undefined && nowNs <= this.nextRestartNs) {
      this.merged = true;
      return;
    }
    this.merged = false;
    // Measured from the last scheduled restart, not the last failure: a long back-off
    // does not count as failure-free running. (Flink's initial nextRestart is far in the
    // past, so its first failure resets too — a no-op, as the count is already 0.)
    if (this.nextRestartNs === undefined || nowNs - this.nextRestartNs >= this.params.resetBackoffThresholdNs) {
      this.attempts = 0;
    }
    const nextNs = nowNs + this.backoffForAttemptNs(this.attempts);
    assert(Number.isSafeInteger(nextNs), `exponential-delay: next restart time ${nextNs} ns is beyond 2^53 ns`);
    this.nextRestartNs = nextNs;
    this.attempts++;
  }

  canRestart(): boolean {
    return this.attempts <= this.params.attemptsBeforeResetBackoff;
  }

  getBackoffTimeNs(): number {
    assert(this.nextRestartNs !== undefined && this.lastFailureNs !== undefined, "exponential-delay: getBackoffTimeNs before any notifyFailure");
    // For a merged failure this is the time left until the restart already scheduled.
    return Math.max(0, this.nextRestartNs - this.lastFailureNs);
  }

  toString(): string {
    const p = this.params;
    return (
      `ExponentialDelayRestartBackoffTimeStrategy(initialBackoffNs=${p.initialBackoffNs}, maxBackoffNs=${p.maxBackoffNs}, ` +
      `backoffMultiplier=${p.backoffMultiplier}, resetBackoffThresholdNs=${p.resetBackoffThresholdNs}, ` +
      `jitterFactor=${p.jitterFactor}, attemptsBeforeResetBackoff=${p.attemptsBeforeResetBackoff}, ` +
      `currentRestartAttempt=${this.attempts}, nextRestartNs=${this.nextRestartNs ?? "none"})`
    );
  }

  /** The back-off of the `attempt`-th counted failure since a reset (0-based); draws jitter. */
  private backoffForAttemptNs(attempt: number): number {
    const { initialBackoffNs, maxBackoffNs, jitterFactor } = this.params;
    const baseNs = exponentialBaseBackoffNs(this.params, attempt);
    let jitterNs = 0;
    if (jitterFactor > 0) {
      // Flink draws even when the spread rounds to 0, and even when the clamp below will
      // hide the jitter: one draw per counted failure keeps the stream aligned.
      const spreadNs = Math.floor(baseNs * jitterFactor);
      jitterNs = this.rng.int(-spreadNs, spreadNs + 1);
    }
    return Math.max(initialBackoffNs, Math.min(baseNs + jitterNs, maxBackoffNs));
  }
}

/**
 * The un-jittered, un-clamped back-off of the `attempt`-th counted failure since a reset:
 * floor(initial × multiplier^attempt), capped at Number.MAX_SAFE_INTEGER (see the module
 * comment on Java's long overflow). Non-decreasing in `attempt`.
 */
export function exponentialBaseBackoffNs(
  params: Pick<ExponentialDelayParams, "initialBackoffNs" | "backoffMultiplier">,
  attempt: number,
): number {
  const raw = params.initialBackoffNs * Math.pow(params.backoffMultiplier, attempt);
  return raw >= Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : Math.floor(raw);
}

// ---- factory ------------------------------------------------------------------------------

/** Flink's Duration.toMillis(): the strategies receive whole milliseconds. */
function wholeMsNs(durationNs: number): number {
  return Math.floor(durationNs / NS_PER_MS) * NS_PER_MS;
}

/**
 * The strategy type in force: `restart-strategy.type` when set, else none without
 * checkpointing and exponential-delay with it (effectiveRestartStrategy's rule, with the
 * job's checkpointing given explicitly as Flink's loader takes it from the JobGraph).
 */
export function resolveRestartStrategyType(config: EngineConfig, checkpointingEnabled: boolean): RestartStrategy {
  return config.get("restart-strategy.type") ?? (checkpointingEnabled ? "exponential-delay" : "none");
}

/** exponential-delay's parameters from a config, durations truncated to whole ms. */
export function exponentialDelayParams(config: EngineConfig): ExponentialDelayParams {
  return {
    initialBackoffNs: wholeMsNs(config.get("restart-strategy.exponential-delay.initial-backoff")),
    maxBackoffNs: wholeMsNs(config.get("restart-strategy.exponential-delay.max-backoff")),
    backoffMultiplier: config.get("restart-strategy.exponential-delay.backoff-multiplier"),
    resetBackoffThresholdNs: wholeMsNs(config.get("restart-strategy.exponential-delay.reset-backoff-threshold")),
    jitterFactor: config.get("restart-strategy.exponential-delay.jitter-factor"),
    attemptsBeforeResetBackoff: config.get("restart-strategy.exponential-delay.attempts-before-reset-backoff"),
  };
}

/**
 * The job's restart strategy (Flink's RestartBackoffTimeStrategyFactoryLoader). `rng`
 * is the stream exponential-delay's jitter draws from; give it a dedicated child stream
 * (e.g. `root.child("failover/restart-backoff")`) so other components' draws do not
 * shift. Throws an InputError naming the option when a value Flink's strategy
 * constructors reject gets through (e.g. backoff-multiplier = 1).
 *
 * As in Flink, when `restart-strategy.type` is unset and checkpointing is on, the
 * exponential-delay strategy gets Flink's *default* parameters: the loader builds it
 * from each option's `defaultValue()`, so `restart-strategy.exponential-delay.*` options
 * set without the type are ignored.
 */
export function createRestartStrategy(config: EngineConfig, rng: Rng, checkpointingEnabled: boolean): RestartBackoffTimeStrategy {
  const type = resolveRestartStrategyType(config, checkpointingEnabled);
  switch (type) {
    case "none":
      return new NoRestartBackoffTimeStrategy();
    case "fixed-delay":
      return new FixedDelayRestartBackoffTimeStrategy({
        maxAttempts: config.get("restart-strategy.fixed-delay.attempts"),
        delayNs: wholeMsNs(config.get("restart-strategy.fixed-delay.delay")),
      });
    case "failure-rate":
      return new FailureRateRestartBackoffTimeStrategy({
        maxFailuresPerInterval: config.get("restart-strategy.failure-rate.max-failures-per-interval"),
        intervalNs: wholeMsNs(config.get("restart-strategy.failure-rate.failure-rate-interval")),
        delayNs: wholeMsNs(config.get("restart-strategy.failure-rate.delay")),
      });
    case "exponential-delay": {
      const source = config.get("restart-strategy.type") === undefined ? EngineConfig.defaults() : config;
      return new ExponentialDelayRestartBackoffTimeStrategy(exponentialDelayParams(source), rng);
    }
  }
}
