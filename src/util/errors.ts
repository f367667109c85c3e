/**
 * Errors that are the user's to fix (a bad scenario, a bad option): the CLI prints the message
 * and exits with status 2. Anything else that escapes is a bug in mmsim and keeps its stack.
 */

/** One problem in a scenario, at a field path such as `processes.app.vmas.heap.size`. */
export interface ScenarioIssue {
  path: string;
  message: string;
  /** `file:line:column` of the offending value, or the `--set` option that supplied it. */
  source?: string;
}

export class ScenarioError extends Error {
  override name = 'ScenarioError';
  readonly issues: readonly ScenarioIssue[];

  constructor(message: string, issues: readonly ScenarioIssue[] = []) {
    super(message);
    this.issues = issues;
  }

  /** Builds the error for a list of issues under a heading such as "scenario x.yaml is invalid". */
  static fromIssues(heading: string, issues: readonly ScenarioIssue[]): ScenarioError {
    const lines = issues.map((issue) => `  ${issue.source ? `${issue.source}: ` : ''}${formatIssue(issue)}`);
    return new ScenarioError(`${heading}:\n${lines.join('\n')}`, issues);
  }
}

export function formatIssue(issue: ScenarioIssue): string {
  return issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`;
}

/** Joins a field path the way users write it in --set: `processes.app.workload.0.theta`. */
export function joinPath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

/** A bad command-line option or argument that is not about the scenario itself (e.g. --out). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The host cannot give what a run needs (memory, address space): exit 2 like bad input, with the reason. */
export class HostMemoryError extends UsageError {
  override name = 'HostMemoryError';
}
