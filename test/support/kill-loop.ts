/**
 * Runs the platform as a child process, kills it with SIGKILL at random points of its progress,
 * restarts it, and finally lets it finish and stop gracefully: the harness of the exactly-once
 * tests, against the embedded log or a real broker.
 */
import { seededRandom } from "../../models/trainers/rng.ts";
import { startPlatform, waitFor } from "./platform-process.ts";

interface ShardsBody {
  shards: { partition: number; inputs: { nextOffset: number; checkpointedOffset: number }[] }[];
}

export interface KillLoopOptions {
  env: Record<string, string>;
  /**
   * Records the shards must apply in all: the sum of their topics' end offsets. Asked at the
   * start to place the kills, and again until the last run has checkpointed that many.
   */
  endOffsets: () => Promise<number>;
  partitions: number;
  kills: number;
  seed: number;
  label: string;
  /** Called while the last run is up, after everything was applied. */
  whileUp?: (run: ReturnType<typeof startPlatform>) => Promise<void>;
  /** Called in the middle of the run before the last kill (e.g. to restart the broker). */
  midway?: () => Promise<void>;
  timeoutMs?: number;
}

/** Applied offsets of a running platform, summed over its shards and the topics they read. */
async function applied(run: ReturnType<typeof startPlatform>, partitions: number) {
  const { body } = await run.get<ShardsBody>("/api/v1/shards");
  if (body.shards.length !== partitions) return null;
  const inputs = body.shards.flatMap((s) => s.inputs);
  return {
    applied: inputs.reduce((n, i) => n + i.nextOffset, 0),
    checkpointed: inputs.reduce((n, i) => n + i.checkpointedOffset, 0),
  };
}

/** Returns the applied count at each kill, for the test to show that kills landed mid-stream. */
export async function runKillLoop(options: KillLoopOptions): Promise<{ progress: number[] }> {
  const random = seededRandom(options.seed);
  const total = await options.endOffsets();
  const timeoutMs = options.timeoutMs ?? 120_000;
  const progress: number[] = [];
  for (let kill = 0; kill < options.kills; kill++) {
    const run = startPlatform(options.env);
    const target = total * ((kill + random()) / (options.kills + 1));
    const reached = await waitFor(
      `${options.label}: progress past ${Math.round(target)}`,
      timeoutMs,
      async () => {
        if (run.proc.exitCode !== null) throw new Error(`platform exited early:\n${run.stderr()}`);
        const now = await applied(run, options.partitions);
        return now && now.applied >= target ? now.applied : undefined;
      },
    );
    run.proc.kill("SIGKILL");
    await run.proc.exited;
    progress.push(reached);
    if (kill === Math.floor(options.kills / 2)) await options.midway?.();
  }
  const run = startPlatform(options.env);
  try {
    await waitFor(`${options.label}: every event applied and checkpointed`, timeoutMs, async () => {
      if (run.proc.exitCode !== null) throw new Error(`platform exited early:\n${run.stderr()}`);
      const now = await applied(run, options.partitions);
      // Asked again each time: re-keyed input grows its repartition topic while this runs.
      return now && now.checkpointed === (await options.endOffsets()) ? true : undefined;
    });
    await options.whileUp?.(run);
  } finally {
    run.proc.kill("SIGTERM");
  }
  const code = await run.proc.exited;
  if (code !== 0) throw new Error(`graceful stop exited ${code}:\n${run.stderr()}`);
  return { progress };
}
