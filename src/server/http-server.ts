/**
 * The HTTP(S) server Fastify runs on. The proxy's fast path sees each request first;
 * what it does not take goes to Fastify. Fastify leaves a server it did not create as
 * it is, so the connection settings it would have applied are set here, with the
 * timeouts that keep slow and idle clients from holding sockets.
 */
import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Config } from '../config/config-schema.js';
import type { ConnectionGuard } from './connection-guard.js';
import type { ProxyFastPath } from './proxy-fast-path.js';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

export function serverFactory(config: Config, fastPath: ProxyFastPath, guard: ConnectionGuard) {
  return (fastify: Listener): Server => {
    const listener: Listener = (req, res) => {
      guard.watchRequest(req, res);
      if (!fastPath.take(req, res)) fastify(req, res);
    };
    const options: http.ServerOptions = {
      // Headers that trickle in are cut at headersTimeout; Node checks at this interval.
      headersTimeout: config.headersTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(config.headersTimeoutMs / 4))),
      // No cap on a whole request's duration, as on the server Fastify would have made
      // (Node's default is 5 minutes): a model blob upload can take longer than that. A
      // body that stops arriving is cut by the connection guard's idle-body timeout.
      requestTimeout: 0,
    };
    const server =
      config.tlsCert && config.tlsKey
        ? https.createServer(
            {
              ...options,
              cert: readFileSync(config.tlsCert),
              key: readFileSync(config.tlsKey),
              handshakeTimeout: config.headersTimeoutMs,
            },
            listener,
          )
        : http.createServer(options, listener);
    // 65 s by default: longer than the usual 60 s idle timeout of clients and reverse
    // proxies, so the server is never the side that closes a connection about to be reused.
    server.keepAliveTimeout = config.keepAliveTimeoutMs;
    guard.attach(server);
    return server;
  };
}

/**
 * Answers a connection whose bytes are not HTTP, or whose headers came too slowly or
 * too large, then closes it. When an answer to that connection is already on its way
 * (bytes that follow a request the companion answered from its headers), a second
 * answer would corrupt the first, so the connection only closes once the first is out,
 * as Node's own handler does.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!socket.writable || inFlight?.headersSent) {
    if (socket.writableLength === 0) socket.destroy();
    else socket.once('drain', () => socket.destroy());
    return;
  }
  const status =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const body = JSON.stringify({ error: (STATUS_CODES[status] ?? 'bad request').toLowerCase() });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  socket.destroySoon();
}
