/**
 * The bare pass-through: the reference the benchmark holds the companion's proxy to. It
 * measures what the least a proxy in front of Ollama must do costs on Node: a
 * `node:http` server that checks one bearer secret and streams the answer of an undici
 * pool back unchanged, and nothing else.
 *
 * What it does, as the companion must too: compares `Authorization` with the one known
 * `Bearer <secret>` in constant time and answers 401 otherwise; forwards the method,
 * path and body (streamed, never buffered) over a keep-alive undici Pool with the
 * companion's 256 connections, with the client's headers minus the credential and the
 * hop-by-hop ones (undici sets `Host` to the upstream's); writes Ollama's status and
 * headers (minus hop-by-hop ones) and hands the body on chunk by chunk with backpressure
 * through undici's `stream()`, its fastest API for this; answers 502 when Ollama cannot
 * be reached.
 *
 * What it does not do, and the companion does: look a token up among many (hash and
 * map), parse the request to learn its model, apply scopes, model rules, quotas and a
 * concurrency cap, tap the answer to reassemble it for history, queue the record to the
 * writer thread and store it in SQLite, count metrics, log, handle CORS or route more
 * than one path. So the companion's requests/s over this one's is the price of those
 * features, and the CPU gap between the two is the companion's own code.
 *
 * Plain JavaScript on plain Node (no TypeScript loader: tsx's loader thread alone adds
 * some 40 MB of RSS), started with the same Node flags as the companion's executable,
 * so the two differ in their code only. The secret comes from BARE_SECRET in the
 * environment, never the command line. Prints `{"url":"http://127.0.0.1:PORT"}` once
 * listening; exits on SIGTERM/SIGINT.
 *
 *   BARE_SECRET=… node bench/bare-pass-through.js --upstream http://127.0.0.1:11434 [--port 0]
 */
import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    upstream: { type: 'string' },
  },
  strict: true,
});
const secret = process.env.BARE_SECRET;
if (!values.upstream || !secret) {
  process.stderr.write('bare-pass-through: needs --upstream URL and BARE_SECRET in the environment\n');
  process.exit(2);
}

const expected = Buffer.from(`Bearer ${secret}`);

/** Constant time over the secret's length; only a wrong length is refused sooner. */
function authorized(header) {
  if (typeof header !== 'string' || header.length !== expected.length) return false;
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Headers that describe one hop, and the credential, which must not reach Ollama. */
const NOT_FORWARDED = new Set([
  'host',
  'authorization',
  'connection',
  'keep-alive',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

const pool = new Pool(values.upstream, {
  connections: 256,
  pipelining: 1,
  keepAliveTimeout: 30_000,
  keepAliveMaxTimeout: 600_000,
});

const server = http.createServer((req, res) => {
  if (!authorized(req.headers.authorization)) {
    req.resume();
    res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
    res.end('{"error":"unauthorized"}');
    return;
  }
  const headers = {};
  for (const name in req.headers) if (!NOT_FORWARDED.has(name)) headers[name] = req.headers[name];
  const hasBody =
    req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  // undici's stream(): its own way of piping an answer into a Writable, with backpressure;
  // a client that goes away ends `res` early, and undici then aborts the upstream request.
  pool.stream(
    { method: req.method, path: req.url, headers, body: hasBody ? req : null },
    ({ statusCode, headers: upstreamHeaders }) => {
      const out = {};
      for (const name in upstreamHeaders) if (!HOP_BY_HOP.has(name)) out[name] = upstreamHeaders[name];
      res.writeHead(statusCode, out);
      return res;
    },
    (error) => {
      if (!error || res.headersSent) return;
      res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":"cannot reach Ollama"}');
    },
  );
});

server.listen(Number(values.port), values.host, () => {
  const { port } = server.address();
  process.stdout.write(`${JSON.stringify({ url: `http://${values.host}:${port}` })}\n`);
});

function stop() {
  server.close();
  server.closeAllConnections();
  pool.close().finally(() => process.exit(0));
}
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
