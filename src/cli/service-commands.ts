/**
 * `ollama-companion service install|uninstall`: writes (or removes) the file that makes
 * the system's service manager start the companion at boot — a systemd unit on Linux, a
 * launchd plist on macOS — per user (`--user`, the default for a non-root user) or for
 * the machine (`--system`, the default for root). It resolves what the service will run
 * (this node, this package's bin, `serve` with absolute paths) and where the file goes;
 * the generators in src/service/ write the text. It prints the systemctl/launchctl
 * commands that start the service instead of running them. No secret goes into the file:
 * `serve` takes none as a flag.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Command, Option } from 'commander';
import { defaultDataDir, loadConfig } from '../config/load-config.js';
import { sudoUser } from '../config/sudo-user.js';
import { CompanionError } from '../errors/companion-error.js';
import type { ServiceDescription, ServiceScope } from '../service/service-description.js';
import { accountHome, currentAccount } from './account-home.js';
import { addServeOptions, type ServeFlags, serveSettings } from './serve-command.js';
import {
  LAUNCHD_LABEL,
  type NextStep,
  SERVICE_PLATFORMS,
  type ServicePlatform,
  serviceTarget,
  shellWord,
} from './service-targets.js';

interface ScopeFlags {
  user?: boolean;
  system?: boolean;
  dir?: string;
  platform?: string;
}

interface InstallFlags extends ScopeFlags, ServeFlags {
  runAs?: string;
  force?: boolean;
  print?: boolean;
}

const BIN = fileURLToPath(new URL('../../bin/ollama-companion.js', import.meta.url));

/** Serve flags whose value is a path: made absolute, since the service starts elsewhere. */
const PATH_FLAGS = new Set(['dataDir', 'config', 'tlsCert', 'tlsKey']);

const refuse = (message: string) => new CompanionError('bad_request', 400, message);
const isRoot = () => process.getuid?.() === 0;

function platformOf(flags: ScopeFlags): ServicePlatform {
  const platform = flags.platform ?? process.platform;
  if (!SERVICE_PLATFORMS.includes(platform as ServicePlatform)) {
    throw refuse(
      `service install knows systemd (Linux) and launchd (macOS), not ${platform}; start \`ollama-companion serve\` with this system's own service tool`,
    );
  }
  return platform as ServicePlatform;
}

function scopeOf(flags: ScopeFlags): ServiceScope {
  if (flags.user && flags.system) throw refuse('--user and --system exclude each other; choose one');
  if (flags.user) return 'user';
  if (flags.system) return 'system';
  return isRoot() ? 'system' : 'user';
}

/**
 * Who a system service runs as: `--run-as`, else who ran sudo, else this user. Root needs
 * none of root's rights for the companion, so it is never chosen silently.
 */
function runAsOf(flags: InstallFlags, scope: ServiceScope): string | undefined {
  if (scope === 'user') {
    if (flags.runAs !== undefined)
      throw refuse('--run-as is for --system services; a --user service runs as its owner');
    return undefined;
  }
  if (flags.runAs !== undefined) return flags.runAs;
  const sudo = isRoot() ? sudoUser() : undefined;
  if (sudo && sudo !== 'root') return sudo;
  const me = currentAccount();
  if (!isRoot() && me !== undefined) return me;
  throw refuse(
    'a --system service needs an account to run as, and the companion needs no root rights: pass --run-as USER (--run-as root to insist)',
  );
}

/** The data dir `serve` would use when run as `account`, resolved now so the file names it. */
function dataDirFor(
  flags: InstallFlags,
  platform: ServicePlatform,
  account: string | undefined,
  home: string | undefined,
) {
  if (flags.dataDir !== undefined) return resolve(flags.dataDir);
  if (account === undefined || account === currentAccount()) return resolve(defaultDataDir());
  if (home === undefined)
    throw refuse(`cannot look up the home directory of ${account} here: pass --data-dir`);
  return platform === 'darwin'
    ? join(home, 'Library', 'Application Support', 'ollama-companion')
    : join(home, '.local', 'share', 'ollama-companion');
}

/**
 * The node flags the installed command runs with, from its shebang
 * (`#!/usr/bin/env -S node --flag`): the service starts node itself, since `env` would
 * search a PATH that service managers do not give.
 */
function nodeFlags(): string[] {
  const shebang = readFileSync(BIN, 'utf8').split('\n', 1)[0] ?? '';
  const words = shebang.replace(/^#!/, '').trim().split(/\s+/);
  const node = words.findIndex((word) => word === 'node' || word.endsWith('/node'));
  return node === -1 ? [] : words.slice(node + 1);
}

/** `serve` and the serve flags given, paths absolute, the data dir always named. */
function serveArgs(serveOptions: readonly Option[], flags: InstallFlags, dataDir: string) {
  const args = ['serve', '--data-dir', dataDir];
  const values = flags as Record<string, unknown>;
  for (const option of serveOptions) {
    const name = option.attributeName();
    const value = values[name];
    if (name === 'dataDir' || value === undefined || option.long === undefined) continue;
    if (option.isBoolean()) {
      if (value === true) args.push(option.long);
    } else {
      args.push(option.long, PATH_FLAGS.has(name) ? resolve(String(value)) : String(value));
    }
  }
  // Checked now, with the file the service will read, so a typo fails here and not at boot.
  // The environment of this shell is not the service's: it is left out.
  loadConfig({
    flags: serveSettings({ ...flags, dataDir }),
    configFile: flags.config === undefined ? undefined : resolve(flags.config),
    env: {},
  });
  return args;
}

function fileIn(flags: ScopeFlags, dir: string, fileName: string): string {
  return join(flags.dir === undefined ? dir : resolve(flags.dir), fileName);
}

function permissionRefusal(error: unknown, path: string, scope: ServiceScope): never {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') {
    const fix = scope === 'system' ? 'a --system service is installed with sudo' : 'choose another --dir';
    throw refuse(
      `cannot change ${path}: permission denied for user ${currentAccount() ?? 'this user'}; ${fix}`,
    );
  }
  throw error;
}

