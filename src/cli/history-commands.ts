/**
 * `ollama-companion history export`: the records matching the filters, oldest first, as
 * JSON Lines, CSV or Markdown on stdout. The export and the filters are the admin API's
 * (history/history-export.ts, history/history-filter.ts): the same records give the same
 * bytes as `GET /admin/api/history/export` with the same query.
 */
import type { Command } from 'commander';
import { badRequest } from '../errors/companion-error.js';
import { EXPORT_FORMATS, type ExportFormat } from '../history/export-formats.js';
import { exportHistory } from '../history/history-export.js';
import { type HistoryFilterInput, historyFilter } from '../history/history-filter.js';
import { type StoreOptions, withStore } from './cli-context.js';

/** The filter's fields as this command's flags name them. */
const FLAGS: Record<keyof HistoryFilterInput, string> = {
  q: '--search',
  token: '--token',
  model: '--model',
  endpoint: '--endpoint',
  status: '--status',
  since: '--since',
  until: '--until',
};

/** Waits when stdout is full, so an export of any size streams in small memory. */
function write(chunk: string): Promise<void> | undefined {
  if (process.stdout.write(chunk)) return undefined;
  return new Promise((resolve) => process.stdout.once('drain', () => resolve()));
}

export function registerHistoryCommands(program: Command): void {
  const history = program.command('history').description('read the recorded requests');
  history
    .command('export')
    .description('export the history matching the filters, oldest first, on stdout')
    .option('--format <format>', EXPORT_FORMATS.join(', '), 'jsonl')
    .option('--token <nameOrId>', 'only this token')
    .option('--model <nameOrGlob>', 'only these models: a name or a glob, as in token rules (llama3.*, *:1b)')
    .option('--search <text>', 'full text over prompts and answers: words, "a phrase", prefix*, -excluded')
    .option('--endpoint <path>', 'only this endpoint, e.g. /api/chat')
    .option(
      '--status <status>',
      'an outcome (ok, error, refused, aborted, in_progress), a status (429) or a class (4xx)',
    )
    .option('--since <time>', 'only records started at or after this time (2026-11-01, ISO 8601 or epoch ms)')
    .option('--until <time>', 'only records started before this time')
    .option('--data-dir <dir>', 'data directory')
    .option('--config <file>', 'config file')
    .action((flags: StoreOptions & { format: string; search?: string } & Omit<HistoryFilterInput, 'q'>) => {
      if (!(EXPORT_FORMATS as readonly string[]).includes(flags.format))
        throw badRequest(`--format: expected one of ${EXPORT_FORMATS.join(', ')}`);
      const format = flags.format as ExportFormat;
      return withStore(flags, async ({ tokens, historyReads, audit }) => {
        const filter = await historyFilter(
          { ...flags, q: flags.search },
          {
            // An unknown token is refused here, where a typo would otherwise print nothing.
            tokenId: (nameOrId) => tokens.get(nameOrId).id,
            modelNames: () => historyReads.search.modelNames(),
            fieldName: (field) => FLAGS[field],
          },
        );
        for await (const chunk of exportHistory(historyReads.search, filter, format)
          .body as AsyncIterable<string>) {
          const waiting = write(chunk);
          if (waiting) await waiting;
        }
        // Recorded as the admin API records its exports: who took a copy, and of what.
        const { dataDir: _dir, config: _config, ...asked } = flags;
        await audit('history.export', { type: 'history' }, asked);
      });
    });
}
