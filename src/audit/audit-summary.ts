/**
 * An audit entry's details as one line a person reads: "models: llama3.2:* → *;
 * calls/day: none → 100". Changes (`{from, to}`) read as before → after; known fields get
 * words instead of their API names; a name that the target already shows is left out.
 * Details of any shape read somehow: a value not recognised is shown as compact JSON.
 */
import type { AuditEntry } from './audit-log.js';

const LABELS: Record<string, string> = {
  models: 'models',
  scopes: 'scopes',
  maxCalls: 'calls in total',
  callsPerMinute: 'calls/minute',
  callsPerHour: 'calls/hour',
  callsPerDay: 'calls/day',
  callsPerMonth: 'calls/month',
  maxConcurrent: 'at once',
  expiresAt: 'expires',
  expires: 'expires',
  historyMode: 'history',
  enabled: 'enabled',
  role: 'role',
  required: 'needs',
  historyMaxAgeDays: 'keep history (days)',
  historyMaxRecords: 'keep records',
  sessionIdleMinutes: 'sign out after idle (minutes)',
  tokenName: 'token',
  startedAt: 'started',
  q: 'search',
};

/** Fields whose null means "no limit" or "never" rather than "nothing". */
const NULL_WORDS: Record<string, string> = { expiresAt: 'never', expires: 'never' };

const REASONS: Record<string, string> = {
  throttled: 'too many failed sign-ins',
  forbidden_role: 'role too low',
  csrf_failed: 'missing or wrong x-csrf-token',
};

/** Flags that read as a phrase when set. */
const FLAGS: Record<string, string> = {
  passwordChanged: 'password changed',
  alreadyRedacted: 'already redacted',
};

/** Counts that read as a phrase. */
const COUNTS: Record<string, (n: number) => string> = {
  sessionsEnded: (n) => (n === 1 ? '1 session ended' : `${n} sessions ended`),
  failuresForgotten: (n) => (n === 1 ? '1 failed sign-in forgotten' : `${n} failed sign-ins forgotten`),
};

const ISO_TIME = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(?::\d\d(?:\.\d+)?)?Z$/;

function value(key: string, v: unknown): string {
  if (v === null || v === undefined) return NULL_WORDS[key] ?? 'none';
  if (Array.isArray(v)) return v.length === 0 ? '(none)' : v.map((item) => value(key, item)).join(', ');
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'string') {
    const time = ISO_TIME.exec(v);
    return time ? `${time[1]} ${time[2]} UTC` : v;
  }
  if (typeof v === 'number') return String(v);
  return JSON.stringify(v);
}

const isChange = (v: unknown): v is { from: unknown; to: unknown } =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && 'from' in v && 'to' in v;

/** The details of `entry` as one line of text; empty when there is nothing to say. */
export function auditSummary(entry: Pick<AuditEntry, 'action' | 'details' | 'targetName'>): string {
  // In an update, a bare token name is the new name (a rename): say so even though the
  // target shows it too. Usernames never change.
  const nameIsTarget = !entry.action.endsWith('.update');
  const parts: string[] = [];
  for (const [key, v] of Object.entries(entry.details ?? {})) {
    const label = LABELS[key] ?? key;
    if (isChange(v)) {
      parts.push(`${label}: ${value(key, v.from)} → ${value(key, v.to)}`);
    } else if (key in FLAGS) {
      if (v === true) parts.push(FLAGS[key]!);
    } else if (key in COUNTS && typeof v === 'number') {
      parts.push(COUNTS[key]!(v));
    } else if (key === 'reason' && typeof v === 'string') {
      parts.push(REASONS[v] ?? v);
    } else if (v === entry.targetName && (key === 'username' || (key === 'name' && nameIsTarget))) {
      // The target column shows it already.
    } else {
      parts.push(`${label}: ${value(key, v)}`);
    }
  }
  return parts.join('; ');
}
