/**
 * Reads a request body before anything is forwarded: it must be JSON of the right
 * shape, and the model it names decides what policy applies. Bad input is refused
 * here with a 400 and never reaches Ollama.
 */
import { badRequest } from '../errors/companion-error.js';
import { boundJson } from '../history/bounded-json.js';
import type { Endpoint } from './endpoint-catalogue.js';

export interface ParsedRequest {
  /** The parsed JSON body, or null for routes without one. */
  json: Record<string, unknown> | null;
  /** Size of the raw body in bytes. */
  bytes: number;
  /** Every model the request touches (two for a copy). */
  models: string[];
  stream: boolean | null;
}

/** Field types Ollama and the compatible APIs insist on; a wrong type is a 400 here. */
const FIELD_TYPES: Record<string, 'string' | 'boolean' | 'object' | 'array' | 'string|array' | 'number'> = {
  model: 'string',
  name: 'string',
  prompt: 'string|array',
  system: 'string|array',
  suffix: 'string',
  stream: 'boolean',
  raw: 'boolean',
  messages: 'array',
  options: 'object',
  tools: 'array',
  images: 'array',
  input: 'string|array',
  source: 'string',
  from: 'string',
  destination: 'string',
  max_tokens: 'number',
  temperature: 'number',
};

function typeOf(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  return typeof value;
}

/**
 * Ollama decodes bodies with Go's encoding/json, which matches keys to fields without
 * regard to case (Unicode simple folding: `ſ` is `s`, the Kelvin sign is `k`). The
 * policy must read the same fields Ollama will use.
 */
const PLAIN_KEY = /^[a-z0-9_]*$/;

function goFieldName(key: string): string {
  if (PLAIN_KEY.test(key)) return key; // nearly every key: nothing to fold
  let out = '';
  for (const c of key) {
    if (c === '\u017f') out += 's';
    else if (c === '\u212a') out += 'k';
    else out += c >= 'A' && c <= 'Z' ? c.toLowerCase() : c;
  }
  return out;
}

/**
 * The known fields as Ollama sees them, each checked for its type. Two keys that Ollama
 * would read into the same field (`model` and `Model`) are refused: which one wins
 * depends on their order in the raw text, which JSON.parse does not keep. Allocates
 * only the result: this runs for every request.
 */
function fieldsAsOllamaReads(body: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const key in body) {
    if (!Object.hasOwn(body, key)) continue;
    const field = goFieldName(key);
    if (!Object.hasOwn(FIELD_TYPES, field)) continue;
    if (Object.hasOwn(fields, field)) {
      const earlier = Object.keys(body).find((k) => k !== key && goFieldName(k) === field);
      throw badRequest(`invalid request: fields "${earlier}" and "${key}" both set "${field}"`);
    }
    fields[field] = body[key];
  }
  // Types after every key was seen: a field set twice is the error to report, whatever its types.
  for (const field in fields) checkFieldType(field, fields[field]);
  return fields;
}

function checkFieldType(field: string, value: unknown): void {
  const expected = FIELD_TYPES[field];
  if (expected === undefined || value === undefined || value === null) return;
  const actual = typeOf(value);
  const ok = expected === 'string|array' ? actual === 'string' || actual === 'array' : actual === expected;
  if (!ok)
    throw badRequest(
      `invalid request: field "${field}" must be ${expected.replace('|', ' or ')}, got ${actual}`,
    );
}

function requireModel(fields: Record<string, unknown>, field: string): string {
  const value = fields[field];
  if (typeof value !== 'string' || value.trim() === '') throw badRequest(`${field} is required`);
  return value;
}

/** @throws CompanionError(bad_request) for malformed JSON, wrong field types or a missing model. */
export function parseRequest(
  endpoint: Endpoint,
  raw: Buffer | undefined,
  params: Record<string, string>,
): ParsedRequest {
  if (endpoint.body !== 'json') {
    const models = endpoint.model === 'param' && params.model ? [params.model] : [];
    return { json: null, bytes: 0, models, stream: null };
  }
  if (!raw || raw.length === 0)
    throw badRequest('invalid request: the body is empty, expected a JSON object');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw badRequest(`invalid JSON in request body: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw badRequest(`invalid request: expected a JSON object, got ${typeOf(parsed)}`);
  }
  const json = parsed as Record<string, unknown>;
  const fields = fieldsAsOllamaReads(json);

  let models: string[] = [];
  if (endpoint.model === 'body' || endpoint.model === 'create') {
    // Native model-management routes still accept the legacy `name` field.
    const field =
      endpoint.wire === 'ollama' && fields.model === undefined && fields.name !== undefined
        ? 'name'
        : 'model';
    models = [requireModel(fields, field)];
    // A model built `from` another gives access to that one too.
    if (endpoint.model === 'create' && typeof fields.from === 'string' && fields.from.trim() !== '') {
      models.push(fields.from);
    }
  } else if (endpoint.model === 'copy') {
    models = [requireModel(fields, 'source'), requireModel(fields, 'destination')];
  }
  const stream = typeof fields.stream === 'boolean' ? fields.stream : endpoint.streamDefault;
  return { json, bytes: raw.length, models, stream };
}

/** Binary payloads (base64 images) bigger than this are summarised in history, not copied. */
const LARGE_STRING = 16 * 1024;
const BASE64ISH = /^(data:[^,]*,)?[A-Za-z0-9+/=\r\n]+$/;

/**
 * The request as history keeps it: everything but large binary payloads. (Nesting too
 * deep to store is bounded by the history writer, for every record it is given.)
 */
export function requestForHistory(parsed: ParsedRequest): unknown {
  // A body smaller than the threshold cannot hold a string above it: nothing to summarise.
  if (parsed.bytes <= LARGE_STRING) return parsed.json;
  // The walk is iterative: a body nested thousands of levels deep must not overflow the stack.
  return boundJson(parsed.json, { maxDepth: Number.POSITIVE_INFINITY, replaceString: summariseBinary }).value;
}

function summariseBinary(value: string): string | undefined {
  return value.length > LARGE_STRING && BASE64ISH.test(value.slice(0, 1024))
    ? `[binary: ${value.length} bytes]`
    : undefined;
}
