/** Narrows Ollama's and OpenAI's model listings to the models a token may use. */
import type { ModelMatcher } from '../policy/model-rules.js';
import type { ListFilter } from './endpoint-catalogue.js';

function nameOf(entry: unknown, fields: readonly string[]): string | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  for (const field of fields) {
    const value = (entry as Record<string, unknown>)[field];
    if (typeof value === 'string') return value;
  }
  return undefined;
}

/**
 * Keeps the entries whose model the token may use. A body that is not the expected
 * listing comes back as an empty listing: an unfiltered list must never leak.
 */
export function filterModelList(kind: ListFilter, body: Buffer, allows: ModelMatcher): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const [key, fields] =
    kind === 'ollama-models' ? (['models', ['name', 'model']] as const) : (['data', ['id']] as const);
  const list =
    typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)[key] : undefined;
  const kept = Array.isArray(list)
    ? list.filter((entry) => {
        const name = nameOf(entry, fields);
        return name !== undefined && allows(name);
      })
    : [];
  const base = kind === 'ollama-models' ? {} : { object: 'list' };
  return JSON.stringify({ ...base, ...(parsed as object), [key]: kept });
}
