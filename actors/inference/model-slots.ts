/**
 * The champion and challenger an inference actor serves, and when a replaced model is released.
 *
 * A batch takes the current {@link ModelPair} when it starts and keeps it to the end, so a swap
 * only ever takes effect between batches. A replaced model is released (its onnxruntime session
 * freed) once nothing can use it any more: it is neither champion nor challenger, no batch in
 * flight uses it, and no partly scored request is pinned to it. The actor owns the scorers it is
 * given: a scorer once released must be loaded again to serve again.
 */
import type { OnnxScorer } from "../../models/onnx/session.ts";
import { ValidationError } from "../../runtime/errors.ts";
import type { Logger } from "../../runtime/logger.ts";
import type { InferenceMetrics } from "./inference-metrics.ts";

/** A model version and its loaded scorer. */
export interface ModelSlot {
  /** The registry's version, e.g. "7"; a metric label, so keep it short. */
  readonly version: string;
  readonly scorer: OnnxScorer;
}

/** What a batch is scored with. Immutable: a swap makes a new pair. */
export interface ModelPair {
  readonly champion: ModelSlot | null;
  readonly challenger: ModelSlot | null;
}

/** Longest accepted model version string (it becomes a label value). */
export const VERSION_LENGTH_MAX = 128;

export interface ModelSlotsOptions {
  name: string;
  featureCount: number;
  release: (scorer: OnnxScorer) => Promise<void>;
  logger: Logger;
  metrics: InferenceMetrics;
}

export class ModelSlots {
  private pair: ModelPair = { champion: null, challenger: null };
  /** Pairs used by batches in flight, with how many batches use each. */
  private readonly inFlight = new Map<ModelPair, number>();
  /** Replaced slots not yet released. */
  private readonly retiring = new Set<ModelSlot>();
  private readonly released = new WeakSet<OnnxScorer>();
  private readonly options: ModelSlotsOptions;

  constructor(options: ModelSlotsOptions) {
    this.options = options;
  }

  get current(): ModelPair {
    return this.pair;
  }

  /** Makes `slot` the champion from the next batch on; the old one retires. */
  setChampion(slot: ModelSlot): void {
    this.check(slot, "champion");
    const old = this.pair.champion;
    this.pair = { champion: slot, challenger: this.pair.challenger };
    this.adopted(slot, old, "champion");
  }

  /** Sets (or with null, removes) the shadow model from the next batch on. */
  setChallenger(slot: ModelSlot | null): void {
    if (slot !== null) this.check(slot, "challenger");
    const old = this.pair.challenger;
    this.pair = { champion: this.pair.champion, challenger: slot };
    this.adopted(slot, old, "challenger");
  }

  /** A batch starts on `pair`. */
  begin(pair: ModelPair): void {
    this.inFlight.set(pair, (this.inFlight.get(pair) ?? 0) + 1);
  }

  /** A batch on `pair` ended (scored, failed or abandoned). */
  end(pair: ModelPair): void {
    const count = (this.inFlight.get(pair) ?? 0) - 1;
    if (count > 0) this.inFlight.set(pair, count);
    else this.inFlight.delete(pair);
  }

  /**
   * Releases every retired slot nothing uses any more. `pinned` is the pair of the partly scored
   * request at the head of the queue, if any: its remaining rows are still to be scored on it.
   */
  sweep(pinned: ModelPair | undefined): void {
    if (this.retiring.size === 0) return;
    for (const slot of this.retiring) {
      if (this.uses(this.pair, slot) || (pinned !== undefined && this.uses(pinned, slot))) continue;
      let busy = false;
      for (const pair of this.inFlight.keys()) busy ||= this.uses(pair, slot);
      if (busy) continue;
      this.retiring.delete(slot);
      this.release(slot);
    }
  }

  /** Releases the champion and challenger too (the actor is being disposed of). */
  releaseAll(): void {
    const { champion, challenger } = this.pair;
    this.pair = { champion: null, challenger: null };
    if (champion !== null) this.retiring.add(champion);
    if (challenger !== null) this.retiring.add(challenger);
    this.sweep(undefined);
  }

  private check(slot: ModelSlot, role: string): void {
    const { version, scorer } = slot;
    if (
      typeof version !== "string" ||
      version.length === 0 ||
      version.length > VERSION_LENGTH_MAX
    ) {
      throw new ValidationError(
        `${role}.version`,
        `${JSON.stringify(version)} is not valid; expected a non-empty string of at most ${VERSION_LENGTH_MAX} characters`,
      );
    }
    if (scorer.cols !== this.options.featureCount) {
      throw new ValidationError(
        `${role}.scorer`,
        `model ${version} takes ${scorer.cols} features; this actor scores rows of ${this.options.featureCount}`,
      );
    }
    if (this.released.has(scorer)) {
      throw new ValidationError(
        `${role}.scorer`,
        `model ${version}'s scorer was released when it was replaced; load it again with loadOnnx`,
      );
    }
  }

  private adopted(slot: ModelSlot | null, old: ModelSlot | null, role: string): void {
    if (slot !== null) {
      // Set again before its release: it serves on, nothing to free.
      for (const retired of this.retiring)
        if (retired.scorer === slot.scorer) this.retiring.delete(retired);
      this.options.metrics.live(slot.version);
    }
    if (old !== null && old !== slot) this.retiring.add(old);
    this.options.logger.info("inference model set", {
      actor: this.options.name,
      role,
      version: slot?.version ?? null,
      previous: old?.version ?? null,
    });
  }

  private uses(pair: ModelPair, slot: ModelSlot): boolean {
    return pair.champion?.scorer === slot.scorer || pair.challenger?.scorer === slot.scorer;
  }

  private release(slot: ModelSlot): void {
    // One scorer may have retired twice (a promoted challenger: once per role); free it once.
    if (this.released.has(slot.scorer)) return;
    const { champion, challenger } = this.pair;
    if (champion?.version !== slot.version && challenger?.version !== slot.version) {
      this.options.metrics.retire(slot.version);
    }
    this.released.add(slot.scorer);
    this.options.release(slot.scorer).catch((error: unknown) => {
      this.options.logger.warn("releasing a retired model failed", {
        actor: this.options.name,
        version: slot.version,
        error,
      });
    });
  }
}
