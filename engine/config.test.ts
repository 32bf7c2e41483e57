import { describe, expect, expectTypeOf, it } from "vitest";
import fc from "fast-check";
import { propRuns } from "../test/prop";
import { InputError } from "../sim/errors";
import { NS_PER_MIN, NS_PER_MS, NS_PER_S } from "../sim/time";
import {
  EngineConfig,
  OPTIONS,
  OPTION_KEYS,
  UNBOUNDED_MEMORY_BYTES,
  buffersPerTaskManager,
  computeDefaultMaxParallelism,
  defaultMaxParallelism,
  effectiveMaxParallelism,
  effectiveHybridConsumeConstraint,
  effectiveRestartStrategy,
  formatFlinkDuration,
  formatMemory,
  networkMemoryBytes,
  optionsWithoutEffect,
  parseFlinkDuration,
  parseMemorySize,
  type OptionKey,
} from "./config";

const KIB = 1024;
const MIB = 1024 * KIB;
const GIB = 1024 * MIB;

/** The message of the InputError `f` throws (fails the test if it throws nothing else). */
function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error("expected an InputError, nothing was thrown");
}

describe("defaults", () => {
  // Flink 1.19 defaults (apache/flink *Options.java; reference/flink-mechanics.md).
  const FLINK_DEFAULTS: [OptionKey, unknown][] = [
    ["execution.runtime-mode", "STREAMING"],
    ["execution.batch-shuffle-mode", "ALL_EXCHANGES_BLOCKING"],
    ["parallelism.default", 1],
    ["pipeline.max-parallelism", -1],
    ["execution.buffer-timeout.enabled", true],
    ["execution.buffer-timeout.interval", 100 * NS_PER_MS],
    ["taskmanager.numberOfTaskSlots", 1],
    ["taskmanager.memory.segment-size", 32 * KIB],
    ["taskmanager.network.memory.buffers-per-channel", 2],
    ["taskmanager.network.memory.floating-buffers-per-gate", 8],
    ["taskmanager.network.memory.max-buffers-per-channel", 10],
    ["taskmanager.network.memory.max-overdraft-buffers-per-gate", 5],
    ["taskmanager.memory.network.fraction", 0.1],
    ["taskmanager.memory.network.min", 64 * MIB],
    ["taskmanager.memory.network.max", UNBOUNDED_MEMORY_BYTES],
    ["taskmanager.memory.flink.size", 1280 * MIB],
    ["heartbeat.interval", 10 * NS_PER_S],
    ["heartbeat.timeout", 50 * NS_PER_S],
    ["slot.request.timeout", 5 * NS_PER_MIN],
    ["slotmanager.redundant-taskmanager-num", 0],
    ["pipeline.auto-watermark-interval", 200 * NS_PER_MS],
    ["execution.sorted-inputs.enabled", true],
    ["execution.batch-state-backend.enabled", true],
    ["state.backend.type", "hashmap"],
    ["pipeline.operator-chaining.enabled", true],
    ["taskmanager.network.sort-shuffle.min-parallelism", 1],
    ["taskmanager.network.blocking-shuffle.compression.enabled", true],
    ["execution.checkpointing.interval", undefined],
    ["execution.checkpointing.mode", "EXACTLY_ONCE"],
    ["execution.checkpointing.timeout", 10 * NS_PER_MIN],
    ["execution.checkpointing.min-pause", 0],
    ["execution.checkpointing.max-concurrent-checkpoints", 1],
    ["execution.checkpointing.tolerable-failed-checkpoints", 0],
    ["execution.checkpointing.unaligned.enabled", false],
    ["execution.checkpointing.aligned-checkpoint-timeout", 0],
    ["restart-strategy.type", undefined],
    ["restart-strategy.fixed-delay.attempts", 1],
    ["restart-strategy.fixed-delay.delay", NS_PER_S],
    ["restart-strategy.failure-rate.max-failures-per-interval", 1],
    ["restart-strategy.failure-rate.failure-rate-interval", NS_PER_MIN],
    ["restart-strategy.failure-rate.delay", NS_PER_S],
    ["restart-strategy.exponential-delay.initial-backoff", NS_PER_S],
    ["restart-strategy.exponential-delay.max-backoff", NS_PER_MIN],
    ["restart-strategy.exponential-delay.backoff-multiplier", 1.5],
    ["restart-strategy.exponential-delay.reset-backoff-threshold", 60 * NS_PER_MIN],
    ["restart-strategy.exponential-delay.jitter-factor", 0.1],
    ["restart-strategy.exponential-delay.attempts-before-reset-backoff", 2_147_483_647],
    ["jobmanager.execution.failover-strategy", "region"],
    ["taskmanager.network.memory.buffer-debloat.enabled", false],
    ["taskmanager.network.memory.buffer-debloat.period", 200 * NS_PER_MS],
    ["taskmanager.network.memory.buffer-debloat.target", NS_PER_S],
    ["taskmanager.network.memory.buffer-debloat.samples", 20],
    ["taskmanager.network.memory.buffer-debloat.threshold-percentages", 25],
  ];

  it.each(FLINK_DEFAULTS)("%s defaults to %s", (key, expected) => {
    const config = EngineConfig.defaults();
    expect(config.get(key)).toBe(expected);
    expect(config.isSet(key)).toBe(false);
  });

  it("parse({}) equals the defaults", () => {
    expect(EngineConfig.parse({}).toJSON()).toEqual(EngineConfig.defaults().toJSON());
  });

  it("derives 128 MiB of network memory = 4096 buffers of 32 KiB per TaskManager", () => {
    const config = EngineConfig.defaults();
    expect(networkMemoryBytes(config)).toBe(128 * MIB);
    expect(buffersPerTaskManager(config)).toBe(4096);
  });

  it("clamps network memory to [min, max]", () => {
    expect(networkMemoryBytes(EngineConfig.parse({ "taskmanager.memory.flink.size": "320mb" }))).toBe(64 * MIB);
    const big = EngineConfig.parse({ "taskmanager.memory.flink.size": "64gb" });
    // Rounded down, as MemorySize.multiply.
    expect(networkMemoryBytes(big)).toBe(Math.floor(0.1 * 64 * GIB));
    // Flink before 1.17 capped at 1 GiB.
    expect(networkMemoryBytes(big.withOverrides({ "taskmanager.memory.network.max": "1gb" }))).toBe(GIB);
    const small = EngineConfig.parse({ "taskmanager.memory.network.min": "1mb", "taskmanager.memory.network.fraction": 0 });
    expect(networkMemoryBytes(small)).toBe(MIB);
    expect(buffersPerTaskManager(small.withOverrides({ "taskmanager.memory.segment-size": "64kb" }))).toBe(16);
  });

  it("resolves the restart strategy from checkpointing when unset (1.19+)", () => {
    expect(effectiveRestartStrategy(EngineConfig.defaults())).toBe("none");
    expect(effectiveRestartStrategy(EngineConfig.parse({ "execution.checkpointing.interval": "10 s" }))).toBe(
      "exponential-delay",
    );
    const fixed = EngineConfig.parse({ "restart-strategy.type": "fixed-delay", "execution.checkpointing.interval": "1s" });
    expect(effectiveRestartStrategy(fixed)).toBe("fixed-delay");
  });

  it("resolves the hybrid consume constraint from speculation when unset, as Flink's AdaptiveBatchSchedulerFactory", () => {
    const C = "jobmanager.partition.hybrid.partition-data-consume-constraint";
    const S = "execution.batch.speculative.enabled";
    expect(effectiveHybridConsumeConstraint(EngineConfig.defaults())).toBe("UNFINISHED_PRODUCERS");
    expect(effectiveHybridConsumeConstraint(EngineConfig.parse({ [S]: false }))).toBe("UNFINISHED_PRODUCERS");
    expect(effectiveHybridConsumeConstraint(EngineConfig.parse({ [S]: true }))).toBe("ONLY_FINISHED_PRODUCERS");
    expect(effectiveHybridConsumeConstraint(EngineConfig.parse({ [S]: "true", [C]: "ALL_PRODUCERS_FINISHED" }))).toBe("ALL_PRODUCERS_FINISHED");
    expect(effectiveHybridConsumeConstraint(EngineConfig.parse({ [C]: "ONLY_FINISHED_PRODUCERS" }))).toBe("ONLY_FINISHED_PRODUCERS");
    // Speculation turned on by an override (a knock-out twin, --set) resolves anew.
    expect(effectiveHybridConsumeConstraint(EngineConfig.parse({}).withOverrides({ [S]: true }))).toBe("ONLY_FINISHED_PRODUCERS");
  });

  it("rejects an explicit UNFINISHED_PRODUCERS together with speculation, naming the option on one line", () => {
    const C = "jobmanager.partition.hybrid.partition-data-consume-constraint";
    const S = "execution.batch.speculative.enabled";
    const message = errorOf(() => EngineConfig.parse({ [S]: true, [C]: "UNFINISHED_PRODUCERS" }));
    expect(message).toContain(C);
    expect(message).toContain("UNFINISHED_PRODUCERS");
    expect(message).toContain(S);
    expect(message).not.toContain("\n");
    // Either order of setting them, also through overrides.
    expect(errorOf(() => EngineConfig.parse({ [C]: "UNFINISHED_PRODUCERS" }).withOverrides({ [S]: true }))).toContain(C);
    // Without speculation it is the plain default.
    expect(EngineConfig.parse({ [S]: false, [C]: "UNFINISHED_PRODUCERS" }).get(C)).toBe("UNFINISHED_PRODUCERS");
  });
});

