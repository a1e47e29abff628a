/**
 * The registry's own errors. A bad argument is a `ValidationError` (runtime/errors.ts); these are
 * the two refusals that are about models rather than arguments.
 */
import { CoelhoError } from "../../runtime/errors.ts";
import type { OnnxRejection } from "../onnx/session.ts";

/** Why a model was refused: one of loadOnnx's checks, or one of the registry's own. */
export type ModelRejection = OnnxRejection | "kind" | "probe";

/**
 * The model failed validation and was not stored; nothing in the registry changed.
 *
 * @example
 * catch (e) { if (e instanceof ModelRejectedError && e.reason === "checksum") … }
 */
export class ModelRejectedError extends CoelhoError {
  readonly reason: ModelRejection;
  readonly usecase: string;
  constructor(usecase: string, reason: ModelRejection, detail: string, cause?: unknown) {
    super(
      "model_rejected",
      `${usecase}: ONNX model rejected (${reason}), nothing was stored: ${detail}`,
      cause === undefined ? undefined : { cause },
    );
    this.reason = reason;
    this.usecase = usecase;
  }
}

/** An alias would point at a version that does not exist. */
export class VersionNotFoundError extends CoelhoError {
  readonly usecase: string;
  readonly version: number;
  constructor(usecase: string, version: number, latest: number | null) {
    super(
      "model_version_not_found",
      `${usecase}: version ${version} does not exist; ${
        latest === null ? "the use case has no versions yet" : `expected 1 to ${latest}`
      }`,
    );
    this.usecase = usecase;
    this.version = version;
  }
}

/** A call on a registry after its `close()`; `where` is its file or server. */
export class RegistryClosedError extends CoelhoError {
  constructor(where: string) {
    super("registry_closed", `${where}: the registry is closed; open it again`);
  }
}
