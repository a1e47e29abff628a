/**
 * The last few platform events of each type and use case (drift, model, alert, retraining), kept
 * so that `GET /api/v1/drift/<usecase>` and a dashboard that just connected can show what
 * happened before they asked. Bounded per type and use case, and in the number of pairs.
 */
import type {
  PlatformEvent,
  PlatformEvents,
} from "../../../runtime/introspection/platform-events.ts";

/** Events kept per (type, use case). */
export const RECENT_EVENTS_MAX = 100;
/** (type, use case) pairs kept; events of further pairs are not kept (they are still pushed). */
const PAIRS_MAX = 64;

export class RecentEvents {
  private readonly rings = new Map<string, PlatformEvent[]>();
  private readonly off: () => void;

  constructor(bus: PlatformEvents) {
    this.off = bus.subscribe((event) => this.add(event));
  }

  add(event: PlatformEvent): void {
    const id = `${event.type}\u0000${event.usecase ?? ""}`;
    let ring = this.rings.get(id);
    if (!ring) {
      if (this.rings.size >= PAIRS_MAX) return;
      ring = [];
      this.rings.set(id, ring);
    }
    ring.push(event);
    if (ring.length > RECENT_EVENTS_MAX) ring.shift();
  }

  /** Newest last. */
  list(type: string, usecase?: string): PlatformEvent[] {
    return [...(this.rings.get(`${type}\u0000${usecase ?? ""}`) ?? [])];
  }

  close(): void {
    this.off();
  }
}
