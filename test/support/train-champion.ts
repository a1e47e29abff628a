/**
 * Trains and registers a fraud champion the way a user does (`bun run train fraud`), for tests and
 * benchmarks that need a model to serve. Each caller checks the outcome its own way.
 */
import { join } from "node:path";
import { type Finished, runToEnd } from "./run-to-end.ts";

const ROOT = join(import.meta.dir, "..", "..");

export interface TrainOptions {
  /** Days of simulated history (the CLI's default when unset). */
  days?: number;
  /** Simulated cardholders (the CLI's default when unset): fewer train faster. */
  cards?: number;
  seed?: number;
  /** Make the new version the champion (default true). */
  promote?: boolean;
}

/** Runs the train CLI into `dataDir`; resolves with its exit code and both outputs. */
export async function trainFraudChampion(
  dataDir: string,
  options: TrainOptions = {},
): Promise<Finished> {
  const args = ["fraud", "--data-dir", dataDir];
  if (options.days !== undefined) args.push("--days", String(options.days));
  if (options.cards !== undefined) args.push("--cards", String(options.cards));
  if (options.seed !== undefined) args.push("--seed", String(options.seed));
  if (options.promote === false) args.push("--no-promote");
  return runToEnd(["bun", join(ROOT, "models", "train-cli.ts"), ...args], { cwd: ROOT });
}
