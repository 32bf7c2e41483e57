/**
 * The short label of a job vertex's box. Flink's window operator names are long
 * ("Window(TumblingEventTimeWindows(100), EventTimeTrigger, CoGroupWindowFunction)") and a
 * box shows ~24 characters, so every window operator would read "Window(TumblingEventTim…".
 * The label puts what differs first: the window function, then the assigner —
 * "CoGroup: Tumbling(100)" for a window join or coGroup, "Process: Sliding(100,50)" for a
 * ProcessWindowFunction. Other names are kept; the box's tooltip keeps the full chain.
 */
const ASSIGNERS: Record<string, string> = {
  TumblingEventTimeWindows: "Tumbling",
  SlidingEventTimeWindows: "Sliding",
  EventTimeSessionWindows: "Session",
};

const FUNCTIONS: Record<string, string> = {
  CoGroupWindowFunction: "CoGroup",
  ProcessWindowFunction: "Process",
  ReduceFunction: "Reduce",
  AggregateFunction: "Aggregate",
};

const WINDOW = /Window\((\w+)\(([^)]*)\), \w+, ([\w, ]+)\)/g;

export function vertexLabel(name: string): string {
  return name.replace(WINDOW, (whole, assigner: string, args: string, fns: string) => {
    const a = ASSIGNERS[assigner];
    const f = fns.split(", ").map((fn) => FUNCTIONS[fn]);
    if (a === undefined || f.some((x) => x === undefined)) return whole;
    // No space after commas: "Process: Sliding(100,50)" fits a box.
    return `${f.join("+")}: ${a}(${args.replace(/, /g, ",")})`;
  });
}
