/** Entry point: starts the replay shell and exposes its probe for tests and the benchmark. */
import { App } from "./app";

const app = new App();
(window as unknown as { __flowsimViz: unknown }).__flowsimViz = app.probe;
app.start().catch((err: unknown) => {
  // Never a blank page: whatever went wrong is shown where the banner goes.
  const b = document.querySelector<HTMLElement>("#banner")!;
  b.textContent = `viewer error: ${(err as Error).message ?? String(err)}`;
  b.hidden = false;
});
