/**
 * The body size limit, at the HTTP layer: a /graphql request whose Content-Length is over --max-body is
 * refused with 413 BODY_TOO_LARGE before a byte of its body is read, let alone parsed. Its connection is
 * closed afterwards rather than kept alive, since keeping it would mean reading and discarding the body.
 *
 * A body sent without a Content-Length (chunked) cannot be judged up front; yoga counts its bytes as it
 * reads them and stops at the same limit (the gateway passes it as yoga's maxRequestBodySize), answered
 * with the same code by useRequestErrors.
 */
import type { IncomingMessage } from 'node:http';
import type { Refusal } from './refusals.ts';

export const BODY_TOO_LARGE = 'BODY_TOO_LARGE';

/** The refusal for a request whose declared body is over `maxBytes`, or undefined. */
export function declaredBodyTooLarge(req: IncomingMessage, maxBytes: number): Refusal | undefined {
  const header = req.headers['content-length'];
  if (header === undefined) return undefined;
  const declared = Number(header);
  // A malformed Content-Length is Node's parser's to refuse (400) before we see the request.
  if (!(declared > maxBytes)) return undefined;
  return {
    code: BODY_TOO_LARGE,
    message: `request body of ${declared} bytes; the limit is ${maxBytes} (--max-body)`,
    status: 413,
    details: { limit: maxBytes },
  };
}
