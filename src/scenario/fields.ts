/**
 * Leaf field builders for the scenario schema. Each field is one zod schema that parses the
 * human form (units, ranges), carries its description (`.describe()`) and its default in the
 * same place, and registers what `mmsim validate --explain` shows (kind, example, default), so
 * validation and documentation cannot drift. Messages name the bad value and give an example;
 * the field path is added by whoever reports the issue.
 */
import { z } from 'zod';
import { UnrepresentableNumber } from './literals.js';
import {
  PAGE_SIZE, UnitError, describeValue, pageMultipleError, parseDuration, parseRate, parseSize,
} from './units.js';

export interface FieldMeta {
  kind: string;
  example: string;
  /** The default as a user would write it; absent for required fields. */
  defaultText?: string;
}

/** What `--explain` lists for leaves; sections and maps are recognised by their zod type. */
export const fieldMeta = z.registry<FieldMeta>();

interface FieldSpec<D> {
  kind: string;
  example: string;
  default?: D;
}

type Parsed<T> = z.ZodPipe<z.ZodUnknown, z.ZodTransform<T, unknown>>;

/**
 * A field's schema type: with a default it may be omitted from the file (a prefault), which
 * lets a section made only of such fields itself default to `{}`.
 */
export type Field<T, D> = [D] extends [undefined] ? Parsed<T> : z.ZodPrefault<Parsed<T>>;

type Default = string | number | boolean | readonly number[] | undefined;

function field<T, D extends Default>(doc: string, spec: FieldSpec<D>, parse: (value: unknown) => T): Field<T, D> {
  const parsed = z.unknown().transform((value, ctx): T => {
    if (value === undefined) {
      ctx.addIssue({ code: 'custom', message: `is required; e.g. ${spec.example}` });
      return z.NEVER;
    }
    if (value instanceof UnrepresentableNumber) {
      // named as written: the parsed double (or NaN, shown as null) is not what the file says
      ctx.addIssue({ code: 'custom', message: `${value.describe()}; e.g. ${spec.example}` });
      return z.NEVER;
    }
    try {
      return parse(value);
    } catch (error) {
      if (!(error instanceof UnitError)) throw error;
      ctx.addIssue({ code: 'custom', message: error.message });
      return z.NEVER;
    }
  });
  // prefault (not default): the default goes through the same parser, so `'128KiB'` is valid
  // input and shows in --explain exactly as a user would write it.
  const withDefault = spec.default === undefined ? parsed : parsed.prefault(spec.default);
  const described = withDefault.describe(doc);
  fieldMeta.add(described, {
    kind: spec.kind,
    example: spec.example,
    ...(spec.default === undefined ? {} : { defaultText: showDefault(spec.default) }),
  });
  return described as Field<T, D>;
}

function showDefault(value: unknown): string {
  if (value === '') return "''";
  return typeof value === 'string' ? value : JSON.stringify(value);
}

interface QuantityOptions<D> {
  example: string;
  default?: D;
  /** The value is a count of pages on the WASM side, so it must be a multiple of 4KiB. */
  pages?: boolean;
  /** 0 is meaningless (a device with no bandwidth, a VMA of no pages). */
  positive?: boolean;
}

function checkQuantity(n: number, original: unknown, options: QuantityOptions<unknown>, what: string): number {
  if (options.positive && n === 0) {
    throw new UnitError(`${JSON.stringify(original)} must be more than 0 ${what}; e.g. ${options.example}`);
  }
  if (options.pages && n % PAGE_SIZE !== 0) throw pageMultipleError(n, original);
  return n;
}

/** A size in bytes, written `16GiB`, `400MB` or a bare number of bytes. */
export function size<D extends string | number | undefined = undefined>(doc: string, options: QuantityOptions<D>) {
  const kind = options.pages ? 'size, multiple of 4KiB' : 'size';
  return field(doc, { kind, ...options }, (value) =>
    checkQuantity(parseSize(value, options.example), value, options, 'bytes'));
}

/** A bandwidth in bytes per second, written `400MB/s`. */
export function rate<D extends string | number | undefined = undefined>(doc: string, options: QuantityOptions<D>) {
  return field(doc, { kind: 'rate', ...options }, (value) =>
    checkQuantity(parseRate(value, options.example), value, options, 'bytes/s'));
}

/** A duration in ns, written `30s`, `250us`, `10ms`. */
export function duration<D extends string | number | undefined = undefined>(doc: string, options: QuantityOptions<D>) {
  return field(doc, { kind: 'duration', ...options }, (value) =>
    checkQuantity(parseDuration(value, options.example), value, options, 'ns'));
}

