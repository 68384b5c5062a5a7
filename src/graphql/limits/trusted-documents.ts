/**
 * Trusted documents: when a list is configured (--trusted-documents FILE), the gateway runs only the
 * GraphQL documents in it, asked for by hash or sent as their exact text. Clients built with the list
 * send a hash instead of the text, and nobody can send the gateway a query it has not seen before.
 *
 * The file is one JSON object mapping the lowercase hex SHA-256 of each document's UTF-8 text to the text
 * (the shape GraphQL Code Generator's client preset writes to persisted-documents.json with SHA-256 hashes):
 *
 *   { "1c8e…a4": "query Vector($id: ID!) { user(user_id: $id) { user_txn_stats { txn_count_7d } } }" }
 *
 * Every hash is checked against its text at start-up, so a text can be trusted by looking it up as is.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../../errors.ts';

export interface TrustedDocuments {
  /** The document a hash names, or undefined. */
  byHash(sha256: string): string | undefined;
  /** Whether this exact text is in the list. */
  has(text: string): boolean;
  readonly size: number;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Parses a trusted-documents file's text; every problem is reported at once, naming the file. */
export function parseTrustedDocuments(text: string, file: string): TrustedDocuments {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`trusted documents ${file}: not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`trusted documents ${file}: expected one JSON object mapping SHA-256 hex to document text`);
  }
  const problems: string[] = [];
  const byHash = new Map<string, string>();
  for (const [hash, document] of Object.entries(parsed)) {
    if (!SHA256_HEX.test(hash)) problems.push(`${JSON.stringify(hash.slice(0, 80))} is not a lowercase hex SHA-256`);
    else if (typeof document !== 'string') problems.push(`${hash}: the document must be a string`);
    else if (sha256Hex(document) !== hash) problems.push(`${hash}: is not the SHA-256 of its document (that is ${sha256Hex(document)})`);
    else byHash.set(hash, document);
  }
  if (problems.length > 0) throw new ConfigError(`trusted documents ${file}:\n  ${problems.join('\n  ')}`, { problems });
  if (byHash.size === 0) throw new ConfigError(`trusted documents ${file}: the list is empty, so no request could run`);
  const texts = new Set(byHash.values());
  return { byHash: (sha256) => byHash.get(sha256), has: (text) => texts.has(text), size: byHash.size };
}

export async function loadTrustedDocuments(file: string): Promise<TrustedDocuments> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`trusted documents ${file}: cannot read it (${error instanceof Error ? error.message : String(error)})`);
  }
  return parseTrustedDocuments(text, file);
}
