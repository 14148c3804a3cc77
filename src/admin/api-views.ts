/**
 * What the admin API answers, as TypeBox schemas (for the OpenAPI description) and the
 * functions that build those answers from domain records. Times are ISO 8601 strings.
 */
import { type Static, Type } from '@sinclair/typebox';
import { ADMIN_ROLES, type Admin } from '../auth/admin-store.js';
import { HISTORY_MODES, QUOTA_WINDOWS, type QuotaWindow, SCOPES, type Token } from '../policy/token.js';

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

export const Role = Type.Union(ADMIN_ROLES.map((role) => Type.Literal(role)));
export const ScopeName = Type.Union(SCOPES.map((scope) => Type.Literal(scope)));
export const HistoryModeName = Type.Union(HISTORY_MODES.map((mode) => Type.Literal(mode)));
const NullableInt = Type.Union([Type.Integer(), Type.Null()]);
const NullableIso = Type.Union([Type.String(), Type.Null()]);

export const ErrorAnswer = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() }),
});

export const AdminView = Type.Object({
  id: Type.String(),
  username: Type.String(),
  role: Role,
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export type AdminView = Static<typeof AdminView>;

export function adminView(admin: Admin): AdminView {
  return {
    id: admin.id,
    username: admin.username,
    role: admin.role,
    createdAt: iso(admin.createdAt),
    updatedAt: iso(admin.updatedAt),
  };
}

export const SessionAnswer = Type.Object({
  csrfToken: Type.String({ description: 'Send as header x-csrf-token on every state-changing call.' }),
  admin: Type.Object({ id: Type.String(), username: Type.String(), role: Role }),
});

export function sessionAnswer(admin: Admin, csrfToken: string): Static<typeof SessionAnswer> {
  return { csrfToken, admin: { id: admin.id, username: admin.username, role: admin.role } };
}

export const TokenLimitsView = Type.Object({
  total: NullableInt,
  minute: NullableInt,
  hour: NullableInt,
  day: NullableInt,
  month: NullableInt,
  maxConcurrent: NullableInt,
});

export const TokenUsageView = Type.Object({
  total: Type.Integer(),
  minute: Type.Integer(),
  hour: Type.Integer(),
  day: Type.Integer(),
  month: Type.Integer(),
  inFlight: Type.Integer(),
});
export type TokenUsageView = Static<typeof TokenUsageView>;

export const TokenStatus = Type.Union(
  ['active', 'disabled', 'expired', 'revoked'].map((status) => Type.Literal(status)),
);

export const TokenView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String({ description: 'The public start of the secret, shown in lists and logs.' }),
  status: TokenStatus,
  enabled: Type.Boolean(),
  models: Type.Array(Type.String()),
  scopes: Type.Array(ScopeName),
  limits: TokenLimitsView,
  usage: TokenUsageView,
  expiresAt: NullableIso,
  revokedAt: NullableIso,
  historyMode: HistoryModeName,
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export type TokenView = Static<typeof TokenView>;

export function tokenStatus(token: Token, now = Date.now()): Static<typeof TokenStatus> {
  if (token.revokedAt !== null) return 'revoked';
  if (token.expiresAt !== null && token.expiresAt <= now) return 'expired';
  return token.enabled ? 'active' : 'disabled';
}

export function usageView(usage: { calls: Record<QuotaWindow, number>; inFlight: number }): TokenUsageView {
  const view = { inFlight: usage.inFlight } as TokenUsageView;
  for (const window of QUOTA_WINDOWS) view[window] = usage.calls[window];
  return view;
}

export function tokenView(
  token: Token,
  usage: { calls: Record<QuotaWindow, number>; inFlight: number },
): TokenView {
  return {
    id: token.id,
    name: token.name,
    prefix: token.prefix,
    status: tokenStatus(token),
    enabled: token.enabled,
    models: token.models,
    scopes: token.scopes,
    limits: { ...token.limits.calls, maxConcurrent: token.limits.maxConcurrent },
    usage: usageView(usage),
    expiresAt: isoOrNull(token.expiresAt),
    revokedAt: isoOrNull(token.revokedAt),
    historyMode: token.historyMode,
    createdAt: iso(token.createdAt),
    updatedAt: iso(token.updatedAt),
  };
}

/** `{items, next}`: a page, newest first; `next` is the cursor of the following page or null. */
export const Page = <T extends Parameters<typeof Type.Array>[0]>(item: T) =>
  Type.Object({ items: Type.Array(item), next: Type.Union([Type.String(), Type.Null()]) });
