/**
 * Token policy as the forms edit it, and back: the API's limits and usage per window,
 * which the create/patch body sends back in the same `limits` shape, and the token's state.
 */
import { toMillis } from './format.js';
import type { TokenLimits, TokenUsage, TokenView, Window } from './types.js';

export const SCOPES = ['inference', 'embeddings', 'read', 'show', 'manage', 'metrics'] as const;
export const HISTORY_MODES = ['full', 'metadata', 'off'] as const;

export const WINDOW_LABELS: Record<Window, string> = {
  total: 'Total calls',
  minute: 'Calls per minute',
  hour: 'Calls per hour',
  day: 'Calls per day',
  month: 'Calls per month',
};

export function limitOf(limits: TokenLimits | undefined, window: Window): number | null {
  return limits?.[window] ?? null;
}

export function usageOf(usage: TokenUsage | undefined, window: Window): number {
  return usage?.[window] ?? 0;
}

export type TokenState = 'active' | 'disabled' | 'revoked' | 'expired';

export function stateOf(
  token: Pick<TokenView, 'enabled' | 'revokedAt' | 'expiresAt' | 'status'>,
  now = Date.now(),
): TokenState {
  if (token.status) return token.status;
  if (token.revokedAt !== null && token.revokedAt !== undefined) return 'revoked';
  const expires = toMillis(token.expiresAt);
  if (expires !== null && expires <= now) return 'expired';
  return token.enabled ? 'active' : 'disabled';
}
