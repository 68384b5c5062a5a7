/** Field-type rules shared by every kind of definition the builder reads. */
import type { Problem } from './problems.ts';
import type { FieldDecl } from './sdl.ts';
import type { Field, FieldType, ScalarType } from './types.ts';
import { SCALAR_TYPES } from './types.ts';

/** The supported type of a declared field, or a problem. Only scalars and flat lists of scalars store. */
export function fieldType(decl: FieldDecl, problems: Problem[]): FieldType | undefined {
  const t = decl.type;
  if (t.nested || !SCALAR_TYPES.includes(t.name as ScalarType)) {
    problems.push({
      code: 'UNSUPPORTED_FEATURE_TYPE',
      message: `"${decl.name}: ${t.text}" — supported types are ${SCALAR_TYPES.join(', ')} and lists of them`,
      loc: decl.loc,
    });
    return undefined;
  }
  return { scalar: t.name as ScalarType, list: t.list, nullable: !t.nonNull };
}

/** Reads fields that must all have supported types; fields with problems are left out. */
export function readFields(decls: readonly FieldDecl[], problems: Problem[]): Field[] {
  const out: Field[] = [];
  for (const decl of decls) {
    const type = fieldType(decl, problems);
    if (type !== undefined) out.push({ name: decl.name, type, description: decl.description, loc: decl.loc });
  }
  return out;
}

/** `Float`, `[Float]`, `Int!` — the GraphQL spelling of a field type. */
export function typeText(type: FieldType): string {
  const inner = type.list ? `[${type.scalar}]` : type.scalar;
  return type.nullable ? inner : `${inner}!`;
}
