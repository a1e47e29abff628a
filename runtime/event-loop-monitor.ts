/**
 * Event-loop delay, measured by the platform itself: prom-client's built-in monitor reads 0 on
 * Bun. A timer asks to run every `intervalMs`; how late it runs is the delay everything else saw.
 */
import { eventLoopDelaySeconds } from "./metrics.ts";

export function monitorEventLoop(intervalMs = 100): () => void {
  let expected = performance.now() + intervalMs;
  const timer = setInterval(() => {
    const now = performance.now();
    eventLoopDelaySeconds.observe(Math.max(0, now - expected) / 1000);
    expected = now + intervalMs;
  }, intervalMs);
  timer.unref?.();
  return () => clearInterval(timer);
}
