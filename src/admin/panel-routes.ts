/**
 * Serves the built web panel (web/dist): the admin panel at /admin (every client-side
 * path gets index.html), the token holder's page at /me, and the bundled assets under
 * /admin/assets/, and a small SVG icon at /favicon.ico and /favicon.svg. Only files found
 * in web/dist at load time can be served, so no request path ever reaches the file system. Panel pages carry a strict Content-Security-Policy:
 * same-origin scripts, styles and connections only, no framing, no inline code.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

export const PANEL_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': PANEL_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
};

/** A small inline icon (a rounded square with a dot), so browsers asking for one get it, not a 404. */
const FAVICON = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">' +
    '<rect width="32" height="32" rx="7" fill="#2563eb"/>' +
    '<circle cx="16" cy="16" r="7" fill="none" stroke="#fff" stroke-width="3"/></svg>',
);

const DEFAULT_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

interface Asset {
  body: Buffer;
  type: string;
}

interface Panel {
  index: Buffer;
  me: Buffer;
  assets: Map<string, Asset>;
}

/** Reads the built panel into memory (a few hundred kB); undefined when it is not built. */
function loadPanel(dist: string): Panel | undefined {
  const index = join(dist, 'index.html');
  const me = join(dist, 'me.html');
  if (!existsSync(index) || !existsSync(me)) return undefined;
  const assets = new Map<string, Asset>();
  const dir = join(dist, 'assets');
  if (existsSync(dir)) {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const type = TYPES[extname(entry.name)];
      if (entry.isFile() && type) assets.set(entry.name, { body: readFileSync(join(dir, entry.name)), type });
    }
  }
  return { index: readFileSync(index), me: readFileSync(me), assets };
}

export interface PanelOptions {
  /** Where the built panel is; web/dist of the package by default. */
  dist?: string;
}

export async function panelRoutes(app: FastifyInstance, options: PanelOptions = {}): Promise<void> {
  const dist = options.dist ?? DEFAULT_DIST;
  let panel: Panel | undefined;
  // Loaded on first use and kept: a missing build is looked for again on the next request.
  const current = () => {
    panel ??= loadPanel(dist);
    return panel;
  };

  const page = (reply: FastifyReply, pick: (p: Panel) => Buffer) => {
    reply.headers(SECURITY_HEADERS).header('cache-control', 'no-cache');
    const built = current();
    if (!built) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The admin panel is not built: run `npm run build`.\n');
    }
    return reply.type(TYPES['.html']!).send(pick(built));
  };

  // Pages, not API: kept out of the OpenAPI description.
  const common = { method: ['GET', 'HEAD'], schema: { hide: true } };
  app.route({ ...common, url: '/admin', handler: (_request, reply) => page(reply, (p) => p.index) });
  app.route({ ...common, url: '/me', handler: (_request, reply) => page(reply, (p) => p.me) });
  for (const url of ['/favicon.ico', '/favicon.svg']) {
    app.route({
      ...common,
      url,
      handler: (_request, reply) =>
        reply
          .headers(SECURITY_HEADERS)
          .header('cache-control', 'public, max-age=86400')
          .type(TYPES['.svg']!)
          .send(FAVICON),
    });
  }
  app.route({
    ...common,
    url: '/admin/*',
    handler: (request, reply) => {
      const path = (request.params as { '*': string })['*'];
      // The admin API answers its own unknown paths with its JSON 404.
      if (path === 'api' || path.startsWith('api/')) return reply.callNotFound();
      if (path.startsWith('assets/')) {
        const asset = current()?.assets.get(path.slice('assets/'.length));
        if (!asset) return reply.callNotFound();
        return reply
          .headers(SECURITY_HEADERS)
          .header('cache-control', 'public, max-age=31536000, immutable')
          .type(asset.type)
          .send(asset.body);
      }
      return page(reply, (p) => p.index);
    },
  });
}
