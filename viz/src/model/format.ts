/** Formatting of virtual times and sizes for the views (pure, so labels are testable). */

/** "12.345678901 s": virtual ns as seconds with every digit, so equal-looking times are equal. */
export function formatClock(ns: number): string {
  const sign = ns < 0 ? "-" : "";
  const abs = Math.abs(Math.round(ns));
  const s = Math.floor(abs / 1e9);
  const frac = String(abs % 1e9).padStart(9, "0");
  return `${sign}${s}.${frac} s`;
}

/** A duration in the unit that reads best: "850 ns", "12.3 µs", "4.56 ms", "1.23 s". */
export function formatDuration(ns: number): string {
  const abs = Math.abs(ns);
  if (abs < 1e3) return `${Math.round(ns)} ns`;
  if (abs < 1e6) return `${(ns / 1e3).toPrecision(3)} µs`;
  if (abs < 1e9) return `${(ns / 1e6).toPrecision(3)} ms`;
  return `${(ns / 1e9).toPrecision(3)} s`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
