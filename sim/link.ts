/**
 * A bandwidth resource (a NIC direction, a shared switch link, a disk channel, the blob
 * store's front end): transfers through it are served first come, first served at its
 * bandwidth. A transfer that crosses several links is cut-through: it occupies each for
 * size / bandwidth, cannot start on a link before that link is free, and cannot end on a
 * link before it ended on the previous one (data cannot leave before it arrived).
 *
 * Invariant: busyNs = Σ transfer times, and no two transfers overlap on one link, so the
 * bytes a link carries in any interval never exceed bandwidth × interval (+1 ns rounding
 * per transfer).
 */
import type { Ns } from "./time";

export class Link {
  /** When the link finishes its last accepted transfer. */
  freeAtNs: Ns = 0;
  busyNs = 0;
  bytes = 0;
  transfers = 0;

  constructor(
    readonly name: string,
    readonly bandwidthBytesPerS: number,
  ) {}

  /** Transfer time of `sizeBytes`, rounded up to whole ns. */
  transferNs(sizeBytes: number): Ns {
    return sizeBytes <= 0 ? 0 : Math.ceil((sizeBytes * 1e9) / this.bandwidthBytesPerS);
  }

  /**
   * Reserves the link for a transfer that is ready at `readyNs` and whose bytes finished
   * arriving upstream at `upstreamEndNs`; returns when the last byte leaves this link.
   */
  reserve(readyNs: Ns, sizeBytes: number, upstreamEndNs: Ns = readyNs): Ns {
    const start = Math.max(readyNs, this.freeAtNs);
    const duration = this.transferNs(sizeBytes);
    const end = Math.max(start + duration, upstreamEndNs);
    this.freeAtNs = end;
    this.busyNs += duration;
    this.bytes += sizeBytes;
    this.transfers++;
    return end;
  }

  /** Forgets queued work (the host owning this link crashed). */
  reset(nowNs: Ns): void {
    this.freeAtNs = Math.min(this.freeAtNs, nowNs);
  }
}

/** Sends a transfer through `links` in order, starting at `readyNs`; returns its end time. */
export function reservePath(links: readonly Link[], readyNs: Ns, sizeBytes: number): Ns {
  let end = readyNs;
  let start = readyNs;
  for (const link of links) {
    // Cut-through: the next link may start as soon as this one starts sending. (Not
    // `end - transferNs`: when this link is faster than the one before it, its end is
    // set by the upstream end, and that would start the next link too late.)
    const startHere = Math.max(start, link.freeAtNs);
    end = link.reserve(start, sizeBytes, end);
    start = startHere;
  }
  return end;
}
