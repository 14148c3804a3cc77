/**
 * `ollama-companion token …`: create, list, show, update and revoke tokens. Each change
 * is in the audit log as the command line's, with the same details the admin API records.
 */
import { type Command, Option } from 'commander';
import { tokenChangedDetails, tokenCreatedDetails } from '../audit/token-audit.js';
import { CompanionError } from '../errors/companion-error.js';
import { parseExpiry } from '../policy/expiry.js';
import {
  isHistoryMode,
  isScope,
  QUOTA_WINDOWS,
  type QuotaWindow,
  type Scope,
  type Token,
  type TokenPolicyInput,
} from '../policy/token.js';
import { INIT_FLAG, INIT_HELP, type StoreOptions, withStore } from './cli-context.js';

interface PolicyFlags extends StoreOptions {
  name?: string;
  models?: string;
  scopes?: string;
  maxCalls?: string;
  callsPerMinute?: string;
  callsPerHour?: string;
  callsPerDay?: string;
  callsPerMonth?: string;
  maxConcurrent?: string;
  expires?: string;
  history?: string;
  enable?: boolean;
  disable?: boolean;
  json?: boolean;
}

const QUOTA_FLAGS: Record<QuotaWindow, keyof PolicyFlags> = {
  total: 'maxCalls',
  minute: 'callsPerMinute',
  hour: 'callsPerHour',
  day: 'callsPerDay',
  month: 'callsPerMonth',
};

const list = (value: string) =>
  value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);

/** A limit flag: a whole number, or `none`/`unlimited` to lift it. */
function limit(flag: string, value: string | undefined): number | null | undefined {
  if (value === undefined) return undefined;
  if (/^(none|unlimited|off)$/i.test(value)) return null;
  if (!/^\d+$/.test(value))
    throw new CompanionError('bad_request', 400, `--${flag} expects a whole number or "none"`);
  return Number(value);
}

