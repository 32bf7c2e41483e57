import { describe, expect, it } from "vitest";
import { ExecutionTimeBasedSlowTaskDetector, type ExecutionSnapshot, type JobVertexSnapshot } from "./slow-task-detector";
import { Blocklist } from "./blocklist";

const S = 1e9;
const detector = (ratio = 0.75, multiplier = 1.5, lowerBoundNs = 60 * S) =>
  new ExecutionTimeBasedSlowTaskDetector({ baselineRatio: ratio, baselineMultiplier: multiplier, baselineLowerBoundNs: lowerBoundNs });

function exec(id: string, state: ExecutionSnapshot["state"], deployingS: number, finishedS?: number, inputBytes?: number): ExecutionSnapshot {
  return { attemptId: id, state, deployingNs: deployingS * S, finishedNs: finishedS === undefined ? undefined : finishedS * S, inputBytes };
}

/** A vertex of 4 subtasks: three finished after 100, 120, 80 s; the fourth running since 0. */
function vertex4(inputBytes?: [number, number, number, number]): JobVertexSnapshot {
  return {
    subtasks: [
      { vertex: "v0[0]", executions: [exec("a0", "FINISHED", 0, 100, inputBytes?.[0])] },
      { vertex: "v0[1]", executions: [exec("a1", "FINISHED", 0, 120, inputBytes?.[1])] },
      { vertex: "v0[2]", executions: [exec("a2", "FINISHED", 0, 80, inputBytes?.[2])] },
      { vertex: "v0[3]", executions: [exec("a3", "RUNNING", 0, undefined, inputBytes?.[3])] },
    ],
  };
}

describe("ExecutionTimeBasedSlowTaskDetector (hand-computed)", () => {
  it("raw times: round(4·0.75)=3 finished [80,100,120], T = index 1 = 100 s, baseline 150 s", () => {
    const d = detector();
    expect(d.baseline(vertex4(), 0)).toEqual({ timeNs: 150 * S, inputBytes: undefined });
    expect(d.findSlowTasks([vertex4()], 149 * S)).toEqual([]);
    expect(d.findSlowTasks([vertex4()], 150 * S)).toEqual([{ vertex: "v0[3]", attemptIds: ["a3"] }]);
  });

  it("weighted by input bytes: time per byte decides, the baseline keeps the median's bytes", () => {
    // Per byte: 100/10=10, 120/40=3, 80/20=4 → sorted [3 (a1), 4 (a2), 10 (a0)], median a2: 80 s, 20 B → baseline 120 s / 20 B = 6 s/B.
    const d = detector();
    const v = vertex4([10, 40, 20, 30]);
    expect(d.baseline(v, 0)).toEqual({ timeNs: 120 * S, inputBytes: 20 });
    // a3 reads 30 B: slow when t/30 ≥ 6 s/B, i.e. t ≥ 180 s (and ≥ the 60 s lower bound).
    expect(d.findSlowTasks([v], 179 * S)).toEqual([]);
    expect(d.findSlowTasks([v], 180 * S)).toEqual([{ vertex: "v0[3]", attemptIds: ["a3"] }]);
  });

  it("the lower bound holds even above the baseline", () => {
    const d = detector(0.75, 1.5, 200 * S);
    expect(d.findSlowTasks([vertex4()], 199 * S)).toEqual([]);
    expect(d.findSlowTasks([vertex4()], 200 * S)).toHaveLength(1);
  });

  it("too few finished (2 of 4 < 0.75): not checked; all finished: not checked", () => {
    const v = vertex4();
    const half: JobVertexSnapshot = { subtasks: [v.subtasks[0]!, v.subtasks[3]!, { vertex: "v0[1]", executions: [exec("b", "RUNNING", 0)] }, v.subtasks[2]!] };
    expect(detector().findSlowTasks([half], 1000 * S)).toEqual([]);
    const done: JobVertexSnapshot = { subtasks: v.subtasks.slice(0, 3) };
    expect(detector().baseline(done, 0)).toBeUndefined();
  });

  it("CREATED, CANCELED and FAILED attempts are never slow; every slow attempt of a subtask is named", () => {
    const v = vertex4();
    const st: JobVertexSnapshot = {
      subtasks: [
        ...v.subtasks.slice(0, 3),
        { vertex: "v0[3]", executions: [exec("x", "RUNNING", 0), exec("y", "CREATED", 0), exec("z", "CANCELED", 0), exec("w", "DEPLOYING", 10)] },
      ],
    };
    expect(detector().findSlowTasks([st], 200 * S)).toEqual([{ vertex: "v0[3]", attemptIds: ["x", "w"] }]);
  });

  it("ratio 0: baseline 0, anything past the lower bound is slow", () => {
    const v: JobVertexSnapshot = { subtasks: [{ vertex: "v1[0]", executions: [exec("r", "RUNNING", 0)] }] };
    expect(detector(0).findSlowTasks([v], 59 * S)).toEqual([]);
    expect(detector(0).findSlowTasks([v], 60 * S)).toEqual([{ vertex: "v1[0]", attemptIds: ["r"] }]);
  });

  it("rejects bad settings", () => {
    expect(() => detector(1)).toThrow(/ratio/);
    expect(() => detector(0.5, 0)).toThrow(/multiplier/);
  });
});

describe("Blocklist", () => {
  it("blocks until the end time, traces an extension, expires with an event", () => {
    let now = 0;
    const timers: { at: number; fn: () => void; live: boolean }[] = [];
    const log: string[] = [];
    const b = new Blocklist({
      now: () => now,
      schedule: (at, fn) => timers.push({ at, fn, live: true }) - 1,
      cancel: (t) => (timers[t]!.live = false),
      added: (h, until) => log.push(`+${h}@${until}`),
      expired: (h) => log.push(`-${h}@${now}`),
    });
    b.block("tm-1", 60, "slow");
    now = 10;
    b.block("tm-1", 70, "slow again");
    b.block("tm-2", 30, "slow");
    expect(b.blockedHosts()).toEqual(["tm-1", "tm-2"]);
    for (const t of [...timers].sort((x, y) => x.at - y.at)) {
      if (!t.live) continue;
      now = t.at;
      t.fn();
    }
    expect(log).toEqual(["+tm-1@60", "+tm-1@70", "+tm-2@30", "-tm-2@30", "-tm-1@70"]);
    expect(b.isBlocked("tm-1")).toBe(false);
    expect(b.added).toBe(2);
  });
});
