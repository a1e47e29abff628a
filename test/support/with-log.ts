/**
 * The embedded log of a platform's data folder, opened while the platform is down (it holds the
 * folder's lock while it runs), for tests that write its input or read its outputs.
 */
import { join } from "node:path";
import { openEmbeddedLog } from "../../runtime/log/embedded/index.ts";
import type { Log } from "../../runtime/log/log.ts";

export async function withLog<T>(dataDir: string, use: (log: Log) => Promise<T>): Promise<T> {
  const log = await openEmbeddedLog({ dir: join(dataDir, "log"), fsync: "never" });
  try {
    return await use(log);
  } finally {
    await log.close();
  }
}
