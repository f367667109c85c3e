/**
 * Loading a scenario: find it (built-in name or path), read and parse it (YAML or JSON), apply
 * `--set` overrides, validate, normalize. Every failure is a ScenarioError whose message names
 * the file, the line and column (or the --set option) and the field path.
 */
import { readFileSync } from 'node:fs';
import { basename, extname, isAbsolute, relative, resolve } from 'node:path';
import YAML, { LineCounter } from 'yaml';
import { ScenarioError, joinPath, type ScenarioIssue } from '../util/errors.js';
import { builtinNames, builtinPath } from './builtins.js';
import { checkScenario } from './checks.js';
import { NAME_PATTERN } from './fields.js';
import { keepUnrepresentableNumbers } from './literals.js';
import { applyOverride, parseOverride, type Override, type OverrideSpec } from './overrides.js';
import { parseScenarioFile } from './schema.js';
import type { Scenario } from './types.js';

export { ScenarioError } from '../util/errors.js';
export type { OverrideSpec } from './overrides.js';

const FILE_EXTENSIONS = ['.yaml', '.yml', '.json'];

/**
 * Loads a built-in scenario by name, or a .yaml/.yml/.json file by path, applies `--set`
 * overrides (`vm.swappiness=100`, `processes.app.workload.0.theta=0.9`) in order, and returns
 * the validated, normalized scenario.
 * Throws ScenarioError on any problem with the input.
 */
export function loadScenario(nameOrPath: string, overrides: readonly OverrideSpec[] = []): Scenario {
  const path = resolveScenario(nameOrPath);
  return parseScenarioText(readScenarioFile(path), path, overrides);
}

/** A built-in's file, or the path itself when it names a file. */
export function resolveScenario(nameOrPath: string): string {
  const looksLikePath = /[\\/]/.test(nameOrPath) || FILE_EXTENSIONS.includes(extname(nameOrPath));
  if (looksLikePath) return resolve(nameOrPath);
  const builtin = builtinPath(nameOrPath);
  if (builtin) return builtin;
  throw new ScenarioError(
    `unknown scenario "${nameOrPath}": built-ins are ${builtinNames().join(', ')}; ` +
    'or give the path of a .yaml/.yml/.json file, e.g. ./my-scenario.yaml');
}

function readScenarioFile(path: string): string {
  if (!FILE_EXTENSIONS.includes(extname(path))) {
    throw new ScenarioError(`${displayPath(path)}: a scenario file must end in .yaml, .yml or .json`);
  }
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ScenarioError(`scenario file not found: ${displayPath(path)}`);
    if (code === 'EISDIR') throw new ScenarioError(`${displayPath(path)} is a directory, not a scenario file`);
    throw new ScenarioError(`cannot read scenario file ${displayPath(path)}: ${(error as Error).message}`);
  }
}

/** Paths under the working directory are shown relative to it, others in full. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/**
 * Parses scenario text (YAML, of which JSON is a subset) that came from `path`; the path is
 * used for messages and, when the document has no `name`, as the scenario's name.
 */
export function parseScenarioText(text: string, path: string, overrides: readonly OverrideSpec[] = []): Scenario {
  const shown = displayPath(path);
  if (extname(path) === '.json') checkStrictJson(text, shown);
  const lineCounter = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const lines = doc.errors.slice(0, 3).map((error) => {
      const at = lineCounter.linePos(error.pos[0]);
      return `  ${shown}:${at.line}:${at.col}: ${error.message}\n${pointAt(text, at.line, at.col)}`;
    });
    throw new ScenarioError(`malformed YAML in ${shown}:\n${lines.join('\n')}`);
  }
  keepUnrepresentableNumbers(doc);
  let raw: unknown;
  try {
    // the yaml library caps how far aliases may expand (its maxAliasCount), which stops an
    // alias bomb ("billion laughs") with a ReferenceError
    raw = doc.toJS();
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    throw new ScenarioError(`${shown}: ${error.message}: its aliases (*name) would expand past what a scenario can need; ` +
      'write the repeated values out, or use fewer aliases of aliases');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ScenarioError(`${shown}: a scenario is a mapping of sections (name, machine, processes, …); ` +
      'e.g. start the file with  machine: { memory: 2GiB }');
  }
  const document = raw as Record<string, unknown>;
  if (document.name === undefined) document.name = nameFromPath(path);

  const applied: Override[] = overrides.map((spec) => parseOverride(spec));
  for (const override of applied) applyOverride(document, override);

  const parsed = parseScenarioFile(document);
  // Cross-field rules run only on a document whose fields are each valid.
  const issues = parsed.ok ? checkScenario(parsed.scenario) : parsed.issues;
  if (parsed.ok && issues.length === 0) return parsed.scenario;
  const located = issues.map((issue): ScenarioIssue => ({
    path: joinPath(issue.path),
    message: issue.message,
    source: sourceOf(issue.path, issue.atKey ?? false, applied, doc, lineCounter, shown),
  }));
  throw ScenarioError.fromIssues(`scenario ${shown} is invalid`, located);
}

