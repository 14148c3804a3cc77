/**
 * The answer to a request whose handler threw: both ways into the proxy (the fast path
 * and Fastify's hijacked routes) write their answers themselves, so neither gets
 * Fastify's own error handling, and without this the client would wait forever.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { CompanionError } from '../errors/companion-error.js';
import type { Endpoint } from '../proxy/endpoint-catalogue.js';
import { errorBody, errorHeaders } from './error-shapes.js';

/** Logs the failure and answers 500 in the route's shape, or cuts an answer already begun. */
export function answerHandlerFailure(
  res: ServerResponse,
  endpoint: Endpoint,
  presetHeaders: OutgoingHttpHeaders,
  error: unknown,
  log: Pick<Logger, 'error'>,
): void {
  log.error({ err: error, path: endpoint.path }, 'request failed');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const failure = new CompanionError('internal', 500, 'internal', { cause: error });
  res.writeHead(500, { ...presetHeaders, ...errorHeaders(failure) }).end(errorBody(endpoint.wire, failure));
}