describe("the registry", () => {
  it("gives every option a one-line description and an effect", () => {
    for (const d of OPTIONS) {
      expect(d.description.length, d.key).toBeGreaterThan(10);
      expect(d.description, d.key).not.toContain("\n");
      if (d.effect !== "modelled") expect(d.effect.noEffectYet.length, d.key).toBeGreaterThan(10);
      if (d.type === "enum") {
        expect(d.values?.length, d.key).toBeGreaterThan(1);
        if (d.default !== null) expect(d.values, d.key).toContain(d.default);
      }
    }
  });

  it("lists options without effect, with reasons, and every option built so far as modelled", () => {
    const without = optionsWithoutEffect();
    const keys = without.map((o) => o.key);
    for (const o of without) expect(o.reason).not.toBe("");
    for (const modelled of [
      "execution.runtime-mode",
      "execution.batch-shuffle-mode",
      "parallelism.default",
      "pipeline.max-parallelism",
      "execution.buffer-timeout.interval",
      "taskmanager.memory.network.fraction",
      "state.backend.type",
      "taskmanager.network.blocking-shuffle.compression.enabled",
      "restart-strategy.type",
      "jobmanager.execution.failover-strategy",
      "execution.checkpointing.interval",
      "execution.checkpointing.mode",
      "execution.checkpointing.timeout",
      "state.checkpoints.num-retained",
      "taskmanager.network.memory.buffer-debloat.enabled",
      "taskmanager.memory.min-segment-size",
      "execution.checkpointing.unaligned.enabled",
      "execution.checkpointing.aligned-checkpoint-timeout",
      "taskmanager.network.sort-shuffle.min-parallelism",
    ]) {
      expect(keys).not.toContain(modelled);
    }
  });

  it("is in key order and every default passes its own validation", () => {
    expect([...OPTION_KEYS]).toEqual([...OPTION_KEYS].sort());
    // toJSON renders each default in input syntax; parsing it back must accept it.
    const json = EngineConfig.defaults().toJSON();
    const reparsed = EngineConfig.parse(json);
    expect(reparsed.toJSON()).toEqual(json);
  });

  it("entries() lists every effective value in key order", () => {
    const config = EngineConfig.parse({ "parallelism.default": "4" });
    const entries = config.entries();
    expect(entries.map(([k]) => k)).toEqual([...OPTION_KEYS]);
    expect(entries.find(([k]) => k === "parallelism.default")?.[1]).toBe(4);
    expect(config.explicitEntries()).toEqual([["parallelism.default", 4]]);
  });
});

