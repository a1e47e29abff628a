/**
 * `bun start`: the whole platform in one process.
 *
 * Exit codes: 0 after a graceful stop (SIGTERM/SIGINT), 1 when the root supervisor fails, 2 for a
 * bad configuration (one line on stderr naming the variable).
 */

import { useCases } from "../models/index.ts";
import { ConfigError, loadConfig } from "../runtime/config.ts";
import { monitorEventLoop } from "../runtime/event-loop-monitor.ts";
import { log, setLogLevel } from "../runtime/logger.ts";
import { dataVolumeFullReason } from "../runtime/storage-metrics.ts";
import { keepRuntimeThreadsInBackground } from "../runtime/thread-priority.ts";
import { buildPlatform } from "./platform.ts";

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`coelho-realtime: bad configuration: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
setLogLevel(config.logLevel);
monitorEventLoop();
// The event loop gets a core before the runtime's own background threads do (allocator, JIT, GC).
keepRuntimeThreadsInBackground();

const platform = await buildPlatform(config, useCases(config));
let stopping = false;

platform.root.onExit((reason) => {
  if (stopping || reason.kind === "normal") return;
  const why = reason.error instanceof Error ? reason.error.message : String(reason.error);
  // The last error is often a consequence (a stopped shard); a full disk is the usual cause.
  const full = dataVolumeFullReason();
  log.fatal(`root supervisor failed: ${why}${full ? `; ${full}` : ""}`, { supervisor: "root" });
  process.exit(1);
});

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info("stopping", { signal, shutdownMs: config.shutdownMs });
  // A stop that hangs must not keep the pod past its grace period.
  const deadline = setTimeout(() => {
    log.error("graceful stop timed out; exiting without a final checkpoint", { signal });
    process.exit(1);
  }, config.shutdownMs + 5_000);
  await platform.root.stop(config.shutdownMs);
  await platform.log.close();
  clearTimeout(deadline);
  log.info("stopped", { signal });
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));

try {
  await platform.root.start();
} catch (error) {
  log.fatal(
    `root supervisor failed to start: ${error instanceof Error ? error.message : String(error)}`,
    {
      supervisor: "root",
    },
  );
  process.exit(1);
}
log.info("coelho-realtime started", {
  instance: config.instanceId,
  log: platform.log.kind,
  http: `http://${config.httpHost}:${platform.httpPort()}`,
  usecases: platform.useCaseNames(),
});