function policyFrom(flags: PolicyFlags): TokenPolicyInput {
  const policy: TokenPolicyInput = {};
  if (flags.models !== undefined) policy.models = list(flags.models);
  if (flags.scopes !== undefined) {
    const scopes = list(flags.scopes);
    const unknown = scopes.find((s) => !isScope(s));
    if (unknown) throw new CompanionError('bad_request', 400, `unknown scope "${unknown}"`);
    policy.scopes = scopes as Scope[];
  }
  const calls: Partial<Record<QuotaWindow, number | null>> = {};
  for (const window of QUOTA_WINDOWS) {
    const flag = QUOTA_FLAGS[window];
    const value = limit(
      flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`),
      flags[flag] as string | undefined,
    );
    if (value !== undefined) calls[window] = value;
  }
  if (Object.keys(calls).length > 0) policy.calls = calls;
  const concurrent = limit('max-concurrent', flags.maxConcurrent);
  if (concurrent !== undefined) policy.maxConcurrent = concurrent;
  if (flags.expires !== undefined) policy.expiresAt = parseExpiry(flags.expires, Date.now());
  if (flags.history !== undefined) {
    if (!isHistoryMode(flags.history)) {
      throw new CompanionError('bad_request', 400, '--history expects full, metadata or off');
    }
    policy.historyMode = flags.history;
  }
  if (flags.enable) policy.enabled = true;
  if (flags.disable) policy.enabled = false;
  return policy;
}

function status(token: Token): string {
  if (token.revokedAt !== null) return 'revoked';
  if (token.expiresAt !== null && token.expiresAt <= Date.now()) return 'expired';
  return token.enabled ? 'active' : 'disabled';
}

function view(token: Token, usage?: Record<QuotaWindow, number>) {
  return {
    id: token.id,
    name: token.name,
    prefix: token.prefix,
    status: status(token),
    models: token.models,
    scopes: token.scopes,
    limits: { ...token.limits.calls, maxConcurrent: token.limits.maxConcurrent },
    ...(usage ? { usage } : {}),
    expiresAt: token.expiresAt === null ? null : new Date(token.expiresAt).toISOString(),
    historyMode: token.historyMode,
    createdAt: new Date(token.createdAt).toISOString(),
    updatedAt: new Date(token.updatedAt).toISOString(),
  };
}

function describe(token: Token, usage: Record<QuotaWindow, number>): string {
  const v = view(token, usage);
  const limits = QUOTA_WINDOWS.map((w) => {
    const max = token.limits.calls[w];
    return `${w}: ${usage[w]}${max === null ? '' : `/${max}`}`;
  }).join(', ');
  return [
    `name:        ${v.name}`,
    `id:          ${v.id}`,
    `prefix:      ${v.prefix}`,
    `status:      ${v.status}`,
    `models:      ${v.models.join(', ')}`,
    `scopes:      ${v.scopes.join(', ')}`,
    `calls:       ${limits}`,
    `concurrency: ${token.limits.maxConcurrent ?? 'unlimited'}`,
    `expires:     ${v.expiresAt ?? 'never'}`,
    `history:     ${v.historyMode}`,
    `created:     ${v.createdAt}`,
  ].join('\n');
}

const target = (token: Token) => ({ type: 'token', id: token.id, name: token.name });

type PolicyUse = 'create' | 'update';

/**
 * The policy flags, described for what they do in `create` (where leaving one out means
 * its default) or in `update` (where leaving one out keeps the token's current value).
 */
function policyOptions(command: Command, use: PolicyUse): Command {
  const create = use === 'create';
  const limit = (flag: string, what: string) =>
    command.option(flag, create ? `${what} (default: unlimited)` : `${what}; "none" lifts it`);
  command
    .option(
      '--models <globs>',
      create
        ? 'allowed models, comma-separated names or globs (default: *); "*" is all local models; ' +
            'cloud models need their names or "*-cloud,*:cloud", e.g. --models "*,*-cloud,*:cloud"'
        : 'replace the allowed models: comma-separated names or globs, or "*" for all local models',
    )
    .option(
      '--scopes <scopes>',
      create
        ? 'inference,embeddings,read,show,manage,metrics (default: inference,embeddings,read)'
        : 'replace the scopes: any of inference,embeddings,read,show,manage,metrics',
    );
  limit('--max-calls <n>', 'total call quota');
  limit('--calls-per-minute <n>', 'calls per minute');
  limit('--calls-per-hour <n>', 'calls per hour');
  limit('--calls-per-day <n>', 'calls per day (UTC)');
  limit('--calls-per-month <n>', 'calls per month (UTC)');
  limit('--max-concurrent <n>', 'requests in flight at most');
  return command
    .option(
      '--expires <when>',
      create
        ? 'expiry: 30d, 12h, 2w, a date, or never (default: never)'
        : 'change the expiry: 30d, 12h, 2w (from now), a date, or never',
    )
    .option(
      '--history <mode>',
      create
        ? 'what history keeps: full, metadata or off (default: full)'
        : 'change what history keeps: full, metadata or off',
    )
    .option('--json', 'print JSON')
    .option('--data-dir <dir>', 'data directory')
    .option('--config <file>', 'config file');
}

export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('manage access tokens');

  policyOptions(token.command('create').description('create a token; prints its secret once'), 'create')
    .requiredOption('--name <name>', 'a name for the token')
    .option(INIT_FLAG, INIT_HELP)
    .action((flags: PolicyFlags & { name: string }) =>
      withStore(
        flags,
        async ({ tokens, audit }) => {
          const policy = policyFrom(flags);
          const { token: created, secret } = tokens.create(flags.name, policy);
          await audit('token.create', target(created), tokenCreatedDetails(created));
          const out = flags.json ? JSON.stringify({ ...view(created), token: secret }, null, 2) : secret;
          process.stdout.write(`${out}\n`);
        },
        { offersInit: true },
      ),
    );

  token
    .command('list')
    .description('list tokens')
    .option('--json', 'print JSON')
    .option('--data-dir <dir>', 'data directory')
    .option('--config <file>', 'config file')
    .action((flags: StoreOptions & { json?: boolean }) =>
      withStore(flags, ({ tokens }) => {
        const all = tokens.list().map((t) => view(t, tokens.usage(t.id)));
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
          return;
        }
        if (all.length === 0) {
          process.stdout.write('no tokens yet: ollama-companion token create --name NAME\n');
          return;
        }
        const rows = all.map((t) => [
          t.name,
          t.prefix,
          t.status,
          t.scopes.join(','),
          t.models.join(','),
          String(t.usage?.total ?? 0),
        ]);
        const header = ['NAME', 'PREFIX', 'STATUS', 'SCOPES', 'MODELS', 'CALLS'];
        const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
        for (const row of [header, ...rows]) {
          process.stdout.write(
            `${row
              .map((cell, i) => cell.padEnd(widths[i]!))
              .join('  ')
              .trimEnd()}\n`,
          );
        }
      }),
    );

  token
    .command('show <nameOrId>')
    .description('show one token with its usage')
    .option('--json', 'print JSON')
    .option('--data-dir <dir>', 'data directory')
    .option('--config <file>', 'config file')
    .action((nameOrId: string, flags: StoreOptions & { json?: boolean }) =>
      withStore(flags, ({ tokens }) => {
        const t = tokens.get(nameOrId);
        const usage = tokens.usage(t.id);
        process.stdout.write(
          `${flags.json ? JSON.stringify(view(t, usage), null, 2) : describe(t, usage)}\n`,
        );
      }),
    );

  policyOptions(
    token
      .command('update <nameOrId>')
      .description('change a token’s name, models, scopes or limits; what is not given stays'),
    'update',
  )
    .option('--name <name>', 'rename the token')
    .addOption(new Option('--enable', 'enable the token').conflicts('disable'))
    .addOption(
      new Option('--disable', 'disable the token (revocable later, or re-enabled)').conflicts('enable'),
    )
    .action((nameOrId: string, flags: PolicyFlags) =>
      withStore(flags, async ({ tokens, audit }) => {
        const changes = { ...policyFrom(flags), ...(flags.name ? { name: flags.name } : {}) };
        const before = tokens.get(nameOrId);
        const updated = tokens.update(before.id, changes);
        await audit('token.update', target(updated), tokenChangedDetails(before, updated));
        const usage = tokens.usage(updated.id);
        process.stdout.write(
          `${flags.json ? JSON.stringify(view(updated, usage), null, 2) : describe(updated, usage)}\n`,
        );
      }),
    );

  token
    .command('revoke <nameOrId>')
    .description('revoke a token for good; takes effect at once')
    .option('--data-dir <dir>', 'data directory')
    .option('--config <file>', 'config file')
    .action((nameOrId: string, flags: StoreOptions) =>
      withStore(flags, async ({ tokens, audit }) => {
        const revoked = tokens.revoke(nameOrId);
        await audit('token.revoke', target(revoked), null);
        process.stdout.write(`revoked ${revoked.name} (${revoked.prefix})\n`);
      }),
    );
}
