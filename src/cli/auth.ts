/**
 * `skewless auth create-key ID [--roles a,b]`: makes an API key. The key is printed once, on stdout's first
 * line, and kept nowhere; the second line is the entry to append to the --api-keys file (its SHA-256 and
 * roles), so `skewless auth create-key fraud-app --roles fraud | tail -n 1 >> keys.jsonl` admits it.
 */
import { createApiKey } from '../auth/api-keys.ts';
import { ConfigError } from '../errors.ts';

export const AUTH_USAGE = 'usage: skewless auth create-key ID [--roles ROLE,ROLE...]';

export interface AuthCommandOptions {
  readonly positionals: readonly string[];
  /** --roles: comma-separated role names; none by default (the key then holds only what "*" grants). */
  readonly roles?: string | undefined;
}

export function authCommand(options: AuthCommandOptions, io: { out: (text: string) => void; err: (text: string) => void }): number {
  const [sub, id, ...extra] = options.positionals;
  if (sub !== 'create-key' || id === undefined || extra.length > 0) throw new ConfigError(AUTH_USAGE);
  const roles = options.roles === undefined ? [] : options.roles.split(',').map((r) => r.trim()).filter((r) => r !== '');
  const { key, line } = createApiKey(id, roles);
  io.out(key);
  io.out(line);
  io.err(`skewless: the first line is the key for ${id}: give it to the client now, it is shown only this once. Append the second line to the --api-keys file and restart the gateway.`);
  return 0;
}
