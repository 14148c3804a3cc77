/**
 * Starting and stopping the server. On SIGTERM or SIGINT it stops accepting, lets
 * running answers finish for up to `shutdownGraceMs`, cuts what is left (recording them
 * as cut by the shutdown), writes all pending history and exits 0 — or 1 when history
 * could not be written (a full disk), after saying in the log what was lost.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config-schema.js';
import { buildApp } from './app.js';
import { type Companion, createCompanion } from './companion.js';
import { createLogger } from './logger.js';
import { trackSilentConnections } from './silent-connections.js';

export interface RunningServer {
  app: FastifyInstance;
  companion: Companion;
  url: string;
  stop(): Promise<void>;
}

export async function startServer(config: Config): Promise<RunningServer> {
  const log = createLogger(config.logLevel);
  const companion = createCompanion(config, log);
  const app = await buildApp(companion);
  const closeSilentConnections = trackSilentConnections(app.server);
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `${config.tlsCert ? 'https' : 'http'}://${host}:${port}`;
  log.info(
    { url, upstream: config.upstream, dataDir: config.dataDir, node: companion.nodeId },
    'companion listening',
  );
  // After the listening line, so a warning that Ollama does not answer follows it.
  companion.upstreamWatch.start();

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      const grace = setTimeout(() => {
        // Said first, so the answers cut now are recorded as cut by the shutdown.
        companion.shutdown.abort();
        app.server.closeAllConnections();
      }, config.shutdownGraceMs);
      // A kept-alive connection whose answer finished after the close began, or one that
      // never sent a request, would otherwise hold the close open until the grace period ends.
      const idle = setInterval(() => {
        app.server.closeIdleConnections();
        closeSilentConnections();
      }, 50);
      await companion.upstreamWatch.stop();
      await app.close();
      clearTimeout(grace);
      clearInterval(idle);
      await companion.close();
      log.info('companion stopped');
      await new Promise<void>((resolve) => log.flush(() => resolve()));
    })();
    return stopping;
  };
  return { app, companion, url, stop };
}

/**
 * Runs until a signal arrives; exits 0 after a clean stop, 1 when history records or
 * usage counters could not be written before it (the log says how many).
 */
export async function serveUntilSignalled(config: Config): Promise<void> {
  const server = await startServer(config);
  const onSignal = (signal: NodeJS.Signals) => {
    server.companion.log.info({ signal }, 'stopping');
    server.stop().then(
      () => process.exit(server.companion.history.lost > 0 ? 1 : 0),
      (error: unknown) => {
        server.companion.log.error({ err: error }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  // Scripts wait for the "companion listening" line; it goes out once signals are handled.
  server.companion.log.flush();
}
