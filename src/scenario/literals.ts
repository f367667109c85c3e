/**
 * Numbers as written. YAML reads `9223372036854775808` as the nearest double
 * (9223372036854776000), a 400-digit size as Infinity and `.nan` as NaN, which JSON shows as
 * null: a message built from the value would name something the user never wrote. Before the
 * document becomes plain values, every number that a JavaScript number cannot hold exactly is
 * replaced by an UnrepresentableNumber carrying its source text, and the fields refuse it
 * naming that text (fields.ts).
 */
import YAML from 'yaml';

/** Above this an integer is no longer exact: 2^53 − 1. */
const LIMIT = Number.MAX_SAFE_INTEGER;

export class UnrepresentableNumber {
  constructor(
    /** The scalar as written: `9223372036854775808`, `.nan`, `1e400`. */
    readonly source: string,
    /** Why it cannot be used, after the value: `is not a number`. */
    readonly problem: string,
  ) {}

  /** `<value as written> <problem>`, with a very long numeral shortened to its start and length. */
  describe(): string {
    const shown = this.source.length > 40 ? `${this.source.slice(0, 20)}… (${this.source.length} characters)` : this.source;
    return `${shown} ${this.problem}`;
  }
}

/** Why `value` cannot stand for what was written, or undefined when it can. */
function problemOf(value: number): string | undefined {
  if (Number.isNaN(value)) return 'is not a number';
  if (value === Infinity || value > LIMIT) return `is too large: numbers in a scenario go up to 2^53 − 1 = ${LIMIT}, the largest a double holds exactly`;
  if (value === -Infinity || value < -LIMIT) return `is too small: numbers in a scenario go down to −(2^53 − 1) = −${LIMIT}`;
  return undefined;
}

/** Replaces, in place, every number scalar of `doc` whose value is not what its text says. */
export function keepUnrepresentableNumbers(doc: YAML.Document): void {
  YAML.visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== 'number') return;
      const problem = problemOf(node.value);
      if (problem === undefined) return;
      const source = node.source ?? String(node.value);
      // YAML's .inf is infinity on purpose, not a numeral too long for a double
      const infinite = /^[-+]?\.inf$/i.test(source);
      node.value = new UnrepresentableNumber(source, infinite ? 'is infinite, not a number a scenario can use' : problem);
    },
  });
}
