/** Turns the benchmark's figures into the printed table. */

export interface Row {
  measure: string;
  direct?: string;
  companion?: string;
  delta?: string;
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

export function table(rows: Row[]): string {
  const header = ['Measure', 'Direct', 'Companion', 'Added / ratio', 'Target', ''];
  const cells = rows.map((r) => [
    r.measure,
    r.direct ?? '',
    r.companion ?? '',
    r.delta ?? '',
    r.target ?? '',
    r.met === undefined ? '' : r.met ? 'ok' : 'MISSED',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const right = new Set([1, 2, 3]);
  const line = (c: string[]) =>
    c
      .map((cell, i) => (right.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

export function percentile(values: number[], p: number): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}
