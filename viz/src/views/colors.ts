/** One palette for every view, so a state or a level has the same colour everywhere. */
export const STATE_COLORS: Record<string, string> = {
  CREATED: "#eceff1",
  SCHEDULED: "#cfd8dc",
  DEPLOYING: "#b0bec5",
  INITIALIZING: "#90caf9",
  RUNNING: "#66bb6a",
  FINISHED: "#1e88e5",
  CANCELED: "#9e9e9e",
  FAILED: "#e53935",
};

export function stateColor(state: string | undefined): string {
  return (state !== undefined && STATE_COLORS[state]) || "#f5f5f5";
}

export const LEVEL_FILL: Record<string, string> = { OK: "#e8f5e9", LOW: "#ffe0b2", HIGH: "#ffcdd2" };

export const MARKER_COLORS: Record<string, string> = { fault: "#d50000", "tm-lost": "#6a1b9a", failover: "#ff6f00", restart: "#2e7d32" };

export const PHASE_COLORS = { startDelay: "#b0bec5", alignment: "#ffb300", sync: "#1e88e5", async: "#26a69a" } as const;

/** Speculative attempts and their race (Gantt). */
export const RACE_COLORS = { speculative: "#6a1b9a", winner: "#ffb300", cancelledHatch: "rgba(38, 50, 56, 0.55)", cancelledCross: "#263238", background: "#f7f3fc" } as const;

/** A blocklisted host's lanes: a translucent fill and a solid band along the lane's top. */
export const BLOCKED_FILL = "rgba(229, 57, 53, 0.10)";
export const BLOCKED_BAND = "#e53935";

/**
 * A JobManager failover on the Gantt: solid in the JobManager lane, a translucent fill of
 * the same hue behind every other lane; outage (lost → leader elected) and reconciling
 * (elected → recovery finished).
 */
export const JM_COLORS = { outage: "#455a64", outageFill: "rgba(69, 90, 100, 0.14)", reconciling: "#00897b", reconcilingFill: "rgba(0, 137, 123, 0.16)" } as const;
