/**
 * In-process publish/subscribe for notable platform events (drift, model changes, alerts), which
 * the WebSocket pushes to dashboards. Delivery is synchronous and best effort: a subscriber that
 * throws is logged and dropped from that delivery only; subscribers bound their own buffers.
 */
import { createLogger } from "../logger.ts";

export interface PlatformEvent {
  /** The channel: "drift", "model", "alert", "retraining", ... */
  type: string;
  usecase?: string;
  /** Wall-clock time of publication, ms since the epoch. */
  atMs: number;
  /** JSON-safe details; never more than a few KB. */
  data: Record<string, unknown>;
}

export type PlatformEventListener = (event: PlatformEvent) => void;

/** Upper bound on subscribers (WebSocket clients each hold one). */
const MAX_SUBSCRIBERS = 10_000;

const log = createLogger({ component: "platform-events" });

export class PlatformEvents {
  private readonly listeners = new Set<PlatformEventListener>();

  /** Subscribes; returns the function that unsubscribes. */
  subscribe(listener: PlatformEventListener): () => void {
    if (this.listeners.size >= MAX_SUBSCRIBERS) {
      throw new Error(`platform events: more than ${MAX_SUBSCRIBERS} subscribers`);
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(type: string, data: Record<string, unknown>, usecase?: string): void {
    const event: PlatformEvent = {
      type,
      atMs: Date.now(),
      data,
      ...(usecase !== undefined ? { usecase } : {}),
    };
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        log.warn("a platform event listener threw", { type, error: String(error) });
      }
    }
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }
}

/** The process's event bus (one platform per process). Tests may build their own. */
export const platformEvents = new PlatformEvents();