describe("typed getters", () => {
  it("have the option's value type", () => {
    const config = EngineConfig.defaults();
    expectTypeOf(config.get("execution.buffer-timeout.interval")).toEqualTypeOf<number>();
    expectTypeOf(config.get("execution.runtime-mode")).toEqualTypeOf<"STREAMING" | "BATCH" | "AUTOMATIC">();
    expectTypeOf(config.get("state.backend.type")).toEqualTypeOf<"hashmap" | "rocksdb">();
    expectTypeOf(config.get("pipeline.operator-chaining.enabled")).toEqualTypeOf<boolean>();
    expectTypeOf(config.get("execution.checkpointing.interval")).toEqualTypeOf<number | undefined>();
    expectTypeOf<"no.such.option">().not.toMatchTypeOf<OptionKey>();
  });
});

describe("parsing", () => {
  it("reads strings from --set like typed values", () => {
    const config = EngineConfig.parse({
      "parallelism.default": "4",
      "execution.buffer-timeout.enabled": "FALSE",
      "taskmanager.memory.network.fraction": "0.2",
      "execution.runtime-mode": "batch",
      "execution.batch-shuffle-mode": "pointwise_edges_pipelined",
      "state.backend.type": "RocksDB",
    });
    expect(config.get("parallelism.default")).toBe(4);
    expect(config.get("execution.buffer-timeout.enabled")).toBe(false);
    expect(config.get("taskmanager.memory.network.fraction")).toBe(0.2);
    expect(config.get("execution.runtime-mode")).toBe("BATCH");
    expect(config.get("execution.batch-shuffle-mode")).toBe("POINTWISE_EDGES_PIPELINED");
    expect(config.get("state.backend.type")).toBe("rocksdb");
    expect(config.isSet("parallelism.default")).toBe(true);
  });

  it("reads Flink duration syntax; a bare number is milliseconds", () => {
    const cases: [unknown, number][] = [
      ["100ms", 100 * NS_PER_MS],
      ["100 ms", 100 * NS_PER_MS],
      ["10 s", 10 * NS_PER_S],
      ["1 min", NS_PER_MIN],
      ["2m", 2 * NS_PER_MIN],
      ["1h", 60 * NS_PER_MIN],
      ["1 d", 24 * 60 * NS_PER_MIN],
      ["250 us", 250_000],
      ["250µs", 250_000],
      ["7ns", 7],
      ["3 seconds", 3 * NS_PER_S],
      ["5 MINUTES", 5 * NS_PER_MIN],
      ["2 millis", 2 * NS_PER_MS],
      ["1.5s", 1_500 * NS_PER_MS],
      ["100", 100 * NS_PER_MS],
      [100, 100 * NS_PER_MS],
      [0, 0],
      [0.5, 500_000],
    ];
    for (const [input, ns] of cases) {
      expect(parseFlinkDuration(input, "f"), String(input)).toBe(ns);
      expect(EngineConfig.parse({ "execution.buffer-timeout.interval": input }).get("execution.buffer-timeout.interval")).toBe(
        ns,
      );
    }
  });

  it("reads Flink MemorySize syntax; a bare number is bytes", () => {
    const cases: [unknown, number][] = [
      ["32kb", 32 * KIB],
      ["32 KB", 32 * KIB],
      ["64mb", 64 * MIB],
      ["1728m", 1728 * MIB],
      ["1gb", GIB],
      ["1g", GIB],
      ["2 gibibytes", 2 * GIB],
      ["1t", 1024 * GIB],
      ["4096", 4096],
      ["4096b", 4096],
      ["100 bytes", 100],
      [65_536, 65_536],
      ["9223372036854775807b", UNBOUNDED_MEMORY_BYTES],
    ];
    for (const [input, bytes] of cases) expect(parseMemorySize(input, "f"), String(input)).toBe(bytes);
  });

  it("accepts Flink's deprecated key names and enum spellings", () => {
    const config = EngineConfig.parse({
      "state.backend": "rocksdb",
      "pipeline.operator-chaining": false,
      "execution.buffer-timeout": "5 ms",
      "restart-strategy": "off",
      "taskmanager.network.memory.max": "1gb",
      "execution.checkpointing.unaligned": true,
    });
    expect(config.get("state.backend.type")).toBe("rocksdb");
    expect(config.get("pipeline.operator-chaining.enabled")).toBe(false);
    expect(config.get("execution.buffer-timeout.interval")).toBe(5 * NS_PER_MS);
    expect(config.get("restart-strategy.type")).toBe("none");
    expect(config.get("taskmanager.memory.network.max")).toBe(GIB);
    expect(config.get("execution.checkpointing.unaligned.enabled")).toBe(true);
    expect(EngineConfig.parse({ "restart-strategy.type": "exponentialdelay" }).get("restart-strategy.type")).toBe(
      "exponential-delay",
    );
  });

  it("withOverrides returns a new config and leaves the old one alone; null unsets", () => {
    const base = EngineConfig.parse({ "parallelism.default": 2, "execution.checkpointing.interval": "1s" });
    const next = base.withOverrides({ "parallelism.default": 8, "execution.checkpointing.interval": null });
    expect(base.get("parallelism.default")).toBe(2);
    expect(base.get("execution.checkpointing.interval")).toBe(NS_PER_S);
    expect(next.get("parallelism.default")).toBe(8);
    expect(next.get("execution.checkpointing.interval")).toBeUndefined();
    expect(next.isSet("execution.checkpointing.interval")).toBe(false);
  });

  it("round-trips through toJSON for random valid overrides", () => {
    const arbitrary = fc.record(
      {
        "parallelism.default": fc.integer({ min: 1, max: 128 }),
        "execution.buffer-timeout.interval": fc.integer({ min: 0, max: 10_000_000 }).map((us) => `${us}us`),
        "taskmanager.memory.flink.size": fc.integer({ min: 1, max: 1 << 20 }).map((kb) => `${kb}kb`),
        "taskmanager.memory.network.fraction": fc.double({ min: 0, max: 0.99, noNaN: true }),
        "execution.runtime-mode": fc.constantFrom("STREAMING", "BATCH", "AUTOMATIC"),
        "execution.checkpointing.interval": fc.integer({ min: 10, max: 3_600_000 }),
        "heartbeat.timeout": fc.integer({ min: 10, max: 600 }).map((s) => `${s} s`),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(arbitrary, (input) => {
        const config = EngineConfig.parse(input);
        const again = EngineConfig.parse(JSON.parse(JSON.stringify(config.toJSON())));
        expect(again.entries()).toEqual(config.entries());
      }),
      { numRuns: propRuns(200) },
    );
  });
});

describe("bad input: one line naming the field", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    [
      "unknown option with a suggestion",
      { "execution.runtime-mod": "BATCH" },
      'config."execution.runtime-mod": unknown option (did you mean "execution.runtime-mode"?)',
    ],
    [
      "a typo of a deprecated name suggests the current name",
      { "state.backnd": "rocksdb" },
      'config."state.backnd": unknown option (did you mean "state.backend.type"?)',
    ],
    ["unknown option without a suggestion", { "foo.bar": 1 }, 'config."foo.bar": unknown option'],
    ["out of range", { "parallelism.default": 0 }, 'config."parallelism.default": must be ≥ 1, got 0'],
    ["wrong type (int)", { "parallelism.default": "four" }, 'config."parallelism.default": expected an integer, got "four"'],
    ["wrong type (fraction of an int)", { "parallelism.default": 1.5 }, 'config."parallelism.default": expected an integer, got number 1.5'],
    [
      "int beyond Java's int",
      { "parallelism.default": 2 ** 31 },
      'config."parallelism.default": must be a 32-bit integer (at most 2147483647), got 2147483648',
    ],
    [
      "wrong type (boolean)",
      { "execution.buffer-timeout.enabled": "yes" },
      'config."execution.buffer-timeout.enabled": expected true or false, got "yes"',
    ],
    [
      "bad enum value",
      { "execution.runtime-mode": "STREEMING" },
      'config."execution.runtime-mode": bad value "STREEMING" (expected one of STREAMING, BATCH, AUTOMATIC); did you mean "STREAMING"?',
    ],
    [
      "bad enum value without a suggestion",
      { "state.backend.type": "memory" },
      'config."state.backend.type": bad value "memory" (expected one of hashmap, rocksdb)',
    ],
    [
      "enum given a number",
      { "execution.checkpointing.mode": 1 },
      'config."execution.checkpointing.mode": expected one of EXACTLY_ONCE, AT_LEAST_ONCE, got number 1',
    ],
    [
      "bad duration unit",
      { "heartbeat.interval": "10 parsecs" },
      'config."heartbeat.interval": bad duration "10 parsecs": unknown unit "parsecs" (use ns, us, ms, s, min, h, d)',
    ],
    [
      "malformed duration",
      { "heartbeat.interval": "soon" },
      'config."heartbeat.interval": bad duration "soon" (expected a number and a unit such as "100 ms", "10 s", "1 min"; a bare number is milliseconds)',
    ],
    [
      "negative duration",
      { "execution.buffer-timeout.interval": -1 },
      'config."execution.buffer-timeout.interval": a duration must be ≥ 0, got -1',
    ],
    [
      "duration below the minimum",
      { "execution.checkpointing.interval": "5 ms" },
      'config."execution.checkpointing.interval": must be ≥ 10ms, got 5ms',
    ],
    [
      "fractional memory size",
      { "taskmanager.memory.flink.size": "1.5gb" },
      'config."taskmanager.memory.flink.size": bad memory size "1.5gb" (expected an integer and a unit: b, kb, mb, gb, tb; a bare number is bytes)',
    ],
    [
      "segment size not a power of two",
      { "taskmanager.memory.segment-size": "33kb" },
      'config."taskmanager.memory.segment-size": must be a power of two, got 33kb',
    ],
    [
      "fraction out of range",
      { "taskmanager.memory.network.fraction": 1 },
      'config."taskmanager.memory.network.fraction": must be < 1, got 1',
    ],
    [
      "max parallelism 0",
      { "pipeline.max-parallelism": 0 },
      'config."pipeline.max-parallelism": must be -1 (derived from the parallelism) or ≥ 1, got 0',
    ],
    [
      "max parallelism above 32768",
      { "pipeline.max-parallelism": 40_000 },
      'config."pipeline.max-parallelism": must be ≤ 32768, got 40000',
    ],
    [
      "network min above max",
      { "taskmanager.memory.network.min": "2gb", "taskmanager.memory.network.max": "1gb" },
      'config."taskmanager.memory.network.min": must be ≤ "taskmanager.memory.network.max" (1gb), got 2gb',
    ],
    [
      "heartbeat timeout below the interval",
      { "heartbeat.timeout": "5 s" },
      'config."heartbeat.timeout": must be ≥ "heartbeat.interval" (10s), got 5s',
    ],
    [
      "parallelism above the max parallelism",
      { "parallelism.default": 16, "pipeline.max-parallelism": 8 },
      'config."parallelism.default": must be ≤ "pipeline.max-parallelism" (8), got 16',
    ],
    [
      "an option and its deprecated name together",
      { "state.backend": "rocksdb", "state.backend.type": "hashmap" },
      'config."state.backend.type": set together with "state.backend", another name of "state.backend.type"',
    ],
  ];

  it.each(cases)("%s", (_name, input, message) => {
    expect(errorOf(() => EngineConfig.parse(input))).toBe(message);
  });

  it("uses the caller's field name", () => {
    expect(errorOf(() => EngineConfig.parse({ "parallelism.default": 0 }, "scenario.config"))).toBe(
      'scenario.config."parallelism.default": must be ≥ 1, got 0',
    );
    expect(errorOf(() => EngineConfig.defaults().withOverrides({ x: 1 }, "--set"))).toBe('--set."x": unknown option');
  });

  it("rejects a config that is not an object", () => {
    expect(errorOf(() => EngineConfig.parse([1]))).toBe("config: expected an object of Flink option names to values, got an array");
    expect(errorOf(() => EngineConfig.parse("x"))).toBe('config: expected an object of Flink option names to values, got "x"');
  });

  it("never produces a multi-line message for arbitrary input", () => {
    fc.assert(
      fc.property(fc.constantFrom(...OPTION_KEYS), fc.anything(), (key, value) => {
        try {
          EngineConfig.parse({ [key]: value });
        } catch (e) {
          expect(e).toBeInstanceOf(InputError);
          const message = (e as Error).message;
          expect(message.startsWith(`config.${JSON.stringify(key)}: `)).toBe(true);
          expect(message).not.toContain("\n");
        }
      }),
      { numRuns: propRuns(500) },
    );
  });
});

