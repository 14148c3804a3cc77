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

function validate(policy: TokenPolicyInput): void {
  for (const scope of policy.scopes ?? []) {
    if (!(SCOPES as readonly string[]).includes(scope)) {
      throw badRequest(`unknown scope "${scope}": use ${SCOPES.join(', ')}`);
    }
  }
  if (policy.models) compileModelRules(policy.models); // throws on a malformed rule
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
      if (!NAME.test(name)) {
        throw badRequest('invalid token name: 1–64 letters, digits, ".", "_", "@" or "-"');
      }
      if (repo.findByName(name)) throw new CompanionError('conflict', 409, `a token named "${name}" exists`);
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
        models: policy.models?.length ? policy.models : ['*'],
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
        if (!NAME.test(changes.name)) throw badRequest('invalid token name');
        if (repo.findByName(changes.name)) {
          throw new CompanionError('conflict', 409, `a token named "${changes.name}" exists`);
        }
      }
      const updated: Token = {
        ...token,
        name: changes.name ?? token.name,
        models: changes.models ? (changes.models.length ? changes.models : ['*']) : token.models,
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
