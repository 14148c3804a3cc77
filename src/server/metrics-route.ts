/**
 * `/metrics` in Prometheus format, for scrapers on this machine or holders of a token
 * with the `metrics` scope.
 */
import type { FastifyInstance } from 'fastify';
import { tokenFromHeaders } from '../auth/credentials.js';
import { CompanionError } from '../errors/companion-error.js';
import type { Companion } from './companion.js';
import { pathToken } from './path-guard.js';

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

export async function metricsRoute(app: FastifyInstance, companion: Companion): Promise<void> {
  app.get('/metrics', async (request, reply) => {
    const local = companion.config.metricsFromLoopback && LOOPBACK.test(request.socket.remoteAddress ?? '');
    if (!local) {
      const known = companion.directory.authenticate(
        pathToken(request.raw) ?? tokenFromHeaders(request.headers),
      );
      if (!known.token.scopes.includes('metrics')) {
        throw new CompanionError('forbidden_scope', 403, 'this token lacks the "metrics" scope needed here');
      }
    }
    reply.type(companion.metrics.registry.contentType);
    return companion.metrics.registry.metrics();
  });
}
