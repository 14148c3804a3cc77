/**
 * The per-request figures (requests by endpoint and status, durations, time to first
 * chunk, model tokens), kept as plain numbers on the request path and turned into
 * Prometheus series only when /metrics is read. prom-client's labelled `inc` and
 * `observe` build a label key on every call; a proxy answering thousands of requests a
 * second would pay that on each one.
 */
import type { Registry } from 'prom-client';

/** Upper bounds (seconds) of the duration buckets, as Prometheus `le` labels. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

class Timing {
  /** One count per bucket, the last one for values above every bound. */
  private readonly counts = new Float64Array(BUCKETS.length + 1);
  private sum = 0;
  private count = 0;

  get observed(): number {
    return this.count;
  }

  observe(seconds: number): void {
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
    this.count++;
  }

  samples(name: string, labels: Record<string, string>): Sample[] {
    const out: Sample[] = [];
    let cumulative = 0;
    for (let i = 0; i <= BUCKETS.length; i++) {
      cumulative += this.counts[i]!;
      const le = i < BUCKETS.length ? BUCKETS[i]! : '+Inf';
      out.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative });
    }
    out.push({ metricName: `${name}_sum`, labels, value: this.sum });
    out.push({ metricName: `${name}_count`, labels, value: this.count });
    return out;
  }
}

interface EndpointFigures {
  byStatus: Map<number, number>;
  duration: Timing;
  firstChunk: Timing;
}

export class RequestTally {
  private readonly endpoints = new Map<string, EndpointFigures>();
  private readonly tokens = new Map<string, { prompt: number; completion: number }>();

  constructor(registry: Registry) {
    const each = (fn: (endpoint: string, figures: EndpointFigures) => Sample[]) => () =>
      [...this.endpoints].flatMap(([endpoint, figures]) => fn(endpoint, figures));
    register(
      registry,
      'companion_requests_total',
      'Requests answered, by endpoint and HTTP status.',
      'counter',
      each((endpoint, f) =>
        [...f.byStatus].map(([status, value]) => ({ labels: { endpoint, status }, value })),
      ),
    );
    register(
      registry,
      'companion_request_duration_seconds',
      'Time from request to the end of the answer.',
      'histogram',
      each((endpoint, f) => f.duration.samples('companion_request_duration_seconds', { endpoint })),
    );
    register(
      registry,
      'companion_time_to_first_chunk_seconds',
      'Time from request to the first byte of the answer.',
      'histogram',
      each((endpoint, f) =>
        f.firstChunk.observed > 0
          ? f.firstChunk.samples('companion_time_to_first_chunk_seconds', { endpoint })
          : [],
      ),
    );
    register(
      registry,
      'companion_tokens_total',
      'Model tokens processed, as Ollama counts them (kind: prompt or completion).',
      'counter',
      () =>
        [...this.tokens].flatMap(([model, t]) => [
          ...(t.prompt > 0 ? [{ labels: { kind: 'prompt', model }, value: t.prompt }] : []),
          ...(t.completion > 0 ? [{ labels: { kind: 'completion', model }, value: t.completion }] : []),
        ]),
    );
  }

  /** One answered request; `firstChunkSeconds` is null when no body byte came back. */
  request(endpoint: string, status: number, seconds: number, firstChunkSeconds: number | null): void {
    let figures = this.endpoints.get(endpoint);
    if (!figures) {
      figures = { byStatus: new Map(), duration: new Timing(), firstChunk: new Timing() };
      this.endpoints.set(endpoint, figures);
    }
    figures.byStatus.set(status, (figures.byStatus.get(status) ?? 0) + 1);
    figures.duration.observe(seconds);
    if (firstChunkSeconds !== null) figures.firstChunk.observe(firstChunkSeconds);
  }

  modelTokens(model: string, prompt: number, completion: number): void {
    if (prompt <= 0 && completion <= 0) return;
    let counts = this.tokens.get(model);
    if (!counts) {
      counts = { prompt: 0, completion: 0 };
      this.tokens.set(model, counts);
    }
    counts.prompt += prompt;
    counts.completion += completion;
  }
}

/** Hands prom-client's registry a metric it reads like its own. */
function register(
  registry: Registry,
  name: string,
  help: string,
  type: 'counter' | 'histogram',
  values: () => Sample[],
): void {
  const metric = {
    name,
    help,
    type,
    aggregator: 'sum',
    get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
    reset() {},
  };
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
}
