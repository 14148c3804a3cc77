/**
 * The audit log in SQLite (the `AuditStore` port): append-only, read newest first.
 * Entries name who acted and their target by id and by name, so they stay readable after
 * the account or token is gone.
 */
import type { AuditActorKind, AuditActorName, AuditEntry, AuditOutcome } from '../../audit/audit-log.js';
import { CLI_ACTOR_PREFIX } from '../../audit/audit-log.js';
import type { AuditStore } from '../../audit/audit-store.js';
import type { Db } from '../database.js';

interface AuditRow {
  id: number;
  at: number;
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
  id: row.id,
  at: row.at,
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

/** Escapes LIKE's wildcards so a prefix matches only itself. */
const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export function createSqliteAuditStore(db: Db): AuditStore {
  const insert = db.prepare(`
    INSERT INTO audit_log (at, actor_kind, admin_id, admin_username, os_user, action,
                           target_type, target_id, target_name, details, ip, outcome)
    VALUES (@at, @actorKind, @adminId, @adminUsername, @osUser, @action,
            @targetType, @targetId, @targetName, @details, @ip, @outcome)`);
  const page = db.prepare<
    {
      before: number | null;
      limit: number;
      outcome: string | null;
      adminId: string | null;
      actorKind: string | null;
      actorName: string | null;
      action: string | null;
      actionLike: string | null;
      since: number | null;
      until: number | null;
    },
    AuditRow
  >(`
    SELECT * FROM audit_log
    WHERE (@before IS NULL OR id < @before)
      AND (@outcome IS NULL OR outcome = @outcome)
      AND (@adminId IS NULL OR admin_id = @adminId)
      AND (@actorKind IS NULL OR actor_kind = @actorKind)
      AND (@actorName IS NULL
           OR (CASE actor_kind WHEN 'cli' THEN os_user ELSE admin_username END) = @actorName)
      AND (@action IS NULL OR action = @action)
      AND (@actionLike IS NULL OR action LIKE @actionLike ESCAPE '\\')
      AND (@since IS NULL OR at >= @since)
      AND (@until IS NULL OR at < @until)
    ORDER BY id DESC LIMIT @limit`);
  // Names merely tried at sign-in (no admin id) are left out: anyone can send those.
  const actors = db.prepare<[], { kind: AuditActorKind; name: string }>(`
    SELECT actor_kind AS kind, CASE actor_kind WHEN 'cli' THEN os_user ELSE admin_username END AS name
    FROM audit_log
    WHERE (actor_kind = 'cli' AND os_user IS NOT NULL) OR (admin_id IS NOT NULL AND admin_username IS NOT NULL)
    GROUP BY 1, 2 ORDER BY 1, 2`);
  const actions = db.prepare<[], { action: string }>('SELECT DISTINCT action FROM audit_log ORDER BY action');
  return {
    append: async (entry) =>
      Number(
        insert.run({
          ...entry,
          details: entry.details === null ? null : JSON.stringify(entry.details),
        }).lastInsertRowid,
      ),
    list: async (query) => {
      const actor = query.actor;
      const action = query.action;
      return page
        .all({
          before: query.before ?? null,
          limit: query.limit,
          outcome: query.outcome ?? null,
          adminId: query.adminId ?? null,
          actorKind: actor?.kind ?? null,
          actorName:
            actor === undefined ? null : actor.kind === 'cli' ? (actor.osUser ?? null) : actor.username,
          action: action && 'exact' in action ? action.exact : null,
          actionLike: action && 'prefix' in action ? likePrefix(action.prefix) : null,
          since: query.since ?? null,
          until: query.until ?? null,
        })
        .map(toEntry);
    },
    actors: async () =>
      actors.all().map(
        (row): AuditActorName => ({
          kind: row.kind,
          actor: row.kind === 'cli' ? `${CLI_ACTOR_PREFIX}${row.name}` : row.name,
        }),
      ),
    actions: async () => actions.all().map((row) => row.action),
  };
}
