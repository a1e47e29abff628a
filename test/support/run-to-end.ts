/**
 * Runs a command to its end with both output pipes drained while it runs (a full pipe would stall
 * the child), for tests and benchmarks that check a CLI's or a script's outcome themselves.
 */

export interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runToEnd(
  command: string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): Promise<Finished> {
  const child = Bun.spawn(command, {
    cwd: options.cwd,
    env: options.env,
    stdout: "pipe",
    stderr: "pipe",
    ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}),
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr };
}
