/** Turns the benchmark's figures into the printed table. */

export interface Row {
  measure: string;
  direct?: string;
  /** The bare pass-through (bench/bare-pass-through.js), where it was measured. */
  bare?: string;
  companion?: string;
  /** The companion against direct: added time or a ratio. */
  delta?: string;
  /** The companion against the bare pass-through. */
  vsBare?: string;
  target?: string;
  /** undefined: no target for this row. */
  met?: boolean;
}

export function ms(value: number, digits = 3): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

export function signedMs(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return 'n/a';
  return `${value >= 0 ? '+' : ''}${value.toFixed(digits)} ms`;
}

export function ratio(value: number, digits = 3): string {
  return Number.isFinite(value) ? `${value.toFixed(digits)}×` : 'n/a';
}

export function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function count(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** The rows as aligned columns; a column no row fills (the bare one, when its phase did not run) is left out. */
export function table(rows: Row[]): string {
  const header = ['Measure', 'Direct', 'Bare', 'Companion', 'vs direct', 'vs bare', 'Target', ''];
  const all = rows.map((r) => [
    r.measure,
    r.direct ?? '',
    r.bare ?? '',
    r.companion ?? '',
    r.delta ?? '',
    r.vsBare ?? '',
    r.target ?? '',
    r.met === undefined ? '' : r.met ? 'ok' : 'MISSED',
  ]);
  const keep = header.map((_, i) => i === 0 || all.some((c) => c[i] !== ''));
  const shown = <T>(c: T[]) => c.filter((_, i) => keep[i]);
  const right = shown(header.map((_, i) => i >= 1 && i <= 5));
  const head = shown(header);
  const cells = all.map(shown);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((cell, i) => (right[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

export function percentile(values: number[], p: number): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}
