/** The Prometheus metrics the companion exposes at /metrics. */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface Metrics {
  registry: Registry;
  requests: Counter<'endpoint' | 'status'>;
  duration: Histogram<'endpoint'>;
  timeToFirstChunk: Histogram<'endpoint'>;
  tokens: Counter<'kind' | 'model'>;
  refusals: Counter<'reason'>;
  unauthenticated: Counter;
  upstreamErrors: Counter<'kind'>;
  historyWritten: Counter;
  historyDropped: Counter;
}

export function createMetrics(historyDepth: () => number): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'companion_' });
  const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
  new Gauge({
    name: 'companion_history_queue_depth',
    help: 'History records waiting to be written.',
    registers: [registry],
    collect() {
      this.set(historyDepth());
    },
  });
  return {
    registry,
    requests: new Counter({
      name: 'companion_requests_total',
      help: 'Requests answered, by endpoint and HTTP status.',
      labelNames: ['endpoint', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'companion_request_duration_seconds',
      help: 'Time from request to the end of the answer.',
      labelNames: ['endpoint'],
      buckets,
      registers: [registry],
    }),
    timeToFirstChunk: new Histogram({
      name: 'companion_time_to_first_chunk_seconds',
      help: 'Time from request to the first byte of the answer.',
      labelNames: ['endpoint'],
      buckets,
      registers: [registry],
    }),
    tokens: new Counter({
      name: 'companion_tokens_total',
      help: 'Model tokens processed, as Ollama counts them (kind: prompt or completion).',
      labelNames: ['kind', 'model'],
      registers: [registry],
    }),
    refusals: new Counter({
      name: 'companion_refusals_total',
      help: 'Requests refused by policy (scope, model, quota, rate, concurrency, disabled).',
      labelNames: ['reason'],
      registers: [registry],
    }),
    unauthenticated: new Counter({
      name: 'companion_unauthenticated_total',
      help: 'Requests refused for a missing or unknown token.',
      registers: [registry],
    }),
    upstreamErrors: new Counter({
      name: 'companion_upstream_errors_total',
      help: 'Failures talking to Ollama (unreachable, timeout, cut mid-answer).',
      labelNames: ['kind'],
      registers: [registry],
    }),
    historyWritten: new Counter({
      name: 'companion_history_records_written_total',
      help: 'History rows written (a long request counts twice: start and end).',
      registers: [registry],
    }),
    historyDropped: new Counter({
      name: 'companion_history_records_dropped_total',
      help: 'History records dropped because the store kept failing.',
      registers: [registry],
    }),
  };
}
