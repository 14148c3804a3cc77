/**
 * Whether Ollama answers (with its version, polled), then usage at a glance: requests, errors, tokens and latency over time as charts, and the
 * busiest models and tokens, over a chosen period (the last day by hour, or by day).
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { BarList, type BarRow } from '../../components/bar-list.js';
import { ErrorNote, Loading } from '../../components/notice.js';
import { TimeChart } from '../../components/time-chart.js';
import { api, messageOf } from '../../lib/api.js';
import { compact, count, dateTime, millis } from '../../lib/format.js';
import type { OllamaStatus, Usage, UsageRow } from '../../lib/types.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const PERIODS: { value: string; label: string; by: 'hour' | 'day'; ms: number }[] = [
  { value: '1', label: 'Last 24 hours', by: 'hour', ms: DAY },
  { value: '7', label: 'Last 7 days', by: 'day', ms: 7 * DAY },
  { value: '30', label: 'Last 30 days', by: 'day', ms: 30 * DAY },
  { value: '90', label: 'Last 90 days', by: 'day', ms: 90 * DAY },
];

interface Data {
  by: 'hour' | 'day';
  series: UsageRow[];
  totals: UsageRow | undefined;
  models: UsageRow[];
  tokens: UsageRow[];
}

/** Start of a bucket key: `YYYY-MM-DD` or `YYYY-MM-DDTHH:00Z` (UTC), in seconds. */
function bucketSeconds(key: string): number | null {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(key);
  const ms = day ? Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3])) : Date.parse(key);
  return Number.isNaN(ms) ? null : ms / 1000;
}

/**
 * The busiest rows. Requests refused before a model or token was known have neither; they
 * stay in the list under `none` ("no model"), so the bars still add up to the total.
 */
const top = (rows: UsageRow[], none: string, n = 8): BarRow[] =>
  [...rows]
    .sort((a, b) => b.requests - a.requests)
    .slice(0, n)
    .map((r) => ({
      key: r.label || r.key || none,
      value: r.requests,
      note: `${compact(r.promptTokens + r.completionTokens)} model tokens`,
    }));

const sum = (rows: UsageRow[]): UsageRow => {
  const requests = rows.reduce((s, r) => s + r.requests, 0);
  const latency = rows.reduce((s, r) => s + (r.avgLatencyMs ?? 0) * r.requests, 0);
  return {
    key: 'total',
    requests,
    errors: rows.reduce((s, r) => s + r.errors, 0),
    refused: rows.reduce((s, r) => s + (r.refused ?? 0), 0),
    promptTokens: rows.reduce((s, r) => s + r.promptTokens, 0),
    completionTokens: rows.reduce((s, r) => s + r.completionTokens, 0),
    avgLatencyMs: requests ? latency / requests : null,
  };
};

const REQUESTS: [string, string] = ['request', 'requests'];
const intFormat = (v: number) => compact(v);
const msFormat = (v: number) => millis(v);

/** As often as the companion itself checks by default. */
const STATUS_POLL_MS = 10_000;

