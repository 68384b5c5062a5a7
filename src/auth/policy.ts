/**
 * The authorization policy (docs/security.md): which roles may do which actions on which feature views and
 * feature services. Read from the `--policy` JSON file once at start-up and checked against the registry,
 * every problem reported at once; pure (text in, Policy or ConfigError out).
 *
 * ```json
 * {
 *   "default":  { "*": ["read_online"], "trainer": ["read_online", "read_offline"], "ops": ["read_online", "read_offline", "push", "admin"] },
 *   "views":    { "user_txn_stats": { "nightly-job": ["push"], "*": [] } },
 *   "services": { "fraud_model_v1": { "fraud-app": ["read_online"] } }
 * }
 * ```
 *
 * A role's actions on a view are the view's entry for that role when it has one, else the default's: a
 * view entry overrides one role at a time, so restricting one view never means repeating every grant.
 * `"*"` stands for every authenticated caller. Services are only read, and have no default (see grants.ts).
 */
import { ConfigError } from '../errors.ts';
import type { Registry } from '../registry/registry.ts';
import { suggest } from '../registry/suggest.ts';

export const ACTIONS = ['read_online', 'read_offline', 'push', 'admin'] as const;
export type Action = (typeof ACTIONS)[number];

/** What a feature service may grant: it names features to read, so pushing to or administering one means nothing. */
export const SERVICE_ACTIONS: readonly Action[] = ['read_online', 'read_offline'];

/** The role every authenticated principal holds. */
export const ANY_ROLE = '*';

/** Role → the actions it grants. */
export type RoleGrants = ReadonlyMap<string, ReadonlySet<Action>>;

export interface Policy {
  readonly default: RoleGrants;
  /** Per view: the roles whose grants differ from the default there. */
  readonly views: ReadonlyMap<string, RoleGrants>;
  /** Per feature service: the roles that may read it as a whole. */
  readonly services: ReadonlyMap<string, RoleGrants>;
}

/** The policy without a --policy file: every authenticated caller may do everything. */
export const ALLOW_AUTHENTICATED: Policy = Object.freeze({
  default: new Map([[ANY_ROLE, new Set(ACTIONS)]]),
  views: new Map(),
  services: new Map(),
});

const TOP_LEVEL = ['default', 'views', 'services'];

/** Parses and checks a policy file's text against the registry; throws one ConfigError listing every problem. */
export function parsePolicy(text: string, registry: Registry, file: string): Policy {
  const problems: string[] = [];
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`policy ${file}: not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!isObject(json)) throw new ConfigError(`policy ${file}: expected a JSON object with "default", "views" and "services"`);
  for (const key of Object.keys(json)) {
    if (!TOP_LEVEL.includes(key)) problems.push(`unknown key "${key}"${suggest(key, TOP_LEVEL)} (a policy has ${TOP_LEVEL.join(', ')})`);
  }
  const policy: Policy = {
    default: roleGrants(json.default, 'default', ACTIONS, problems),
    views: named(json.views, 'views', registry.views.map((v) => v.name), 'feature view', ACTIONS, problems),
    services: named(json.services, 'services', registry.services.map((s) => s.name), 'feature service', SERVICE_ACTIONS, problems),
  };
  if (problems.length > 0) throw new ConfigError(`policy ${file} has ${problems.length} problem(s):\n  ${problems.join('\n  ')}`, { problems });
  return policy;
}

function named(value: unknown, where: string, known: readonly string[], what: string, allowed: readonly Action[], problems: string[]): Map<string, RoleGrants> {
  const out = new Map<string, RoleGrants>();
  if (value === undefined) return out;
  if (!isObject(value)) {
    problems.push(`"${where}": expected an object of ${what} name → { role: [actions] }`);
    return out;
  }
  for (const [name, grants] of Object.entries(value)) {
    if (!known.includes(name)) {
      problems.push(`"${where}": no ${what} is named "${name}"${suggest(name, known)}`);
      continue;
    }
    out.set(name, roleGrants(grants, `${where}.${name}`, allowed, problems));
  }
  return out;
}

function roleGrants(value: unknown, where: string, allowed: readonly Action[], problems: string[]): RoleGrants {
  const out = new Map<string, ReadonlySet<Action>>();
  if (value === undefined) return out;
  if (!isObject(value)) {
    problems.push(`"${where}": expected an object of role → [actions]`);
    return out;
  }
  for (const [role, actions] of Object.entries(value)) {
    if (role.trim() === '') problems.push(`"${where}": a role name is empty`);
    if (!Array.isArray(actions)) {
      problems.push(`"${where}"."${role}": expected a list of actions (${allowed.join(', ')})`);
      continue;
    }
    const set = new Set<Action>();
    for (const action of actions) {
      if (typeof action === 'string' && (allowed as readonly string[]).includes(action)) set.add(action as Action);
      else if (typeof action === 'string' && (ACTIONS as readonly string[]).includes(action)) problems.push(`"${where}"."${role}": ${action} does not apply here (only ${allowed.join(', ')})`);
      else problems.push(`"${where}"."${role}": unknown action ${JSON.stringify(action)}${typeof action === 'string' ? suggest(action, ACTIONS) : ''} (actions: ${allowed.join(', ')})`);
    }
    out.set(role, set);
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
