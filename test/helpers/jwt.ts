/** An identity provider in miniature for auth tests: key pairs, a JWKS file, tokens signed as asked. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JWK, JWTPayload } from 'jose';

export const ISSUER = 'https://idp.test';
export const AUDIENCE = 'skewless-test';

export interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

export async function signingKey(kid: string, alg = 'ES256'): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** Writes a JWKS of the keys' public halves to a new temporary file; returns its path. */
export async function jwksFile(keys: readonly SigningKey[]): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'skewless-jwks-'));
  const file = path.join(dir, 'jwks.json');
  await writeJwks(file, keys);
  return file;
}

export async function writeJwks(file: string, keys: readonly SigningKey[]): Promise<void> {
  await writeFile(file, JSON.stringify({ keys: keys.map((k) => k.jwk) }));
}

export interface TokenOptions {
  readonly sub?: string;
  readonly issuer?: string;
  readonly audience?: string;
  /** Seconds from now; negative: already expired. Default 300. */
  readonly expiresIn?: number;
  readonly claims?: JWTPayload;
}

/** A token signed by `key`, from ISSUER for AUDIENCE unless told otherwise. */
export function token(key: SigningKey, options: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ ...(options.claims ?? {}) })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setSubject(options.sub ?? 'user-1')
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setIssuedAt(now - 10)
    .setExpirationTime(now + (options.expiresIn ?? 300))
    .sign(key.privateKey);
}

/** An unsigned token (`alg: none`) with valid-looking claims: must never be accepted. */
export function unsignedToken(claims: JWTPayload): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ iss: ISSUER, aud: AUDIENCE, sub: 'intruder', iat: now, exp: now + 300, ...claims })}.`;
}
