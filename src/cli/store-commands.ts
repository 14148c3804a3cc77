/**
 * `ollama-companion store copy --to postgres://…`: moves a node that started on the
 * embedded SQLite store to a shared PostgreSQL database. The data dir is found as every
 * command finds it, and must hold a database (a typo in --data-dir is refused, never
 * copied as "nothing"). The database is named by its redacted URL in everything printed:
 * the password is never shown.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config/load-config.js';
import { CompanionError } from '../errors/companion-error.js';
import { type CopyCount, copyStore } from '../store/copy/store-copy.js';
import { redactDatabaseUrl } from '../store/postgres/database-url.js';
import { prepareDataDir } from './data-dir.js';
import { rememberSettings } from './startup-errors.js';

interface CopyFlags {
  to: string;
  dataDir?: string;
  config?: string;
}

/** The counts as a table: kind, then the SQLite and PostgreSQL figures right-aligned. */
export function countTable(counts: readonly CopyCount[]): string {
  const head = { kind: 'kind', source: 'sqlite', target: 'postgresql' };
  const rows = [
    head,
    ...counts.map((c) => ({ kind: c.kind, source: String(c.source), target: String(c.target) })),
  ];
  const width = (key: keyof typeof head) => Math.max(...rows.map((row) => row[key].length));
  const [k, s, t] = [width('kind'), width('source'), width('target')];
  return rows
    .map((row) => `${row.kind.padEnd(k)}  ${row.source.padStart(s)}  ${row.target.padStart(t)}\n`)
    .join('');
}

export function registerStoreCommands(program: Command): void {
  const store = program.command('store').description('move the data to another store');
  store
    .command('copy')
    .description(
      'copy everything of a SQLite data dir into an empty PostgreSQL database in one transaction, ' +
        'verify the counts and print them (stop the server on the data dir first)',
    )
    .requiredOption(
      '--to <url>',
      'the PostgreSQL database: postgres://user:password@host:5432/db[?sslmode=…]',
    )
    .option('--data-dir <dir>', 'data directory')
    .option('--config <file>', 'config file')
    .action(async (flags: CopyFlags) => {
      const config = loadConfig({ flags: { dataDir: flags.dataDir }, configFile: flags.config });
      rememberSettings({ dataDir: config.dataDir, logLevel: config.logLevel });
      prepareDataDir(config.dataDir, { create: false });
      const started = performance.now();
      const { counts, committed } = await copyStore(config.dataDir, flags.to);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const shown = redactDatabaseUrl(flags.to);
      if (!committed) {
        process.stderr.write(countTable(counts));
        throw new CompanionError(
          'internal',
          500,
          `the counts in ${shown} differ from the data dir's (above); nothing was committed`,
        );
      }
      process.stdout.write(`copied ${config.dataDir} to ${shown} in ${seconds} s\n${countTable(counts)}`);
    });
}
