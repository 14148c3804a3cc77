/**
 * Turns a TypeBox validation error into a sentence for people: the field's name and the
 * values it accepts ("sessionIdleMinutes must be a number above 0 and at most 1440"),
 * never the validator's own wording ("Expected union value") or a raw pattern. A schema
 * may carry `errorMessage`, the end of the sentence after the field's name ("must look
 * like http://host:port"), where its constraints alone would not read well (patterns,
 * lists with a meaning). The admin API and the config loader both speak through here.
 */
import type { TSchema } from '@sinclair/typebox';
import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors';

export interface SchemaProblem {
  /** The field as a reader names it: `models`, `scopes entries`, `limits.day`; '' for the whole value. */
  field: string;
  /** What is wrong, starting with a verb: `must be …`, `is required`, `is not a known field`. */
  problem: string;
}

type Described = TSchema & {
  errorMessage?: string;
  type?: string | string[];
  const?: unknown;
  anyOf?: TSchema[];
  items?: TSchema;
  properties?: Record<string, TSchema>;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
};

function range(s: Described): string {
  const low =
    s.exclusiveMinimum !== undefined
      ? `above ${s.exclusiveMinimum}`
      : s.minimum !== undefined
        ? s.minimum
        : null;
  const high =
    s.exclusiveMaximum !== undefined
      ? `below ${s.exclusiveMaximum}`
      : s.maximum !== undefined
        ? s.maximum
        : null;
  if (typeof low === 'number' && typeof high === 'number') return ` from ${low} to ${high}`;
  if (low !== null && high !== null) {
    return ` ${typeof low === 'number' ? `of at least ${low}` : low} and ${typeof high === 'number' ? `at most ${high}` : high}`;
  }
  if (typeof low === 'number') return ` of ${low} or more`;
  if (low !== null) return ` ${low}`;
  if (typeof high === 'number') return ` of at most ${high}`;
  if (high !== null) return ` ${high}`;
  return '';
}

function length(min: number | undefined, max: number | undefined, unit: string): string {
  if (min !== undefined && max !== undefined) return ` of ${min} to ${max} ${unit}`;
  if (max !== undefined) return ` of at most ${max} ${unit}`;
  if (min !== undefined && min > 1) return ` of at least ${min} ${unit}`;
  return '';
}

/** The values a schema accepts, as a noun phrase: "a whole number from 1 to 36500, or null". */
export function describeSchema(schema: TSchema): string {
  const s = schema as Described;
  if (s.errorMessage) return s.errorMessage.replace(/^must (be|look like) /, '');
  if (s.anyOf) {
    const members = s.anyOf as Described[];
    if (members.every((m) => m.const !== undefined)) {
      return `one of ${members.map((m) => String(m.const)).join(', ')}`;
    }
    const nullable = members.some((m) => m.type === 'null');
    const rest = members.filter((m) => m.type !== 'null').map(describeSchema);
    return nullable ? `${rest.join(' or ')}, or null` : rest.join(' or ');
  }
  if (s.const !== undefined) return JSON.stringify(s.const);
  switch (s.type) {
    case 'integer':
      return `a whole number${range(s)}`;
    case 'number':
      return `a number${range(s)}`;
    case 'string':
      return `text${length(s.minLength, s.maxLength, 'characters')}`;
    case 'boolean':
      return 'true or false';
    case 'null':
      return 'null';
    case 'array': {
      const each = s.items ? `, each ${describeSchema(s.items)}` : '';
      return `a list${length(s.minItems, s.maxItems, 'entries')}${each}`;
    }
    case 'object': {
      const keys = Object.keys(s.properties ?? {});
      return keys.length > 0 && keys.length <= 8 ? `an object with ${keys.join(', ')}` : 'an object';
    }
    default:
      return 'a valid value';
  }
}

/** The schemas along a JSON pointer, root first; stops where the path leaves plain objects and arrays. */
function schemasAlong(root: TSchema, segments: string[]): Described[] {
  const chain: Described[] = [root as Described];
  let current = root as Described;
  for (const segment of segments) {
    const next = /^\d+$/.test(segment) ? current.items : current.properties?.[segment];
    if (!next) break;
    chain.push(next as Described);
    current = next as Described;
  }
  return chain;
}

function fieldName(segments: string[]): string {
  return segments
    .map((s, i) => (/^\d+$/.test(s) ? (i === 0 ? 'entries' : ' entries') : i === 0 ? s : `.${s}`))
    .join('');
}

/** The field and what is wrong with it, for the first error TypeBox found in a value checked against `root`. */
export function schemaProblem(root: TSchema, error: ValueError): SchemaProblem {
  const segments = error.path
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return { field: fieldName(segments), problem: 'is required' };
    case ValueErrorType.ObjectAdditionalProperties: {
      // Inside a nested object the reader needs the keys it takes ("limits.week is not a
      // known field; limits takes total, minute, …"); at the top the API's docs list them.
      const known = Object.keys((error.schema as Described).properties ?? {});
      const parent = fieldName(segments.slice(0, -1));
      const takes = segments.length > 1 && known.length > 0 ? `; ${parent} takes ${known.join(', ')}` : '';
      return { field: fieldName(segments), problem: `is not a known field${takes}` };
    }
    case ValueErrorType.ObjectMinProperties:
      return { field: fieldName(segments), problem: 'must name at least one field to change' };
  }
  // The outermost schema on the path with its own wording speaks for the whole value:
  // "models must be a list of model names or globs", not "models entries must be text".
  const chain = schemasAlong(root, segments);
  const worded = chain.findIndex((s, i) => i > 0 && s.errorMessage !== undefined);
  if (worded > 0) {
    const schema = chain[worded] as Described;
    return { field: fieldName(segments.slice(0, worded)), problem: schema.errorMessage ?? '' };
  }
  return { field: fieldName(segments), problem: `must be ${describeSchema(error.schema)}` };
}

/** One sentence: "sessionIdleMinutes must be a number above 0 and at most 1440". */
export function schemaErrorMessage(root: TSchema, error: ValueError, whole = 'the request body'): string {
  const { field, problem } = schemaProblem(root, error);
  return `${field || whole} ${problem}`;
}
