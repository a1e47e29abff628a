/**
 * The live stream behind `/ws`: each client subscribes to channels (scores, alerts, metrics,
 * drift, model, retraining), optionally for one use case, and gets JSON messages
 * `{channel, usecase?, data}`.
 *
 * Rates are bounded per client whatever the event rate: scores are sampled per use case
 * ({@link SCORES_PER_TICK} every {@link TICK_MS} ms, with the count scored meanwhile, so 20 scores
 * a second that a browser can draw), alerts are batched per tick (at most {@link ALERTS_PER_TICK},
 * of which {@link EXPLAINED_ALERTS_PER_TICK} carry the model's reasons: an explanation costs
 * 0.4–1.5 ms of the event loop), the metrics summary is computed once a second for everyone. Platform
 * events are forwarded as they come (their publishers are rare by nature: drift, promotions).
 *
 * Each client's send buffer is bounded: before a send, a client with more than
 * {@link BUFFERED_BYTES_MAX} not yet taken by the network is closed (1013, "too slow"), so a
 * client that stops reading is dropped and the server's memory does not grow with it.
 */
import type {
  PlatformEvent,
  PlatformEvents,
} from "../../../runtime/introspection/platform-events.ts";
import type { Logger } from "../../../runtime/logger.ts";
import type { Platform } from "../../platform.ts";
import { MetricsSummarizer } from "./metrics-summary.ts";

export const CHANNELS = ["scores", "alerts", "metrics", "drift", "model", "retraining"] as const;
export type Channel = (typeof CHANNELS)[number];

export const TICK_MS = 100;
export const SCORES_PER_TICK = 2;
export const ALERTS_PER_TICK = 20;
/** Alerts explained per tick (20 a second, ≤ 3 % of the event loop); the others show drivers. */
export const EXPLAINED_ALERTS_PER_TICK = 2;
export const METRICS_INTERVAL_MS = 1_000;
/** A client with more than this waiting in its send buffer is dropped. */
export const BUFFERED_BYTES_MAX = 256 * 1024;
/** Clients at most; more are refused at once (1013) rather than slowing everyone down. */
export const CLIENTS_MAX = 2_000;
/** The largest client message (a subscription) accepted. */
export const CLIENT_MESSAGE_BYTES_MAX = 4_096;

/** What the hub needs of a socket (Bun's ServerWebSocket has it). */
export interface LiveSocket {
  send(data: string): number;
  getBufferedAmount(): number;
  close(code?: number, reason?: string): void;
}

interface Client {
  channels: Set<Channel>;
  /** Only this use case's messages; undefined: every use case. */
  usecase?: string;
}

/** Per use case, what was scored since the last tick. */
interface ScoreWindow {
  count: number;
  seen: number;
  sample: unknown[];
  alerts: unknown[];
  /** Alerts of this tick that carry the model's reasons. */
  explained: number;
}

export interface LiveHubOptions {
  platform: Platform;
  events: PlatformEvents;
  logger: Logger;
  /** Messages for tests and benchmarks (defaults above). */
  bufferedBytesMax?: number;
}

export class LiveHub {
  private readonly clients = new Map<LiveSocket, Client>();
  private readonly windows = new Map<string, ScoreWindow>();
  private readonly summarizer: MetricsSummarizer;
  private readonly bufferedBytesMax: number;
  private tickTimer: ReturnType<typeof setInterval> | null = null;
  private metricsTimer: ReturnType<typeof setInterval> | null = null;
  private summarizing = false;
  private offScores: (() => void) | null = null;
  private offEvents: (() => void) | null = null;
  /** Clients dropped for not reading, since start (for tests and the benchmark). */
  dropped = 0;

