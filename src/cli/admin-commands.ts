/** `ollama-companion admin …`: admin accounts from the command line. */
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { createAdmin } from '../auth/admin-accounts.js';
import { CompanionError } from '../errors/companion-error.js';
import { ADMIN_ROLES, type AdminRole } from '../store/admin-repository.js';
import { INIT_FLAG, INIT_HELP, type StoreOptions, withStore } from './cli-context.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Asks on the terminal without echoing what is typed. */
function ask(question: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const write = (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput;
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
      if (s.startsWith(question)) write.call(rl, s);
    };
    rl.question(question, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
  });
}

async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) return readStdin();
  const first = await ask('Password: ');
  const second = await ask('Repeat password: ');
  if (first !== second) throw new CompanionError('bad_request', 400, 'the passwords differ');
  return first;
}

export function registerAdminCommands(program: Command): void {
  const admin = program.command('admin').description('manage admin accounts');
  admin
    .command('create')
    .description('create an admin; the password is read from stdin when it is not a terminal')
    .requiredOption('--username <name>', 'sign-in name')
    .option('--role <role>', `one of ${ADMIN_ROLES.join(', ')}`, 'owner')
    .option('--data-dir <dir>', 'data directory')
    .option('--config <file>', 'config file')
    .option(INIT_FLAG, INIT_HELP)
    .action(async (flags: StoreOptions & { username: string; role: string }) => {
      if (!ADMIN_ROLES.includes(flags.role as AdminRole)) {
        throw new CompanionError('bad_request', 400, `--role expects ${ADMIN_ROLES.join(', ')}`);
      }
      await withStore(
        flags,
        async ({ admins }) => {
          // Asked once the data dir is known to be right, not before a refusal.
          const password = await readPassword();
          const created = await createAdmin(admins, flags.username, password, flags.role as AdminRole);
          process.stdout.write(`created ${created.role} ${created.username}\n`);
        },
        { offersInit: true },
      );
    });
  admin
    .command('list')
    .description('list admin accounts')
    .option('--data-dir <dir>', 'data directory')
    .option('--config <file>', 'config file')
    .action((flags: StoreOptions) =>
      withStore(flags, ({ admins }) => {
        for (const a of admins.list()) process.stdout.write(`${a.username}\t${a.role}\n`);
      }),
    );
}
