/**
 * Safe reads from parsed JSON of unknown shape. Upstream bodies are never trusted to
 * match a schema, so every tap reads fields through these and gets `undefined` for
 * anything missing or of the wrong type, instead of throwing.
 */

export type JsonObject = Record<string, unknown>;

/** The value as a plain object (not an array, not null), else undefined. */
export function asObject(value: unknown): JsonObject | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as JsonObject)
    : undefined;
}

export function asArray(value: unknown): readonly unknown[] | undefined {
  return Array.isArray(value) ? value : undefined;
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A finite number; JSON cannot carry NaN, but a hostile body could carry 1e999 (Infinity). */
export function asNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * The text of an `error` field in any of the shapes clients meet: Ollama's string,
 * OpenAI's `{message, type, code}`, Anthropic's `{type, message}`.
 */
export function errorText(value: unknown): string | undefined {
  if (typeof value === 'string') return value.length > 0 ? value : undefined;
  const obj = asObject(value);
  if (obj === undefined) return undefined;
  const message = asString(obj.message);
  if (message !== undefined && message.length > 0) return message;
  const type = asString(obj.type) ?? asString(obj.code);
  if (type !== undefined && type.length > 0) return type;
  return safeStringify(obj);
}

/** The error a JSON value reports at its top level (`{"error": ...}`), if any. */
export function topLevelError(value: unknown): string | undefined {
  const obj = asObject(value);
  if (obj === undefined) return undefined;
  const err = obj.error;
  return err === undefined || err === null ? undefined : errorText(err);
}

/**
 * Tool-call arguments arrive as a JSON string in OpenAI-style streams. Keep the parsed
 * value when it parses, the raw string when it does not (a cut-off stream leaves half an
 * object, which is still worth recording), and `{}` for an empty string.
 */
export function parseArguments(raw: string): unknown {
  if (raw.trim().length === 0) return {};
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

export function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Parse JSON without throwing; `ok: false` for malformed text. */
export function tryParseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}
