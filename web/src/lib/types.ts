/**
 * The shapes the panel reads from /admin/api/* and /api/companion/me. Fields the server
 * may leave out are optional, so the pages render whatever subset a record carries.
 */
export type Role = 'owner' | 'admin' | 'viewer';

export interface AdminUser {
  id: string;
  username: string;
  role: Role;
  createdAt?: number | string;
  updatedAt?: number | string;
  lastLoginAt?: number | string | null;
}

export interface Session {
  admin: AdminUser;
  csrfToken: string;
}

export type Window = 'total' | 'minute' | 'hour' | 'day' | 'month';
export const WINDOWS: readonly Window[] = ['total', 'minute', 'hour', 'day', 'month'];

/** Calls allowed per window (null: no limit) and the concurrency cap. */
export interface TokenLimits extends Partial<Record<Window, number | null>> {
  maxConcurrent?: number | null;
}

export interface TokenUsage extends Partial<Record<Window, number>> {
  inFlight?: number;
}

export interface TokenView {
  id: string;
  name: string;
  prefix: string;
  status?: 'active' | 'disabled' | 'revoked' | 'expired';
  models: string[];
  scopes: string[];
  limits: TokenLimits;
  usage?: TokenUsage;
  expiresAt: number | string | null;
  enabled: boolean;
  revokedAt?: number | string | null;
  historyMode: string;
  createdAt?: number | string;
  updatedAt?: number | string;
}

export interface CreatedToken extends TokenView {
  token: string;
}

export interface HistoryItem {
  id: string;
  threadId?: string | null;
  tokenId?: string | null;
  tokenName?: string | null;
  tokenPrefix?: string | null;
  method?: string;
  endpoint: string;
  model?: string | null;
  stream?: boolean | null;
  startedAt: number | string;
  finishedAt?: number | string | null;
  ttftMs?: number | null;
  durationMs?: number | null;
  status?: number | null;
  outcome: string;
  error?: string | null;
  historyMode?: string;
  request?: unknown;
  answerContent?: string | null;
  answerThinking?: string | null;
  answerToolCalls?: unknown[] | null;
  doneReason?: string | null;
  promptTokens?: number | null;
  completionTokens?: number | null;
  totalNs?: number | null;
  loadNs?: number | null;
  promptEvalNs?: number | null;
  evalNs?: number | null;
  clientAddr?: string | null;
  userAgent?: string | null;
  servedBy?: string;
  redactedAt?: number | string | null;
  redactedBy?: string | null;
  /** Lists carry the start of the prompt and answer, and the text around a search hit. */
  snippet?: string | null;
  prompt?: string | null;
  answer?: string | null;
  parentId?: string | null;
}

export interface Page<T> {
  items: T[];
  next: string | null;
}

export interface Thread {
  threadId: string;
  items: HistoryItem[];
}

export interface UsageRow {
  key: string;
  /** The token's name when grouped by token (the key is its id). */
  label?: string;
  requests: number;
  errors: number;
  refused?: number;
  promptTokens: number;
  completionTokens: number;
  avgLatencyMs: number | null;
  p95LatencyMs?: number | null;
}

export interface Usage {
  by: 'day' | 'hour' | 'model' | 'token';
  since?: string;
  until?: string;
  series: UsageRow[];
  totals?: UsageRow;
}

/** `GET /admin/api/status`: how the guarded Ollama is doing. */
export interface OllamaStatus {
  url: string;
  /** Null before the first check. */
  reachable: boolean | null;
  version: string | null;
  since: string | null;
  failure: string | null;
}

export interface AuditEntry {
  id: number;
  at: number | string;
  /** The admin's username, or cli:<os user> for the command line. */
  actor?: string | null;
  actorKind?: 'admin' | 'cli';
  adminId?: string | null;
  adminUsername?: string | null;
  osUser?: string | null;
  action: string;
  targetType?: string | null;
  targetId?: string | null;
  targetName?: string | null;
  /** The details in words. */
  summary?: string;
  details?: unknown;
  ip?: string | null;
  outcome: string;
}

export interface AuditFacets {
  actors: { actor: string; kind: 'admin' | 'cli' }[];
  actions: string[];
}

export interface Settings {
  historyMaxAgeDays: number | null;
  historyMaxRecords: number | null;
  sessionIdleMinutes: number;
}

export interface MeToken {
  name: string;
  prefix: string;
  scopes: string[];
  models: string[];
  limits: TokenLimits;
  usage?: TokenUsage;
  expiresAt: number | string | null;
  historyMode: string;
}

export interface MeAnswer {
  token: MeToken;
  history: Page<HistoryItem>;
}
