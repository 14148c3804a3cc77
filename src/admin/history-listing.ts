/**
 * Pages of history as the admin list and the token holders' own page show them: the
 * query turned into the store's filter (a token by name or id, a model pattern into the
 * names it matches) and one page of list items with its cursor. Shared by the admin
 * routes, the self-service routes and the export routes.
 */
import { badRequest } from '../errors/companion-error.js';
import { historyFilter as filterFrom, type HistoryFilterInput } from '../history/history-filter.js';
import { CursorError, type HistorySearch, type HistorySearchFilter } from '../history/history-search.js';
import type { Companion } from '../server/companion.js';
import { type HistoryItem, type HistoryQuery, historyItem } from './history-views.js';

/**
 * The store's filter for a query. A token the directory does not know is taken as an
 * id (its records may outlive it). `fixedTokenId` (self-service) overrides any `token`
 * given. Rejects with CompanionError(bad_request).
 */
export function historyFilter(
  companion: Companion,
  query: HistoryFilterInput,
  fixedTokenId?: string,
): Promise<HistorySearchFilter> {
  return filterFrom(
    query,
    {
      tokenId: (nameOrId) => {
        try {
          return companion.tokens.get(nameOrId).id;
        } catch {
          return nameOrId;
        }
      },
      modelNames: () => companion.historyReads.search.modelNames(),
    },
    fixedTokenId,
  );
}

/** One page of records, newest first. Rejects with CompanionError(bad_request) for a bad cursor. */
export async function historyPage(
  search: HistorySearch,
  filter: HistorySearchFilter,
  page: { cursor?: string | undefined; limit?: number | undefined },
): Promise<{ items: HistoryItem[]; next: string | null }> {
  try {
    const found = await search.search(filter, {
      ...(page.cursor ? { cursor: page.cursor } : {}),
      limit: page.limit ?? 50,
    });
    return { items: found.records.map((view) => historyItem(view, found.terms)), next: found.next };
  } catch (error) {
    if (error instanceof CursorError) throw badRequest('invalid cursor');
    throw error;
  }
}

/**
 * A token holder's own records, newest first, with the same filters and cursor as the
 * admin list (`token` is ignored: it is always `tokenId`). For `GET /api/companion/me`.
 * Rejects with CompanionError(bad_request).
 */
export async function tokenHistoryPage(
  companion: Companion,
  tokenId: string,
  query: Partial<HistoryQuery>,
): Promise<{ items: HistoryItem[]; next: string | null }> {
  return historyPage(companion.historyReads.search, await historyFilter(companion, query, tokenId), {
    cursor: query.cursor,
    limit: query.limit,
  });
}
