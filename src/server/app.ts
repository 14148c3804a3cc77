/**
 * Assembles the HTTP app from the companion's parts. Wiring only: each concern lives
 * in the module it is registered from.
 */
import cors from '@fastify/cors';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { adminPlugin } from '../admin/admin-plugin.js';
import { proxyTrust } from './client-address.js';
import type { Companion } from './companion.js';
import { ConnectionGuard } from './connection-guard.js';
import { createOriginMatcher } from './cors-origins.js';
import { healthRoutes } from './health-routes.js';
import { installErrorHandlers } from './http-errors.js';
import { clientErrorHandler, serverFactory } from './http-server.js';
import { metricsRoute } from './metrics-route.js';
import { rewriteUrl } from './path-guard.js';
import { ProxyFastPath } from './proxy-fast-path.js';
import { createProxyHandler, proxyRoutes } from './proxy-routes.js';

export async function buildApp(companion: Companion): Promise<FastifyInstance> {
  const { config } = companion;
  const proxy = createProxyHandler(companion);
  const trust = proxyTrust(config.trustProxy);
  const guard = new ConnectionGuard({
    headersTimeoutMs: config.headersTimeoutMs,
    bodyIdleTimeoutMs: config.bodyIdleTimeoutMs,
    maxUnauthenticatedPerAddress: config.maxUnauthenticatedPerAddress,
    exempt: (address) => trust?.(address, 0) ?? false,
  });
  const fastPath = new ProxyFastPath(proxy, config.bodyLimitBytes, companion.log, trust, guard);
  const app = Fastify({
    serverFactory: serverFactory(config, fastPath, guard),
    clientErrorHandler,
    loggerInstance: companion.log,
    // Requests are logged by the proxy with the cleaned path and the token prefix only.
    logController: new LogController({ disableRequestLogging: true }),
    // Nothing logs through the per-request logger, so no child logger is made per request.
    childLoggerFactory: (logger) => logger,
    // HEAD routes are catalogued explicitly, like Ollama's.
    exposeHeadRoutes: false,
    bodyLimit: config.bodyLimitBytes,
    // request.ip and request.protocol read X-Forwarded-* only from the configured proxies.
    trustProxy: trust ?? false,
    rewriteUrl,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  }) as unknown as FastifyInstance;
  app.addHook('preClose', (done) => {
    fastPath.close();
    done();
  });

  const allowed = createOriginMatcher(config.corsOrigins);
  await app.register(cors, {
    // A request without Origin is not a CORS request (curl, scripts, same-origin GETs):
    // it gets no CORS headers, as Ollama's own CORS layer does.
    origin: (origin, callback) => callback(null, origin !== undefined && allowed(origin)),
    methods: ['GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS'],
    maxAge: 600,
  });
  installErrorHandlers(app, companion);
  await app.register(metricsRoute, companion);
  await app.register(healthRoutes, {
    ollamaReachable: () => companion.upstreamWatch.state().reachable === true,
    probeStore: companion.probeStore,
    log: companion.log,
  });
  await app.register(adminPlugin, companion);
  await app.register(proxyRoutes, { handler: proxy, authenticated: (socket) => guard.authenticated(socket) });
  return app;
}
