/**
 * What a token is allowed to do. The secret itself is never part of this record: only
 * its hash is stored, and only its public prefix is shown.
 */
export const SCOPES = ['inference', 'embeddings', 'read', 'show', 'manage', 'metrics'] as const;
export type Scope = (typeof SCOPES)[number];
export const DEFAULT_SCOPES: readonly Scope[] = ['inference', 'embeddings', 'read'];

export const HISTORY_MODES = ['full', 'metadata', 'off'] as const;
export type HistoryMode = (typeof HISTORY_MODES)[number];

/** Counting windows for call quotas; `total` never resets. */
export const QUOTA_WINDOWS = ['total', 'minute', 'hour', 'day', 'month'] as const;
export type QuotaWindow = (typeof QUOTA_WINDOWS)[number];

export interface TokenLimits {
  /** Calls allowed per window; null means unlimited. `total` is the lifetime quota. */
  calls: Record<QuotaWindow, number | null>;
  maxConcurrent: number | null;
}

export interface Token {
  id: string;
  name: string;
  prefix: string;
  /** Model names or globs (`llama3*`, `qwen3:*`); `*` allows every model. */
  models: string[];
  scopes: Scope[];
  limits: TokenLimits;
  expiresAt: number | null;
  enabled: boolean;
  revokedAt: number | null;
  historyMode: HistoryMode;
  createdAt: number;
  updatedAt: number;
  originNode: string;
}

/** The fields an admin may set when creating or changing a token. */
export interface TokenPolicyInput {
  models?: string[];
  scopes?: Scope[];
  calls?: Partial<Record<QuotaWindow, number | null>>;
  maxConcurrent?: number | null;
  expiresAt?: number | null;
  enabled?: boolean;
  historyMode?: HistoryMode;
}

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

export function isHistoryMode(value: string): value is HistoryMode {
  return (HISTORY_MODES as readonly string[]).includes(value);
}