/**
 * JSON files are held to JSON's rules (YAML, which reads them afterwards for line numbers,
 * would accept trailing commas and comments).
 */
function checkStrictJson(text: string, shown: string): void {
  try {
    JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const position = /position (\d+)/.exec(message);
    if (!position) throw new ScenarioError(`malformed JSON in ${shown}: ${message}`);
    const before = text.slice(0, Number(position[1])).split('\n');
    const line = before.length;
    const col = before[before.length - 1].length + 1;
    throw new ScenarioError(`malformed JSON in ${shown}:\n  ${shown}:${line}:${col}: ${message}\n${pointAt(text, line, col)}`);
  }
}

/** `bench-reference.yaml` → `bench-reference`, made into a valid name if the file's isn't. */
function nameFromPath(path: string): string {
  const stem = basename(path, extname(path));
  const name = stem.replace(/[^A-Za-z0-9_-]/g, '-').replace(/^[^A-Za-z_]/, '_$&');
  return NAME_PATTERN.test(name) ? name : 'scenario';
}

/** Where an issue's value came from: the last --set that wrote at or above it, or its place in the file. */
function sourceOf(path: PropertyKey[], atKey: boolean, overrides: Override[], doc: YAML.Document,
  lineCounter: LineCounter, shown: string): string {
  const keys = path.map(String);
  for (let i = overrides.length - 1; i >= 0; i--) {
    const o = overrides[i];
    if (o.path.length <= keys.length && o.path.every((segment, j) => segment === keys[j])) return o.label;
  }
  const offset = locate(doc, keys, atKey);
  if (offset === undefined) return shown;
  const at = lineCounter.linePos(offset);
  return `${shown}:${at.line}:${at.col}`;
}

/**
 * Offset of the deepest YAML node along `keys`: the value if present (the key itself with
 * `atKey`, for unknown keys), else its key, else the parent.
 */
function locate(doc: YAML.Document, keys: string[], atKey: boolean): number | undefined {
  let node: unknown = doc.contents;
  let offset = YAML.isNode(node) ? node.range?.[0] : undefined;
  for (const [i, key] of keys.entries()) {
    if (YAML.isMap(node)) {
      const pair = node.items.find((item) => YAML.isScalar(item.key) && String(item.key.value) === key);
      if (!pair) return offset;
      const keyOffset = YAML.isNode(pair.key) ? pair.key.range?.[0] : undefined;
      if (atKey && i === keys.length - 1) return keyOffset ?? offset;
      node = pair.value;
      offset = (YAML.isNode(node) ? node.range?.[0] : undefined) ?? keyOffset ?? offset;
    } else if (YAML.isSeq(node)) {
      node = node.items[Number(key)];
      if (!YAML.isNode(node)) return offset;
      offset = node.range?.[0] ?? offset;
    } else {
      return offset;
    }
  }
  return offset;
}

/** The offending line with a caret under the column, as compilers show it. */
function pointAt(text: string, line: number, col: number): string {
  const source = text.split('\n')[line - 1] ?? '';
  return `    ${source}\n    ${' '.repeat(Math.max(col - 1, 0))}^`;
}
