/**
 * Tokens and their usage counters in PostgreSQL, shared by every companion on the
 * database. Secrets never reach this module: callers pass the hash.
 *
 * Usage is kept per token, window and node: each companion writes only its own rows (as
 * absolute values of its own counts), so writers never contend, and a token's usage is
 * the sum over nodes. The rules a shared store must hold itself, since two companions
 * may act at once: a name is taken for good (the UNIQUE column, revoked tokens
 * included), and a revoked token never comes back (an update of a token revoked
 * meanwhile changes nothing).
 */
import { CompanionError, notFound } from '../../errors/companion-error.js';
import type { QuotaWindow, Scope, Token } from '../../policy/token.js';
import type { UsageCount } from '../token-repository.js';
import type { PostgresPool } from './postgres-pool.js';

/**
 * The async token port, as TokenRepository is the SQLite one (to move beside the token
 * service, in policy/, when the service becomes async).
 */
export interface TokenStore {
  /** @throws CompanionError conflict when the name (or the secret) is taken, even by a revoked token */
  insert(token: Token, secretHash: string): Promise<void>;
  /**
   * Stores the token's fields (all but id, prefix, created_at, origin_node) and returns
   * the token as stored. A revocation is kept however the update reads: updating a
   * token revoked meanwhile, by another companion, refuses; revoking it again returns it
   * revoked as it was.
   * @throws CompanionError not_found when the token is gone; conflict when it was revoked
   *   meanwhile, or when the new name is taken
   */
  update(token: Token): Promise<Token>;
  findById(id: string): Promise<Token | undefined>;
  findByName(name: string): Promise<Token | undefined>;
  /** Every token, oldest first. */
  list(): Promise<Token[]>;
  /** Every token with its secret hash, for the in-memory directory. */
  listWithHashes(): Promise<{ token: Token; secretHash: string }[]>;
  /**
   * Each window's usage summed over every node: per token and window, the calls of the
   * latest window start any node wrote (rows of an older start count as zero).
   */
  readUsage(tokenId?: string): Promise<UsageCount[]>;
  /** This node's own counters as last written, for its quota ledger to resume from. */
  readOwnUsage(): Promise<UsageCount[]>;
  /** Stores this node's latest counter values (absolute, not increments). */
  writeUsage(counts: UsageCount[]): Promise<void>;
}

/** What runs a statement: the pool, or a client inside a caller's transaction. */
export interface Queryable {
  query: PostgresPool['query'];
}

interface TokenRow {
  id: string;
  name: string;
  prefix: string;
  secret_hash: string;
  models: string;
  scopes: string;
  max_calls: string | null;
  calls_per_minute: string | null;
  calls_per_hour: string | null;
  calls_per_day: string | null;
  calls_per_month: string | null;
  max_concurrent: number | null;
  expires_at: string | null;
  enabled: boolean;
  revoked_at: string | null;
  history_mode: string;
  created_at: string;
  updated_at: string;
  origin_node: string;
}

interface UsageRow {
  token_id: string;
  window: QuotaWindow;
  window_start: string;
  calls: string;
  reserved: string | null;
}

/** bigint columns arrive as strings (node-postgres keeps 64 bits); ours fit a double. */
const num = (value: string): number => Number(value);
const numOrNull = (value: string | null): number | null => (value === null ? null : Number(value));

function toToken(row: TokenRow): Token {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    models: JSON.parse(row.models) as string[],
    scopes: JSON.parse(row.scopes) as Scope[],
    limits: {
      calls: {
        total: numOrNull(row.max_calls),
        minute: numOrNull(row.calls_per_minute),
        hour: numOrNull(row.calls_per_hour),
        day: numOrNull(row.calls_per_day),
        month: numOrNull(row.calls_per_month),
      },
      maxConcurrent: row.max_concurrent,
    },
    expiresAt: numOrNull(row.expires_at),
    enabled: row.enabled,
    revokedAt: numOrNull(row.revoked_at),
    historyMode: row.history_mode as Token['historyMode'],
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
    originNode: row.origin_node,
  };
}

function toUsage(row: UsageRow): UsageCount {
  const calls = num(row.calls);
  return {
    tokenId: row.token_id,
    window: row.window,
    windowStart: num(row.window_start),
    calls,
    reserved: row.reserved === null ? calls : num(row.reserved),
  };
}

/** The mutable fields in the order of $2… of INSERT and UPDATE. */
function fieldParams(token: Token): unknown[] {
  const calls = token.limits.calls;
  return [
    token.name,
    JSON.stringify(token.models),
    JSON.stringify(token.scopes),
    calls.total,
    calls.minute,
    calls.hour,
    calls.day,
    calls.month,
    token.limits.maxConcurrent,
    token.expiresAt,
    token.enabled,
    token.revokedAt,
    token.historyMode,
    token.updatedAt,
  ];
}

const INSERT = `
  INSERT INTO tokens (id, name, models, scopes, max_calls, calls_per_minute, calls_per_hour,
    calls_per_day, calls_per_month, max_concurrent, expires_at, enabled, revoked_at, history_mode,
    updated_at, prefix, secret_hash, created_at, origin_node)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`;