  constructor(private readonly options: LiveHubOptions) {
    this.summarizer = new MetricsSummarizer(options.platform);
    this.bufferedBytesMax = options.bufferedBytesMax ?? BUFFERED_BYTES_MAX;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  open(socket: LiveSocket): void {
    if (this.clients.size >= CLIENTS_MAX) {
      socket.close(1013, `too many live clients (at most ${CLIENTS_MAX}); retry later`);
      return;
    }
    this.clients.set(socket, { channels: new Set() });
    if (this.clients.size === 1) this.start();
    this.sendTo(socket, {
      type: "welcome",
      channels: CHANNELS,
      usecases: this.options.platform.useCaseNames(),
      instance: this.options.platform.config.instanceId,
    });
  }

  close(socket: LiveSocket): void {
    if (!this.clients.delete(socket)) return;
    if (this.clients.size === 0) this.stop();
  }

  /** A client's message: `{"type":"subscribe"|"unsubscribe","channels":[...],"usecase"?}`. */
  message(socket: LiveSocket, raw: unknown): void {
    const client = this.clients.get(socket);
    if (!client) return;
    const parsed = parseClientMessage(raw, this.options.platform.useCaseNames());
    if ("error" in parsed) {
      this.sendTo(socket, { type: "error", error: parsed.error });
      return;
    }
    if (parsed.type === "subscribe") {
      for (const channel of parsed.channels) client.channels.add(channel);
      client.usecase = parsed.usecase;
    } else {
      for (const channel of parsed.channels) client.channels.delete(channel);
    }
    this.sendTo(socket, {
      type: "subscribed",
      channels: [...client.channels],
      usecase: client.usecase ?? null,
    });
  }

  /** Stops the timers and listeners and closes every client (server shutdown). */
  shutdown(): void {
    for (const socket of [...this.clients.keys()]) socket.close(1001, "server stopping");
    this.clients.clear();
    this.stop();
  }

  private start(): void {
    const { platform, events } = this.options;
    this.offScores = platform.onScored((usecase, scores, features) =>
      this.onScored(usecase, scores, features),
    );
    this.offEvents = events.subscribe((event) => this.onEvent(event));
    this.tickTimer = setInterval(() => this.tick(), TICK_MS);
    this.metricsTimer = setInterval(() => void this.metrics(), METRICS_INTERVAL_MS);
  }

  private stop(): void {
    this.offScores?.();
    this.offEvents?.();
    this.offScores = null;
    this.offEvents = null;
    if (this.tickTimer) clearInterval(this.tickTimer);
    if (this.metricsTimer) clearInterval(this.metricsTimer);
    this.tickTimer = null;
    this.metricsTimer = null;
    this.windows.clear();
  }

  private window(usecase: string): ScoreWindow {
    let window = this.windows.get(usecase);
    if (!window) {
      window = { count: 0, seen: 0, sample: [], alerts: [], explained: 0 };
      this.windows.set(usecase, window);
    }
    return window;
  }

  /** Reservoir-samples the batch into this tick's window; keeps its alerts (bounded). */
  private onScored(usecase: string, scores: readonly unknown[], features: Float32Array): void {
    const window = this.window(usecase);
    window.count += scores.length;
    for (const score of scores) {
      window.seen++;
      if (window.sample.length < SCORES_PER_TICK) window.sample.push(score);
      else {
        const j = Math.floor(Math.random() * window.seen);
        if (j < SCORES_PER_TICK) window.sample[j] = score;
      }
    }
    const room = ALERTS_PER_TICK - window.alerts.length;
    const scoring = room > 0 ? this.options.platform.scoring(usecase) : null;
    const champion = scoring?.champion();
    if (scoring && champion) {
      const explain = EXPLAINED_ALERTS_PER_TICK - window.explained;
      for (const alert of scoring.api.alerts(scores, features, champion, room, explain)) {
        if (alert.contributions) window.explained++;
        window.alerts.push(alert);
      }
    }
  }

  private tick(): void {
    for (const [usecase, window] of this.windows) {
      if (window.count > 0) {
        this.broadcast("scores", usecase, { count: window.count, sample: window.sample });
      }
      if (window.alerts.length > 0) this.broadcast("alerts", usecase, window.alerts);
      window.count = 0;
      window.seen = 0;
      window.sample = [];
      window.alerts = [];
      window.explained = 0;
    }
  }

  private async metrics(): Promise<void> {
    if (this.summarizing) return;
    this.summarizing = true;
    try {
      const summary = await this.summarizer.summary();
      this.broadcast("metrics", undefined, summary);
    } catch (error) {
      this.options.logger.warn("live metrics summary failed", { error });
    } finally {
      this.summarizing = false;
    }
  }

  private onEvent(event: PlatformEvent): void {
    const channel: Channel | null =
      event.type === "alert"
        ? "alerts"
        : (CHANNELS as readonly string[]).includes(event.type)
          ? (event.type as Channel)
          : null;
    if (!channel || channel === "scores" || channel === "metrics") return;
    this.broadcast(channel, event.usecase, event.type === "alert" ? [event.data] : event);
  }

  /** Sends to every client subscribed to the channel (and the use case); serialised once. */
  private broadcast(channel: Channel, usecase: string | undefined, data: unknown): void {
    let text: string | null = null;
    for (const [socket, client] of this.clients) {
      if (!client.channels.has(channel)) continue;
      if (usecase !== undefined && client.usecase !== undefined && client.usecase !== usecase) {
        continue;
      }
      text ??= JSON.stringify({ channel, ...(usecase !== undefined ? { usecase } : {}), data });
      this.sendText(socket, text);
    }
  }

  private sendTo(socket: LiveSocket, message: unknown): void {
    this.sendText(socket, JSON.stringify(message));
  }

  /** Sends unless the client's buffer is over the bound; a client over it is dropped. */
  private sendText(socket: LiveSocket, text: string): void {
    if (socket.getBufferedAmount() > this.bufferedBytesMax) {
      this.drop(socket);
      return;
    }
    // 0: Bun dropped the message (the connection is closing or its buffer is full).
    if (socket.send(text) === 0) this.drop(socket);
  }

  private drop(socket: LiveSocket): void {
    if (!this.clients.has(socket)) return;
    this.dropped++;
    this.close(socket);
    socket.close(1013, "too slow: the client is not reading its messages");
  }
}

type ClientMessage =
  | { type: "subscribe" | "unsubscribe"; channels: Channel[]; usecase?: string }
  | { error: string };

const EXPECTED = `expected {"type": "subscribe"|"unsubscribe", "channels": [${CHANNELS.map((c) => `"${c}"`).join(", ")}], "usecase"?: string}`;

/** Validates a client's message, with an error naming what was wrong and what was expected. */
export function parseClientMessage(raw: unknown, usecases: readonly string[]): ClientMessage {
  let body: unknown = raw;
  if (typeof raw === "string") {
    if (raw.length > CLIENT_MESSAGE_BYTES_MAX) {
      return { error: `message of ${raw.length} bytes; ${EXPECTED}` };
    }
    try {
      body = JSON.parse(raw);
    } catch {
      return { error: `message is not JSON; ${EXPECTED}` };
    }
  }
  if (typeof body !== "object" || body === null) return { error: `not an object; ${EXPECTED}` };
  const { type, channels, usecase } = body as Record<string, unknown>;
  if (type !== "subscribe" && type !== "unsubscribe") {
    return { error: `type: ${JSON.stringify(type) ?? "missing"}; ${EXPECTED}` };
  }
  if (!Array.isArray(channels) || channels.length > CHANNELS.length) {
    return { error: `channels: not a list of channels; ${EXPECTED}` };
  }
  for (const channel of channels) {
    if (!(CHANNELS as readonly unknown[]).includes(channel)) {
      return { error: `channels: unknown channel ${JSON.stringify(channel)}; ${EXPECTED}` };
    }
  }
  if (usecase !== undefined && (typeof usecase !== "string" || !usecases.includes(usecase))) {
    return {
      error: `usecase: ${JSON.stringify(usecase)} is not served here; expected one of ${usecases.join(", ")}`,
    };
  }
  return { type, channels: channels as Channel[], ...(usecase !== undefined ? { usecase } : {}) };
}
