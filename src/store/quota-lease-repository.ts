/**
 * Quota leases in SQLite (the QuotaLeaseStore port of the quota ledger). Written on the
 * request thread's connection, before the calls a lease covers are forwarded: a commit
 * in WAL mode survives a kill -9 of the process. Only the ledger of the serving process
 * writes this table.
 */
import type { QuotaLease, QuotaLeaseStore } from '../policy/quota-lease-store.js';
import type { QuotaWindow } from '../policy/token.js';
import type { Db } from './database.js';

export function createQuotaLeaseRepository(db: Db): QuotaLeaseStore {
  const all = db.prepare<
    [],
    { token_id: string; window: QuotaWindow; window_start: number; reserved_to: number }
  >('SELECT token_id, window, window_start, reserved_to FROM quota_leases');
  const upsert = db.prepare(`
    INSERT INTO quota_leases (token_id, window, window_start, reserved_to) VALUES (?, ?, ?, ?)
    ON CONFLICT (token_id, window) DO UPDATE SET window_start = excluded.window_start,
      reserved_to = excluded.reserved_to`);
  // One commit for all the windows of one reservation.
  const write = db.transaction((leases: QuotaLease[]) => {
    for (const l of leases) upsert.run(l.tokenId, l.window, l.windowStart, l.reservedTo);
  });

  return {
    load: () =>
      all.all().map((r) => ({
        tokenId: r.token_id,
        window: r.window,
        windowStart: r.window_start,
        reservedTo: r.reserved_to,
      })),
    save(leases, wait) {
      if (leases.length === 0) return true;
      if (wait) {
        write.immediate(leases);
        return true;
      }
      // Not waiting: the busy timeout is lifted for this one transaction, so a history
      // batch holding the database makes it fail at once instead of stalling requests.
      const timeout = db.pragma('busy_timeout', { simple: true }) as number;
      db.pragma('busy_timeout = 0');
      try {
        write.immediate(leases);
        return true;
      } catch (error) {
        if ((error as { code?: string }).code === 'SQLITE_BUSY') return false;
        throw error;
      } finally {
        db.pragma(`busy_timeout = ${timeout}`);
      }
    },
  };
}
