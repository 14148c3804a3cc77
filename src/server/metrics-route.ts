/**
 * `/metrics` in Prometheus format, for scrapers on this machine or holders of a token
 * with the `metrics` scope. A reverse proxy on the same machine connects from loopback
 * too, so a request that a proxy relayed needs a token.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { tokenFromHeaders } from '../auth/credentials.js';
import { CompanionError } from '../errors/companion-error.js';
import type { Companion } from './companion.js';
import { pathToken } from './path-guard.js';

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;
/** Headers a reverse proxy adds: a request carrying one came from elsewhere, whatever its socket says. */
const RELAYED = ['forwarded', 'x-forwarded-for', 'x-real-ip'];

/** A scraper on this machine, not a client relayed by a reverse proxy running here. */
function fromThisMachine(request: FastifyRequest): boolean {
  // request.ip is the socket's peer unless trustProxy names the proxy it came through.
  if (!LOOPBACK.test(request.ip)) return false;
  return RELAYED.every((name) => request.headers[name] === undefined);
}

export async function metricsRoute(app: FastifyInstance, companion: Companion): Promise<void> {
  app.get('/metrics', async (request, reply) => {
    const local = companion.config.metricsFromLoopback && fromThisMachine(request);
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
