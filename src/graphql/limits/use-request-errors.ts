/**
 * `useRequestErrors`: a request that cannot run — its body is not JSON, its document does not parse or
 * validate, its parameters are malformed, its content type is not one GraphQL is sent as — is answered
 * with a 4xx status and a code, whatever the client's Accept header.
 *
 * What yoga does on its own, and what this changes:
 * - Invalid JSON: 400 BAD_REQUEST. Kept.
 * - Unparsable or invalid documents: 400 GRAPHQL_PARSE_FAILED / GRAPHQL_VALIDATION_FAILED, but only when
 *   the client accepts application/graphql-response+json; a client accepting application/json (most
 *   plain HTTP clients, and any that sends no Accept) gets 200, as the GraphQL-over-HTTP spec allows for
 *   legacy clients. A 200 for a request that did not run hides the failure from load balancers, metrics
 *   and retry logic, so here it is 400 for every client. (Results that executed keep their 200.)
 * - Unsupported content types: 415 with an empty body. Here it carries the code UNSUPPORTED_MEDIA_TYPE.
 * - A chunked body over the size limit (no Content-Length, so the gateway could not refuse it up front):
 *   yoga's REQUEST_ENTITY_TOO_LARGE is renamed BODY_TOO_LARGE, the code the gateway's own check uses.
 */
import type { Plugin } from 'graphql-yoga';
import { BODY_TOO_LARGE } from './body-size.ts';

export const UNSUPPORTED_MEDIA_TYPE = 'UNSUPPORTED_MEDIA_TYPE';

interface HttpExtension {
  spec?: boolean;
  status?: number;
}

export function useRequestErrors(): Plugin {
  return {
    onRequestParse({ request, requestParser, endResponse, fetchAPI }) {
      if (requestParser !== undefined || request.method !== 'POST') return;
      const body = JSON.stringify({
        errors: [{ message: 'send GraphQL as application/json (or application/graphql+json, application/graphql, multipart/form-data, application/x-www-form-urlencoded)', extensions: { code: UNSUPPORTED_MEDIA_TYPE } }],
      });
      endResponse(new fetchAPI.Response(body, { status: 415, headers: { 'content-type': 'application/json; charset=utf-8' } }));
    },
    onResultProcess({ result }) {
      if (Array.isArray(result) || Symbol.asyncIterator in result || 'data' in result || result.errors === undefined) return;
      for (const error of result.errors) {
        const extensions = error.extensions as Record<string, unknown>;
        // `spec` is what makes yoga answer 200 to application/json clients.
        const http = extensions.http as HttpExtension | undefined;
        if (http?.spec === true) http.spec = false;
        if (extensions.code === 'REQUEST_ENTITY_TOO_LARGE') extensions.code = BODY_TOO_LARGE;
      }
    },
  };
}
