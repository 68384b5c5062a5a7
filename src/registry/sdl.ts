/**
 * Reads schema files into plain declarations with locations. Pure: text in, declarations and problems out.
 * Syntax errors in one file do not stop the others from being read, so one run reports everything.
 */
import { GraphQLError, Kind, Source, getLocation, parse } from 'graphql';
import type { ASTNode, ConstDirectiveNode, ConstValueNode, TypeNode } from 'graphql';
import type { Problem } from './problems.ts';
import type { SourceLocation } from './types.ts';

export interface SchemaFile {
  /** Path shown in problems, relative to the working directory when possible. */
  readonly path: string;
  readonly text: string;
}

/** A type reference as written: `Float`, `Float!`, `[Float!]`, ... */
export interface TypeRef {
  readonly name: string;
  readonly nonNull: boolean;
  readonly list: boolean;
  /** Non-null inside the list (`[Float!]`). */
  readonly itemNonNull: boolean;
  /** Lists of lists and the like: nothing we can store. */
  readonly nested: boolean;
  readonly text: string;
}

export interface DirectiveUse {
  readonly name: string;
  readonly args: ReadonlyMap<string, { readonly value: ConstValueNode; readonly loc: SourceLocation }>;
  readonly loc: SourceLocation;
}

export interface FieldDecl {
  readonly name: string;
  readonly type: TypeRef;
  readonly description: string | undefined;
  readonly directives: readonly DirectiveUse[];
  readonly hasArguments: boolean;
  readonly loc: SourceLocation;
}

export interface TypeDecl {
  /** `object` for `type X`, `input` for `input X`; anything else is `other` (enums, unions, ...). */
  readonly kind: 'object' | 'input' | 'other';
  /** The GraphQL definition kind, e.g. `EnumTypeDefinition`, for messages about `other` declarations. */
  readonly astKind: string;
  readonly name: string;
  readonly description: string | undefined;
  readonly directives: readonly DirectiveUse[];
  readonly fields: readonly FieldDecl[];
  readonly loc: SourceLocation;
  /** The name's own location, where duplicate-name problems point. */
  readonly nameLoc: SourceLocation;
}

export function readSchemaFiles(files: readonly SchemaFile[]): { decls: TypeDecl[]; problems: Problem[] } {
  const decls: TypeDecl[] = [];
  const problems: Problem[] = [];
  for (const file of files) {
    const source = new Source(file.text, file.path);
    const at = (node: ASTNode | undefined): SourceLocation => {
      const { line, column } = getLocation(source, node?.loc?.start ?? 0);
      return { file: file.path, line, column };
    };
    let document;
    try {
      document = parse(source, { noLocation: false });
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      const where = error.locations?.[0] ?? { line: 1, column: 1 };
      problems.push({ code: 'SDL_SYNTAX', message: error.message, loc: { file: file.path, ...where } });
      continue;
    }
    for (const def of document.definitions) {
      const directivesOf = (nodes: readonly ConstDirectiveNode[] | undefined): DirectiveUse[] =>
        (nodes ?? []).map((d) => ({
          name: d.name.value,
          loc: at(d),
          args: new Map((d.arguments ?? []).map((a) => [a.name.value, { value: a.value, loc: at(a) }])),
        }));
      if (def.kind === Kind.OBJECT_TYPE_DEFINITION || def.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION) {
        const isObject = def.kind === Kind.OBJECT_TYPE_DEFINITION;
        decls.push({
          kind: isObject ? 'object' : 'input',
          astKind: def.kind,
          name: def.name.value,
          description: def.description?.value,
          directives: directivesOf(def.directives),
          loc: at(def),
          nameLoc: at(def.name),
          fields: (def.fields ?? []).map((f) => ({
            name: f.name.value,
            type: typeRef(f.type),
            description: f.description?.value,
            directives: directivesOf(f.directives),
            hasArguments: f.kind === Kind.FIELD_DEFINITION && (f.arguments?.length ?? 0) > 0,
            loc: at(f),
          })),
        });
      } else {
        decls.push({
          kind: 'other',
          astKind: def.kind,
          name: 'name' in def && def.name ? def.name.value : '',
          description: undefined,
          directives: [],
          fields: [],
          loc: at(def),
          nameLoc: at(def),
        });
      }
    }
  }
  return { decls, problems };
}

function typeRef(node: TypeNode): TypeRef {
  const text = printType(node);
  let nonNull = false;
  let inner = node;
  if (inner.kind === Kind.NON_NULL_TYPE) {
    nonNull = true;
    inner = inner.type;
  }
  if (inner.kind === Kind.LIST_TYPE) {
    let item = inner.type;
    let itemNonNull = false;
    if (item.kind === Kind.NON_NULL_TYPE) {
      itemNonNull = true;
      item = item.type;
    }
    if (item.kind === Kind.LIST_TYPE) return { name: '', nonNull, list: true, itemNonNull, nested: true, text };
    return { name: item.name.value, nonNull, list: true, itemNonNull, nested: false, text };
  }
  return { name: inner.name.value, nonNull, list: false, itemNonNull: false, nested: false, text };
}

function printType(node: TypeNode): string {
  switch (node.kind) {
    case Kind.NON_NULL_TYPE:
      return `${printType(node.type)}!`;
    case Kind.LIST_TYPE:
      return `[${printType(node.type)}]`;
    default:
      return node.name.value;
  }
}
