/**
 * Event-time idleness, as Flink models it: a source that read nothing for a while is marked
 * IDLE (WatermarkStrategy.withIdleness), and consumers leave idle inputs out of their
 * watermark (StatusWatermarkValve), so a quiet split does not hold event time back.
 *
 * - IdlenessTimer is Flink's WatermarksWithIdleness.IdlenessTimer: checked at each periodic
 *   watermark emission. The probe after a record only resets it and the next quiet probe
 *   starts the clock, so a source goes idle at the first probe more than `idlenessMs` after
 *   that — t plus two to three probe intervals after its last record (flink-mechanics §9,
 *   "probe anchoring").
 * - StatusWatermarkValve is Flink's valve over a task's input channels (all gates flattened):
 *   a channel's watermark counts only while it is ACTIVE and aligned; when every channel is
 *   idle the valve flushes the largest channel watermark and reports IDLE; a channel that
 *   becomes active again rejoins the min only once its watermark reaches the valve's output
 *   watermark (it is "unaligned" until then). Flink keeps one valve per operator input
 *   and takes the min over the active inputs; one valve over both inputs' channels gives
 *   the same min (except that a returning channel re-aligns against the task's watermark,
 *   not its input's) and is idle exactly when both inputs are.
 *
 * Invariants: the valve's output watermark never decreases; it emits a status only when it
 * changes; no watermark is emitted while the valve is idle. No allocation per element.
 */
import { MIN_WATERMARK } from "../api/types";

/** Flink's IdlenessTimer, on the virtual clock (ns). */
export class IdlenessTimer {
  /** Whether a record was read since the last probe (Flink compares an activity counter). */
  private activeSinceProbe = false;
  /** When the first quiet probe happened; NaN while not counting (Flink's 0 marker). */
  private quietSinceNs = NaN;

  constructor(private readonly maxIdleNs: number) {}

  /** A record was read (WatermarksWithIdleness.onEvent). */
  activity(): void {
    this.activeSinceProbe = true;
  }

  /** The periodic probe: true when quiet for more than maxIdleNs since the first quiet probe. */
  checkIfIdle(nowNs: number): boolean {
    if (this.activeSinceProbe) {
      // Activity since the last probe: the clock restarts at the next quiet probe.
      this.activeSinceProbe = false;
      this.quietSinceNs = NaN;
      return false;
    }
    if (Number.isNaN(this.quietSinceNs)) {
      this.quietSinceNs = nowNs;
      return false;
    }
    return nowNs - this.quietSinceNs > this.maxIdleNs;
  }
}

/** What the valve produces: a new output watermark, or a change of the output status. */
export interface ValveOutput {
  emitWatermark(watermarkMs: number): void;
  emitStatus(idle: boolean): void;
}

/** Flink's StatusWatermarkValve over `channels` input channels. */
export class StatusWatermarkValve {
  private readonly watermarks: Float64Array;
  /** 1 while the channel is idle. */
  private readonly idle: Uint8Array;
  /** 1 while the channel's watermark takes part in the min (active and caught up). */
  private readonly aligned: Uint8Array;
  private idleChannels = 0;
  private lastOutputWatermark = MIN_WATERMARK;
  private outputIdle = false;

  constructor(
    readonly channels: number,
    private readonly output: ValveOutput,
  ) {
    this.watermarks = new Float64Array(channels).fill(MIN_WATERMARK);
    this.idle = new Uint8Array(channels);
    this.aligned = new Uint8Array(channels).fill(1);
  }

  get watermark(): number {
    return this.lastOutputWatermark;
  }

  get isIdle(): boolean {
    return this.outputIdle;
  }

  isChannelIdle(channel: number): boolean {
    return this.idle[channel] === 1;
  }

  inputWatermark(channel: number, watermarkMs: number): void {
    // An idle channel's (or an idle valve's) watermarks are ignored, as Flink's valve does:
    // the producer announces ACTIVE before it emits one again.
    if (this.outputIdle || this.idle[channel] === 1) return;
    if (!(watermarkMs > this.watermarks[channel]!)) return;
    this.watermarks[channel] = watermarkMs;
    if (this.aligned[channel] === 0 && watermarkMs >= this.lastOutputWatermark) this.aligned[channel] = 1;
    this.outputNewMinAcrossAligned();
  }

  inputStatus(channel: number, idle: boolean): void {
    if (idle && this.idle[channel] === 0) {
      this.idle[channel] = 1;
      this.aligned[channel] = 0;
      this.idleChannels++;
      if (this.idleChannels === this.channels) {
        // Nothing will advance any more: flush the largest watermark seen, then go idle. Only
        // needed when this channel held the min; otherwise the min already moved past it.
        if (this.watermarks[channel] === this.lastOutputWatermark) this.outputMaxAcrossAll();
        this.outputIdle = true;
        this.output.emitStatus(true);
      } else if (this.watermarks[channel] === this.lastOutputWatermark) {
        // The channel that held the min left it: the others may allow a larger one.
        this.outputNewMinAcrossAligned();
      }
    } else if (!idle && this.idle[channel] === 1) {
      this.idle[channel] = 0;
      this.idleChannels--;
      // Rejoins the min at once only if that cannot pull the output watermark back.
      if (this.watermarks[channel]! >= this.lastOutputWatermark) this.aligned[channel] = 1;
      if (this.outputIdle) {
        this.outputIdle = false;
        this.output.emitStatus(false);
      }
    }
  }

  private outputNewMinAcrossAligned(): void {
    let min = Infinity;
    let any = false;
    for (let c = 0; c < this.channels; c++) {
      if (this.aligned[c] === 0) continue;
      any = true;
      if (this.watermarks[c]! < min) min = this.watermarks[c]!;
    }
    if (any && min > this.lastOutputWatermark) {
      this.lastOutputWatermark = min;
      this.output.emitWatermark(min);
    }
  }

  private outputMaxAcrossAll(): void {
    let max = MIN_WATERMARK;
    for (let c = 0; c < this.channels; c++) if (this.watermarks[c]! > max) max = this.watermarks[c]!;
    if (max > this.lastOutputWatermark) {
      this.lastOutputWatermark = max;
      this.output.emitWatermark(max);
    }
  }
}
