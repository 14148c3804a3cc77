/** Turning numbers, times and durations into short text for tables and cards. */

export function toMillis(value: number | string | null | undefined): number | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'number') return value;
  const n = Number(value);
  if (Number.isFinite(n)) return n;
  const parsed = Date.parse(value);
  return Number.isNaN(parsed) ? null : parsed;
}

export function dateTime(value: number | string | null | undefined): string {
  const ms = toMillis(value);
  if (ms === null) return '—';
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function isoAttr(value: number | string | null | undefined): string | undefined {
  const ms = toMillis(value);
  return ms === null ? undefined : new Date(ms).toISOString();
}

export function count(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  return new Intl.NumberFormat('en').format(value);
}

/** "1 call", "3 calls": a count with its noun in the right number. */
export function plural(value: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count(value)} ${value === 1 ? singular : pluralForm}`;
}

export function compact(value: number): string {
  return new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 }).format(value);
}

export function millis(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  if (value < 1000) return `${Math.round(value)} ms`;
  if (value < 60_000) return `${(value / 1000).toFixed(value < 10_000 ? 2 : 1)} s`;
  return `${Math.floor(value / 60_000)} min ${Math.round((value % 60_000) / 1000)} s`;
}

export function nanos(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : millis(value / 1e6);
}

/** Generated tokens per second from Ollama's eval counters. */
export function rate(tokens: number | null | undefined, ns: number | null | undefined): string {
  // Below a millisecond the clock says more about the timer than about the model.
  if (!tokens || !ns || ns < 1e6) return '—';
  return `${new Intl.NumberFormat('en', { maximumFractionDigits: 1 }).format(tokens / (ns / 1e9))} tok/s`;
}

/** `YYYY-MM-DD` of a time, for date inputs. */
export function dateInput(value: number | string | null | undefined): string {
  const ms = toMillis(value);
  if (ms === null) return '';
  return new Date(ms).toISOString().slice(0, 10);
}

/** Start of a `YYYY-MM-DD` day in local time as an ISO string, or '' when empty. */
export function dayStart(day: string): string {
  return day ? new Date(`${day}T00:00:00`).toISOString() : '';
}

export function dayEnd(day: string): string {
  return day ? new Date(`${day}T23:59:59.999`).toISOString() : '';
}
