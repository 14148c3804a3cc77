/**
 * Fastify's error and not-found handlers: every error leaves in the wire shape of the
 * route it happened on. Framework errors (body too large, bad content) become
 * CompanionErrors first, so the shapes are decided in one place.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CompanionError } from '../errors/companion-error.js';
import { wireForPath } from '../proxy/endpoint-catalogue.js';
import { isStoreUnavailableError } from '../store/database.js';
import type { Companion } from './companion.js';
import { isPreflight, refusedOrigin } from './cors-origins.js';
import { type ErrorDialect, errorBody, errorHeaders } from './error-shapes.js';
import { pathRejected } from './path-guard.js';

function dialectFor(path: string): ErrorDialect {
  return path.startsWith('/admin/') ? 'admin' : wireForPath(path);
}

function toCompanionError(error: FastifyError | CompanionError | Error): CompanionError {
  if (error instanceof CompanionError) return error;
  if (isStoreUnavailableError(error)) {
    // A full disk (or a failing one) is the operator's to fix; the client can only wait.
    return new CompanionError(
      'store_unavailable',
      503,
      'the companion cannot write to its data store (the disk may be full); try again once space is freed',
      { retryAfterSeconds: 30, cause: error },
    );
  }
  const { code, statusCode } = error as FastifyError;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new CompanionError('payload_too_large', 413, 'request body too large');
  }
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
    return new CompanionError('bad_request', statusCode, error.message);
  }
  return new CompanionError('internal', 500, error.message, { cause: error });
}

export function send(request: FastifyRequest, reply: FastifyReply, error: CompanionError): FastifyReply {
  return reply
    .code(error.status)
    .headers(errorHeaders(error))
    .send(request.method === 'HEAD' ? undefined : errorBody(dialectFor(request.url), error));
}

/**
 * The answer to a request no route takes: a rejected path, a preflight the CORS layer
 * did not answer (its origin is not allowed), or an unknown endpoint.
 */
function unrouted(request: FastifyRequest): CompanionError {
  if (pathRejected(request.raw)) return new CompanionError('bad_request', 400, 'invalid request path');
  if (isPreflight(request.method, request.headers)) return refusedOrigin(String(request.headers.origin));
  return new CompanionError(
    'not_found',
    404,
    `unknown endpoint ${request.method} ${request.url.split('?')[0]}`,
  );
}

export function installErrorHandlers(app: FastifyInstance, companion: Companion): void {
  // Fastify would read an unrouted request's body before its not-found handler runs;
  // the route is known from the headers, so the answer goes out before any body is read.
  app.addHook('onRequest', (request, _reply, done) => {
    done(request.is404 ? unrouted(request) : undefined);
  });
  app.setErrorHandler((error: FastifyError | CompanionError, request, reply) => {
    const failure = toCompanionError(error);
    if (failure.status >= 500)
      companion.log.error({ err: error, path: request.routeOptions.url }, 'request failed');
    if (failure.status === 401) companion.metrics.unauthenticated.inc();
    return send(request, reply, failure);
  });
  app.setNotFoundHandler((request, reply) => send(request, reply, unrouted(request)));
}
