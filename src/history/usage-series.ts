/**
 * The port for the usage series behind the dashboard's charts: requests, errors,
 * refusals, tokens and latency per day or hour (every bucket present, zeros included),
 * or per model or token (busiest first), with totals over the same range.
 */

export type UsageBy = 'day' | 'hour' | 'model' | 'token';

export interface UsagePoint {
  key: string;
  /** Token name for `by=token`. */
  label?: string;
  requests: number;
  errors: number;
  refused: number;
  promptTokens: number;
  completionTokens: number;
  avgLatencyMs: number | null;
  p95LatencyMs: number | null;
}

export interface UsageSeries {
  /** Series over [since, until), widened to whole hours (UTC), and the totals over the same range. */
  usage(by: UsageBy, since: number, until: number): Promise<{ series: UsagePoint[]; totals: UsagePoint }>;
}
