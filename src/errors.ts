/**
 * Typed errors. Every error Skewless raises on purpose is a SkewlessError with a stable `code`, whether
 * retrying can help, and the HTTP status it maps to. `toGraphQLError` (src/graphql/errors.ts) is the one
 * place they become GraphQL errors; anything else is masked as INTERNAL in production.
 */
export interface ErrorOptions {
  readonly retriable?: boolean;
  readonly httpStatus?: number;
  /** Extra machine-readable detail, returned in GraphQL `extensions`. */
  readonly details?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
}

export class SkewlessError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  readonly httpStatus: number;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: string, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.httpStatus = options.httpStatus ?? 500;
    this.details = options.details;
  }
}

/** A setting (flag, environment variable or default) that cannot be used; raised once, at start-up. */
export class ConfigError extends SkewlessError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('INVALID_CONFIG', message, { httpStatus: 500, ...(details === undefined ? {} : { details }) });
  }
}
