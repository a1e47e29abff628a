/**
 * A data volume that fills up under a running platform, on a real filesystem: a 64-MiB tmpfs
 * mounted for the test (mounting needs root, as the CI machine is; elsewhere the test is skipped
 * and says why). While the volume is full the platform says so in its readiness and the
 * simulator holds its events instead of dropping them; once there is room again, the platform is
 * ready again and the log holds the simulator's sequence with no event lost or written twice.
 */
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { closeSync, mkdirSync, openSync, rmSync, statfsSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  COUNTER_SIMULATED_KEYS,
  COUNTER_SIMULATED_SEED,
  counterEvents,
} from "../models/counter/simulator.ts";
import { partitionForString } from "../runtime/log/partitioner.ts";
import { startPlatform, waitFor } from "./support/platform-process.ts";
import { readPartition, withLog } from "./support/with-log.ts";

setDefaultTimeout(180_000);

const PARTITIONS = 3;
const decoder = new TextDecoder();
const mountPoint = join(tmpdir(), `coelho-disk-full-${process.pid}`);

/** Mounts a 64-MiB tmpfs; the reason it cannot, or null. */
function mountSmallVolume(): string | null {
  if (process.getuid?.() !== 0) return "mounting a tmpfs needs root";
  mkdirSync(mountPoint, { recursive: true });
  const mount = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", mountPoint]);
  return mount.exitCode === 0 ? null : `mount failed: ${mount.stderr.toString().trim()}`;
}

const cannotMount = mountSmallVolume();
if (cannotMount) console.warn(`test/disk-full.test.ts skipped: ${cannotMount}`);

afterAll(() => {
  if (!cannotMount) Bun.spawnSync(["umount", "-l", mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

/** Writes zeros into `path` until the filesystem refuses (ENOSPC): the volume is full. */
function fillVolume(path: string): number {
  const fd = openSync(path, "w");
  const chunk = new Uint8Array(256 * 1024);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    closeSync(fd);
  }
  return written;
}

type Ready = { status?: string; reasons?: string[] };

test.skipIf(cannotMount !== null)(
  "a full data volume: readiness says so, the simulator holds its events, and nothing is lost once there is room",
  async () => {
    const dataDir = join(mountPoint, "data");
    const platform = startPlatform({
      COELHO_DATA_DIR: dataDir,
      COELHO_SIMULATE: "true",
      COELHO_SIMULATE_RATE: "2000",
    });
    try {
      await waitFor("the platform to be ready", 60_000, async () =>
        (await platform.get<Ready>("/health/ready")).status === 200 ? true : undefined,
      );
      await Bun.sleep(1_000);

      const filler = join(mountPoint, "filler");
      expect(fillVolume(filler)).toBeGreaterThan(0);
      expect(statfsSync(mountPoint).bavail).toBe(0);
      const notReady = await waitFor("readiness to name the full volume", 30_000, async () => {
        const { status, body } = await platform.get<Ready>("/health/ready");
        const reason = body.reasons?.find((r) => r.startsWith("data volume full"));
        return status === 503 && reason ? reason : undefined;
      });
      expect(notReady).toContain(dataDir);
      await waitFor("the simulator to hold what the log refuses", 30_000, () =>
        platform.stderr().includes("the log refuses appends") ? true : undefined,
      );
      await Bun.sleep(2_000);

      rmSync(filler);
      await waitFor("the platform to be ready again", 90_000, async () =>
        (await platform.get<Ready>("/health/ready")).status === 200 ? true : undefined,
      );
      await waitFor("the held events to go in", 30_000, () =>
        platform.stderr().includes("the held records are in, none dropped") ? true : undefined,
      );
      await Bun.sleep(1_000);
    } finally {
      platform.proc.kill("SIGTERM");
      await platform.proc.exited;
    }

    // The log holds the simulator's sequence: on each partition, its events in order, none
    // missing and none twice.
    const expected: string[][] = Array.from({ length: PARTITIONS }, () => []);
    const stored = await withLog(dataDir, async (log) =>
      Promise.all(
        Array.from({ length: PARTITIONS }, async (_, p) =>
          (await readPartition(log, "counter.events", p)).map((r) => decoder.decode(r.value)),
        ),
      ),
    );
    const total = stored.reduce((n, list) => n + list.length, 0);
    expect(total).toBeGreaterThan(2_000);
    const events = counterEvents(COUNTER_SIMULATED_SEED, COUNTER_SIMULATED_KEYS);
    // Enough of the sequence for every partition's share (a batch is one tick of 200 events).
    for (let i = 0; i < total + 1_000; i++) {
      const { key, value } = events.next().value as { key: string; value: number };
      (expected[partitionForString(key, PARTITIONS)] as string[]).push(
        JSON.stringify({ key, value }),
      );
    }
    for (let p = 0; p < PARTITIONS; p++) {
      const got = stored[p] as string[];
      expect(got).toEqual((expected[p] as string[]).slice(0, got.length));
    }
  },
);
