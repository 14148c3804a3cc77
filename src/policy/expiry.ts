/** Reads an expiry as people write it: a span from now (`30d`, `12h`, `2w`) or a date. */
import { badRequest } from '../errors/companion-error.js';

const UNIT_MS: Record<string, number> = {
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
};

/**
 * @returns epoch ms, or null for `never`.
 * @throws CompanionError(bad_request) for anything else, or a date in the past.
 */
export function parseExpiry(text: string, now: number): number | null {
  const value = text.trim();
  if (value === 'never' || value === '') return null;
  const span = /^(\d+)\s*([mhdwy])$/.exec(value);
  if (span) return now + Number(span[1]) * UNIT_MS[span[2]!]!;
  const date = Date.parse(value);
  if (Number.isNaN(date)) {
    throw badRequest(`invalid expiry "${text}": use a span like 30d, 12h, 2w, or a date like 2027-01-31`);
  }
  if (date <= now) throw badRequest(`invalid expiry "${text}": the date is in the past`);
  return date;
}
