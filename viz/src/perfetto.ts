/**
 * "Export to Perfetto": the shared Chrome Trace Event exporter (sim/trace/chrome.ts) with
 * the engine's lifecycle events added as instants and the sampled backpressure as
 * counters, downloaded as a JSON file that ui.perfetto.dev opens.
 */
import { exportChromeTrace, kernelChromeMapping, mergeMappings, numberField, stringField, type ChromeMapping, type ChromeTrace } from "../../sim/trace/chrome";
import type { TraceEvent } from "../../sim/trace/events";

const engineMapping: ChromeMapping = {
  instants: {
    JobStatusChanged: "g",
    TaskManagerLost: "p",
    FailoverTriggered: "g",
    TasksRestarted: "g",
    CheckpointTriggered: "g",
    CheckpointCompleted: "g",
    CheckpointAborted: "g",
    CheckpointRestored: "g",
    // Named by the state alone: names stay low-cardinality, the subtask is in args.
    TaskStateChanged: { scope: "p", name: (e) => `task ${stringField(e, "state")}` },
  },
  counters: {
    TaskMetrics: {
      name: () => "backpressured",
      series: (e) => `${stringField(e, "vertex")}[${numberField(e, "subtask")}]`,
      value: (e) => numberField(e, "backpressured"),
      host: (e) => stringField(e, "host"),
    },
  },
};

export function toChromeTrace(events: readonly TraceEvent[]): ChromeTrace {
  return exportChromeTrace(events, mergeMappings(kernelChromeMapping, engineMapping));
}

export function downloadChromeTrace(events: readonly TraceEvent[], baseName: string): number {
  const chrome = toChromeTrace(events);
  const blob = new Blob([JSON.stringify(chrome)], { type: "application/json" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `${baseName.replace(/\.jsonl$/, "")}.chrome.json`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  return chrome.traceEvents.length;
}
