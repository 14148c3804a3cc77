/**
 * Tokens and their usage counters in SQLite. Secrets never reach this module: callers
 * pass the hash.
 */
import type { QuotaWindow, Scope, Token } from '../policy/token.js';
import type { Db } from './database.js';

interface TokenRow {
  id: string;
  name: string;
  prefix: string;
  secret_hash: string;
  models: string;
  scopes: string;
  max_calls: number | null;
  calls_per_minute: number | null;
  calls_per_hour: number | null;
  calls_per_day: number | null;
  calls_per_month: number | null;
  max_concurrent: number | null;
  expires_at: number | null;
  enabled: number;
  revoked_at: number | null;
  history_mode: string;
  created_at: number;
  updated_at: number;
  origin_node: string;
}

interface UsageRow {
  token_id: string;
  window: QuotaWindow;
  window_start: number;
  calls: number;
  /** NULL in rows written before quota leases existed. */
  reserved: number | null;
}

export interface UsageCount {
  tokenId: string;
  window: QuotaWindow;
  windowStart: number;
  /** Calls that count against the quota. */
  calls: number;
  /** Calls reserved in the window, refunded ones included (the quota lease's terms); `calls` when absent. */
  reserved?: number;
}

export interface TokenRepository {
  insert(token: Token, secretHash: string): void;
  update(token: Token): void;
  findById(id: string): Token | undefined;
  findByName(name: string): Token | undefined;
  list(): Token[];
  /** Every token with its secret hash, for the in-memory directory. */
  listWithHashes(): { token: Token; secretHash: string }[];
  readUsage(tokenId?: string): UsageCount[];
  /** Stores the latest counter values (absolute, not increments). */
  writeUsage(counts: UsageCount[]): void;
}

function toToken(row: TokenRow): Token {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    models: JSON.parse(row.models) as string[],
    scopes: JSON.parse(row.scopes) as Scope[],
    limits: {
      calls: {
        total: row.max_calls,
        minute: row.calls_per_minute,
        hour: row.calls_per_hour,
        day: row.calls_per_day,
        month: row.calls_per_month,
      },
      maxConcurrent: row.max_concurrent,
    },
    expiresAt: row.expires_at,
    enabled: row.enabled === 1,
    revokedAt: row.revoked_at,
    historyMode: row.history_mode as Token['historyMode'],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    originNode: row.origin_node,
  };
}

function toParams(token: Token) {
  return {
    id: token.id,
    name: token.name,
    prefix: token.prefix,
    models: JSON.stringify(token.models),
    scopes: JSON.stringify(token.scopes),
    max_calls: token.limits.calls.total,
    calls_per_minute: token.limits.calls.minute,
    calls_per_hour: token.limits.calls.hour,
    calls_per_day: token.limits.calls.day,
    calls_per_month: token.limits.calls.month,
    max_concurrent: token.limits.maxConcurrent,
    expires_at: token.expiresAt,
    enabled: token.enabled ? 1 : 0,
    revoked_at: token.revokedAt,
    history_mode: token.historyMode,
    created_at: token.createdAt,
    updated_at: token.updatedAt,
    origin_node: token.originNode,
  };
}

export function createTokenRepository(db: Db): TokenRepository {
  const insert = db.prepare(`
    INSERT INTO tokens (id, name, prefix, secret_hash, models, scopes, max_calls, calls_per_minute,
      calls_per_hour, calls_per_day, calls_per_month, max_concurrent, expires_at, enabled, revoked_at,
      history_mode, created_at, updated_at, origin_node)
    VALUES (@id, @name, @prefix, @secret_hash, @models, @scopes, @max_calls, @calls_per_minute,
      @calls_per_hour, @calls_per_day, @calls_per_month, @max_concurrent, @expires_at, @enabled, @revoked_at,
      @history_mode, @created_at, @updated_at, @origin_node)`);
  const update = db.prepare(`
    UPDATE tokens SET name = @name, models = @models, scopes = @scopes, max_calls = @max_calls,
      calls_per_minute = @calls_per_minute, calls_per_hour = @calls_per_hour, calls_per_day = @calls_per_day,
      calls_per_month = @calls_per_month, max_concurrent = @max_concurrent, expires_at = @expires_at,
      enabled = @enabled, revoked_at = @revoked_at, history_mode = @history_mode, updated_at = @updated_at
    WHERE id = @id`);
  const byId = db.prepare<[string], TokenRow>('SELECT * FROM tokens WHERE id = ?');
  const byName = db.prepare<[string], TokenRow>('SELECT * FROM tokens WHERE name = ?');
  const all = db.prepare<[], TokenRow>('SELECT * FROM tokens ORDER BY created_at, name');
  const usageAll = db.prepare<[], UsageRow>(
    'SELECT token_id, window, window_start, calls, reserved FROM token_usage',
  );
  const usageOne = db.prepare<[string], UsageRow>(
    'SELECT token_id, window, window_start, calls, reserved FROM token_usage WHERE token_id = ?',
  );
  const upsertUsage = db.prepare(`
    INSERT INTO token_usage (token_id, window, window_start, calls, reserved) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (token_id, window) DO UPDATE SET window_start = excluded.window_start,
      calls = excluded.calls, reserved = excluded.reserved`);
  // Nested in a caller's transaction (the history batch), this runs as a savepoint of it.
  const writeUsage = db.transaction((counts: UsageCount[]) => {
    for (const c of counts)
      upsertUsage.run(c.tokenId, c.window, c.windowStart, c.calls, c.reserved ?? c.calls);
  });

  return {
    insert: (token, secretHash) => void insert.run({ ...toParams(token), secret_hash: secretHash }),
    update: (token) => void update.run(toParams(token)),
    findById: (id) => {
      const row = byId.get(id);
      return row && toToken(row);
    },
    findByName: (name) => {
      const row = byName.get(name);
      return row && toToken(row);
    },
    list: () => all.all().map(toToken),
    listWithHashes: () => all.all().map((row) => ({ token: toToken(row), secretHash: row.secret_hash })),
    readUsage: (tokenId) =>
      (tokenId === undefined ? usageAll.all() : usageOne.all(tokenId)).map((r) => ({
        tokenId: r.token_id,
        window: r.window,
        windowStart: r.window_start,
        calls: r.calls,
        reserved: r.reserved ?? r.calls,
      })),
    writeUsage: (counts) => {
      if (counts.length > 0) writeUsage(counts);
    },
  };
}
