/**
 * `PeriodicTask`: runs an async task every `intervalMs`, never two runs at once (a tick that finds
 * the previous run still going is skipped), and `stop()` waits for the run in progress. For
 * pollers: a slow registry or broker must not pile up overlapping polls.
 */
export class PeriodicTask {
  private timer: ReturnType<typeof setInterval> | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly task: () => Promise<void>,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.running ??= this.task().finally(() => {
        this.running = null;
      });
    }, this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
