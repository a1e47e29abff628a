/**
 * Forwarding a request about an entity to the instance that owns the entity's partition (Kafka
 * mode, several instances): entity queries and scoring on request both need the owner's state.
 */

/** Marks a forwarded request (its value: the forwarding instance), so it is never forwarded again. */
export const FORWARDED_HEADER = "x-coelho-forwarded-by";
/** A peer that does not answer in this time is treated as gone: the caller gets 503 and retries. */
const FORWARD_TIMEOUT_MS = 2_000;

export interface ForwardedAnswer {
  status: number;
  body: unknown;
}

export interface Owner {
  instanceId: string;
  url: string;
}

/**
 * Sends `path` (with its query) to the owner, marked as forwarded by `from`; the owner's answer,
 * or null when it could not be reached in time.
 */
export async function forwardRequest(
  owner: Owner,
  path: string,
  from: string,
  init: { method?: string; body?: string } = {},
): Promise<ForwardedAnswer | null> {
  try {
    const response = await fetch(`${owner.url}${path}`, {
      method: init.method ?? "GET",
      body: init.body,
      headers: {
        [FORWARDED_HEADER]: from,
        ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
      },
      signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
    });
    return { status: response.status, body: await response.json() };
  } catch {
    return null;
  }
}

/** The owner's answer to an entity query, or null when the owner could not be reached. */
export function forwardEntityQuery(
  owner: Owner,
  usecase: string,
  key: string,
  from: string,
): Promise<ForwardedAnswer | null> {
  const path = `/api/v1/entities/${encodeURIComponent(usecase)}/${encodeURIComponent(key)}`;
  return forwardRequest(owner, path, from);
}

/** True when the request may be forwarded to `owner`: one hop only, and never to ourselves. */
export function mayForward(request: Request, owner: Owner | null, self: string): owner is Owner {
  return owner !== null && owner.instanceId !== self && !request.headers.get(FORWARDED_HEADER);
}
