/**
 * `--set FIELD=VALUE`: edits the raw document before validation, so an override is checked
 * exactly like the same value written in the file. The path is checked against the schema
 * first, so a typo is reported with the keys valid at that level instead of being ignored.
 */
import YAML from 'yaml';
import type { z } from 'zod';
import { ScenarioError } from '../util/errors.js';
import { NAME_PATTERN, NAME_RULE } from './fields.js';
import { describeNode, rootNode } from './introspect.js';
import { keepUnrepresentableNumbers } from './literals.js';

/** One override as given: `vm.swappiness=100`, labelled by the option that carried it. */
export type OverrideSpec = string | { set: string; label: string };

export interface Override {
  /** The option as the user wrote it (`--set vm.swappiness=100`, `--seed 5`), for messages. */
  label: string;
  path: string[];
  value: unknown;
}

/** Splits `vm.swappiness=100` into a path and a value parsed as YAML (so `4GiB` stays text, 100 a number). */
export function parseOverride(spec: OverrideSpec): Override {
  const { set, label } = typeof spec === 'string' ? { set: spec, label: `--set ${spec}` } : spec;
  const fail = (message: string): never => {
    throw ScenarioError.fromIssues(`bad option ${label}`, [{ path: '', message }]);
  };
  const eq = set.indexOf('=');
  if (eq <= 0) fail('expected FIELD=VALUE, e.g. --set vm.swappiness=100');
  const path = set.slice(0, eq).split('.');
  if (path.some((segment) => segment === '')) {
    fail(`"${set.slice(0, eq)}" has an empty path segment; e.g. --set machine.memory=4GiB`);
  }
  const text = set.slice(eq + 1);
  const doc = YAML.parseDocument(text);
  if (doc.errors.length > 0) fail(`value ${JSON.stringify(text)} is not valid YAML: ${doc.errors[0].message.split('\n')[0]}`);
  keepUnrepresentableNumbers(doc);
  // An empty value means the empty string (e.g. description=), not YAML's null.
  return { label, path, value: text === '' ? '' : doc.toJS() };
}

type Container = Record<string, unknown> | unknown[];

function isContainer(value: unknown): value is Container {
  return typeof value === 'object' && value !== null;
}

/** Applies one override to the raw document in place, creating absent sections on the way. */
export function applyOverride(doc: Record<string, unknown>, override: Override): void {
  const { path, label } = override;
  let node = rootNode();
  let container: Container = doc;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i];
    const here = path.slice(0, i).join('.') || 'the top level';
    const fail = (message: string): never => {
      throw ScenarioError.fromIssues(`bad option ${label}`, [{ path: path.slice(0, i + 1).join('.'), message }]);
    };
    const last = i === path.length - 1;
    let child: z.ZodType;
    switch (node.kind) {
      case 'leaf':
        return fail('the top level is a mapping, not a value');
      case 'section':
        if (!node.keys.includes(segment)) fail(`unknown field; valid keys in ${here}: ${node.keys.join(', ')}`);
        child = node.child(segment);
        break;
      case 'map': {
        if (!NAME_PATTERN.test(segment)) fail(`not a valid name (${NAME_RULE})`);
        const existing = Object.keys(container);
        if (!last && !(segment in container)) {
          fail(`${here} has no entry "${segment}"; existing: ${existing.length > 0 ? existing.join(', ') : '(none)'}`);
        }
        child = node.value;
        break;
      }
      case 'list': {
        const length = Array.isArray(container) ? container.length : 0;
        if (!/^\d+$/.test(segment) || Number(segment) >= length) {
          fail(length === 0
            ? `${here} has no entries to set`
            : `${here} has ${length} ${length === 1 ? 'entry' : 'entries'}; use an index 0..${length - 1}`);
        }
        child = node.element;
        break;
      }
    }
    const childNode = describeNode(child);
    if (!last && childNode.kind === 'leaf') {
      fail(`${path.slice(0, i + 1).join('.')} is a value, not a section; e.g. --set ${path.slice(0, i + 1).join('.')}=${childNode.meta.example}`);
    }
    const key = Array.isArray(container) ? Number(segment) : segment;
    const slot = container as Record<string | number, unknown>;
    if (last) {
      slot[key] = override.value;
      return;
    }
    if (slot[key] === undefined || slot[key] === null) slot[key] = {};
    const next = slot[key];
    if (!isContainer(next)) fail(`the file gives ${JSON.stringify(next)} here, not a mapping; fix the file first`);
    container = next as Container;
    node = childNode;
  }
}
