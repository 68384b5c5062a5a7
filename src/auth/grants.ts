/**
 * The policy compiled into tables, once at start-up: per role, a bitmask of actions per view and per
 * feature service. A request's Grants are the OR of its roles' tables, worked out once per distinct role
 * set and remembered (an API key's at start-up), so a check on the serving path is one map read and one
 * array read: never a walk over the policy, and nothing per entity.
 *
 * An on-demand view's read grants are narrowed to those of every view it reads, transitively: a caller who
 * may not read `user_txn_stats` online cannot read it through a transform's output either.
 */
import { SkewlessError } from '../errors.ts';
import type { Registry } from '../registry/registry.ts';
import { ACTIONS, ANY_ROLE } from './policy.ts';
import type { Action, Policy } from './policy.ts';

const BIT: Readonly<Record<Action, number>> = { read_online: 1, read_offline: 2, push: 4, admin: 8 };
const READS = BIT.read_online | BIT.read_offline;

/** What one principal may do. */
export interface Grants {
  /** Whether `action` is allowed on the view named `view`; false for a name that is not a view. */
  allowsView(action: Action, view: string): boolean;
  /** Whether the policy grants `action` on the feature service as a whole (services.<name> in the policy). */
  allowsService(action: Action, service: string): boolean;
  /** Holds admin on every view: may read the parity report and, with --introspection admin, introspect. */
  readonly adminOfAll: boolean;
}

/** Everything allowed: the grants of every caller when --auth is none. */
export const OPEN_GRANTS: Grants = Object.freeze({ allowsView: () => true, allowsService: () => true, adminOfAll: true });

// Bounded like the selection memo: JWT role claims are the caller's to vary.
const MEMO_LIMIT = 1024;

export class GrantTable {
  readonly #views: ReadonlyMap<string, number>;
  readonly #services: ReadonlyMap<string, number>;
  /** Per role named in the policy: action bits per view (the default applied) and per service. */
  readonly #roles: ReadonlyMap<string, { readonly views: Uint8Array; readonly services: Uint8Array }>;
  /** For each on-demand view (by index), the indexes of the views it reads, in an order where inputs come first. */
  readonly #onDemand: readonly (readonly [number, readonly number[]])[];
  readonly #memo = new Map<string, Grants>();

  constructor(registry: Registry, policy: Policy) {
    this.#views = new Map(registry.views.map((v, i) => [v.name, i]));
    this.#services = new Map(registry.services.map((s, i) => [s.name, i]));
    const roleNames = new Set([...policy.default.keys(), ...[...policy.views.values(), ...policy.services.values()].flatMap((g) => [...g.keys()])]);
    const roles = new Map<string, { views: Uint8Array; services: Uint8Array }>();
    for (const role of roleNames) {
      const views = new Uint8Array(registry.views.length);
      registry.views.forEach((view, i) => (views[i] = bits(policy.views.get(view.name)?.get(role) ?? policy.default.get(role))));
      const services = new Uint8Array(registry.services.length);
      registry.services.forEach((service, i) => (services[i] = bits(policy.services.get(service.name)?.get(role))));
      roles.set(role, { views, services });
    }
    this.#roles = roles;
    this.#onDemand = onDemandOrder(registry, this.#views);
  }

  /** The grants of a principal holding `roles` (and, as every authenticated principal does, `*`). */
  forRoles(roles: readonly string[]): Grants {
    // Roles the policy never names grant nothing: leaving them out of the key keeps the memo small.
    const relevant = [...new Set([ANY_ROLE, ...roles])].filter((r) => this.#roles.has(r)).sort();
    const key = relevant.join('\u0000');
    let grants = this.#memo.get(key);
    if (grants === undefined) {
      grants = this.#compute(relevant);
      if (this.#memo.size >= MEMO_LIMIT) this.#memo.clear();
      this.#memo.set(key, grants);
    }
    return grants;
  }

  #compute(roles: readonly string[]): Grants {
    const views = new Uint8Array(this.#views.size);
    const services = new Uint8Array(this.#services.size);
    for (const role of roles) {
      const table = this.#roles.get(role)!;
      for (let i = 0; i < views.length; i++) views[i]! |= table.views[i]!;
      for (let i = 0; i < services.length; i++) services[i]! |= table.services[i]!;
    }
    for (const [view, inputs] of this.#onDemand) {
      let reads = views[view]! & READS;
      for (const input of inputs) reads &= views[input]!;
      views[view] = (views[view]! & ~READS) | reads;
    }
    const viewIndex = this.#views;
    const serviceIndex = this.#services;
    return Object.freeze({
      allowsView: (action: Action, view: string) => {
        const i = viewIndex.get(view);
        return i !== undefined && (views[i]! & BIT[action]) !== 0;
      },
      allowsService: (action: Action, service: string) => {
        const i = serviceIndex.get(service);
        return i !== undefined && (services[i]! & BIT[action]) !== 0;
      },
      adminOfAll: views.every((mask) => (mask & BIT.admin) !== 0),
    });
  }
}

function bits(actions: ReadonlySet<Action> | undefined): number {
  let mask = 0;
  if (actions !== undefined) for (const action of ACTIONS) if (actions.has(action)) mask |= BIT[action];
  return mask;
}

/** On-demand views with their inputs, each after the on-demand views it reads (the registry refuses cycles). */
function onDemandOrder(registry: Registry, index: ReadonlyMap<string, number>): [number, number[]][] {
  const out: [number, number[]][] = [];
  const done = new Set<string>();
  const visit = (name: string): void => {
    const view = registry.view(name);
    if (view === undefined || view.kind !== 'onDemand' || done.has(name)) return;
    done.add(name);
    for (const input of view.inputs) visit(input);
    out.push([index.get(name)!, view.inputs.map((input) => index.get(input)!)]);
  };
  for (const view of registry.views) visit(view.name);
  return out;
}

/** The refusal of an action: names what was denied, never a value. */
export function forbidden(action: Action, denied: readonly string[], what: string): SkewlessError {
  return new SkewlessError('FORBIDDEN', `not allowed to ${action} ${what} ${denied.join(', ')}`, { httpStatus: 403, details: { action, denied } });
}

/**
 * Checks a request for features: allowed when the policy grants the action on the service it names, or
 * on every view it selects (an on-demand view's inputs included). Throws FORBIDDEN naming each denied view.
 */
export function checkSelection(grants: Grants, action: Action, views: readonly { readonly name: string }[], service?: string | null): void {
  // --auth none: nothing to look up, nothing to allocate.
  if (grants === OPEN_GRANTS) return;
  if (service != null && grants.allowsService(action, service)) return;
  checkViews(grants, action, views.map((v) => v.name));
}

/** Throws FORBIDDEN unless the action is allowed on the view: one field's check, allocating nothing when allowed. */
export function checkView(grants: Grants, action: Action, view: string): void {
  if (!grants.allowsView(action, view)) throw forbidden(action, [view], 'feature view');
}

/** Throws FORBIDDEN unless the principal holds admin on every view: for what reports on all of them at once. */
export function checkAdminOfAll(grants: Grants, what: string): void {
  if (!grants.adminOfAll) throw new SkewlessError('FORBIDDEN', `not allowed to read ${what}: it covers every feature view, and needs admin on each`, { httpStatus: 403, details: { action: 'admin' } });
}

/** Throws FORBIDDEN naming each of `views` the action is not allowed on. */
export function checkViews(grants: Grants, action: Action, views: readonly string[]): void {
  const denied = views.filter((view) => !grants.allowsView(action, view));
  if (denied.length > 0) throw forbidden(action, denied, denied.length === 1 ? 'feature view' : 'feature views');
}
