/**
 * Copying the plain tables of a SQLite store into PostgreSQL (everything but the history,
 * see history-copy.ts): which SQLite table becomes which PostgreSQL one, with the values
 * unchanged (same ids, hashes, epoch milliseconds, JSON text), plus what PostgreSQL's
 * schema adds: the node the rows came from (origin_node, token_usage.node_id).
 *
 * Rows are read in pages of PAGE_ROWS in key order (keyset paging, so a large audit log
 * or rollup costs one index walk) and written as one INSERT … SELECT FROM unnest(…) per
 * page: one parameter per column, whatever the page's size.
 */
import type { Db } from '../database.js';
import type { PostgresClient } from '../postgres/postgres-pool.js';
import { pgText } from '../postgres/text-value.js';

export const PAGE_ROWS = 1000;

type Row = Record<string, unknown>;

export interface TableCopy {
  /** What the printed table calls these rows. */
  kind: string;
  sqlite: string;
  postgres: string;
  /** The PostgreSQL columns written, in order, with their types. */
  columns: readonly (readonly [name: string, type: string])[];
  /** The SQLite columns that order the rows uniquely (its primary key). */
  key: readonly string[];
  /** A SQLite row as the PostgreSQL values, in `columns` order. */
  values(row: Row, nodeId: string): unknown[];
}

const same =
  (...names: string[]) =>
  (row: Row): unknown[] =>
    names.map((name) => row[name]);

const USAGE_ROLLUP_COLUMNS: readonly (readonly [string, string])[] = [
  ['bucket', 'bigint'],
  ['token_id', 'text'],
  ['model', 'text'],
  ['requests', 'bigint'],
  ['errors', 'bigint'],
  ['refused', 'bigint'],
  ['prompt_tokens', 'bigint'],
  ['completion_tokens', 'bigint'],
  ['duration_ms_sum', 'double precision'],
  ...Array.from({ length: 20 }, (_, i) => [`lat_${i}`, 'bigint'] as const),
];

const rollup = (kind: string, table: string): TableCopy => ({
  kind,
  sqlite: table,
  postgres: table,
  columns: USAGE_ROLLUP_COLUMNS,
  key: ['bucket', 'token_id', 'model'],
  values: same(...USAGE_ROLLUP_COLUMNS.map(([name]) => name)),
});

