/**
 * Parameter checks shared by the trainers. Every limit is explicit, and a bad value is a
 * {@link ValidationError} that names the parameter, the value and the allowed range.
 */
import { ValidationError } from "../../runtime/errors.ts";

/** An integer in [min, max], or `fallback` when undefined. */
export function intParam(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new ValidationError(
      name,
      `${v} is out of range; expected an integer in [${min}, ${max}]`,
    );
  }
  return v;
}

/**
 * A finite number in the range, or `fallback` when undefined. `openMin` excludes the lower
 * bound (for rates that must be positive).
 */
export function numberParam(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
  openMin = false,
): number {
  const v = value ?? fallback;
  const belowMin = openMin ? !(v > min) : !(v >= min);
  if (!Number.isFinite(v) || belowMin || v > max) {
    const range = `${openMin ? "(" : "["}${min}, ${max}]`;
    throw new ValidationError(name, `${v} is out of range; expected a number in ${range}`);
  }
  return v;
}
