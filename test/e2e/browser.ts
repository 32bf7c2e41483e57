/**
 * Launching the system Chromium for browser tests and the viz benchmark. playwright-core
 * never downloads a browser here: it drives Debian's `chromium` (apt-get install
 * chromium), found on PATH or named by FLOWSIM_CHROMIUM.
 */
import { execFileSync } from "node:child_process";
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"];

export function chromiumPath(): string {
  const fromEnv = process.env.FLOWSIM_CHROMIUM;
  if (fromEnv) return fromEnv;
  try {
    return execFileSync("which", ["chromium"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error("chromium not found: install it with `apt-get install -y chromium` or set FLOWSIM_CHROMIUM");
  }
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true });
}
