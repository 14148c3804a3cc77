/**
 * Call quotas count in fixed calendar windows in UTC: a per-day quota resets at
 * midnight UTC, a per-month quota on the first of the month.
 */
import type { QuotaWindow } from './token.js';

export function windowStart(window: QuotaWindow, now: number): number {
  switch (window) {
    case 'total':
      return 0;
    case 'minute':
      return now - (now % 60_000);
    case 'hour':
      return now - (now % 3_600_000);
    case 'day':
      return now - (now % 86_400_000);
    case 'month': {
      const d = new Date(now);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    }
  }
}

/** When the window containing `now` ends; Infinity for `total`. */
export function windowEnd(window: QuotaWindow, now: number): number {
  switch (window) {
    case 'total':
      return Number.POSITIVE_INFINITY;
    case 'minute':
      return windowStart('minute', now) + 60_000;
    case 'hour':
      return windowStart('hour', now) + 3_600_000;
    case 'day':
      return windowStart('day', now) + 86_400_000;
    case 'month': {
      const d = new Date(now);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    }
  }
}
