/** Checks every kind of definition shares: names, locations in messages. */
import { RESERVED_COLUMNS, SNAKE_NAME, snakeCase } from '../features/names.ts';
import type { Problem } from './problems.ts';
import { FIELD_DIRECTIVES, readDirectiveArgs } from './directives.ts';
import type { FieldDecl, TypeDecl } from './sdl.ts';
import type { Entity, Feature, SourceLocation } from './types.ts';

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

/** The fields every kind of view shares, from its declaration and directive arguments. */
export function viewBase(
  decl: TypeDecl,
  name: string,
  args: { readonly owner?: string | undefined; readonly tags?: readonly string[] | undefined },
  features: readonly Feature[],
) {
  return { name, typeName: decl.name, description: decl.description, owner: args.owner, tags: args.tags ?? [], features, loc: decl.loc };
}

/** The reason given by `@deprecated` on a feature, if it carries one (GraphQL's default text otherwise). */
export function deprecationReason(field: FieldDecl, problems: Problem[]): string | undefined {
  const use = field.directives.find((d) => d.name === 'deprecated');
  if (use === undefined) return undefined;
  return readDirectiveArgs(use, FIELD_DIRECTIVES.deprecated, problems)?.reason ?? 'No longer supported';
}
