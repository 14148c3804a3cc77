/**
 * The audit log as the domain sees it: what an entry holds, who acted, and how a query
 * filters (the store's port is in audit-store.ts). Every admin action lands here, whoever made it: a signed-in admin through
 * the admin API (the panel included) or someone at the command line, named by their OS
 * user. Entries are append-only and name their actor and target by name as well as id,
 * so they stay readable after the account or token is gone.
 */

export type AuditOutcome = 'ok' | 'denied' | 'failed';

/**
 * How an action reached the companion. `admin`: through the admin API, by the signed-in
 * admin (`adminId`), or, for attempts before sign-in, by nobody yet (`adminId` null and
 * `adminUsername` the name tried). `cli`: the command line, run by `osUser`.
 */
export type AuditActorKind = 'admin' | 'cli';
export const AUDIT_ACTOR_KINDS: readonly AuditActorKind[] = ['admin', 'cli'];

/** The actor names of the command line read `cli:<os user>`; admin usernames cannot hold ":". */
export const CLI_ACTOR_PREFIX = 'cli:';

export interface AuditEntry {
  id: number;
  at: number;
  actorKind: AuditActorKind;
  adminId: string | null;
  adminUsername: string | null;
  osUser: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  /** The target's name when the entry was written (token name, admin username). */
  targetName: string | null;
  details: Record<string, unknown> | null;
  ip: string | null;
  outcome: AuditOutcome;
}

export type NewAuditEntry = Omit<AuditEntry, 'id'>;

/** Who a filter asks for: an admin by username, or the command line (any OS user, or one). */
export type AuditActorFilter = { kind: 'admin'; username: string } | { kind: 'cli'; osUser?: string };

export interface AuditQuery {
  /** Only entries with an id below this one (the cursor of the previous page). */
  before?: number;
  limit: number;
  outcome?: AuditOutcome;
  adminId?: string;
  actor?: AuditActorFilter;
  /** One action (`token.update`), or a family by its prefix (`token.`). */
  action?: { exact: string } | { prefix: string };
  /** At or after this time (epoch ms). */
  since?: number;
  /** Before this time (epoch ms). */
  until?: number;
}

export interface AuditActorName {
  kind: AuditActorKind;
  /** The admin's username, or `cli:<os user>`. */
  actor: string;
}

/** The name an entry's actor goes by: the admin's username, `cli:<os user>`, or null. */
export function actorName(entry: Pick<AuditEntry, 'actorKind' | 'adminUsername' | 'osUser'>): string | null {
  if (entry.actorKind === 'cli') return `${CLI_ACTOR_PREFIX}${entry.osUser ?? '?'}`;
  return entry.adminUsername;
}

/** Reads an actor name (`olivia`, `cli`, `cli:alice`) as a filter. */
export function actorFilter(name: string): AuditActorFilter {
  if (name === 'cli') return { kind: 'cli' };
  if (name.startsWith(CLI_ACTOR_PREFIX)) return { kind: 'cli', osUser: name.slice(CLI_ACTOR_PREFIX.length) };
  return { kind: 'admin', username: name };
}

/** Reads an action filter: `token.update` exactly, or `token.*` for the family. */
export function actionFilter(value: string): NonNullable<AuditQuery['action']> {
  return value.endsWith('.*') ? { prefix: value.slice(0, -1) } : { exact: value };
}
