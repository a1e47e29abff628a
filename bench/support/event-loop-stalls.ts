/**
 * Which slow events waited out a stall of the event loop. A 1-ms interval timer notes every time
 * it fired more than `STALL_MS` late (the loop was busy, collecting, or waiting for a core); each
 * scored event is then checked against those stalls. If most slow events overlap one, the tail
 * is the event loop's work (or its collector's); if not, it is waiting elsewhere (the disk, the
 * inference worker). In the ninth and tenth sittings' runs it was the loop: ~85 % of the events
 * over 5 ms overlapped a stall of 3 ms or more (docs/performance.md).
 */
const STALL_MS = 3;

export class EventLoopStalls {
  /** Start and end of each stall, in `performance.now()` ms, in order. */
  private readonly stalls: number[] = [];
  /** Appended-at and read-at of each event slower than `slowMs`. */
  private readonly events: number[] = [];
  private last = performance.now();
  private readonly timer = setInterval(() => {
    const now = performance.now();
    if (now - this.last > STALL_MS) this.stalls.push(this.last, now);
    this.last = now;
  }, 1);
  private count = 0;

  /** @param slowMs events slower than this are checked against the stalls */
  constructor(private readonly slowMs: number) {}

  /** An event appended at `appendedMs` whose score was read at `readMs`. */
  scored(appendedMs: number, readMs: number): void {
    this.count++;
    if (readMs - appendedMs > this.slowMs) this.events.push(appendedMs, readMs);
  }

  /** Stops the timer; a line on the slow events and the stalls they overlap. */
  stop(): string {
    clearInterval(this.timer);
    const { slowMs, stalls, events } = this;
    const slow = events.length / 2;
    let overlapping = 0;
    let first = 0;
    // Events in order of appending; a stall overlaps [appended, read] when it ends after the
    // append and starts before the read.
    const order = Array.from({ length: slow }, (_, i) => i).sort(
      (a, b) => (events[2 * a] as number) - (events[2 * b] as number),
    );
    for (const i of order) {
      const appended = events[2 * i] as number;
      const read = events[2 * i + 1] as number;
      while (first < stalls.length && (stalls[first + 1] as number) < appended) first += 2;
      if (first < stalls.length && (stalls[first] as number) <= read) overlapping++;
    }
    let stalledMs = 0;
    for (let i = 0; i < stalls.length; i += 2) {
      stalledMs += (stalls[i + 1] as number) - (stalls[i] as number);
    }
    return `event-loop stalls over ${STALL_MS} ms: ${stalls.length / 2} (${stalledMs.toFixed(0)} ms in all); of the ${slow} events over ${slowMs} ms (of ${this.count}), ${overlapping} (${((100 * overlapping) / Math.max(1, slow)).toFixed(0)} %) overlapped one`;
  }
}
