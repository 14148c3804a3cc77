/**
 * The HTTP(S) server Fastify runs on. The proxy's fast path sees each request first;
 * what it does not take goes to Fastify. Fastify leaves a server it did not create as
 * it is, so the connection settings it would have applied are set here.
 */
import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Config } from '../config/config-schema.js';
import type { ProxyFastPath } from './proxy-fast-path.js';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

export function serverFactory(config: Config, fastPath: ProxyFastPath) {
  return (fastify: Listener): Server => {
    const listener: Listener = (req, res) => {
      if (!fastPath.take(req, res)) fastify(req, res);
    };
    const server =
      config.tlsCert && config.tlsKey
        ? https.createServer(
            { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) },
            listener,
          )
        : http.createServer(listener);
    // Longer than the usual 60 s idle timeout of clients and reverse proxies, so the
    // server is never the side that closes a connection a client is about to reuse.
    server.keepAliveTimeout = 65_000;
    // No cap on a whole request's duration, as on the server Fastify would have made
    // (Node's default is 5 minutes): a model blob upload can take longer than that.
    server.requestTimeout = 0;
    return server;
  };
}
