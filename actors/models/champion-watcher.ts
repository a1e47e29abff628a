/**
 * Keeps a use case's inference actor serving the registry's champion: it polls the `champion`
 * alias and, when it points at another version, loads that version's ONNX (validated against its
 * feature schema) and hot-swaps it into the inference actor between batches. Every instance runs
 * one, so a promotion reaches all of them within one poll interval.
 */

import {
  ExplanationUnavailableError,
  explainerFromOnnx,
  type ModelExplainer,
} from "../../models/explain/explainer.ts";
import { loadOnnxForServing } from "../../models/onnx/serving-scorer.ts";
import type { ModelRegistry, ModelVersionInfo } from "../../models/registry/types.ts";
import type { Logger } from "../../runtime/logger.ts";
import { PeriodicTask } from "../../runtime/periodic.ts";
import type { InferenceActor } from "../inference/index.ts";

/** What the serving path needs of the champion besides its ONNX session. */
export interface ServingModel {
  version: number;
  threshold: number;
  info: ModelVersionInfo;
  /** Explains its scores (`?explain=true`, alerts' reasons); null when it cannot, and why. */
  explainer: ModelExplainer | null;
  notExplainable: string | null;
}

/** The champion's explainer, or why there is none (an old model: serving goes on regardless). */
function explainerOf(onnx: Uint8Array, featureNames: string[]) {
  try {
    return { explainer: explainerFromOnnx(onnx, featureNames), notExplainable: null };
  } catch (error) {
    // Whatever the reason, the champion serves: only its explanations are missing.
    const reason = (error as Error).message;
    const known = error instanceof ExplanationUnavailableError;
    return { explainer: null, notExplainable: known ? reason : `unreadable model: ${reason}` };
  }
}

export class ChampionWatcher {
  private current: ServingModel | null = null;
  private readonly poller: PeriodicTask;
  private lastError: string | null = null;

  constructor(
    private readonly options: {
      usecase: string;
      registry: ModelRegistry;
      inference: InferenceActor;
      pollMs: number;
      logger: Logger;
    },
  ) {
    this.poller = new PeriodicTask(() => this.poll(), options.pollMs);
  }

  /** The champion being served, or null (no champion yet: nothing is scored). */
  serving(): ServingModel | null {
    return this.current;
  }

  /** Why there is no champion, for readiness. */
  problem(): string | null {
    if (this.current) return null;
    return this.lastError ?? `${this.options.usecase}: no champion model yet`;
  }

  async start(): Promise<void> {
    await this.poll();
    this.poller.start();
  }

  async stop(): Promise<void> {
    await this.poller.stop();
  }

  private async poll(): Promise<void> {
    const { usecase, registry, inference, logger } = this.options;
    try {
      const alias = await registry.alias(usecase, "champion");
      if (!alias || alias.version === this.current?.version) return;
      const version = await registry.get(usecase, alias.version);
      if (!version) return;
      // Small batches inline, large ones in a worker thread (models/onnx/serving-scorer.ts).
      const scorer = await loadOnnxForServing(version.onnx, {
        featureNames: version.featureSchema.names,
      });
      inference.setChampion({ version: String(version.version), scorer });
      const previous = this.current?.version ?? null;
      const explanation = explainerOf(version.onnx, version.featureSchema.names);
      this.current = {
        version: version.version,
        threshold: version.threshold,
        info: version,
        ...explanation,
      };
      this.lastError = null;
      logger.info("serving a new champion", {
        usecase,
        version: version.version,
        previous,
        ...(explanation.notExplainable ? { notExplainable: explanation.notExplainable } : {}),
      });
    } catch (error) {
      // The current champion keeps serving; readiness says why a new one could not be loaded.
      this.lastError = `${usecase}: champion could not be loaded: ${(error as Error).message}`;
      logger.error("champion could not be loaded; the current one keeps serving", {
        usecase,
        error,
      });
    }
  }
}
