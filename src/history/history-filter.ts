/**
 * The history filters as people give them — the admin API's query, the token holder's
 * page, the flags of `history export` — turned into the store's filter, the same way
 * for all of them: full text, token (name or id), model (a name or a glob, as in token
 * model rules), endpoint, status (outcome, HTTP status or class) and a time range.
 */
import { badRequest } from '../errors/companion-error.js';
import { compileModelPattern } from '../policy/model-rules.js';
import type { Outcome } from './history-record.js';
import type { HistorySearchFilter } from './history-search.js';

export const OUTCOMES: readonly Outcome[] = ['in_progress', 'ok', 'error', 'refused', 'aborted'];

/** Each field as typed; empty or missing means "any". */
export interface HistoryFilterInput {
  q?: string | undefined;
  token?: string | undefined;
  model?: string | undefined;
  endpoint?: string | undefined;
  status?: string | undefined;
  /** ISO 8601 (a date alone is midnight UTC) or epoch milliseconds; inclusive. */
  since?: string | undefined;
  /** As `since`; exclusive. */
  until?: string | undefined;
}

export interface HistoryFilterLookups {
  /** The id of a token named by name or id. May throw (or reject) to refuse an unknown one. */
  tokenId(nameOrId: string): string | Promise<string>;
  /** Every model name in history, for a model pattern to choose from. */
  modelNames(): Promise<readonly string[]>;
  /** How a field is named in an error: `since` for the API, `--since` for the CLI. */
  fieldName?: (field: keyof HistoryFilterInput) => string;
}

const given = (value: string | undefined): string | undefined => {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
};

/**
 * The store's filter for what was typed. `fixedTokenId` (a token holder's own page)
 * overrides any `token` given. Rejects with CompanionError(bad_request) naming the field.
 */
export async function historyFilter(
  input: HistoryFilterInput,
  lookups: HistoryFilterLookups,
  fixedTokenId?: string,
): Promise<HistorySearchFilter> {
  const name = lookups.fieldName ?? ((field: string) => field);
  const filter: HistorySearchFilter = {};
  const q = given(input.q);
  if (q !== undefined) filter.q = q;
  const token = given(input.token);
  if (fixedTokenId !== undefined) filter.tokenId = fixedTokenId;
  else if (token !== undefined) filter.tokenId = await lookups.tokenId(token);
  const model = given(input.model);
  if (model !== undefined) filter.models = (await lookups.modelNames()).filter(compileModelPattern(model));
  const endpoint = given(input.endpoint);
  if (endpoint !== undefined) filter.endpoint = endpoint;
  const status = given(input.status)?.toLowerCase();
  if (status !== undefined) {
    if ((OUTCOMES as readonly string[]).includes(status)) filter.outcome = status as Outcome;
    else if (/^[1-5]xx$/.test(status)) filter.statusClass = Number(status[0]);
    else if (/^[1-5]\d\d$/.test(status)) filter.status = Number(status);
    else
      throw badRequest(
        `${name('status')}: expected one of ${OUTCOMES.join(', ')}, an HTTP status like 429 or a class like 4xx`,
      );
  }
  for (const field of ['since', 'until'] as const) {
    const text = given(input[field]);
    if (text === undefined) continue;
    const ms = /^\d{1,15}$/.test(text) ? Number(text) : Date.parse(text);
    if (!Number.isFinite(ms))
      throw badRequest(
        `${name(field)}: expected an ISO 8601 time or date (2026-11-01) or epoch milliseconds`,
      );
    filter[field] = ms;
  }
  return filter;
}
