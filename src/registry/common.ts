/** Checks every kind of definition shares: names, locations in messages. */
import { RESERVED_COLUMNS, SNAKE_NAME, snakeCase } from '../features/names.ts';
import type { Problem } from './problems.ts';
import type { TypeDecl } from './sdl.ts';
import type { Entity, SourceLocation } from './types.ts';

/** `file:line:column`, as problems print locations. */
export function at(loc: SourceLocation): string {
  return `${loc.file}:${loc.line}:${loc.column}`;
}

/** A view's or service's name: explicit, or the snake_case of its type name; must be lower snake case. */
export function definitionName(decl: TypeDecl, explicit: string | undefined, loc: SourceLocation, problems: Problem[]): string {
  const name = explicit ?? snakeCase(decl.name);
  if (!SNAKE_NAME.test(name)) {
    problems.push({ code: 'INVALID_NAME', message: `name "${name}" must be lower snake case (a-z, 0-9, _)`, loc: explicit === undefined ? decl.nameLoc : loc });
  }
  return name;
}

/** Feature names are lower snake case and cannot shadow the columns every view row carries. */
export function checkFeatureName(name: string, loc: SourceLocation, joinKeyOwners: readonly Entity[], problems: Problem[]): void {
  const problem = (message: string): void => void problems.push({ code: 'INVALID_NAME', message, loc });
  if (!SNAKE_NAME.test(name)) problem(`feature "${name}" must be lower snake case`);
  else if ((RESERVED_COLUMNS as readonly string[]).includes(name)) problem(`"${name}" is a reserved column name`);
  else {
    const owner = joinKeyOwners.find((e) => e.joinKeys.some((k) => k.name === name));
    if (owner !== undefined) problem(`"${name}" is a join key of ${owner.name}, not a feature`);
  }
}

/** Reports a second definition of the same name within one namespace. */
export function checkUnique(items: readonly { name: string; loc: SourceLocation }[], what: string, problems: Problem[]): void {
  const seen = new Map<string, SourceLocation>();
  for (const item of items) {
    const first = seen.get(item.name);
    if (first !== undefined) problems.push({ code: 'DUPLICATE_NAME', message: `${what} "${item.name}" is already defined at ${at(first)}`, loc: item.loc });
    else seen.set(item.name, item.loc);
  }
}
