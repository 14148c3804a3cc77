/**
 * Admin sessions in PostgreSQL (the `AdminSessionStore` port), shared by every companion
 * on the database: a session started on one is valid on all. Only the hash of a session
 * id reaches this module; the id itself lives in the browser's cookie.
 *
 * Housekeeping (expiring idle sessions) waits for the next sign-in while the database is
 * away; everything else fails with the driver's error, as a session cannot be checked
 * without the database.
 */
import type { AdminSessionRecord, AdminSessionStore } from '../../auth/admin-session-store.js';
import type { AdminRole } from '../../auth/admin-store.js';
import { isPostgresUnavailableError, type PostgresPool } from './postgres-pool.js';

interface JoinedRow {
  id_hash: string;
  admin_id: string;
  csrf_token: string;
  created_at: string;
  last_seen_at: string;
  ip: string | null;
  user_agent: string | null;
  username: string;
  role: AdminRole;
  admin_created_at: string;
  admin_updated_at: string;
}

export function createPostgresAdminSessionStore(pool: PostgresPool): AdminSessionStore {
  return {
    async insert(session: AdminSessionRecord) {
      await pool.query(
        `INSERT INTO admin_sessions (id_hash, admin_id, csrf_token, created_at, last_seen_at, ip, user_agent)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [
          session.idHash,
          session.adminId,
          session.csrfToken,
          session.createdAt,
          session.lastSeenAt,
          session.ip,
          session.userAgent,
        ],
      );
    },
    async findWithAdmin(idHash) {
      const { rows } = await pool.query<JoinedRow>(
        `SELECT s.id_hash, s.admin_id, s.csrf_token, s.created_at, s.last_seen_at, s.ip, s.user_agent,
                a.username, a.role, a.created_at AS admin_created_at, a.updated_at AS admin_updated_at
         FROM admin_sessions s JOIN admins a ON a.id = s.admin_id
         WHERE s.id_hash = $1`,
        [idHash],
      );
      const row = rows[0];
      if (!row) return undefined;
      return {
        session: {
          idHash: row.id_hash,
          adminId: row.admin_id,
          csrfToken: row.csrf_token,
          createdAt: Number(row.created_at),
          lastSeenAt: Number(row.last_seen_at),
          ip: row.ip,
          userAgent: row.user_agent,
        },
        admin: {
          id: row.admin_id,
          username: row.username,
          role: row.role,
          createdAt: Number(row.admin_created_at),
          updatedAt: Number(row.admin_updated_at),
        },
      };
    },
    async touch(idHash, at) {
      // Never moves back: two companions serving one browser may touch out of order.
      await pool.query(
        'UPDATE admin_sessions SET last_seen_at = GREATEST(last_seen_at, $2) WHERE id_hash = $1',
        [idHash, at],
      );
    },
    async delete(idHash) {
      await pool.query('DELETE FROM admin_sessions WHERE id_hash = $1', [idHash]);
    },
    async deleteForAdmin(adminId, exceptIdHash) {
      const { rowCount } = await pool.query(
        'DELETE FROM admin_sessions WHERE admin_id = $1 AND id_hash IS DISTINCT FROM $2',
        [adminId, exceptIdHash ?? null],
      );
      return rowCount ?? 0;
    },
    async deleteExpired(idleBefore, createdBefore) {
      try {
        const { rowCount } = await pool.query(
          'DELETE FROM admin_sessions WHERE last_seen_at < $1 OR created_at < $2',
          [idleBefore, createdBefore],
        );
        return rowCount ?? 0;
      } catch (error) {
        if (isPostgresUnavailableError(error)) return 0;
        throw error;
      }
    },
  };
}
