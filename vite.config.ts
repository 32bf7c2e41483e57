/** Vite config; the vitest section defines the `npm test` suite (unit + property tests). */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["sim/**/*.test.ts", "engine/**/*.test.ts", "scenarios/**/*.test.ts", "cli/**/*.test.ts", "viz/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["test/e2e/**", "node_modules/**"],
    // Property tests run many seeded simulations; DESIGN caps each at 3 minutes.
    testTimeout: 180_000,
    hookTimeout: 60_000,
    pool: "forks",
    // CI reads the counts from the JSON report (.ci/run prints "N passed, N failed").
    reporters: process.env.CI ? ["default", ["json", { outputFile: "out/vitest-report.json" }]] : ["default"],
  },
});
