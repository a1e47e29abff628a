/**
 * A logger that keeps its warn, error and fatal lines instead of printing them: a failing test
 * shows the last few in its message, a passing one stays quiet.
 */
import type { Logger } from "../../runtime/logger.ts";

export function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    void lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: keep("warn"),
    error: keep("error"),
    fatal: keep("fatal"),
    child: () => logger,
  };
  return { logger, lines };
}
