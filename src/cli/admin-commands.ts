/**
 * `ollama-companion admin …`: admin accounts from the command line, including the ways
 * back in when the panel cannot help: a new password, another role, removal, and lifting
 * the sign-in throttle. Each change is in the audit log as the command line's, and applies
 * to a running server at its next request (sessions and failures live in the store).
 */
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { changeAdmin, createAdmin, removeAdmin } from '../auth/admin-accounts.js';
import { ADMIN_ROLES, type Admin, type AdminRole, type AdminStore } from '../auth/admin-store.js';
import { LoginThrottle } from '../auth/login-throttle.js';
import { CompanionError, notFound } from '../errors/companion-error.js';
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

function parseRole(value: string, what: string): AdminRole {
  if (!ADMIN_ROLES.includes(value as AdminRole)) {
    throw new CompanionError('bad_request', 400, `${what} expects ${ADMIN_ROLES.join(', ')}`);
  }
  return value as AdminRole;
}

/** @throws CompanionError(not_found) naming the command that lists the accounts. */
async function adminNamed(admins: AdminStore, username: string): Promise<Admin> {
  const found = await admins.findByUsername(username);
  if (!found) throw notFound(`no admin named "${username}" (see: ollama-companion admin list)`);
  const { passwordHash: _hash, ...admin } = found;
  return admin;
}

const target = (admin: Admin) => ({ type: 'admin', id: admin.id, name: admin.username });
const sessionsText = (n: number) => (n === 1 ? '1 session ended' : `${n} sessions ended`);

const storeFlags = (command: Command): Command =>
  command.option('--data-dir <dir>', 'data directory').option('--config <file>', 'config file');

export function registerAdminCommands(program: Command): void {
  const admin = program.command('admin').description('manage admin accounts');
  storeFlags(
    admin
      .command('create')
      .description('create an admin; the password is read from stdin when it is not a terminal')
      .requiredOption('--username <name>', 'sign-in name')
      .option('--role <role>', `one of ${ADMIN_ROLES.join(', ')}`, 'owner'),
  )
    .option(INIT_FLAG, INIT_HELP)
    .action(async (flags: StoreOptions & { username: string; role: string }) => {
      const role = parseRole(flags.role, '--role');
      await withStore(
        flags,
        async ({ admins, audit }) => {
          // Asked once the data dir is known to be right, not before a refusal.
          const password = await readPassword();
          const created = await createAdmin(admins, flags.username, password, role);
          await audit('admin.create', target(created), { username: created.username, role });
          process.stdout.write(`created ${created.role} ${created.username}\n`);
        },
        { offersInit: true },
      );
    });

  storeFlags(admin.command('list').description('list admin accounts')).action((flags: StoreOptions) =>
    withStore(flags, async ({ admins }) => {
      for (const a of await admins.list()) process.stdout.write(`${a.username}\t${a.role}\n`);
    }),
  );

  storeFlags(
    admin
      .command('reset-password <username>')
      .description(
        'set a new password (read from stdin when it is not a terminal); signs the account out everywhere',
      ),
  ).action((username: string, flags: StoreOptions) =>
    withStore(flags, async ({ admins, sessions, audit }) => {
      const account = await adminNamed(admins, username);
      const password = await readPassword();
      const changed = await changeAdmin(admins, account.id, { password });
      const ended = await sessions.deleteForAdmin(changed.id);
      await audit('admin.update', target(changed), {
        username: changed.username,
        passwordChanged: true,
        sessionsEnded: ended,
      });
      process.stdout.write(`password of ${changed.username} reset; ${sessionsText(ended)}\n`);
    }),
  );

  storeFlags(
    admin
      .command('role <username> <role>')
      .description(`change an account's role: ${ADMIN_ROLES.join(', ')}; the last owner stays owner`),
  ).action((username: string, roleName: string, flags: StoreOptions) => {
    const role = parseRole(roleName, 'the role');
    return withStore(flags, async ({ admins, audit }) => {
      const account = await adminNamed(admins, username);
      if (account.role === role) {
        process.stdout.write(`${account.username} is ${role} already\n`);
        return;
      }
      const changed = await changeAdmin(admins, account.id, { role });
      await audit('admin.update', target(changed), {
        username: changed.username,
        role: { from: account.role, to: changed.role },
      });
      process.stdout.write(`${changed.username} is now ${changed.role}\n`);
    });
  });

  storeFlags(
    admin
      .command('remove <username>')
      .description('remove an account and end its sessions; the last owner stays'),
  ).action((username: string, flags: StoreOptions) =>
    withStore(flags, async ({ admins, audit }) => {
      // Its sessions go with the account (the store deletes them with it).
      const removed = await removeAdmin(admins, (await adminNamed(admins, username)).id);
      await audit('admin.delete', target(removed), { username: removed.username, role: removed.role });
      process.stdout.write(`removed ${removed.role} ${removed.username}; their sessions ended\n`);
    }),
  );

  storeFlags(
    admin
      .command('unlock <username>')
      .description('lift the sign-in throttle on an account: its failed sign-ins are forgotten'),
  ).action((username: string, flags: StoreOptions) =>
    withStore(flags, async ({ admins, loginFailures, audit }) => {
      const account = await adminNamed(admins, username);
      const forgotten = await new LoginThrottle(loginFailures).unlock(account.username);
      await audit('admin.unlock', target(account), {
        username: account.username,
        failuresForgotten: forgotten,
      });
      const failures = forgotten === 1 ? '1 failed sign-in' : `${forgotten} failed sign-ins`;
      process.stdout.write(`unlocked ${account.username}: ${failures} forgotten\n`);
    }),
  );
}
