/**
 * The dashboard's WebSocket: subscribes to the live channels for one use case and reconnects with
 * backoff when the connection drops (a restart, a rebalance of the load balancer).
 */

export interface LiveMessage {
  type?: string;
  channel?: string;
  usecase?: string;
  data?: unknown;
  error?: string;
}

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 10_000;

export function connectLive(
  usecase: () => string,
  onMessage: (message: LiveMessage) => void,
  onStatus: (status: string) => void,
): { resubscribe(): void } {
  let socket: WebSocket | null = null;
  let delayMs = RECONNECT_MIN_MS;
  let previous: string | null = null;

  const subscribe = () => {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    const channels = ["scores", "alerts", "metrics", "drift", "model", "retraining"];
    if (previous) socket.send(JSON.stringify({ type: "unsubscribe", channels }));
    previous = usecase();
    socket.send(JSON.stringify({ type: "subscribe", channels, usecase: previous }));
  };

  const open = () => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws`);
    socket.onopen = () => {
      delayMs = RECONNECT_MIN_MS;
      previous = null;
      onStatus("live");
      subscribe();
    };
    socket.onmessage = (event) => onMessage(JSON.parse(String(event.data)) as LiveMessage);
    socket.onclose = () => {
      onStatus(`disconnected; retrying in ${Math.round(delayMs / 1000)} s`);
      setTimeout(open, delayMs);
      delayMs = Math.min(RECONNECT_MAX_MS, delayMs * 2);
    };
  };
  open();
  return { resubscribe: subscribe };
}
