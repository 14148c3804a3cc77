/**
 * Creating, changing and revoking tokens: the rules shared by the CLI and the admin API.
 * The secret is returned once, from `create`, and never stored.
 */
import { randomUUID } from 'node:crypto';
import { generateSecret } from '../auth/token-secret.js';
import { badRequest, CompanionError, notFound } from '../errors/companion-error.js';
import type { TokenRepository } from '../store/token-repository.js';
import { compileModelRules } from './model-rules.js';
import {
  DEFAULT_SCOPES,
  QUOTA_WINDOWS,
  type QuotaWindow,
  SCOPES,
  type Token,
  type TokenPolicyInput,
} from './token.js';

export interface TokenService {
  create(name: string, policy: TokenPolicyInput): { token: Token; secret: string };
  update(nameOrId: string, changes: TokenPolicyInput & { name?: string }): Token;
  revoke(nameOrId: string): Token;
  /** @throws CompanionError(not_found) */
  get(nameOrId: string): Token;
  list(): Token[];
  /** Current counts per window, zero for windows that have rolled over. */
  usage(tokenId: string): Record<QuotaWindow, number>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const INVALID_NAME =
  'invalid token name: 1–64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit';
const EMPTY_MODELS = 'models is empty; give model names or globs, or "*" for all local models';

/**
 * A name stays with its token for good, revoked or not: names are how history, the audit
 * log and `--token NAME` filters refer to a token, and a reused name would file the new
 * token's requests under the old one's (or the reverse).
 * @throws CompanionError(conflict) when a token, even a revoked one, has the name.
 */
function assertNameFree(repo: TokenRepository, name: string): void {
  const holder = repo.findByName(name);
  if (!holder) return;
  if (holder.revokedAt !== null) {
    throw new CompanionError(
      'conflict',
      409,
      `a revoked token named "${name}" exists; revoked names stay taken so history stays unambiguous — choose another name`,
    );
  }
  throw new CompanionError('conflict', 409, `a token named "${name}" exists; choose another name`);
}

function validate(policy: TokenPolicyInput): void {
  for (const scope of policy.scopes ?? []) {
    if (!(SCOPES as readonly string[]).includes(scope)) {
      throw badRequest(`unknown scope "${scope}": use ${SCOPES.join(', ')}`);
    }
  }
  if (policy.models !== undefined) {
    // Never read as "every model": an emptied field must not widen a token's access.
    if (policy.models.length === 0) throw badRequest(EMPTY_MODELS);
    compileModelRules(policy.models); // throws on a malformed rule
  }
  for (const [window, limit] of Object.entries(policy.calls ?? {})) {
    if (limit !== null && limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
      throw badRequest(`invalid ${window} call quota: expected a whole number ≥ 0`);
    }
  }
  const cap = policy.maxConcurrent;
  if (cap !== null && cap !== undefined && (!Number.isInteger(cap) || cap < 1)) {
    throw badRequest('invalid concurrency cap: expected a whole number ≥ 1');
  }
}

export function createTokenService(
  repo: TokenRepository,
  nodeId: string,
  windowStart: (window: QuotaWindow, now: number) => number,
  now: () => number = Date.now,
): TokenService {
  const get = (nameOrId: string): Token => {
    const token = repo.findById(nameOrId) ?? repo.findByName(nameOrId);
    if (!token) throw notFound(`no token named or with id "${nameOrId}"`);
    return token;
  };

  return {
    create(name, policy) {
      if (!NAME.test(name)) throw badRequest(INVALID_NAME);
      assertNameFree(repo, name);
      validate(policy);
      const { secret, hash, prefix } = generateSecret();
      const at = now();
      const calls = Object.fromEntries(
        QUOTA_WINDOWS.map((w) => [w, policy.calls?.[w] ?? null]),
      ) as Token['limits']['calls'];
      const token: Token = {
        id: randomUUID(),
        name,
        prefix,
        models: policy.models ?? ['*'],
        scopes: policy.scopes?.length ? [...new Set(policy.scopes)] : [...DEFAULT_SCOPES],
        limits: { calls, maxConcurrent: policy.maxConcurrent ?? null },
        expiresAt: policy.expiresAt ?? null,
        enabled: policy.enabled ?? true,
        revokedAt: null,
        historyMode: policy.historyMode ?? 'full',
        createdAt: at,
        updatedAt: at,
        originNode: nodeId,
      };
      repo.insert(token, hash);
      return { token, secret };
    },
    update(nameOrId, changes) {
      const token = get(nameOrId);
      if (token.revokedAt !== null)
        throw new CompanionError('conflict', 409, `token "${token.name}" is revoked`);
      validate(changes);
      if (changes.name !== undefined && changes.name !== token.name) {
        if (!NAME.test(changes.name)) throw badRequest(INVALID_NAME);
        assertNameFree(repo, changes.name);
      }
      const updated: Token = {
        ...token,
        name: changes.name ?? token.name,
        models: changes.models ?? token.models,
        scopes: changes.scopes ? [...new Set(changes.scopes)] : token.scopes,
        limits: {
          calls: { ...token.limits.calls, ...changes.calls },
          maxConcurrent:
            changes.maxConcurrent !== undefined ? changes.maxConcurrent : token.limits.maxConcurrent,
        },
        expiresAt: changes.expiresAt !== undefined ? changes.expiresAt : token.expiresAt,
        enabled: changes.enabled ?? token.enabled,
        historyMode: changes.historyMode ?? token.historyMode,
        updatedAt: now(),
      };
      repo.update(updated);
      return updated;
    },
    revoke(nameOrId) {
      const token = get(nameOrId);
      if (token.revokedAt !== null) return token;
      const revoked: Token = { ...token, enabled: false, revokedAt: now(), updatedAt: now() };
      repo.update(revoked);
      return revoked;
    },
    get,
    list: () => repo.list(),
    usage(tokenId) {
      const at = now();
      const counts = Object.fromEntries(QUOTA_WINDOWS.map((w) => [w, 0])) as Record<QuotaWindow, number>;
      for (const row of repo.readUsage(tokenId)) {
        if (row.windowStart === windowStart(row.window, at)) counts[row.window] = row.calls;
      }
      return counts;
    },
  };
}
