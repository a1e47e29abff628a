/**
 * The request body limit (`COELHO_MAX_BODY_BYTES`): a body declared larger is refused with 413
 * before it is read. Bun's server also stops reading a body past the limit (`maxRequestBodySize`
 * in app.ts), which covers bodies sent without a length.
 */
import { Elysia } from "elysia";

export function bodyLimit(maxBodyBytes: number) {
  return new Elysia({ name: "body-limit" }).onRequest(({ request, set }) => {
    const length = Number(request.headers.get("content-length") ?? 0);
    if (length > maxBodyBytes) {
      set.status = 413;
      return {
        error: `the body is ${length} bytes; expected at most ${maxBodyBytes} (COELHO_MAX_BODY_BYTES)`,
        code: "PAYLOAD_TOO_LARGE",
      };
    }
  });
}
