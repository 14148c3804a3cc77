/**
 * The audit log in PostgreSQL (the `AuditStore` port): append-only, read newest first,
 * one log for every companion on the database, each entry naming the companion where it
 * happened (origin_node). Entries name who acted and their target by id and by name, so
 * they stay readable after the account or token is gone.
 */
import type { AuditActorKind, AuditActorName, AuditEntry, AuditOutcome } from '../../audit/audit-log.js';
import { CLI_ACTOR_PREFIX } from '../../audit/audit-log.js';
import type { AuditStore } from '../../audit/audit-store.js';
import type { PostgresPool } from './postgres-pool.js';

interface AuditRow {
  id: string;
  at: string;
  actor_kind: AuditActorKind;
  admin_id: string | null;
  admin_username: string | null;
  os_user: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  target_name: string | null;
  details: string | null;
  ip: string | null;
  outcome: AuditOutcome;
}

const toEntry = (row: AuditRow): AuditEntry => ({
  id: Number(row.id),
  at: Number(row.at),
  actorKind: row.actor_kind,
  adminId: row.admin_id,
  adminUsername: row.admin_username,
  osUser: row.os_user,
  action: row.action,
  targetType: row.target_type,
  targetId: row.target_id,
  targetName: row.target_name,
  details: row.details === null ? null : (JSON.parse(row.details) as Record<string, unknown>),
  ip: row.ip,
  outcome: row.outcome,
});

/** Escapes LIKE's wildcards so a prefix matches only itself (backslash is LIKE's escape). */
const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** The name an entry's actor goes by, as the filter and the list of actors read it. */
const ACTOR_NAME = "CASE actor_kind WHEN 'cli' THEN os_user ELSE admin_username END";

export function createPostgresAuditStore(pool: PostgresPool, nodeId: string): AuditStore {
  return {
    async append(entry) {
      const { rows } = await pool.query<{ id: string }>(
        `INSERT INTO audit_log (at, origin_node, actor_kind, admin_id, admin_username, os_user, action,
                                target_type, target_id, target_name, details, ip, outcome)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         RETURNING id`,
        [
          entry.at,
          nodeId,
          entry.actorKind,
          entry.adminId,
          entry.adminUsername,
          entry.osUser,
          entry.action,
          entry.targetType,
          entry.targetId,
          entry.targetName,
          entry.details === null ? null : JSON.stringify(entry.details),
          entry.ip,
          entry.outcome,
        ],
      );
      return Number(rows[0]!.id);
    },
    async list(query) {
      const { actor, action } = query;
      const { rows } = await pool.query<AuditRow>(
        `SELECT id, at, actor_kind, admin_id, admin_username, os_user, action, target_type, target_id,
                target_name, details, ip, outcome
         FROM audit_log
         WHERE ($1::bigint IS NULL OR id < $1)
           AND ($2::text IS NULL OR outcome = $2)
           AND ($3::text IS NULL OR admin_id = $3)
           AND ($4::text IS NULL OR actor_kind = $4)
           AND ($5::text IS NULL OR ${ACTOR_NAME} = $5)
           AND ($6::text IS NULL OR action = $6)
           AND ($7::text IS NULL OR action LIKE $7)
           AND ($8::bigint IS NULL OR at >= $8)
           AND ($9::bigint IS NULL OR at < $9)
         ORDER BY id DESC LIMIT $10`,
        [
          query.before ?? null,
          query.outcome ?? null,
          query.adminId ?? null,
          actor?.kind ?? null,
          actor === undefined ? null : actor.kind === 'cli' ? (actor.osUser ?? null) : actor.username,
          action && 'exact' in action ? action.exact : null,
          action && 'prefix' in action ? likePrefix(action.prefix) : null,
          query.since ?? null,
          query.until ?? null,
          query.limit,
        ],
      );
      return rows.map(toEntry);
    },
    async actors() {
      // Names merely tried at sign-in (no admin id) are left out: anyone can send those.
      // Sorted by code point ("C"), as SQLite sorts, whatever the database's collation.
      const { rows } = await pool.query<{ kind: AuditActorKind; name: string }>(
        `SELECT kind, name FROM (
           SELECT DISTINCT actor_kind AS kind, ${ACTOR_NAME} AS name
           FROM audit_log
           WHERE (actor_kind = 'cli' AND os_user IS NOT NULL)
              OR (admin_id IS NOT NULL AND admin_username IS NOT NULL)
         ) AS actors
         ORDER BY kind COLLATE "C", name COLLATE "C"`,
      );
      return rows.map(
        (row): AuditActorName => ({
          kind: row.kind,
          actor: row.kind === 'cli' ? `${CLI_ACTOR_PREFIX}${row.name}` : row.name,
        }),
      );
    },
    async actions() {
      const { rows } = await pool.query<{ action: string }>(
        'SELECT action FROM audit_log GROUP BY action ORDER BY action COLLATE "C"',
      );
      return rows.map((row) => row.action);
    },
  };
}
