/**
 * Admin sessions in SQLite (the `AdminSessionStore` port). Only the hash of a session id
 * reaches this module; the id itself lives in the browser's cookie.
 *
 * While the store cannot be written (a full disk), a signed-in admin keeps working: a
 * last-seen time that cannot be written is kept in memory, and a session that cannot be
 * deleted (sign-out, expiry) is refused from memory until the delete succeeds. Starting
 * a session needs its row, so sign-in fails then, with the store's error (answered 503).
 */
import type { AdminSessionStore } from '../../auth/admin-session-store.js';
import type { AdminRole } from '../../auth/admin-store.js';
import { type Db, isStoreUnavailableError } from '../database.js';

interface JoinedRow {
  id_hash: string;
  admin_id: string;
  csrf_token: string;
  created_at: number;
  last_seen_at: number;
  ip: string | null;
  user_agent: string | null;
  username: string;
  role: AdminRole;
  admin_created_at: number;
  admin_updated_at: number;
}

/** Sessions held in memory while the store could not be written; a handful at most. */
const MAX_PENDING = 10_000;

export function createSqliteAdminSessionStore(db: Db): AdminSessionStore {
  const insert = db.prepare(`
    INSERT INTO admin_sessions (id_hash, admin_id, csrf_token, created_at, last_seen_at, ip, user_agent)
    VALUES (@idHash, @adminId, @csrfToken, @createdAt, @lastSeenAt, @ip, @userAgent)`);
  const find = db.prepare<[string], JoinedRow>(`
    SELECT s.*, a.username, a.role, a.created_at AS admin_created_at, a.updated_at AS admin_updated_at
    FROM admin_sessions s JOIN admins a ON a.id = s.admin_id
    WHERE s.id_hash = ?`);
  const touch = db.prepare('UPDATE admin_sessions SET last_seen_at = ? WHERE id_hash = ?');
  const remove = db.prepare('DELETE FROM admin_sessions WHERE id_hash = ?');
  const removeForAdmin = db.prepare('DELETE FROM admin_sessions WHERE admin_id = ? AND id_hash IS NOT ?');
  const removeExpired = db.prepare('DELETE FROM admin_sessions WHERE last_seen_at < ? OR created_at < ?');

  /** Last-seen times not yet written, and sessions ended but not yet deleted. */
  const unwrittenTouches = new Map<string, number>();
  const unwrittenDeletes = new Set<string>();
  /** Runs `write`; true when it ran, false when the store cannot be written now. */
  const tryWrite = (write: () => void): boolean => {
    try {
      write();
      return true;
    } catch (error) {
      if (isStoreUnavailableError(error)) return false;
      throw error;
    }
  };
  /** Writes what waits in memory, once the store takes writes again. */
  const catchUp = (): void => {
    for (const idHash of unwrittenDeletes)
      if (tryWrite(() => remove.run(idHash))) unwrittenDeletes.delete(idHash);
    for (const [idHash, at] of unwrittenTouches)
      if (tryWrite(() => touch.run(at, idHash))) unwrittenTouches.delete(idHash);
  };
  const pending = () => unwrittenDeletes.size + unwrittenTouches.size > 0;

  return {
    insert: async (session) => {
      insert.run(session);
      if (pending()) catchUp();
    },
    async findWithAdmin(idHash) {
      if (unwrittenDeletes.has(idHash)) return undefined;
      const row = find.get(idHash);
      if (!row) return undefined;
      return {
        session: {
          idHash: row.id_hash,
          adminId: row.admin_id,
          csrfToken: row.csrf_token,
          createdAt: row.created_at,
          lastSeenAt: Math.max(row.last_seen_at, unwrittenTouches.get(idHash) ?? 0),
          ip: row.ip,
          userAgent: row.user_agent,
        },
        admin: {
          id: row.admin_id,
          username: row.username,
          role: row.role,
          createdAt: row.admin_created_at,
          updatedAt: row.admin_updated_at,
        },
      };
    },
    touch: async (idHash, at) => {
      if (tryWrite(() => touch.run(at, idHash))) {
        unwrittenTouches.delete(idHash);
        if (pending()) catchUp();
      } else if (unwrittenTouches.size < MAX_PENDING) unwrittenTouches.set(idHash, at);
    },
    delete: async (idHash) => {
      unwrittenTouches.delete(idHash);
      if (tryWrite(() => remove.run(idHash))) unwrittenDeletes.delete(idHash);
      // Never more than MAX_PENDING: past it the delete's failure surfaces (503) instead.
      else if (unwrittenDeletes.size < MAX_PENDING) unwrittenDeletes.add(idHash);
      else remove.run(idHash);
    },
    deleteForAdmin: async (adminId, exceptIdHash) =>
      removeForAdmin.run(adminId, exceptIdHash ?? null).changes,
    // Housekeeping: when the store cannot be written, the expired sessions wait for the next sign-in.
    deleteExpired: async (idleBefore, createdBefore) => {
      let changes = 0;
      tryWrite(() => {
        changes = removeExpired.run(idleBefore, createdBefore).changes;
      });
      return changes;
    },
  };
}
