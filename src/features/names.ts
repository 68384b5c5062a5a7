/** Naming rules shared by the registry and everything that builds keys or columns from names. */

/**
 * snake_case of a GraphQL type name: `UserTxnStats` → `user_txn_stats`, `FraudModelV1` → `fraud_model_v1`,
 * `HTTPSignals` → `http_signals`. A view's name defaults to this, and features are referenced as
 * `view:feature`, so the rule must never change for an existing name.
 */
export function snakeCase(typeName: string): string {
  return typeName
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/** Names that views, features, entities and services may take: lower snake case, starting with a letter. */
export const SNAKE_NAME = /^[a-z][a-z0-9_]*$/;

/** A feature reference, `view:feature`. */
export function featureRef(view: string, feature: string): string {
  return `${view}:${feature}`;
}

/** Splits `view:feature` (or a bare `view`, meaning all its features); undefined when malformed. */
export function parseFeatureRef(ref: string): { view: string; feature: string | undefined } | undefined {
  const parts = ref.split(':');
  if (parts.length > 2 || parts.some((p) => p.length === 0)) return undefined;
  return { view: parts[0]!, feature: parts[1] };
}

/** Columns every feature view row carries besides its join keys and features. */
export const RESERVED_COLUMNS = ['event_timestamp', 'created_timestamp'] as const;
