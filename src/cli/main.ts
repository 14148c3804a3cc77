/**
 * The command line: `serve`, `token`, `admin`, `history`, `service` and `store`. Every failure prints one
 * readable line on stderr and exits non-zero: 2 for a bad flag or setting, 3 for
 * something not found, 1 when the system refused (a port in use, a data dir that cannot
 * be written, …). The stack comes only with `--log-level debug`. Nothing here prints a
 * token secret except `token create`.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { ConfigError } from '../config/load-config.js';
import { CompanionError } from '../errors/companion-error.js';
import { registerAdminCommands } from './admin-commands.js';
import { registerHistoryCommands } from './history-commands.js';
import { registerServeCommand } from './serve-command.js';
import { registerServiceCommands } from './service-commands.js';
import { explainSystemError, wantsStack } from './startup-errors.js';
import { registerStoreCommands } from './store-commands.js';
import { registerTokenCommands } from './token-commands.js';

/** The version in package.json, which ships beside dist/ and src/ alike. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: unknown;
  };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/** The line to print and the exit code for a failed command. */
function describeFailure(error: unknown): { line: string; exitCode: number } {
  if (error instanceof CompanionError) return { line: error.message, exitCode: error.status === 404 ? 3 : 2 };
  if (error instanceof ConfigError) return { line: error.message, exitCode: 2 };
  const explained = explainSystemError(error);
  if (explained !== undefined) return { line: explained, exitCode: 1 };
  const message = error instanceof Error ? error.message : String(error);
  return {
    line: `unexpected failure: ${message} (run again with --log-level debug to see where)`,
    exitCode: 1,
  };
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('ollama-companion')
    .description('Runs beside Ollama and makes it safe to expose: tokens, quotas and full history.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError();
  registerServeCommand(program);
  registerTokenCommands(program);
  registerAdminCommands(program);
  registerHistoryCommands(program);
  registerServiceCommands(program);
  registerStoreCommands(program);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    const { line, exitCode } = describeFailure(error);
    process.stderr.write(`error: ${line}\n`);
    if (wantsStack() && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    // Exit now: a server that failed half-way through its start may hold a worker thread
    // or a timer that would keep the process alive. The write callback lets stderr drain.
    process.exitCode = exitCode;
    await new Promise<void>((resolve) => process.stderr.write('', () => resolve()));
    process.exit(exitCode);
  }
}
