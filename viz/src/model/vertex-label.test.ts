import { describe, expect, it } from "vitest";
import { vertexLabel } from "./vertex-label";

describe("vertex labels", () => {
  it("put a window operator's function before its assigner", () => {
    expect(vertexLabel("Window(TumblingEventTimeWindows(100), EventTimeTrigger, CoGroupWindowFunction) -> pairs: Writer")).toBe("CoGroup: Tumbling(100) -> pairs: Writer");
    expect(vertexLabel("Window(SlidingEventTimeWindows(100, 50), EventTimeTrigger, ProcessWindowFunction)")).toBe("Process: Sliding(100,50)");
    expect(vertexLabel("Window(EventTimeSessionWindows(5), EventTimeTrigger, AggregateFunction, ProcessWindowFunction)")).toBe("Aggregate+Process: Session(5)");
    expect(vertexLabel("Source: x -> Window(TumblingEventTimeWindows(10), EventTimeTrigger, ReduceFunction)")).toBe("Source: x -> Reduce: Tumbling(10)");
  });

  it("keeps other names, and window names it does not know, as they are", () => {
    expect(vertexLabel("Source: orders -> (Map, Map)")).toBe("Source: orders -> (Map, Map)");
    expect(vertexLabel("Window(GlobalWindows(), CountTrigger, ReduceFunction)")).toBe("Window(GlobalWindows(), CountTrigger, ReduceFunction)");
    expect(vertexLabel("Window(TumblingEventTimeWindows(10), EventTimeTrigger, MyFunction)")).toBe("Window(TumblingEventTimeWindows(10), EventTimeTrigger, MyFunction)");
  });
});
