/**
 * Strict call quotas across every companion on one PostgreSQL database: before a call of
 * a token with a call quota is forwarded, one round trip reserves it in every window at
 * once (reserve_quota, migration 001), or learns which window is full. A refused or
 * failed call is given back as the SQLite ledger refunds it: its windows' counts go down
 * by one, unless a window has rolled over since (the new window never had it).
 *
 * This takes the place of the SQLite quota leases: a reservation is durable when
 * `reserve` answers, so a crash can lose no call and needs nothing handed back. The
 * limits checked are the token's as stored, not as the caller last saw them.
 */
import type { QuotaWindow } from '../../policy/token.js';
import type { PostgresPool } from './postgres-pool.js';

/** The start of each window the call counts in (quota-windows.ts's windowStart at the call). */
export type WindowStarts = Record<QuotaWindow, number>;

export type QuotaReservation =
  | { outcome: 'reserved' }
  /** `window` (the first full one, in the order of QUOTA_WINDOWS) holds `used` of `limit` calls. */
  | { outcome: 'exhausted'; window: QuotaWindow; used: number; limit: number }
  /** Revoked (or gone) or disabled by now, maybe on another companion: refuse as such. */
  | { outcome: 'revoked' | 'disabled' };

export interface QuotaReservations {
  /** Reserves one call in every window, all or none; one statement, one round trip. */
  reserve(tokenId: string, starts: WindowStarts): Promise<QuotaReservation>;
  /** Gives back a call `reserve` took with the same starts (it was refused or failed upstream). */
  release(tokenId: string, starts: WindowStarts): Promise<void>;
}

interface ReserveRow {
  outcome: 'reserved' | 'exhausted' | 'revoked' | 'disabled';
  full_window: QuotaWindow | null;
  full_used: string | null;
  full_limit: string | null;
}

const RESERVE =
  'SELECT outcome, full_window, full_used, full_limit FROM reserve_quota($1, $2::text[], $3::bigint[])';

// The rows are locked in window order first, as reserve_quota locks them, so a refund
// and a reservation of one token queue rather than deadlock.
const RELEASE = `
  WITH given AS (SELECT * FROM unnest($2::text[], $3::bigint[]) AS x(w, s)),
  locked AS (
    SELECT q."window" FROM quota_reservations q JOIN given g ON q."window" = g.w AND q.window_start = g.s
    WHERE q.token_id = $1 AND q.reserved > 0
    ORDER BY q."window"
    FOR UPDATE OF q)
  UPDATE quota_reservations q SET reserved = q.reserved - 1
  FROM locked l JOIN given g ON g.w = l."window"
  WHERE q.token_id = $1 AND q."window" = l."window" AND q.window_start = g.s AND q.reserved > 0`;

export function createPostgresQuotaReservations(db: PostgresPool): QuotaReservations {
  const params = (tokenId: string, starts: WindowStarts) => {
    const windows = Object.keys(starts) as QuotaWindow[];
    return [tokenId, windows, windows.map((w) => starts[w])];
  };
  return {
    async reserve(tokenId, starts) {
      const { rows } = await db.query<ReserveRow>(RESERVE, params(tokenId, starts));
      const row = rows[0];
      if (!row) throw new Error('reserve_quota answered no row');
      if (row.outcome !== 'exhausted') return { outcome: row.outcome };
      return {
        outcome: 'exhausted',
        window: row.full_window as QuotaWindow,
        used: Number(row.full_used),
        limit: Number(row.full_limit),
      };
    },
    async release(tokenId, starts) {
      await db.query(RELEASE, params(tokenId, starts));
    },
  };
}
