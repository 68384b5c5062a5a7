#!/usr/bin/env node
/**
 * The `skewless` command. In a checkout: `npm run skewless -- <command> [flags]`; `npm start` is
 * `skewless serve`.
 */
import { resolveConfig, settingLabel } from '../config/config.ts';
import { SETTINGS } from '../config/settings.ts';
import type { SettingName } from '../config/settings.ts';
import { SkewlessError } from '../errors.ts';
import { buildSchema } from '../graphql/schema.ts';
import { createLogger } from '../ops/log.ts';
import { DIRECTIVES_SDL } from '../registry/directives.ts';
import { loadRegistry } from '../registry/load.ts';
import { printSchema } from 'graphql';
import { parseCommandArgs } from './args.ts';
import { authCommand } from './auth.ts';
import { backfillCommand } from './backfill.ts';
import { codegenCommand } from './codegen.ts';
import { ingestCommand } from './ingest.ts';
import { materializeCommand } from './materialize.ts';
import { parityCommand } from './parity.ts';
import { qualityCommand } from './quality.ts';
import { rebuildOnlineCommand } from './rebuild-online.ts';
import { serveCommand } from './serve.ts';
import { problemReport, validateCommand } from './validate.ts';

const COMMANDS: Record<string, string> = {
  serve: 'Start the GraphQL gateway (GraphiQL at /graphql, /healthz, /readyz).',
  validate: 'Check schema/ and transforms/; print every problem with file:line:column and code (--json for JSON).',
  schema: 'Print the GraphQL schema the gateway serves, generated from the registry.',
  ingest:
    'Load rows from a CSV or JSON-lines file into a row view: ingest VIEW FILE [--format csv|jsonl] [--batch-size N (default 5000)] ' +
    '[--gateway URL]. Validates every row first; writes nothing if any is bad. See docs/ingest.md.',
  materialize:
    'Consume every topic a @source or a row view names (Kafka, --kafka-brokers) and write offline history and online values, exactly once. See docs/materializer.md.',
  backfill:
    'Recompute an aggregation view from the raw-event archive with the materializer\'s own code, then rewrite its online values: ' +
    'backfill VIEW [--from TIME] [--to TIME] (default: everything archived; --backfill-chunk N events per transaction). See docs/backfill.md.',
  'rebuild-online': 'Rewrite the online store (Redis) from PostgreSQL: every row view\'s newest rows and every aggregation view\'s pieces. See docs/backfill.md.',
  quality:
    'Data quality from the offline store: quality stats [VIEW[:FEATURE]] prints null rate, min, max, mean, quantiles and drift per feature and window (JSON lines); ' +
    'quality reference VIEW[:FEATURE] captures a drift reference from a window. [--window DURATION] [--end TIME]. See docs/data-quality.md.',
  parity:
    'Reconcile online/offline parity once: replay the settled samples gateways took through the historical path and print the verdicts ' +
    '[--since TIME]; exit 3 when online and offline disagreed. See docs/parity.md.',
  auth: 'auth create-key ID [--roles ROLE,...]: make an API key; prints the key once and the line to add to the --api-keys file. See docs/security.md.',
  codegen: 'Write transforms/generated/<transform>.ts: the input and output types of every transform, from the registry (--check: fail if stale).',
  directives: 'Print the SDL declaring the Skewless directives (for editors).',
  help: 'Show this help.',
};

export function helpText(): string {
  const lines = ['Usage: skewless <command> [options]', '', 'Commands:'];
  for (const [name, text] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(15)}${text}`);
  lines.push('', 'Options (flag, environment variable, default):');
  for (const [name, spec] of Object.entries(SETTINGS) as [SettingName, (typeof SETTINGS)[SettingName]][]) {
    const dflt = 'default' in spec ? ` Default: ${spec.default}.` : '';
    lines.push(`  ${settingLabel(name)} ${spec.valueName}`, `      ${spec.help}${dflt}`);
  }
  return lines.join('\n');
}

export async function main(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<number> {
  const out = (text: string) => process.stdout.write(text + '\n');
  const err = (text: string) => process.stderr.write(text + '\n');
  const [command = 'help', ...rest] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    out(helpText());
    return 0;
  }
  if (!(command in COMMANDS)) {
    err(`skewless: unknown command "${command}". Commands: ${Object.keys(COMMANDS).join(', ')}.`);
    return 2;
  }
  try {
    const strings = command === 'ingest' ? ['format', 'batch-size', 'gateway'] : command === 'backfill' ? ['from', 'to'] : command === 'quality' ? ['window', 'end'] : command === 'parity' ? ['since'] : command === 'auth' ? ['roles'] : [];
    const args = parseCommandArgs(rest, command === 'validate' ? ['json'] : command === 'codegen' ? ['check'] : [], strings);
    if (args.switches.has('help')) {
      out(helpText());
      return 0;
    }
    if (args.positionals.length > 0 && command !== 'ingest' && command !== 'backfill' && command !== 'quality' && command !== 'auth') {
      err(`skewless ${command}: unexpected argument "${args.positionals[0]}"`);
      return 2;
    }
    const config = resolveConfig(args.flags, env);
    switch (command) {
      case 'serve':
        return await serveCommand(config, createLogger(config.logLevel), err);
      case 'validate':
        return await validateCommand(config, args.switches.has('json'), out);
      case 'schema': {
        const result = await loadRegistry(config);
        if (!result.ok) {
          err(problemReport(result.problems));
          return 1;
        }
        out(printSchema(buildSchema(result.registry)));
        return 0;
      }
      case 'ingest': {
        const { format, gateway } = args.options;
        const options = { positionals: args.positionals, format, batchSize: args.options['batch-size'], gateway };
        return await ingestCommand(config, options, { out, err, progress: process.stderr });
      }
      case 'backfill': {
        const options = { positionals: args.positionals, from: args.options.from, to: args.options.to };
        return await backfillCommand(config, options, { out, err, progress: process.stderr });
      }
      case 'quality':
        return await qualityCommand(config, { positionals: args.positionals, window: args.options.window, end: args.options.end }, { out, err });
      case 'parity':
        return await parityCommand(config, { since: args.options.since }, { out, err });
      case 'rebuild-online':
        return await rebuildOnlineCommand(config, { out, err, progress: process.stderr });
      case 'materialize':
        return await materializeCommand(config, createLogger(config.logLevel), err);
      case 'codegen':
        return await codegenCommand(config, args.switches.has('check'), out, err);
      case 'auth':
        return authCommand({ positionals: args.positionals, roles: args.options.roles }, { out, err });
      case 'directives':
        out(DIRECTIVES_SDL);
        return 0;
    }
    return 2;
  } catch (error) {
    // Coded errors are for people: their message, no stack. Anything else is a bug and keeps its stack.
    if (error instanceof SkewlessError) {
      err(error.code === 'INVALID_CONFIG' ? `skewless: ${error.message}` : `skewless: ${error.code}: ${error.message}`);
      return error.code === 'INVALID_CONFIG' ? 2 : 1;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2), process.env);
