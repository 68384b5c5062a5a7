/** Command-line parsing: the settings table's flags plus each command's own, unknown flags refused. */
import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.ts';
import type { Flags } from '../config/config.ts';
import { SETTINGS } from '../config/settings.ts';
import type { SettingName } from '../config/settings.ts';
import { closest } from '../registry/suggest.ts';

export interface ParsedArgs {
  readonly flags: Flags;
  readonly switches: ReadonlySet<string>;
  /** Values of the command's own string options that were given, by flag name (`format` for --format). */
  readonly options: Readonly<Record<string, string>>;
  readonly positionals: readonly string[];
}

/**
 * `switches` are boolean flags the command takes besides the settings (e.g. `json` for --json);
 * `strings` are options with a value (e.g. `format` for --format csv).
 */
export function parseCommandArgs(argv: readonly string[], switches: readonly string[] = [], strings: readonly string[] = []): ParsedArgs {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const spec of Object.values(SETTINGS)) options[spec.flag] = { type: 'string' };
  for (const s of switches) options[s] = { type: 'boolean' };
  for (const s of strings) options[s] = { type: 'string' };
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (error) {
    // node:util's messages explain its own API; restate them in terms of our options.
    const message = error instanceof Error ? error.message : String(error);
    const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(message)?.[1];
    const missing = /Option '(-{1,2}[^ ']+)[^']*' argument missing/.exec(message)?.[1];
    const what =
      unknown !== undefined
        ? `unknown option ${unknown}${hintFor(unknown.replace(/^-+/, ''), Object.keys(options))}`
        : missing !== undefined
          ? `option ${missing} needs a value`
          : message;
    throw new ConfigError(`${what}. Run \`skewless help\` for the list of options.`);
  }
  const flags: Flags = {};
  for (const [name, spec] of Object.entries(SETTINGS) as [SettingName, (typeof SETTINGS)[SettingName]][]) {
    const value = parsed.values[spec.flag];
    if (typeof value === 'string') flags[name] = value;
  }
  const on = new Set(Object.entries(parsed.values).filter(([, v]) => v === true).map(([k]) => k));
  const own: Record<string, string> = {};
  for (const s of strings) {
    const value = parsed.values[s];
    if (typeof value === 'string') own[s] = value;
  }
  return { flags, switches: on, options: own, positionals: parsed.positionals };
}

function hintFor(flag: string, known: readonly string[]): string {
  const close = closest(flag, known);
  return close === undefined ? '' : ` (did you mean --${close}?)`;
}