/** One line on Ollama: answering (and its version) or not (and what to do), and since when. */
function OllamaLine() {
  const [status, setStatus] = useState<OllamaStatus | null>(null);
  useEffect(() => {
    let live = true;
    const load = () =>
      api.get<{ ollama: OllamaStatus }>('/status').then(
        (answer) => live && setStatus(answer.ollama),
        () => {},
      );
    void load();
    const timer = setInterval(load, STATUS_POLL_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);
  if (!status) return null;
  const since = status.since ? ` since ${dateTime(status.since)}` : '';
  const text =
    status.reachable === null
      ? `Checking Ollama at ${status.url}…`
      : status.reachable
        ? `Ollama at ${status.url} answers (version ${status.version ?? 'unknown'})${since}.`
        : `Ollama at ${status.url} is not answering${status.failure ? ` (${status.failure})` : ''}${since}: check that it runs, or set --upstream.`;
  return (
    <p class={`note ${status.reachable === false ? 'error' : 'ok'}`} role="status" aria-label="Ollama">
      {text}
    </p>
  );
}

export function DashboardPage() {
  const [period, setPeriod] = useState('30');
  const [data, setData] = useState<Data | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const chosen = PERIODS.find((p) => p.value === period) ?? PERIODS[2]!;
    const until = Date.now();
    // Whole buckets: the chart starts at the beginning of its first hour or day.
    const step = chosen.by === 'hour' ? HOUR : DAY;
    const since = Math.floor((until - chosen.ms) / step) * step + step;
    const query = { since: new Date(since).toISOString(), until: new Date(until).toISOString() };
    setError(null);
    setData(null);
    Promise.all([
      api.get<Usage>('/usage', { by: chosen.by, ...query }),
      api.get<Usage>('/usage', { by: 'model', ...query }),
      api.get<Usage>('/usage', { by: 'token', ...query }),
    ]).then(
      ([time, models, tokens]) =>
        setData({
          by: chosen.by,
          series: time.series,
          totals: time.totals,
          models: models.series,
          tokens: tokens.series,
        }),
      (e) => setError(messageOf(e)),
    );
  }, [period]);

  const charts = useMemo(() => {
    if (!data) return null;
    const rows = data.series
      .map((r) => ({ at: bucketSeconds(r.key), r }))
      .filter((p): p is { at: number; r: UsageRow } => p.at !== null)
      .sort((a, b) => a.at - b.at);
    const x = rows.map((p) => p.at);
    const pick = (f: (r: UsageRow) => number | null | undefined) => rows.map((p) => f(p.r) ?? null);
    return {
      x,
      requests: [
        { label: 'Requests', values: pick((r) => r.requests), color: '#2563eb' },
        { label: 'Errors', values: pick((r) => r.errors), color: '#dc2626' },
        { label: 'Refused', values: pick((r) => r.refused ?? 0), color: '#d97706' },
      ],
      tokens: [
        { label: 'Prompt tokens', values: pick((r) => r.promptTokens), color: '#7c3aed' },
        { label: 'Answer tokens', values: pick((r) => r.completionTokens), color: '#059669' },
      ],
      latency: [
        { label: 'Average', values: pick((r) => (r.requests ? r.avgLatencyMs : null)), color: '#0891b2' },
        { label: 'p95', values: pick((r) => (r.requests ? r.p95LatencyMs : null)), color: '#be123c' },
      ],
    };
  }, [data]);

  const totals = data ? (data.totals ?? sum(data.series)) : null;
  const unit = data?.by === 'hour' ? 'hour' : 'day';
  return (
    <section aria-labelledby="dash-title">
      <div class="page-head">
        <h1 id="dash-title">Dashboard</h1>
        <div class="inline-field">
          <label for="dash-period">Period</label>
          <select id="dash-period" value={period} onChange={(e) => setPeriod(e.currentTarget.value)}>
            {PERIODS.map((p) => (
              <option key={p.value} value={p.value}>
                {p.label}
              </option>
            ))}
          </select>
        </div>
      </div>
      <OllamaLine />
      <ErrorNote error={error} />
      {!data || !charts || !totals ? (
        !error && <Loading what="Loading usage" />
      ) : (
        <>
          <ul class="stats" aria-label="Totals for the period">
            <li>
              <span class="stat-value">{count(totals.requests)}</span> requests
            </li>
            <li>
              <span class="stat-value">{count(totals.errors)}</span> errors
              {totals.refused ? `, ${count(totals.refused)} refused` : ''}
            </li>
            <li>
              <span class="stat-value">{compact(totals.promptTokens + totals.completionTokens)}</span> model
              tokens used
            </li>
            <li>
              <span class="stat-value">{millis(totals.avgLatencyMs)}</span> average latency
            </li>
          </ul>
          <div class="grid charts">
            <TimeChart
              id="chart-requests"
              integer
              title={`Requests and errors per ${unit}`}
              x={charts.x}
              series={charts.requests}
              format={intFormat}
              hourly={data.by === 'hour'}
            />
            <TimeChart
              id="chart-tokens"
              integer
              title={`Model tokens per ${unit}`}
              x={charts.x}
              series={charts.tokens}
              format={intFormat}
              hourly={data.by === 'hour'}
            />
            <TimeChart
              id="chart-latency"
              integer
              title={`Latency per ${unit}`}
              x={charts.x}
              series={charts.latency}
              format={msFormat}
              hourly={data.by === 'hour'}
            />
          </div>
          <div class="grid two">
            <BarList id="top-models" title="Top models" rows={top(data.models, 'no model')} unit={REQUESTS} />
            <BarList id="top-tokens" title="Top tokens" rows={top(data.tokens, 'no token')} unit={REQUESTS} />
          </div>
        </>
      )}
    </section>
  );
}