describe("max parallelism", () => {
  it.each([
    [1, 128],
    [85, 128],
    [86, 256],
    [100, 256],
    [171, 256],
    [172, 512],
    [1000, 2048],
    [21_845, 32_768],
    [30_000, 32_768],
  ])("computeDefaultMaxParallelism(%i) = %i", (p, expected) => {
    expect(computeDefaultMaxParallelism(p)).toBe(expected);
    expect(defaultMaxParallelism(p)).toBe(expected);
  });

  it("is a power of two in [128, 32768] that is at least 1.5 p when the bound allows", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), (p) => {
        const m = computeDefaultMaxParallelism(p);
        expect(m).toBeGreaterThanOrEqual(128);
        expect(m).toBeLessThanOrEqual(32_768);
        expect(Math.log2(m) % 1).toBe(0);
        if (m < 32_768) expect(m).toBeGreaterThanOrEqual(p + Math.floor(p / 2));
      }),
      { numRuns: propRuns(300) },
    );
  });

  it("uses the configured max parallelism when set", () => {
    expect(effectiveMaxParallelism(EngineConfig.defaults(), 4)).toBe(128);
    expect(effectiveMaxParallelism(EngineConfig.parse({ "pipeline.max-parallelism": 4096 }), 4)).toBe(4096);
  });

  it("rejects a parallelism below 1", () => {
    expect(errorOf(() => computeDefaultMaxParallelism(0))).toBe("parallelism: must be an integer ≥ 1, got 0");
  });
});

describe("formatting", () => {
  it("uses the largest exact unit", () => {
    expect(formatFlinkDuration(100 * NS_PER_MS)).toBe("100ms");
    expect(formatFlinkDuration(90 * NS_PER_S)).toBe("90s");
    expect(formatFlinkDuration(NS_PER_MIN)).toBe("1min");
    expect(formatFlinkDuration(1_500)).toBe("1500ns");
    expect(formatFlinkDuration(0)).toBe("0ms");
    expect(formatMemory(32 * KIB)).toBe("32kb");
    expect(formatMemory(1280 * MIB)).toBe("1280mb");
    expect(formatMemory(1000)).toBe("1000b");
  });
});
