/**
 * Structured logs: one JSON object per line on stdout, filtered by level. Every line has `time`, `level`
 * and `msg`, then its fields. A child logger carries bound fields (a request id, a view) onto every line
 * it writes, so call sites never have to remember them.
 */
import type { LogLevel } from '../config/config.ts';
import { LOG_LEVELS } from '../config/config.ts';

export type LogFields = Readonly<Record<string, unknown>>;

export type Logger = Record<LogLevel, (msg: string, fields?: LogFields) => void>;

export function createLogger(level: LogLevel, write: (line: string) => void = (line) => process.stdout.write(line + '\n')): Logger {
  const min = LOG_LEVELS.indexOf(level);
  // Levels below the threshold get a function that does nothing, chosen once here rather than per call.
  const entry = (l: LogLevel) =>
    LOG_LEVELS.indexOf(l) < min ? () => {} : (msg: string, fields: LogFields = {}) => write(JSON.stringify({ time: new Date().toISOString(), level: l, msg, ...fields }));
  return { debug: entry('debug'), info: entry('info'), warn: entry('warn'), error: entry('error') };
}

/**
 * A logger writing through `parent` with `bound` on every line. Fields given at the call win over bound
 * ones of the same name. `bound` may be a function, read at each line: how a request's fields reach
 * lines written by code that was handed the logger at start-up (see request-context.ts).
 */
export function childLogger(parent: Logger, bound: LogFields | (() => LogFields | undefined)): Logger {
  const fieldsOf = typeof bound === 'function' ? bound : () => bound;
  const entry = (l: LogLevel) => (msg: string, fields?: LogFields) => {
    const extra = fieldsOf();
    parent[l](msg, extra === undefined ? fields : fields === undefined ? extra : { ...extra, ...fields });
  };
  return { debug: entry('debug'), info: entry('info'), warn: entry('warn'), error: entry('error') };
}
