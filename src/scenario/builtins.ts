/**
 * Built-in scenarios: the YAML files in the package's scenarios/ directory, runnable by name
 * (`mmsim run default`). Each file is an ordinary scenario; nothing here is special-cased.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import YAML from 'yaml';
import { packageRoot } from '../util/package.js';

export interface BuiltinScenario {
  name: string;
  /** First line of the file's `description`. */
  description: string;
  path: string;
}

export function scenariosDir(): string {
  return join(packageRoot(), 'scenarios');
}

/** Names of the built-in scenarios, sorted. */
export function builtinNames(): string[] {
  return readdirSync(scenariosDir())
    .filter((file) => file.endsWith('.yaml'))
    .map((file) => basename(file, '.yaml'))
    .sort();
}

/** The file of a built-in scenario, or undefined when no built-in has that name. */
export function builtinPath(name: string): string | undefined {
  return builtinNames().includes(name) ? join(scenariosDir(), `${name}.yaml`) : undefined;
}

/** Every built-in with its one-line description, for `mmsim scenarios`. */
export function listBuiltins(): BuiltinScenario[] {
  return builtinNames().map((name) => {
    const path = join(scenariosDir(), `${name}.yaml`);
    return { name, description: firstLineOfDescription(path), path };
  });
}

function firstLineOfDescription(path: string): string {
  try {
    const doc = YAML.parse(readFileSync(path, 'utf8')) as { description?: unknown } | null;
    const text = typeof doc?.description === 'string' ? doc.description : '';
    return text.trim().split('\n')[0] ?? '';
  } catch (error) {
    // Listing must not fail on one bad file; `mmsim validate` gives the details.
    return `(unreadable: ${(error as Error).message.split('\n')[0]})`;
  }
}
