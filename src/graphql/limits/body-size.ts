/**
 * The body size limit, at the HTTP layer: a /graphql request whose Content-Length is over --max-body is
 * refused with 413 BODY_TOO_LARGE before a byte of its body is read, let alone parsed. Its connection is
 * closed afterwards rather than kept alive, since keeping it would mean reading and discarding the body.
 *
 * A body sent without a Content-Length (chunked) cannot be judged up front: useChunkedBodyLimit counts its
 * bytes as they are read and stops at the same limit, answered with the same code by useRequestErrors.
 */
import type { IncomingMessage } from 'node:http';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
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

/**
 * The limit for bodies sent without a Content-Length, inside yoga: each chunk counted as it is read, the
 * request failed with 413 once the count passes `maxBytes` (REQUEST_ENTITY_TOO_LARGE, which
 * useRequestErrors renames BODY_TOO_LARGE). A body with a Content-Length is left alone: Node's parser reads
 * exactly that many bytes, and declaredBodyTooLarge has refused it already if they are too many. Yoga's own
 * limiter (maxRequestBodySize, turned off by the gateway) wrapped every body in a TransformStream, and
 * the stream pipeline behind it cost each request a DOMException: about 5% of the gateway's CPU in a
 * profile of one-entity reads (docs/benchmarks.md, online).
 */
export function useChunkedBodyLimit(maxBytes: number): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      // No body at all (a GET, or a ponyfill request whose body is undefined rather than null): nothing to count.
      if (requestParser === undefined || !request.body || request.headers.get('content-length') !== null) return;
      setRequestParser((req) => requestParser(countingBody(req, maxBytes, fetchAPI)));
    },
  };
}

function countingBody(request: Request, maxBytes: number, fetchAPI: { Request: typeof Request; TransformStream: typeof TransformStream }): Request {
  const body = request.body;
  if (!body) return request;
  // A native body needs the native TransformStream, the ponyfill's its own (yoga does the same).
  const Transform = body instanceof ReadableStream ? globalThis.TransformStream : fetchAPI.TransformStream;
  let read = 0;
  const counted = body.pipeThrough(
    new Transform<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        read += chunk.byteLength;
        if (read > maxBytes) return controller.error(new GraphQLError(`request body over ${maxBytes} bytes (--max-body)`, { extensions: { code: 'REQUEST_ENTITY_TOO_LARGE', http: { status: 413 } } }));
        controller.enqueue(chunk);
      },
    }),
  );
  return new fetchAPI.Request(request.url, { method: request.method, headers: request.headers, signal: request.signal, body: counted, duplex: 'half' } as RequestInit);
}
