/**
 * The audit log in SQLite: append-only, read newest first. Entries name who acted by id
 * and username so they stay readable after the account is gone.
 */
import type { Db } from './database.js';

export type AuditOutcome = 'ok' | 'denied' | 'failed';

export interface AuditEntry {
  id: number;
  at: number;
  adminId: string | null;
  adminUsername: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  details: Record<string, unknown> | null;
  ip: string | null;
  outcome: AuditOutcome;
}

export interface AuditQuery {
  /** Only entries with an id below this one (the cursor of the previous page). */
  before?: number;
  limit: number;
  outcome?: AuditOutcome;
  adminId?: string;
  action?: string;
}

export interface AuditRepository {
  append(entry: Omit<AuditEntry, 'id'>): number;
  /** Newest first. */
  list(query: AuditQuery): AuditEntry[];
}

interface AuditRow {
  id: number;
  at: number;
  admin_id: string | null;
  admin_username: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  details: string | null;
  ip: string | null;
  outcome: AuditOutcome;
}

const toEntry = (row: AuditRow): AuditEntry => ({
  id: row.id,
  at: row.at,
  adminId: row.admin_id,
  adminUsername: row.admin_username,
  action: row.action,
  targetType: row.target_type,
  targetId: row.target_id,
  details: row.details === null ? null : (JSON.parse(row.details) as Record<string, unknown>),
  ip: row.ip,
  outcome: row.outcome,
});

export function createAuditRepository(db: Db): AuditRepository {
  const insert = db.prepare(`
    INSERT INTO audit_log (at, admin_id, admin_username, action, target_type, target_id, details, ip, outcome)
    VALUES (@at, @adminId, @adminUsername, @action, @targetType, @targetId, @details, @ip, @outcome)`);
  const page = db.prepare<
    {
      before: number | null;
      limit: number;
      outcome: string | null;
      adminId: string | null;
      action: string | null;
    },
    AuditRow
  >(`
    SELECT * FROM audit_log
    WHERE (@before IS NULL OR id < @before)
      AND (@outcome IS NULL OR outcome = @outcome)
      AND (@adminId IS NULL OR admin_id = @adminId)
      AND (@action IS NULL OR action = @action)
    ORDER BY id DESC LIMIT @limit`);
  return {
    append: (entry) =>
      Number(
        insert.run({
          ...entry,
          details: entry.details === null ? null : JSON.stringify(entry.details),
        }).lastInsertRowid,
      ),
    list: (query) =>
      page
        .all({
          before: query.before ?? null,
          limit: query.limit,
          outcome: query.outcome ?? null,
          adminId: query.adminId ?? null,
          action: query.action ?? null,
        })
        .map(toEntry),
  };
}
