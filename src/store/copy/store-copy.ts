/**
 * `store copy`: everything of a SQLite data dir into an empty PostgreSQL database, in ONE
 * PostgreSQL transaction, verified before it commits — so the target ends either with
 * all of it, counts checked, or with nothing (a failure or a count that differs rolls it
 * all back, and the copy can simply be run again).
 *
 * The SQLite file is read in one read transaction, a snapshot: a server still running on
 * the data dir would go on writing after it, so the data dir's server should be stopped
 * first. The file is opened for writing only when it needs what a server would do at its
 * start — its schema brought up to date, records written before search existed indexed
 * (the history indexer's backlog) — and read-only for the copy itself.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CompanionError } from '../../errors/companion-error.js';
import { DATABASE_FILE, type Db, openDatabase } from '../database.js';
import { createHistoryIndexer } from '../history-indexer.js';
import { createMetaRepository } from '../meta-repository.js';
import { migrations } from '../migrations/index.js';
import { redactDatabaseUrl } from '../postgres/database-url.js';
import { openPostgres } from '../postgres/open-postgres.js';
import { type PostgresClient, postgresFailure } from '../postgres/postgres-pool.js';
import { inTransaction } from '../postgres/transaction.js';
import { copyHistory, expectedEvents } from './history-copy.js';
import { copyTable, IDENTITY_TABLES, TABLE_COPIES } from './table-copy.js';

/** One kind of row: how many the SQLite store holds and how many PostgreSQL has after the copy. */
export interface CopyCount {
  kind: string;
  source: number;
  target: number;
}

export interface StoreCopyResult {
  counts: CopyCount[];
  /** False when a count differs: the transaction was rolled back and the target is empty. */
  committed: boolean;
}

/** Every table the copy writes: all must be empty before it starts. */
const TARGET_TABLES = [
  ...new Set([
    ...TABLE_COPIES.map((table) => table.postgres),
    'history_events',
    'history_heads',
    'history_records',
  ]),
];

const BACKLOG_BATCH = 1000;

class CountsDiffer extends Error {
  constructor(readonly counts: CopyCount[]) {
    super('the counts differ');
  }
}

const countOf = (db: Db, table: string): number =>
  (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

function openReadOnly(dataDir: string): Db {
  const db = new Database(join(dataDir, DATABASE_FILE), { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  return db;
}

/** True when the file needs a server's start-up work before it can be copied as it is. */
function needsUpkeep(db: Db): boolean {
  if ((db.pragma('user_version', { simple: true }) as number) < migrations.length) return true;
  if (!db.prepare("SELECT 1 FROM meta WHERE key = 'node_id'").get()) return true;
  return db.prepare('SELECT 1 FROM history WHERE search_key IS NULL LIMIT 1').get() !== undefined;
}

/** Migrates the file, gives it its node id and indexes its history backlog, as a server's start would. */
function upkeep(dataDir: string): void {
  const db = openDatabase(dataDir);
  try {
    createMetaRepository(db).nodeId();
    const indexer = createHistoryIndexer(db);
    while (indexer.indexBacklog(BACKLOG_BATCH) > 0);
  } finally {
    db.close();
  }
}

/** The SQLite store read-only, ready to copy (see upkeep). The data dir was checked to hold one. */
function openSource(dataDir: string): Db {
  let db = openReadOnly(dataDir);
  if (needsUpkeep(db)) {
    db.close();
    upkeep(dataDir);
    db = openReadOnly(dataDir);
  }
  return db;
}

/** @throws CompanionError conflict naming the tables that hold rows */
async function refuseNonEmpty(client: PostgresClient, redactedUrl: string): Promise<void> {
  const { rows } = await client.query<{ name: string }>(
    TARGET_TABLES.map((table) => `SELECT '${table}' AS name WHERE EXISTS (SELECT 1 FROM ${table})`).join(
      ' UNION ALL ',
    ),
  );
  if (rows.length === 0) return;
  throw new CompanionError(
    'conflict',
    409,
    `the database at ${redactedUrl} is not empty (rows in ${rows.map((row) => row.name).join(', ')}); store copy only fills an empty one`,
  );
}

async function targetCount(client: PostgresClient, table: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(rows[0]!.n);
}

/** Everything, inside the target's transaction; throws CountsDiffer to roll it back. */
async function copyAll(source: Db, client: PostgresClient, shown: string): Promise<CopyCount[]> {
  const nodeId = createMetaRepository(source).nodeId();
  // Companions started on this database meanwhile wait until the copy is done.
  await client.query(`LOCK TABLE ${TARGET_TABLES.join(', ')} IN EXCLUSIVE MODE`);
  await refuseNonEmpty(client, shown);
  const counts: CopyCount[] = [];
  for (const table of TABLE_COPIES) {
    await copyTable(source, client, table, nodeId);
    counts.push({
      kind: table.kind,
      source: countOf(source, table.sqlite),
      target: await targetCount(client, table.postgres),
    });
  }
  // New audit entries and sign-in failures get ids after the copied ones (and after
  // SQLite's deleted ones, which AUTOINCREMENT never gave again either).
  const sqliteSeq = source
    .prepare<[string], number>('SELECT seq FROM sqlite_sequence WHERE name = ?')
    .pluck();
  for (const table of IDENTITY_TABLES) {
    await client.query(
      `SELECT setval(pg_get_serial_sequence('${table}', 'id'), n) FROM
         (SELECT greatest((SELECT max(id) FROM ${table}), $1::bigint) AS n) AS highest WHERE n > 0`,
      [sqliteSeq.get(table) ?? 0],
    );
  }
  await copyHistory(source, client);
  counts.push(
    {
      kind: 'history records',
      source: countOf(source, 'history'),
      target: await targetCount(client, 'history_records'),
    },
    {
      kind: 'history events',
      source: expectedEvents(source),
      target: await targetCount(client, 'history_events'),
    },
  );
  if (counts.some((count) => count.source !== count.target)) throw new CountsDiffer(counts);
  return counts;
}

/**
 * Copies the SQLite store in `dataDir` (which must hold one) into the PostgreSQL database
 * at `url`, migrating it first.
 * @throws CompanionError bad_request for a URL that is not PostgreSQL's; conflict when the
 *   target holds rows already; internal (the driver's reason, password scrubbed) when the
 *   database cannot be reached or refuses a statement
 */
export async function copyStore(dataDir: string, url: string): Promise<StoreCopyResult> {
  const pool = await openPostgres(url, { max: 1, applicationName: 'ollama-companion store copy' });
  try {
    const source = openSource(dataDir);
    try {
      // One read transaction: every table is read from the same snapshot.
      source.exec('BEGIN');
      const counts = await inTransaction(pool, (client) => copyAll(source, client, redactDatabaseUrl(url)));
      return { counts, committed: true };
    } catch (error) {
      if (error instanceof CountsDiffer) return { counts: error.counts, committed: false };
      throw postgresFailure(error, url);
    } finally {
      source.close();
    }
  } finally {
    await pool.end();
  }
}
