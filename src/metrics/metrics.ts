/** The Prometheus metrics the companion exposes at /metrics. */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { RequestTally } from './request-tally.js';

export interface Metrics {
  registry: Registry;
  /** Requests, their timings and model tokens: counted on every request. */
  tally: RequestTally;
  refusals: Counter<'reason'>;
  unauthenticated: Counter;
  upstreamErrors: Counter<'kind'>;
  historyWritten: Counter;
  historyDropped: Counter;
  auditUnrecorded: Counter;
}

export function createMetrics(historyDepth: () => number): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'companion_' });
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
    tally: new RequestTally(registry),
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
    auditUnrecorded: new Counter({
      name: 'companion_audit_unrecorded_total',
      help: 'Refused sign-in and setup attempts left out of the audit log: their address was over its budget.',
      registers: [registry],
    }),
  };
}