interface NumberOptions<D> {
  min: number;
  max: number;
  /** min itself is not allowed (theta > 0). */
  exclusiveMin?: boolean;
  integer?: boolean;
  /** The only values allowed, for settings the kernel only builds with a few values (HZ). */
  oneOf?: readonly number[];
  example: string;
  default?: D;
}

function parseNumberInRange(value: unknown, options: NumberOptions<unknown>): number {
  const what = options.integer ? 'an integer' : 'a number';
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new UnitError(`${describeValue(value)} is not ${what}; e.g. ${options.example}`);
  }
  if (options.integer && !Number.isInteger(value)) {
    throw new UnitError(`${value} is not a whole number; e.g. ${options.example}`);
  }
  if (options.oneOf && !options.oneOf.includes(value)) {
    throw new UnitError(`${value} is not one of ${options.oneOf.join(', ')}; e.g. ${options.example}`);
  }
  const belowMin = options.exclusiveMin ? value <= options.min : value < options.min;
  if (belowMin || value > options.max) {
    throw new UnitError(`${value} is outside ${rangeText(options)}; e.g. ${options.example}`);
  }
  return value;
}

function rangeText(options: NumberOptions<unknown>): string {
  const low = options.exclusiveMin ? `> ${options.min}` : `≥ ${options.min}`;
  return options.max >= Number.MAX_SAFE_INTEGER ? low : `${options.exclusiveMin ? `>${options.min}` : options.min}..${options.max}`;
}

/** A plain number (no unit) within a range. */
export function number<D extends number | undefined = undefined>(doc: string, options: NumberOptions<D>) {
  const kind = options.oneOf
    ? `one of ${options.oneOf.join('|')}`
    : `${options.integer ? 'integer' : 'number'} ${rangeText(options)}`;
  return field(doc, { kind, example: options.example, default: options.default },
    (value) => parseNumberInRange(value, options));
}

export function integer<D extends number | undefined = undefined>(doc: string, options: Omit<NumberOptions<D>, 'integer'>) {
  return number(doc, { ...options, integer: true });
}

/** A share in [0, 1]. */
export function fraction(doc: string, defaultValue: number) {
  return number(doc, { min: 0, max: 1, example: '0.25', default: defaultValue });
}

export function boolean(doc: string, defaultValue: boolean) {
  return field(doc, { kind: 'true|false', example: String(!defaultValue), default: defaultValue }, (value) => {
    if (typeof value !== 'boolean') {
      throw new UnitError(`${describeValue(value)} is not true or false; e.g. ${!defaultValue}`);
    }
    return value;
  });
}

/** One of a fixed set of words (an op, a pattern, a VMA type). */
export function choice<const T extends readonly string[], D extends T[number] | undefined = undefined>(
  values: T, doc: string, defaultValue?: D) {
  return field(doc, { kind: values.join('|'), example: defaultValue ?? values[0], default: defaultValue },
    (value): T[number] => {
      // a choice spelt as a number (YAML reads `policy: 2018` as one) is that string
      if (typeof value === 'number' && values.includes(String(value))) value = String(value);
      if (typeof value !== 'string' || !values.includes(value)) {
        throw new UnitError(`${describeValue(value)} is not one of ${values.join(', ')}`);
      }
      return value;
    });
}

/** Names of devices, files, processes and VMAs: used as map keys, in --set paths and in output paths. */
export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*$/;
export const NAME_RULE = 'letters, digits, _ and -, starting with a letter or _';

/** Free text, or (with `pattern`) a name such as a reference to a device, file or VMA. */
export function text<D extends string | undefined = undefined>(
  doc: string, options: { example: string; default?: D; pattern?: RegExp; rule?: string }) {
  return field(doc, { kind: options.pattern ? 'name' : 'text', example: options.example, default: options.default },
    (value) => {
      if (typeof value !== 'string') {
        throw new UnitError(`${describeValue(value)} is not text; e.g. ${options.example}`);
      }
      if (options.pattern && value !== '' && !options.pattern.test(value)) {
        throw new UnitError(`${JSON.stringify(value)} is not a valid name (${options.rule}); e.g. ${options.example}`);
      }
      return value;
    });
}

/** vm.lowmem_reserve_ratio: one ratio per zone, DMA, DMA32, Normal. */
export function zoneRatios(doc: string, defaultValue: [number, number, number]) {
  const example = `[${defaultValue.join(', ')}]`;
  return field(doc, { kind: 'list of 3 integers ≥ 0', example, default: defaultValue },
    (value): [number, number, number] => {
      const ok = Array.isArray(value) && value.length === 3 &&
        value.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0);
      if (!ok) throw new UnitError(`${JSON.stringify(value)} is not 3 integers ≥ 0 (DMA, DMA32, Normal); e.g. ${example}`);
      return [value[0], value[1], value[2]];
    });
}
