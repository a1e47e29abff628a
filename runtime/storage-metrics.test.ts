import { afterAll, expect, test } from "bun:test";
import { statfsSync } from "node:fs";
import { tempDirs } from "../test/support/temp-dirs.ts";
import { openEmbeddedLog } from "./log/embedded/index.ts";
import { registry } from "./metrics.ts";
import { watchStorage } from "./storage-metrics.ts";

const temp = tempDirs();
afterAll(() => watchStorage({ dataDir: null, logBytes: null }));

/** Every sample of `name` in the registry's text output, by its label text. */
async function samples(name: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await registry.metrics()).split("\n")) {
    if (!line.startsWith(name) || line[name.length] === "_") continue;
    const space = line.lastIndexOf(" ");
    out.set(line.slice(name.length, space), Number(line.slice(space + 1)));
  }
  return out;
}

test("the data folder's volume and the embedded log's bytes per topic are scraped", async () => {
  const dir = temp.make("coelho-storage-");
  const log = await openEmbeddedLog({ dir: `${dir}/log`, fsync: "never" });
  try {
    await log.ensureTopic({ name: "events", partitions: 2 });
    watchStorage({ dataDir: dir, logBytes: () => log.topicBytes() });
    const before = (await samples("coelho_log_bytes")).get('{topic="events"}');
    expect(before).toBe(0);
    const value = new Uint8Array(1000);
    await log.append("events", 0, [{ key: null, value }]);
    await log.append("events", 1, [
      { key: null, value },
      { key: null, value },
    ]);
    const after = (await samples("coelho_log_bytes")).get('{topic="events"}') ?? 0;
    // Three records of 1000 bytes, and their frames.
    expect(after).toBeGreaterThan(3000);
    expect(after).toBeLessThan(3500);

    const fs = statfsSync(dir);
    const size = (await samples("coelho_data_volume_size_bytes")).get(`{dir="${dir}"}`);
    const available =
      (await samples("coelho_data_volume_available_bytes")).get(`{dir="${dir}"}`) ?? -1;
    expect(size).toBe(fs.blocks * fs.bsize);
    expect(available).toBeGreaterThan(0);
    expect(available).toBeLessThanOrEqual(size ?? 0);
  } finally {
    await log.close();
  }
});

test("on Kafka (no embedded log) the log's series are absent; without a data folder, the volume's", async () => {
  watchStorage({ dataDir: null, logBytes: null });
  expect((await samples("coelho_log_bytes")).size).toBe(0);
  expect((await samples("coelho_data_volume_size_bytes")).size).toBe(0);
});