// Only a token not revoked is changed; the caller learns from the missing row why.
const UPDATE = `
  UPDATE tokens SET name = $2, models = $3, scopes = $4, max_calls = $5, calls_per_minute = $6,
    calls_per_hour = $7, calls_per_day = $8, calls_per_month = $9, max_concurrent = $10,
    expires_at = $11, enabled = $12, revoked_at = $13, history_mode = $14, updated_at = $15
  WHERE id = $1 AND revoked_at IS NULL
  RETURNING *`;

// Per token and window, the rows of the newest start any node wrote, summed.
const SUMMED_USAGE = `
  SELECT token_id, "window", window_start, sum(calls)::text AS calls,
    sum(COALESCE(reserved, calls))::text AS reserved
  FROM token_usage u
  WHERE ($1::text IS NULL OR token_id = $1)
    AND window_start = (SELECT max(window_start) FROM token_usage l
                        WHERE l.token_id = u.token_id AND l."window" = u."window")
  GROUP BY token_id, "window", window_start`;

/** The UNIQUE constraint a violation names, when it is one (SQLSTATE 23505). */
function violatedUnique(error: unknown): string | undefined {
  const e = error as { code?: unknown; constraint?: unknown } | null;
  return e?.code === '23505' && typeof e.constraint === 'string' ? e.constraint : undefined;
}

function nameTaken(name: string): CompanionError {
  // The service checks first and says whether a revoked token holds it; this is the
  // race it cannot see: another companion took the name a moment ago.
  return new CompanionError('conflict', 409, `a token named "${name}" exists; choose another name`);
}

/**
 * Writes `nodeId`'s counters on `db` (the pool, or a client in the history writer's
 * transaction): one statement for the batch. A counter never goes back to an older
 * window than the one stored, so a late write cannot undo a newer one.
 */
export async function writeNodeUsage(db: Queryable, nodeId: string, counts: UsageCount[]): Promise<void> {
  if (counts.length === 0) return;
  // ON CONFLICT cannot touch a row twice in one statement: the last count of a key wins.
  const latest = new Map<string, UsageCount>();
  for (const c of counts) latest.set(`${c.tokenId}\u0000${c.window}`, c);
  const rows = [...latest.values()];
  await db.query(
    `INSERT INTO token_usage (token_id, "window", node_id, window_start, calls, reserved)
     SELECT t, w, $1, s, c, r FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])
       AS x(t, w, s, c, r)
     ON CONFLICT (token_id, "window", node_id) DO UPDATE SET window_start = excluded.window_start,
       calls = excluded.calls, reserved = excluded.reserved
     WHERE token_usage.window_start <= excluded.window_start`,
    [
      nodeId,
      rows.map((c) => c.tokenId),
      rows.map((c) => c.window),
      rows.map((c) => c.windowStart),
      rows.map((c) => c.calls),
      rows.map((c) => c.reserved ?? c.calls),
    ],
  );
}

export function createPostgresTokenStore(db: PostgresPool, nodeId: string): TokenStore {
  const one = async (where: string, value: string): Promise<Token | undefined> => {
    const { rows } = await db.query<TokenRow>(`SELECT * FROM tokens WHERE ${where} = $1`, [value]);
    return rows[0] && toToken(rows[0]);
  };
  const all = async (): Promise<TokenRow[]> =>
    (await db.query<TokenRow>('SELECT * FROM tokens ORDER BY created_at, name')).rows;

  return {
    async insert(token, secretHash) {
      try {
        await db.query(INSERT, [
          token.id,
          ...fieldParams(token),
          token.prefix,
          secretHash,
          token.createdAt,
          token.originNode,
        ]);
      } catch (error) {
        const constraint = violatedUnique(error);
        if (constraint === 'tokens_name_key') throw nameTaken(token.name);
        if (constraint !== undefined)
          throw new CompanionError('conflict', 409, 'a token with this id or secret exists', {
            cause: error,
          });
        throw error;
      }
    },
    async update(token) {
      let rows: TokenRow[];
      try {
        ({ rows } = await db.query<TokenRow>(UPDATE, [token.id, ...fieldParams(token)]));
      } catch (error) {
        if (violatedUnique(error) === 'tokens_name_key') throw nameTaken(token.name);
        throw error;
      }
      if (rows[0]) return toToken(rows[0]);
      const stored = await one('id', token.id);
      if (!stored) throw notFound(`no token with id "${token.id}"`);
      // Revoked meanwhile: a revocation stands as first made; any other change is refused.
      if (token.revokedAt !== null) return stored;
      throw new CompanionError('conflict', 409, `token "${stored.name}" is revoked`);
    },
    findById: (id) => one('id', id),
    findByName: (name) => one('name', name),
    list: async () => (await all()).map(toToken),
    listWithHashes: async () =>
      (await all()).map((row) => ({ token: toToken(row), secretHash: row.secret_hash })),
    readUsage: async (tokenId) =>
      (await db.query<UsageRow>(SUMMED_USAGE, [tokenId ?? null])).rows.map(toUsage),
    readOwnUsage: async () =>
      (
        await db.query<UsageRow>(
          'SELECT token_id, "window", window_start, calls, reserved FROM token_usage WHERE node_id = $1',
          [nodeId],
        )
      ).rows.map(toUsage),
    writeUsage: (counts) => writeNodeUsage(db, nodeId, counts),
  };
}
