/** Structured logs: one JSON object per line on stdout, filtered by level. */
import type { LogLevel } from '../config/config.ts';
import { LOG_LEVELS } from '../config/config.ts';

export type Logger = Record<LogLevel, (msg: string, fields?: Record<string, unknown>) => void>;

export function createLogger(level: LogLevel, write: (line: string) => void = (line) => process.stdout.write(line + '\n')): Logger {
  const min = LOG_LEVELS.indexOf(level);
  const entry = (l: LogLevel) => (msg: string, fields: Record<string, unknown> = {}) => {
    if (LOG_LEVELS.indexOf(l) >= min) write(JSON.stringify({ time: new Date().toISOString(), level: l, msg, ...fields }));
  };
  return { debug: entry('debug'), info: entry('info'), warn: entry('warn'), error: entry('error') };
}
