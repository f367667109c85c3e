/**
 * Reads the scenario schema back as data: which keys a section has, what a map or list holds,
 * and each leaf's description and default. `--set` uses it to check a path before touching the
 * document; `--explain` uses it to print the reference. It looks only through the few zod
 * wrappers schema.ts uses (prefault, pipe, object, record, array).
 */
import type { z } from 'zod';
import { fieldMeta, type FieldMeta } from './fields.js';
import { scenarioFileSchema } from './schema.js';

export type SchemaNode =
  | { kind: 'leaf'; meta: FieldMeta; description: string }
  | { kind: 'section'; keys: string[]; child: (key: string) => z.ZodType; description: string }
  | { kind: 'map'; value: z.ZodType; description: string }
  | { kind: 'list'; element: z.ZodType; description: string };

interface Def {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  valueType?: z.ZodType;
  element?: z.ZodType;
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** Classifies a schema node, looking through prefault wrappers for the structure beneath. */
export function describeNode(schema: z.ZodType): SchemaNode {
  const description = schema.description ?? '';
  const meta = fieldMeta.get(schema);
  if (meta) return { kind: 'leaf', meta, description };
  let inner = schema;
  while (defOf(inner).innerType) inner = defOf(inner).innerType as z.ZodType;
  const def = defOf(inner);
  if (def.type === 'object' && def.shape) {
    const shape = def.shape;
    return { kind: 'section', keys: Object.keys(shape), child: (key) => shape[key], description };
  }
  if (def.type === 'record' && def.valueType) return { kind: 'map', value: def.valueType, description };
  if (def.type === 'array' && def.element) return { kind: 'list', element: def.element, description };
  throw new Error(`introspect: unexpected schema type ${def.type}`);
}

export function rootNode(): SchemaNode {
  return describeNode(scenarioFileSchema);
}

export interface FieldDoc {
  /** As used with --set; `<name>` stands for a key of a map, `<i>` for a list index. */
  path: string;
  kind: string;
  /** The default as written in a file; undefined for required fields. */
  defaultText: string | undefined;
  description: string;
  /** Descriptions of the sections, maps and lists this field sits in, outermost first. */
  context: string[];
}

/** Every leaf field of the scenario format, in schema order. */
export function listFields(): FieldDoc[] {
  const out: FieldDoc[] = [];
  const visit = (schema: z.ZodType, path: string[], context: string[]): void => {
    const node = describeNode(schema);
    switch (node.kind) {
      case 'leaf':
        out.push({
          path: path.join('.'), kind: node.meta.kind, defaultText: node.meta.defaultText,
          description: node.description, context,
        });
        return;
      case 'section':
        for (const key of node.keys) visit(node.child(key), [...path, key], withContext(context, node.description));
        return;
      case 'map':
        visit(node.value, [...path, '<name>'], withContext(context, node.description));
        return;
      case 'list':
        visit(node.element, [...path, '<i>'], withContext(context, node.description));
        return;
    }
  };
  visit(scenarioFileSchema, [], []);
  return out;
}

function withContext(context: string[], description: string): string[] {
  return description ? [...context, description] : context;
}
