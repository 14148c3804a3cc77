/**
 * Admin sessions in SQLite. Only the hash of a session id reaches this module; the id
 * itself lives in the browser's cookie.
 */
import type { Admin, AdminRole } from './admin-repository.js';
import type { Db } from './database.js';

export interface AdminSessionRecord {
  idHash: string;
  adminId: string;
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
  ip: string | null;
  userAgent: string | null;
}

export interface SessionRepository {
  insert(session: AdminSessionRecord): void;
  /** The session with the account it belongs to, as the account is now. */
  findWithAdmin(idHash: string): { session: AdminSessionRecord; admin: Admin } | undefined;
  touch(idHash: string, at: number): void;
  delete(idHash: string): void;
  /** Ends every session of an admin except, optionally, one. Returns how many ended. */
  deleteForAdmin(adminId: string, exceptIdHash?: string): number;
  /** Removes sessions idle since before `idleBefore` or created before `createdBefore`. */
  deleteExpired(idleBefore: number, createdBefore: number): number;
}

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

export function createSessionRepository(db: Db): SessionRepository {
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
  return {
    insert: (session) => void insert.run(session),
    findWithAdmin(idHash) {
      const row = find.get(idHash);
      if (!row) return undefined;
      return {
        session: {
          idHash: row.id_hash,
          adminId: row.admin_id,
          csrfToken: row.csrf_token,
          createdAt: row.created_at,
          lastSeenAt: row.last_seen_at,
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
    touch: (idHash, at) => void touch.run(at, idHash),
    delete: (idHash) => void remove.run(idHash),
    deleteForAdmin: (adminId, exceptIdHash) => removeForAdmin.run(adminId, exceptIdHash ?? null).changes,
    deleteExpired: (idleBefore, createdBefore) => removeExpired.run(idleBefore, createdBefore).changes,
  };
}