/** In an order that satisfies the foreign keys (tokens before usage, admins before sessions). */
export const TABLE_COPIES: readonly TableCopy[] = [
  {
    kind: 'tokens',
    sqlite: 'tokens',
    postgres: 'tokens',
    columns: [
      ['id', 'text'],
      ['name', 'text'],
      ['prefix', 'text'],
      ['secret_hash', 'text'],
      ['models', 'text'],
      ['scopes', 'text'],
      ['max_calls', 'bigint'],
      ['calls_per_minute', 'bigint'],
      ['calls_per_hour', 'bigint'],
      ['calls_per_day', 'bigint'],
      ['calls_per_month', 'bigint'],
      ['max_concurrent', 'integer'],
      ['expires_at', 'bigint'],
      ['enabled', 'boolean'],
      ['revoked_at', 'bigint'],
      ['history_mode', 'text'],
      ['created_at', 'bigint'],
      ['updated_at', 'bigint'],
      ['origin_node', 'text'],
    ],
    key: ['id'],
    values: (row) => [
      ...same(
        'id',
        'name',
        'prefix',
        'secret_hash',
        'models',
        'scopes',
        'max_calls',
        'calls_per_minute',
        'calls_per_hour',
        'calls_per_day',
        'calls_per_month',
        'max_concurrent',
        'expires_at',
      )(row),
      row.enabled === 1,
      ...same('revoked_at', 'history_mode', 'created_at', 'updated_at', 'origin_node')(row),
    ],
  },
  {
    // SQLite counts one node's calls; PostgreSQL keeps them as that node's rows.
    kind: 'usage rows',
    sqlite: 'token_usage',
    postgres: 'token_usage',
    columns: [
      ['token_id', 'text'],
      ['window', 'text'],
      ['node_id', 'text'],
      ['window_start', 'bigint'],
      ['calls', 'bigint'],
      ['reserved', 'bigint'],
    ],
    key: ['token_id', 'window'],
    values: (row, nodeId) => [row.token_id, row.window, nodeId, row.window_start, row.calls, row.reserved],
  },
  {
    // PostgreSQL's strict call quota reserves slots in this counter before forwarding: it
    // starts from the calls already counted in each window, so a copied token has exactly
    // what it had left. (SQLite's per-node quota leases have no counterpart to copy.)
    kind: 'quota counters',
    sqlite: 'token_usage',
    postgres: 'quota_reservations',
    columns: [
      ['token_id', 'text'],
      ['window', 'text'],
      ['window_start', 'bigint'],
      ['reserved', 'bigint'],
    ],
    key: ['token_id', 'window'],
    values: same('token_id', 'window', 'window_start', 'calls'),
  },
  {
    kind: 'admins',
    sqlite: 'admins',
    postgres: 'admins',
    columns: [
      ['id', 'text'],
      ['username', 'text'],
      ['password_hash', 'text'],
      ['role', 'text'],
      ['created_at', 'bigint'],
      ['updated_at', 'bigint'],
      ['origin_node', 'text'],
    ],
    key: ['id'],
    values: (row, nodeId) => [
      ...same('id', 'username', 'password_hash', 'role', 'created_at', 'updated_at')(row),
      nodeId,
    ],
  },
  {
    kind: 'sessions',
    sqlite: 'admin_sessions',
    postgres: 'admin_sessions',
    columns: [
      ['id_hash', 'text'],
      ['admin_id', 'text'],
      ['csrf_token', 'text'],
      ['created_at', 'bigint'],
      ['last_seen_at', 'bigint'],
      ['ip', 'text'],
      ['user_agent', 'text'],
    ],
    key: ['id_hash'],
    values: same('id_hash', 'admin_id', 'csrf_token', 'created_at', 'last_seen_at', 'ip', 'user_agent'),
  },
  {
    kind: 'audit entries',
    sqlite: 'audit_log',
    postgres: 'audit_log',
    columns: [
      ['id', 'bigint'],
      ['at', 'bigint'],
      ['origin_node', 'text'],
      ['actor_kind', 'text'],
      ['admin_id', 'text'],
      ['admin_username', 'text'],
      ['os_user', 'text'],
      ['action', 'text'],
      ['target_type', 'text'],
      ['target_id', 'text'],
      ['target_name', 'text'],
      ['details', 'text'],
      ['ip', 'text'],
      ['outcome', 'text'],
    ],
    key: ['id'],
    values: (row, nodeId) => [
      row.id,
      row.at,
      nodeId,
      ...same(
        'actor_kind',
        'admin_id',
        'admin_username',
        'os_user',
        'action',
        'target_type',
        'target_id',
        'target_name',
        'details',
        'ip',
        'outcome',
      )(row),
    ],
  },
  {
    kind: 'login failures',
    sqlite: 'login_failures',
    postgres: 'login_failures',
    columns: [
      ['id', 'bigint'],
      ['key', 'text'],
      ['account', 'text'],
      ['at', 'bigint'],
    ],
    key: ['id'],
    values: same('id', 'key', 'account', 'at'),
  },
  {
    // updated_at 0: SQLite does not keep when a setting was set (the schema's convention).
    kind: 'settings',
    sqlite: 'settings',
    postgres: 'settings',
    columns: [
      ['key', 'text'],
      ['value', 'text'],
      ['origin_node', 'text'],
      ['updated_at', 'bigint'],
    ],
    key: ['key'],
    values: (row, nodeId) => [row.key, row.value, nodeId, 0],
  },
  rollup('usage per hour', 'usage_hourly'),
  rollup('usage per day', 'usage_daily'),
];

/** Tables whose ids PostgreSQL generates for new rows: moved past the copied ids. */
export const IDENTITY_TABLES = ['audit_log', 'login_failures'] as const;

const quoted = (name: string) => `"${name}"`;

/** Rows of values as one array per column, for unnest. */
function byColumn(rows: readonly unknown[][], width: number): unknown[][] {
  const columns: unknown[][] = Array.from({ length: width }, () => new Array(rows.length));
  rows.forEach((row, r) => {
    for (let c = 0; c < width; c++) columns[c]![r] = row[c] ?? null;
  });
  return columns;
}

/** Copies one table page by page; returns how many rows were written. */
export async function copyTable(
  source: Db,
  client: PostgresClient,
  table: TableCopy,
  nodeId: string,
): Promise<number> {
  const key = table.key.map(quoted).join(', ');
  const first = source.prepare(`SELECT * FROM ${table.sqlite} ORDER BY ${key} LIMIT ${PAGE_ROWS}`);
  const next = source.prepare(
    `SELECT * FROM ${table.sqlite} WHERE (${key}) > (${table.key.map(() => '?').join(', ')})
     ORDER BY ${key} LIMIT ${PAGE_ROWS}`,
  );
  const columns = table.columns.map(([name]) => quoted(name)).join(', ');
  const insert = `INSERT INTO ${table.postgres} (${columns})
    SELECT * FROM unnest(${table.columns.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')})`;
  const texts = table.columns.map(([, type]) => type === 'text');
  let copied = 0;
  let page = first.all() as Row[];
  while (page.length > 0) {
    const rows = page.map((row) =>
      table
        .values(row, nodeId)
        .map((value, i) => (texts[i] && typeof value === 'string' ? pgText(value) : value)),
    );
    await client.query(insert, byColumn(rows, table.columns.length));
    copied += rows.length;
    if (page.length < PAGE_ROWS) break;
    const last = page[page.length - 1]!;
    page = next.all(...table.key.map((name) => last[name])) as Row[];
  }
  return copied;
}
