/**
 * The proxy's plain requests, taken straight from Node's HTTP server ahead of Fastify:
 * Fastify's routing, hooks and body parsing cost about a tenth of a proxied request's
 * CPU, and under a burst of new streams that delays every first chunk.
 *
 * Only a request that needs none of that work is taken: a catalogued route named
 * exactly (no path token, query or path parameter), no `Origin` (so no CORS), a body
 * (if any) announced by Content-Length, and a server that is not closing. Everything
 * else goes to Fastify as before, which answers it the same way, so the proxy handler
 * sees the same request either way.
 *
 * The request is admitted from its headers before a byte of its body is read: a
 * refused one, or one whose Content-Length is over the limit, is answered at once and
 * its body is never kept.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { CompanionError } from '../errors/companion-error.js';
import { ENDPOINTS, type Endpoint } from '../proxy/endpoint-catalogue.js';
import type { Admission, InboundRequest, ProxyHandler } from '../proxy/proxy-handler.js';
import { clientAddress, type ProxyTrust } from './client-address.js';
import type { ConnectionGuard } from './connection-guard.js';
import { errorBody, errorHeaders } from './error-shapes.js';
import { answerHandlerFailure } from './handler-failure.js';

/** The header the CORS layer sets on every answer whose origin rule is dynamic. */
const PRESET_HEADERS = { vary: 'Origin' };

export class ProxyFastPath {
  private readonly routes = new Map<string, Endpoint>();
  private closing = false;

  constructor(
    private readonly handler: ProxyHandler,
    private readonly bodyLimit: number,
    private readonly log: Logger,
    private readonly trust: ProxyTrust | undefined,
    private readonly guard: ConnectionGuard,
  ) {
    for (const endpoint of ENDPOINTS) {
      if (endpoint.body === 'stream' || endpoint.path.includes(':')) continue;
      this.routes.set(`${endpoint.method} ${endpoint.path}`, endpoint);
    }
  }

  /** From now on every request goes to Fastify, which answers 503 while closing. */
  close(): void {
    this.closing = true;
  }

  /** Takes the request and answers it, or returns false and leaves it untouched. */
  take(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.closing || req.headers.origin !== undefined) return false;
    const endpoint = this.routes.get(`${req.method} ${req.url}`);
    if (!endpoint || req.headers['transfer-encoding'] !== undefined) return false;
    const announced = req.headers['content-length'];
    // Only POST bodies are read (Fastify skips GET and HEAD bodies, parses DELETE ones).
    if (req.method !== 'POST') {
      if (announced !== undefined) return false;
      this.handle(endpoint, req, res, undefined, this.admit(endpoint, req));
      return true;
    }
    const length = Number(announced);
    if (!(length > 0)) return false;
    const admission = this.admit(endpoint, req);
    if (admission.refusal) {
      // The body stays unread; the connection cannot carry another request after it.
      res.setHeader('connection', 'close');
      this.handle(endpoint, req, res, undefined, admission);
      return true;
    }
    if (length > this.bodyLimit) {
      const tooLarge = new CompanionError('payload_too_large', 413, 'request body too large');
      res
        .writeHead(413, { ...PRESET_HEADERS, ...errorHeaders(tooLarge), connection: 'close' })
        .end(errorBody(endpoint.wire, tooLarge));
      return true;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A client that leaves mid-body gets no answer, and nothing was forwarded yet.
    req.on('error', () => {});
    req.on('end', () => this.handle(endpoint, req, res, Buffer.concat(chunks, length), admission));
    return true;
  }

  /** Admission from the headers; a connection that showed a valid token stops counting as unknown. */
  private admit(endpoint: Endpoint, req: IncomingMessage): Admission {
    const admission = this.handler.admit(endpoint, req.headers, undefined);
    if (admission.known) this.guard.authenticated(req.socket);
    return admission;
  }

  private handle(
    endpoint: Endpoint,
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer | undefined,
    admission: Admission,
  ) {
    try {
      this.handler.handle(endpoint, this.inbound(req, endpoint, body), res, admission);
    } catch (error) {
      answerHandlerFailure(res, endpoint, PRESET_HEADERS, error, this.log);
    }
  }

  private inbound(req: IncomingMessage, endpoint: Endpoint, body: Buffer | undefined): InboundRequest {
    return {
      method: endpoint.method,
      url: endpoint.path,
      headers: req.headers,
      params: {},
      body,
      pathToken: undefined,
      clientAddr: clientAddress(req, this.trust),
      presetHeaders: PRESET_HEADERS,
    };
  }
}
