/**
 * Registers every catalogued Ollama endpoint as a route that hands the request to the
 * proxy handler. Each request is admitted from its headers in the route's onRequest
 * hook, before Fastify reads a byte of the body; a refused one is answered there and
 * its body never read. Bodies are kept as raw bytes (forwarded unchanged), except blob
 * uploads, which stream through without being buffered.
 */
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { tokenFromHeaders } from '../auth/credentials.js';
import { ENDPOINTS, type Endpoint } from '../proxy/endpoint-catalogue.js';
import { type Admission, type InboundRequest, ProxyHandler } from '../proxy/proxy-handler.js';
import type { Companion } from './companion.js';
import { answerHandlerFailure } from './handler-failure.js';
import { pathToken } from './path-guard.js';

/** What the proxy routes need: the handler, and who to tell that a connection showed a valid token. */
export interface ProxyRouteDeps {
  handler: ProxyHandler;
  authenticated: (socket: Socket) => void;
}

/** Each admitted request's admission, from its onRequest hook to its handler. */
const admissions = new WeakMap<IncomingMessage, Admission>();

function toInbound(request: FastifyRequest, reply: FastifyReply): InboundRequest {
  return {
    method: request.method,
    url: request.url,
    headers: request.headers,
    params: request.params as Record<string, string>,
    body: request.body as Buffer | Readable | undefined,
    pathToken: pathToken(request.raw),
    clientAddr: request.ip,
    presetHeaders: reply.getHeaders(),
  };
}

/** The one proxy handler, shared by these routes and the fast path in front of Fastify. */
export function createProxyHandler(companion: Companion): ProxyHandler {
  return new ProxyHandler({
    directory: companion.directory,
    ledger: companion.ledger,
    upstream: companion.upstream,
    history: companion.history,
    metrics: companion.metrics,
    log: companion.log,
    nodeId: companion.nodeId,
    upstreamUrl: companion.config.upstream,
    publicStatus: companion.config.publicStatus,
    tokenFromHeaders,
    shutdown: companion.shutdown.signal,
  });
}

export async function proxyRoutes(app: FastifyInstance, deps: ProxyRouteDeps): Promise<void> {
  const { handler } = deps;
  const route = (scope: FastifyInstance, endpoint: Endpoint, bodyLimit?: number) =>
    scope.route({
      method: endpoint.method,
      url: endpoint.path,
      ...(bodyLimit ? { bodyLimit } : {}),
      // Runs before Fastify reads the body (CORS headers are already set by then).
      onRequest(request, reply, done) {
        const admission = handler.admit(endpoint, request.headers, pathToken(request.raw));
        if (admission.known) deps.authenticated(request.raw.socket);
        if (!admission.refusal) {
          admissions.set(request.raw, admission);
          done();
          return;
        }
        // Answered here, body unread; the connection cannot carry another request after it.
        if (request.headers['content-length'] || request.headers['transfer-encoding']) {
          reply.header('connection', 'close');
        }
        reply.hijack();
        handler.handle(endpoint, toInbound(request, reply), reply.raw, admission);
      },
      handler(request, reply) {
        // The proxy writes the answer itself, chunk by chunk, as Ollama sends it.
        reply.hijack();
        try {
          handler.handle(endpoint, toInbound(request, reply), reply.raw, admissions.get(request.raw));
        } catch (error) {
          answerHandlerFailure(
            reply.raw,
            endpoint,
            reply.getHeaders() as OutgoingHttpHeaders,
            error,
            request.log,
          );
        }
      },
    });

  // Ollama ignores Content-Type; so does the companion: every body is bytes to forward.
  await app.register(async (buffered) => {
    buffered.removeAllContentTypeParsers();
    buffered.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    for (const endpoint of ENDPOINTS.filter((e) => e.body !== 'stream')) route(buffered, endpoint);
  });

  // Blob uploads can be gigabytes: their parser hands on the stream unread.
  await app.register(async (blobs) => {
    blobs.removeAllContentTypeParsers();
    blobs.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    for (const endpoint of ENDPOINTS.filter((e) => e.body === 'stream')) {
      route(blobs, endpoint, Number.MAX_SAFE_INTEGER);
    }
  });
}
