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
  historyDropped: Counter<'reason'>;
  historySummarised: Counter;
  auditUnrecorded: Counter;
}

/** What the history writer reports about its queue, read at each scrape. */
export interface HistoryQueueState {
  depth: number;
  queuedBytes: number;
  storeFailing: boolean;
}

export function createMetrics(history: () => HistoryQueueState | undefined): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'companion_' });
  new Gauge({
    name: 'companion_history_queue_depth',
    help: 'History records waiting to be written.',
    registers: [registry],
    collect() {
      this.set(history()?.depth ?? 0);
    },
  });
  new Gauge({
    name: 'companion_history_queue_bytes',
    help: 'About how many bytes the finished history records waiting to be written hold in memory.',
    registers: [registry],
    collect() {
      this.set(history()?.queuedBytes ?? 0);
    },
  });
  new Gauge({
    name: 'companion_history_store_failing',
    help: '1 while history cannot be written (disk full, I/O error) and records wait in memory.',
    registers: [registry],
    collect() {
      this.set(history()?.storeFailing ? 1 : 0);
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
      help: 'History records dropped: backlog_full (the store kept failing and the records waiting reached their bound), unwritable (a record that could not be stored even reduced).',
      labelNames: ['reason'],
      registers: [registry],
    }),
    historySummarised: new Counter({
      name: 'companion_history_records_summarised_total',
      help: 'History records stored with parts left out: nested too deep to store, or reduced after their write failed.',
      registers: [registry],
    }),
    auditUnrecorded: new Counter({
      name: 'companion_audit_unrecorded_total',
      help: 'Refused sign-in and setup attempts left out of the audit log: their address was over its budget.',
      registers: [registry],
    }),
  };
}
