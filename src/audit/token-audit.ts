/**
 * What the audit log keeps about a token action, the same whether it came through the
 * admin API or the command line: a new token's policy, and for a change each field's
 * value before and after (`{from, to}`). Keys are the flat field names the admin API took
 * before `limits` (`callsPerDay`, …; still accepted), so entries written before these
 * details existed (the request body as sent) read the same way.
 * Never the secret.
 */
import { QUOTA_WINDOWS, type QuotaWindow, type Token } from '../policy/token.js';

const LIMIT_FIELDS: Record<QuotaWindow, string> = {
  total: 'maxCalls',
  minute: 'callsPerMinute',
  hour: 'callsPerHour',
  day: 'callsPerDay',
  month: 'callsPerMonth',
};

type Json = string | number | boolean | null | string[];

/** Every policy field of a token, by its API name, as JSON values. */
function policyFields(token: Token): Record<string, Json> {
  const fields: Record<string, Json> = {
    name: token.name,
    models: [...token.models],
    scopes: [...token.scopes],
  };
  for (const window of QUOTA_WINDOWS) fields[LIMIT_FIELDS[window]] = token.limits.calls[window];
  fields.maxConcurrent = token.limits.maxConcurrent;
  fields.expiresAt = token.expiresAt === null ? null : new Date(token.expiresAt).toISOString();
  fields.historyMode = token.historyMode;
  fields.enabled = token.enabled;
  return fields;
}

/** A new token: its name, models and scopes, and whatever differs from the defaults. */
export function tokenCreatedDetails(token: Token): Record<string, unknown> {
  const fields = policyFields(token);
  const details: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    const isDefault =
      value === null || (key === 'historyMode' && value === 'full') || (key === 'enabled' && value === true);
    if (!isDefault || key === 'name') details[key] = value;
  }
  return details;
}

const same = (a: Json | undefined, b: Json | undefined): boolean => JSON.stringify(a) === JSON.stringify(b);

/** The fields a change touched, each `{from, to}`; empty when nothing changed. */
export function tokenChangedDetails(before: Token, after: Token): Record<string, { from: Json; to: Json }> {
  const old = policyFields(before);
  const now = policyFields(after);
  const changes: Record<string, { from: Json; to: Json }> = {};
  for (const key of Object.keys(now)) {
    if (!same(old[key], now[key])) changes[key] = { from: old[key] ?? null, to: now[key] ?? null };
  }
  return changes;
}
