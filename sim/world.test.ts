import { describe, expect, it } from "vitest";
import { InputError } from "./errors";
import type { EndpointHandler } from "./network";
import { MemorySink } from "./trace/recorder";
import { World } from "./world";

const S = 1_000_000_000;

function handler(got: unknown[]): EndpointHandler {
  return { onMessage: (payload) => got.push(payload), onClose: () => {} };
}

describe("World.addHost", () => {
  it("a host added while the simulation runs joins the network and is recorded when it appears", () => {
    const sink = new MemorySink();
    const world = new World({ hosts: [{ name: "a", cores: 1 }], network: { latency: "1ms" } }, { seed: 1, scenario: "add-host", trace: { sink } });
    const got: unknown[] = [];
    world.kernel.schedule(5 * S, () => {
      world.addHost({ name: "b", cores: 3, speed: 0.5 });
      const conn = world.network.connect("b", "a", "rpc", handler([]), handler(got));
      conn.a.send("hello", 10);
    });
    world.run({ untilNs: 10 * S });
    expect(got).toEqual(["hello"]);
    const added = sink.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.kind === "HostAdded");
    expect(added.map((e) => [e.host, e.t, e.cores, e.speed])).toEqual([
      ["a", 0, 1, 1],
      ["b", 5 * S, 3, 0.5],
    ]);
    expect(world.hostNames()).toEqual(["a", "b"]);
    expect(world.disk("b").host.name).toBe("b");
  });

  it("rejects a duplicate name, naming the field", () => {
    const world = new World({ hosts: [{ name: "a", cores: 1 }] }, { seed: 1, scenario: "add-host" });
    expect(() => world.addHost({ name: "a", cores: 1 }, "cluster.replacement")).toThrow(InputError);
    expect(() => world.addHost({ name: "a", cores: 1 }, "cluster.replacement")).toThrow('cluster.replacement.name: duplicate host name "a"');
  });
});
