/**
 * Forwarding an entity query to the instance that owns the entity's partition.
 */

/** Marks a forwarded request (its value: the forwarding instance), so it is never forwarded again. */
export const FORWARDED_HEADER = "x-coelho-forwarded-by";
/** A peer that does not answer in this time is treated as gone: the caller gets 503 and retries. */
const FORWARD_TIMEOUT_MS = 2_000;

export interface ForwardedAnswer {
  status: number;
  body: unknown;
}

/** The owner's answer, or null when the owner could not be reached. */
export async function forwardEntityQuery(
  owner: { instanceId: string; url: string },
  usecase: string,
  key: string,
  from: string,
): Promise<ForwardedAnswer | null> {
  const url = `${owner.url}/api/v1/entities/${encodeURIComponent(usecase)}/${encodeURIComponent(key)}`;
  try {
    const response = await fetch(url, {
      headers: { [FORWARDED_HEADER]: from },
      signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
    });
    return { status: response.status, body: await response.json() };
  } catch {
    return null;
  }
}
