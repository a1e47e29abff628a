/**
 * The admin token guard of the mutating model endpoints (promote, rollback, retrain):
 * `Authorization: Bearer <COELHO_ADMIN_TOKEN>`. With no token configured those endpoints are
 * disabled (403, saying so), so a platform started without one can never be changed over HTTP.
 * The comparison is constant-time (over SHA-256 digests, which have equal lengths), so the
 * answer's timing does not reveal how much of a guess was right.
 */
import { createHash, timingSafeEqual } from "node:crypto";

export type AdminDenial = { status: 401 | 403; body: { error: string; code: string } };

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** A guard for one configured token (or none); returns null when the request may proceed. */
export function adminGuard(token: string | undefined): (request: Request) => AdminDenial | null {
  const expected = token === undefined ? null : digest(token);
  return (request) => {
    if (!expected) {
      return {
        status: 403,
        body: {
          error:
            "model administration is disabled on this instance: no COELHO_ADMIN_TOKEN is configured",
          code: "ADMIN_DISABLED",
        },
      };
    }
    const header = request.headers.get("authorization") ?? "";
    const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
    if (!match || !timingSafeEqual(digest(match[1] as string), expected)) {
      return {
        status: 401,
        body: {
          error: match
            ? "the bearer token is not the admin token"
            : "missing admin token; expected the header Authorization: Bearer <COELHO_ADMIN_TOKEN>",
          code: "UNAUTHORIZED",
        },
      };
    }
    return null;
  };
}
