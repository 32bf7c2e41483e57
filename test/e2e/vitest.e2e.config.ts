/** Browser tests (`npm run test:e2e`): real Chromium through playwright-core; kept out of `npm test`. */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/e2e/**/*.e2e.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: "forks",
    // One browser and one server for the whole file; files run one at a time.
    fileParallelism: false,
    reporters: process.env.CI ? ["default", ["json", { outputFile: "out/e2e-report.json" }]] : ["default"],
  },
});
