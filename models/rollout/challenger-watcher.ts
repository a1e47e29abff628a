/**
 * Keeps the inference actor's shadow model on the registry's `challenger` alias: polls it and loads
 * (or, when the alias is gone, removes) the challenger between batches. Every instance runs one, so
 * a rollout reaches all of them within one poll interval, as the champion watcher does for
 * promotions. A registry that does not answer leaves the current challenger in place.
 */
import type { InferenceActor } from "../../actors/inference/index.ts";
import type { Logger } from "../../runtime/logger.ts";
import { PeriodicTask } from "../../runtime/periodic.ts";
import { loadOnnxForServing } from "../onnx/serving-scorer.ts";
import type { ModelRegistry } from "../registry/types.ts";

export class ChallengerWatcher {
  private readonly poller: PeriodicTask;
  private current: number | null = null;
  /** A version that failed to load: not tried again until the alias moves. */
  private failed: number | null = null;

  constructor(
    private readonly o: {
      usecase: string;
      registry: ModelRegistry;
      inference: InferenceActor;
      pollMs: number;
      logger: Logger;
    },
  ) {
    this.poller = new PeriodicTask(() => this.poll(), o.pollMs);
  }

  async start(): Promise<void> {
    await this.poll();
    this.poller.start();
  }

  async stop(): Promise<void> {
    await this.poller.stop();
  }

  /** Polls once now (tests, and right after a rollout starts). */
  async poll(): Promise<void> {
    const { usecase, registry, inference, logger } = this.o;
    try {
      const alias = await registry.alias(usecase, "challenger");
      const version = alias?.version ?? null;
      if (version === this.current || (version !== null && version === this.failed)) return;
      if (version === null) {
        inference.setChallenger(null);
        logger.info("challenger removed", { usecase, previous: this.current });
        this.current = null;
        return;
      }
      const model = await registry.get(usecase, version);
      if (!model) return;
      // Served as the champion is: small batches inline, large ones in a worker thread. Shadow
      // scoring large batches on the event loop held up the shards for as long as a rollout lasts.
      const scorer = await loadOnnxForServing(model.onnx, {
        featureNames: model.featureSchema.names,
      });
      inference.setChallenger({ version: String(version), scorer });
      logger.info("shadowing a challenger", { usecase, version, previous: this.current });
      this.current = version;
    } catch (error) {
      logger.warn("challenger could not be loaded; the current one stays", { usecase, error });
      const alias = await registry.alias(usecase, "challenger").catch(() => null);
      if (alias) this.failed = alias.version;
    }
  }
}
