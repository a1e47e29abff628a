/**
 * What the command-line tools under `models/` share: a usage error (exit 2 with the usage text)
 * and a numeric flag parser whose message names the flag, the value and the allowed range.
 */

import { parseIsoTimestampMs } from "../runtime/iso-timestamp.ts";

/** Bad command-line usage; the tool prints the message and its usage text, and exits 2. */
export class UsageError extends Error {}

/**
 * `parse(argv)`; when it throws, prints the message (if any) and `usage` to stderr and exits: 0
 * for `--help` (an empty UsageError), 2 for bad usage (including parseArgs' unknown flags).
 */
export function parseOrExit<T>(
  usage: string,
  parse: (argv: string[]) => T,
  argv: string[] = process.argv.slice(2),
): T {
  try {
    return parse(argv);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(message ? `${message}\n${usage}` : usage);
    process.exit(message ? 2 : 0);
  }
}

/**
 * The value of a numeric flag, or undefined when it was not given.
 * @throws UsageError e.g. `--days: "x" is not valid; expected a number from 1 to 366`
 */
export function numberOption(
  raw: string | undefined,
  name: string,
  min: number,
  max: number,
  integer = false,
): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (
    !Number.isFinite(value) ||
    value < min ||
    value > max ||
    (integer && !Number.isInteger(value))
  ) {
    throw new UsageError(
      `--${name}: "${raw}" is not valid; expected ${integer ? "an integer" : "a number"} from ${min} to ${max}`,
    );
  }
  return value;
}

/**
 * The value of a time flag in ms since the epoch, or undefined when it was not given.
 * @throws UsageError e.g. `--start: "May 1" is not an ISO-8601 time such as 2025-01-01T00:00:00Z`
 */
export function isoTimeOption(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined) return undefined;
  const ms = parseIsoTimestampMs(raw);
  if (Number.isNaN(ms)) {
    throw new UsageError(
      `--${name}: "${raw}" is not an ISO-8601 time such as 2025-01-01T00:00:00Z`,
    );
  }
  return ms;
}