function printSteps(steps: NextStep[]): void {
  for (const step of steps) process.stdout.write(`${step.what}\n  ${step.command}\n`);
}

function install(serveOptions: readonly Option[], flags: InstallFlags): void {
  const platform = platformOf(flags);
  const scope = scopeOf(flags);
  const asRoot = isRoot();
  const account = runAsOf(flags, scope);
  const found = account === undefined ? { home: homedir() } : accountHome(account);
  if (found.missing) throw refuse(`there is no user ${account} on this machine; check --run-as`);
  const dataDir = dataDirFor(flags, platform, account, found.home);
  const logDir = join(dataDir, 'logs');
  const service: ServiceDescription = {
    scope,
    label: LAUNCHD_LABEL,
    summary: 'Ollama Companion: tokens, quotas and history in front of Ollama',
    program: process.execPath,
    args: [...nodeFlags(), BIN, ...serveArgs(serveOptions, flags, dataDir)],
    // A missing working directory would stop the service from starting (`nobody`'s home).
    ...(found.home !== undefined && existsSync(found.home) ? { workingDir: found.home } : {}),
    ...(account !== undefined ? { user: account } : {}),
    logDir,
  };
  const target = serviceTarget({ platform, scope, asRoot });
  const text = target.render(service);
  if (flags.print) {
    process.stdout.write(text);
    return;
  }
  const file = fileIn(flags, target.dir, target.fileName);
  let replaced = false;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
    writeFileSync(file, text, { mode: 0o644, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') permissionRefusal(error, file, scope);
    if (!flags.force)
      throw new CompanionError('conflict', 409, `${file} already exists; pass --force to replace it`);
    try {
      writeFileSync(file, text, { mode: 0o644 });
    } catch (again) {
      permissionRefusal(again, file, scope);
    }
    replaced = true;
  }
  const steps = target.afterInstall(file, service, replaced);
  // launchd opens the log files before the companion starts, so their directory must be
  // there; made now when the service runs as this user, else by that user.
  if (platform === 'darwin') {
    if (account === undefined || account === currentAccount())
      mkdirSync(logDir, { recursive: true, mode: 0o700 });
    else
      steps.unshift({
        what: 'Make its log directory, as that user:',
        command: `sudo -u ${shellWord(account)} mkdir -p ${shellWord(logDir)}`,
      });
  }
  process.stdout.write(`${replaced ? 'replaced' : 'wrote'} ${file}\n`);
  process.stdout.write(
    `  runs${account === undefined ? '' : ` as ${account}`}: ${[service.program, ...service.args].map(shellWord).join(' ')}\n`,
  );
  printSteps(steps);
}

/** A missing file is no failure: uninstalling twice leaves the same state as once. */
function uninstall(flags: ScopeFlags): void {
  const platform = platformOf(flags);
  const scope = scopeOf(flags);
  const target = serviceTarget({ platform, scope, asRoot: isRoot() });
  const file = fileIn(flags, target.dir, target.fileName);
  try {
    rmSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      process.stdout.write(`no service file at ${file}; nothing to remove\n`);
      return;
    }
    permissionRefusal(error, file, scope);
  }
  process.stdout.write(`removed ${file}\n`);
  printSteps(target.afterUninstall());
}

function addScopeOptions(command: Command): Command {
  return (
    command
      .option('--user', 'for this user, started by its own service manager (default unless root)')
      .option('--system', 'for the machine, started at boot (default for root)')
      .option('--dir <dir>', 'directory of the service file, instead of the one the service manager reads')
      // Writes another platform's file, to read it: the paths in it are this machine's.
      .addOption(new Option('--platform <name>', 'linux or darwin').hideHelp())
  );
}

export function registerServiceCommands(program: Command): void {
  const service = program
    .command('service')
    .description(
      'start the companion at boot: write or remove its systemd unit (Linux) or launchd plist (macOS)',
    );

  const installCommand = addScopeOptions(
    service
      .command('install')
      .description('write the service file that runs `serve` with the flags given here'),
  )
    .option('--run-as <user>', 'account a --system service runs as (default: who ran sudo)')
    .option('--force', 'replace an existing service file')
    .option('--print', 'print the file on stdout instead of writing it');
  const before = installCommand.options.length;
  addServeOptions(installCommand);
  const serveOptions = installCommand.options.slice(before);
  installCommand.action((flags: InstallFlags) => install(serveOptions, flags));

  addScopeOptions(service.command('uninstall').description('remove the service file')).action(
    (flags: ScopeFlags) => uninstall(flags),
  );
}
