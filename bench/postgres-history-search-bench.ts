/**
 * History search at scale on PostgreSQL: the same history as the SQLite bench
 * (history-search-bench.ts: same generator, texts, tokens, models and dates), written
 * through the PostgreSQL history store's writeBatch into a private server, then
 * VACUUM ANALYZE and the same queries, timed the same way. Targets as on SQLite:
 * full-text p95 < 100 ms, usage < 200 ms.
 *
 * The private server runs with fsync, synchronous_commit and full_page_writes off (it is
 * the tests' throwaway server): that speeds the fill, not the searches, which read.
 *
 * Alone: `node --import tsx bench/postgres-history-search-bench.ts [--records N] [--explain]`
 * From bench/run.ts: `const figures = await benchPostgresHistorySearch()`.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startPrivatePostgres } from '../scripts/private-postgres.mjs';
import { historyPage } from '../src/admin/history-listing.js';
import type { HistorySearchFilter } from '../src/history/history-search.js';
import { createPostgresHistoryStore } from '../src/store/postgres/history-store.js';
import { openPostgres } from '../src/store/postgres/open-postgres.js';
import type { PostgresPool } from '../src/store/postgres/postgres-pool.js';
import { type HistorySearchFigures, historyBatches, measureHistorySearch } from './history-search-bench.js';

export interface PostgresHistorySearchFigures extends HistorySearchFigures {
  /** Records stored per second through writeBatch (VACUUM ANALYZE not included). */
  fillRecordsPerSecond: number;
  vacuumAnalyzeSeconds: number;
  batchSize: number;
  /** EXPLAIN (ANALYZE, BUFFERS) of the slowest query of each kind, when asked for. */
  plans?: Record<string, string>;
}

export interface PostgresHistorySearchBenchOptions {
  records?: number;
  /** Records per writeBatch call (default 5,000, as the SQLite bench). */
  batch?: number;
  /** Add the plans of the slowest full-text, filtered and list queries. */
  explain?: boolean;
  log?: (line: string) => void;
}

const NODE_ID = 'bench-node';

/** Runs `run` with every statement the pool is given recorded, text and values. */
async function statementsOf(
  pool: PostgresPool,
  run: () => Promise<unknown>,
): Promise<{ text: string; values: unknown[] }[]> {
  const seen: { text: string; values: unknown[] }[] = [];
  const query = pool.query;
  const recording = (config: unknown, values?: unknown[]) => {
    if (typeof config === 'string') seen.push({ text: config, values: values ?? [] });
    else {
      const c = config as { text: string; values?: unknown[] };
      seen.push({ text: c.text, values: c.values ?? values ?? [] });
    }
    return (query as (...args: unknown[]) => unknown).call(pool, config, values);
  };
  pool.query = recording as unknown as typeof pool.query;
  try {
    await run();
  } finally {
    pool.query = query;
  }
  return seen;
}

export async function benchPostgresHistorySearch(
  options: PostgresHistorySearchBenchOptions = {},
): Promise<PostgresHistorySearchFigures> {
  const n = options.records ?? 1_000_000;
  const size = options.batch ?? 5000;
  const log = options.log ?? ((line: string) => console.error(line));
  const server = await startPrivatePostgres();
  let pool: PostgresPool | undefined;
  try {
    pool = await openPostgres(server.url);
    const store = createPostgresHistoryStore(pool, { nodeId: NODE_ID, url: server.url });
    const fillStart = performance.now();
    let stored = 0;
    // The next batch is generated while the server stores the previous one; writes stay one at a time.
    let writing: Promise<unknown> = Promise.resolve();
    let lastLog = fillStart;
    for (const batch of historyBatches(n, size)) {
      await writing;
      writing = store.writeBatch(batch);
      stored += batch.finished.length;
      if (performance.now() - lastLog > 15_000) {
        lastLog = performance.now();
        const rate = stored / ((lastLog - fillStart) / 1000);
        log(`postgres history bench: ${stored} / ${n} records handed over (${Math.round(rate)}/s)`);
      }
    }
    await writing;
    const fillSeconds = (performance.now() - fillStart) / 1000;
    const vacuumStart = performance.now();
    await pool.query('VACUUM ANALYZE');
    const vacuumAnalyzeSeconds = (performance.now() - vacuumStart) / 1000;
    const { rows } = await pool.query<{ bytes: string }>(
      'SELECT pg_database_size(current_database()) AS bytes',
    );
    const databaseMb = Number(rows[0]?.bytes ?? 0) / 1024 / 1024;
    log(
      `postgres history bench: stored ${n} records in ${fillSeconds.toFixed(0)} s (${Math.round(n / fillSeconds)}/s), VACUUM ANALYZE ${vacuumAnalyzeSeconds.toFixed(0)} s, ${databaseMb.toFixed(0)} MB`,
    );

    const { slowest, ...times } = await measureHistorySearch(store, store);
    const figures: PostgresHistorySearchFigures = {
      records: await store.count(),
      ...times,
      loadSeconds: Math.round(fillSeconds + vacuumAnalyzeSeconds),
      databaseMb: Math.round(databaseMb),
      fillRecordsPerSecond: Math.round(n / fillSeconds),
      vacuumAnalyzeSeconds: Math.round(vacuumAnalyzeSeconds),
      batchSize: size,
    };
    if (options.explain) {
      const plans: Record<string, string> = {};
      for (const [kind, filter] of Object.entries(slowest) as [string, HistorySearchFilter][]) {
        const statements = await statementsOf(pool, () => historyPage(store, filter, { limit: 50 }));
        const lines: string[] = [`filter: ${JSON.stringify(filter)}`];
        for (const { text, values } of statements) {
          const plan = await pool.query<{ 'QUERY PLAN': string }>(
            `EXPLAIN (ANALYZE, BUFFERS) ${text}`,
            values,
          );
          lines.push(text.trim(), ...plan.rows.map((r) => r['QUERY PLAN']));
        }
        plans[kind] = lines.join('\n');
      }
      figures.plans = plans;
    }
    return figures;
  } finally {
    await pool?.end().catch(() => {});
    await server.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      records: { type: 'string' },
      batch: { type: 'string' },
      explain: { type: 'boolean', default: false },
    },
  });
  const figures = await benchPostgresHistorySearch({
    ...(values.records ? { records: Number(values.records) } : {}),
    ...(values.batch ? { batch: Number(values.batch) } : {}),
    explain: values.explain ?? false,
  });
  const verdict = (value: number, target: number) =>
    `${value} ms (target < ${target} ms: ${value < target ? 'met' : 'MISSED'})`;
  console.log(`records                 ${figures.records}`);
  console.log(`full-text search p95    ${verdict(figures.fullTextP95Ms, 100)}`);
  console.log(`full-text search p50    ${figures.fullTextP50Ms} ms`);
  console.log(`search + filter p95     ${figures.filteredP95Ms} ms`);
  console.log(`list (no search) p95    ${figures.listP95Ms} ms`);
  console.log(`dashboard usage (30 d)  ${verdict(figures.usageQueryMs, 200)}`);
  console.log(`dashboard usage (90 d)  ${figures.usage90dMs} ms`);
  console.log(
    `fill                    ${figures.fillRecordsPerSecond} records/s (batches of ${figures.batchSize}; fsync off), VACUUM ANALYZE ${figures.vacuumAnalyzeSeconds} s, database ${figures.databaseMb} MB`,
  );
  for (const [kind, plan] of Object.entries(figures.plans ?? {})) console.log(`\nslowest ${kind}:\n${plan}`);
}
