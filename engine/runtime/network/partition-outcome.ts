/**
 * The end of a result partition as its producer task waits for it: finished (blocking:
 * durable and consumable) or failed by itself (a disk error). Callbacks always run in a
 * kernel event, never inside the call that registered or triggered them; each outcome is
 * announced at most once.
 */
import type { Kernel } from "../../../sim/kernel";

export class PartitionOutcome {
  private finishedCallbacks: (() => void)[] = [];
  private failedCallbacks: ((reason: string) => void)[] = [];
  private finished = false;
  private failureReason: string | undefined = undefined;

  constructor(private readonly kernel: Kernel) {}

  onFinished(cb: () => void): void {
    if (this.finished) this.kernel.after(0, cb);
    else this.finishedCallbacks.push(cb);
  }

  onFailed(cb: (reason: string) => void): void {
    const reason = this.failureReason;
    if (reason !== undefined) this.kernel.after(0, () => cb(reason));
    else this.failedCallbacks.push(cb);
  }

  notifyFinished(): void {
    if (this.finished) return;
    this.finished = true;
    const cbs = this.finishedCallbacks;
    this.finishedCallbacks = [];
    if (cbs.length > 0) this.kernel.after(0, () => cbs.forEach((cb) => cb()));
  }

  notifyFailed(reason: string): void {
    if (this.failureReason !== undefined) return;
    this.failureReason = reason;
    const cbs = this.failedCallbacks;
    this.failedCallbacks = [];
    if (cbs.length > 0) this.kernel.after(0, () => cbs.forEach((cb) => cb(reason)));
  }
}
