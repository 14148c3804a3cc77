/**
 * The command line: `serve`, `token`, `admin` and `history`. Errors print one readable
 * line and exit non-zero; nothing here prints a token secret except `token create`.
 */
import { Command } from 'commander';
import { ConfigError } from '../config/load-config.js';
import { CompanionError } from '../errors/companion-error.js';
import { registerAdminCommands } from './admin-commands.js';
import { registerHistoryCommands } from './history-commands.js';
import { registerServeCommand } from './serve-command.js';
import { registerTokenCommands } from './token-commands.js';

export async function main(argv: string[]): Promise<void> {
  const program = new Command('ollama-companion')
    .description('Runs beside Ollama and makes it safe to expose: tokens, quotas and full history.')
    .showHelpAfterError();
  registerServeCommand(program);
  registerTokenCommands(program);
  registerAdminCommands(program);
  registerHistoryCommands(program);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CompanionError || error instanceof ConfigError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exitCode = error instanceof CompanionError && error.status === 404 ? 3 : 2;
      return;
    }
    throw error;
  }
}
