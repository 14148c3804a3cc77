/**
 * `GET /healthz` (the process answers) and `GET /readyz` (Ollama answered the last check
 * and the store takes a write), for load balancers and service managers. Both answer
 * without a token and say nothing else: no URLs, versions, paths or counts.
 */
import type { FastifyInstance } from 'fastify';

export interface HealthDeps {
  /** Whether Ollama answered the upstream watch's last check. */
  ollamaReachable(): boolean;
  /** A write that changes nothing. @throws when the store cannot be written */
  probeStore(): void;
  log: { warn(fields: Record<string, unknown>, message: string): void; info(message: string): void };
}

/**
 * How long one store check stands: /readyz is unauthenticated, so a client polling it
 * hard costs at most one tiny write per second.
 */
const STORE_CHECK_MS = 1000;

export async function healthRoutes(app: FastifyInstance, deps: HealthDeps): Promise<void> {
  let checkedAt = Number.NEGATIVE_INFINITY;
  let writable: boolean | undefined;
  const storeWritable = (): boolean => {
    const now = Date.now();
    if (writable !== undefined && now - checkedAt < STORE_CHECK_MS) return writable;
    checkedAt = now;
    let ok = true;
    try {
      deps.probeStore();
    } catch (error) {
      ok = false;
      // Said once per change of state, like the upstream watch.
      if (writable !== false) deps.log.warn({ err: (error as Error).message }, 'the store cannot be written');
    }
    if (ok && writable === false) deps.log.info('the store can be written again');
    writable = ok;
    return ok;
  };

  app.get('/healthz', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { status: 'ok' };
  });

  app.get('/readyz', async (_request, reply) => {
    const ollama = deps.ollamaReachable();
    const store = storeWritable();
    const ready = ollama && store;
    reply.code(ready ? 200 : 503).header('cache-control', 'no-store');
    return { status: ready ? 'ready' : 'not ready', ollama, store };
  });
}
