/** `ollama-companion history export`: every record, one JSON object per line. */
import type { Command } from 'commander';
import { CompanionError } from '../errors/companion-error.js';
import type { HistoryFilter } from '../store/history-repository.js';
import { type StoreOptions, withStore } from './cli-context.js';

function date(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at))
    throw new CompanionError('bad_request', 400, `--${flag} expects a date like 2026-11-01`);
  return at;
}

/** Waits when stdout is full, so an export of any size streams in small memory. */
function write(line: string): Promise<void> | undefined {
  if (process.stdout.write(line)) return undefined;
  return new Promise((resolve) => process.stdout.once('drain', () => resolve()));
}

export function registerHistoryCommands(program: Command): void {
  const history = program.command('history').description('read the recorded requests');
  history
    .command('export')
    .description('export history, one JSON record per line')
    .option('--format <format>', 'jsonl', 'jsonl')
    .option('--token <nameOrId>', 'only this token')
    .option('--model <model>', 'only this model')
    .option('--since <date>', 'only records started at or after this date')
    .option('--until <date>', 'only records started before this date')
    .option('--data-dir <dir>', 'data directory')
    .option('--config <file>', 'config file')
    .action(
      (
        flags: StoreOptions & {
          format: string;
          token?: string;
          model?: string;
          since?: string;
          until?: string;
        },
      ) => {
        if (flags.format !== 'jsonl') throw new CompanionError('bad_request', 400, '--format supports jsonl');
        return withStore(flags, async ({ tokens, history: repo }) => {
          const filter: HistoryFilter = {};
          if (flags.token !== undefined) filter.tokenId = tokens.get(flags.token).id;
          if (flags.model !== undefined) filter.model = flags.model;
          const since = date('since', flags.since);
          const until = date('until', flags.until);
          if (since !== undefined) filter.since = since;
          if (until !== undefined) filter.until = until;
          for (const record of repo.iterate(filter)) {
            const waiting = write(`${JSON.stringify(record)}\n`);
            if (waiting) await waiting;
          }
        });
      },
    );
}
