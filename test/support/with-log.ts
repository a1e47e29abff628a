/**
 * The embedded log of a platform's data folder, opened while the platform is down (it holds the
 * folder's lock while it runs), for tests that write its input or read its outputs; and reading a
 * whole partition of any log.
 */
import { join } from "node:path";
import { openEmbeddedLog } from "../../runtime/log/embedded/index.ts";
import type { Log, StoredRecord } from "../../runtime/log/log.ts";

export async function withLog<T>(dataDir: string, use: (log: Log) => Promise<T>): Promise<T> {
  const log = await openEmbeddedLog({ dir: join(dataDir, "log"), fsync: "never" });
  try {
    return await use(log);
  } finally {
    await log.close();
  }
}

/** Every record of one partition, in offset order (a read at a time, `batch` records each). */
export async function readPartition(
  log: Log,
  topic: string,
  partition: number,
  batch = 10_000,
): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  for (let offset = 0; ; ) {
    const records = await log.read(topic, partition, offset, batch);
    if (records.length === 0) return out;
    out.push(...records);
    offset = (records[records.length - 1] as StoredRecord).offset + 1;
  }
}
