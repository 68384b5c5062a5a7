/**
 * `useTrustedDocuments`: with a trusted-documents list (trusted-documents.ts), only its documents run.
 * A request names one by hash, `extensions.persistedQuery.sha256Hash` (Apollo's automatic persisted
 * query shape, which most clients speak), or sends its exact text. Anything else is refused before it
 * is parsed:
 *
 * - a hash not in the list: 400 PERSISTED_QUERY_NOT_FOUND (an Apollo client then resends the text, which
 *   runs if that text is trusted);
 * - a hash sent with a text that is not the hash's document: 400 PERSISTED_QUERY_MISMATCH;
 * - a text not in the list: 403 UNTRUSTED_DOCUMENT.
 */
import type { GraphQLError } from 'graphql';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import type { Counter } from 'prom-client';
import { refusalError } from './refusals.ts';
import type { Refusal } from './refusals.ts';
import type { TrustedDocuments } from './trusted-documents.ts';

export const PERSISTED_QUERY_NOT_FOUND = 'PERSISTED_QUERY_NOT_FOUND';
export const PERSISTED_QUERY_MISMATCH = 'PERSISTED_QUERY_MISMATCH';
export const UNTRUSTED_DOCUMENT = 'UNTRUSTED_DOCUMENT';

export function useTrustedDocuments(trusted: TrustedDocuments, refused: Counter<'code'>): Plugin {
  const refusal = (refusal: Refusal): GraphQLError => {
    refused.inc({ code: refusal.code });
    return refusalError(refusal);
  };
  // Once the body is parsed into parameters, before yoga checks them: a request naming a document by
  // hash has no query of its own until this fills it in. A refusal is thrown, and answered with its status.
  const check = (params: GraphQLParams): GraphQLParams => {
    const hash = persistedHash(params.extensions);
    if (hash !== undefined) {
      const document = trusted.byHash(hash);
      if (document === undefined) throw refusal({ code: PERSISTED_QUERY_NOT_FOUND, message: `no trusted document has the hash ${hash.slice(0, 80)}`, status: 400 });
      if (params.query != null && params.query !== document) {
        throw refusal({ code: PERSISTED_QUERY_MISMATCH, message: `the query sent is not the trusted document with the hash ${hash}`, status: 400 });
      }
      return { ...params, query: document };
    }
    // No query at all is yoga's to refuse (400 "Must provide query string.").
    if (typeof params.query !== 'string' || trusted.has(params.query)) return params;
    throw refusal({
      code: UNTRUSTED_DOCUMENT,
      message: 'this gateway runs only trusted documents: send the hash of one (extensions.persistedQuery.sha256Hash) or its exact text',
      status: 403,
    });
  };
  return {
    onRequestParse: () => ({
      onRequestParseDone({ requestParserResult, setRequestParserResult }) {
        setRequestParserResult(Array.isArray(requestParserResult) ? requestParserResult.map(check) : check(requestParserResult));
      },
    }),
  };
}

/** `extensions.persistedQuery.sha256Hash`, when the request has one. */
function persistedHash(extensions: Record<string, unknown> | undefined): string | undefined {
  const persisted = extensions?.persistedQuery;
  if (persisted === null || typeof persisted !== 'object') return undefined;
  const hash = (persisted as { sha256Hash?: unknown }).sha256Hash;
  return typeof hash === 'string' ? hash : undefined;
}
