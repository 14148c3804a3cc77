/**
 * First start without any admin: a one-time setup link, printed on stdout when the
 * server starts listening, lets whoever can read the server's output create the first
 * owner. The link's token is random, valid for an hour, usable once, and refused as
 * soon as any admin exists (the CLI's `admin create` included).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { createAdmin } from '../auth/admin-accounts.js';
import { CompanionError } from '../errors/companion-error.js';
import type { Companion } from '../server/companion.js';
import type { AdminRouteDeps, TypeBoxProvider } from './admin-plugin.js';
import { SessionAnswer, sessionAnswer } from './api-views.js';

export const SETUP_LINK_MS = 3_600_000;

const digest = (token: string) => createHash('sha256').update(token).digest();

export class SetupLink {
  readonly token = randomBytes(32).toString('base64url');
  private readonly hash = digest(this.token);
  private readonly expiresAt: number;
  private used = false;
  private busy = false;
  /** The full link, known once the server listens. */
  url: string | undefined;

  constructor(private readonly now: () => number = Date.now) {
    this.expiresAt = now() + SETUP_LINK_MS;
  }

  /**
   * Checks a token against the link without using it, so the setup page can say at once
   * that a link is wrong or expired, before anyone fills in the form.
   * @throws CompanionError 403 setup_refused for a wrong, used or expired token.
   */
  check(token: string): { expiresAt: number } {
    const given = digest(token);
    if (!timingSafeEqual(given, this.hash) || this.used) {
      throw new CompanionError(
        'setup_refused',
        403,
        'this setup link is wrong: open the whole link the companion printed when it started (it ends with # and a code)',
      );
    }
    if (this.now() > this.expiresAt) {
      throw new CompanionError(
        'setup_refused',
        403,
        'this setup link has expired (it lasts an hour): restart the companion for a new one, or run `ollama-companion admin create`',
      );
    }
    return { expiresAt: this.expiresAt };
  }

  /**
   * Holds the link for one attempt: released by `finish(true)` (used up) or `finish(false)`.
   * @throws CompanionError 403 setup_refused for a wrong, used or expired token.
   */
  claim(token: string): { finish(used: boolean): void } {
    this.check(token);
    if (this.busy) throw new CompanionError('conflict', 409, 'setup is already in progress');
    this.busy = true;
    return {
      finish: (used) => {
        this.busy = false;
        if (used) this.used = true;
      },
    };
  }
}

const links = new WeakMap<Companion, SetupLink>();

/** The setup link a companion printed, while no admin exists (for tests and tools). */
export async function pendingSetupUrl(companion: Companion): Promise<string | undefined> {
  const link = links.get(companion);
  return link && (await companion.admins.count()) === 0 ? link.url : undefined;
}

/** Prints the link as one line on stdout once the server listens. */
export function announceSetupLink(app: FastifyInstance, link: SetupLink, companion: Companion): void {
  links.set(companion, link);
  app.addHook('onListen', async () => {
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : companion.config.port;
    const configured = companion.config.host;
    const host = ['0.0.0.0', '::', ''].includes(configured)
      ? 'localhost'
      : configured.includes(':')
        ? `[${configured}]`
        : configured;
    const scheme = companion.config.tlsCert ? 'https' : 'http';
    link.url = `${scheme}://${host}:${port}/admin/setup#${link.token}`;
    companion.log.warn('no admin account yet: open the setup link printed on stdout, or run `admin create`');
    if (companion.config.logLevel !== 'silent') {
      process.stdout.write(`Create the first owner within an hour at: ${link.url}\n`);
    }
  });
}

const CheckBody = Type.Object(
  { setupToken: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);

const SetupBody = Type.Object(
  {
    setupToken: Type.String({ minLength: 1, maxLength: 200 }),
    username: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);

export async function setupRoutes(app: FastifyInstance, deps: AdminRouteDeps): Promise<void> {
  const api = app.withTypeProvider<TypeBoxProvider>();

  api.get(
    '/setup',
    {
      config: { adminPublic: true },
      schema: {
        summary: 'Whether the first owner still has to be created',
        tags: ['session'],
        response: { 200: Type.Object({ setupNeeded: Type.Boolean() }) },
      },
    },
    async () => ({ setupNeeded: (await deps.admins.count()) === 0 }),
  );

  api.post(
    '/setup/check',
    {
      config: { adminPublic: true },
      schema: {
        summary: 'Whether a setup token is valid now, without using it (the setup page asks on opening)',
        tags: ['session'],
        body: CheckBody,
        response: { 200: Type.Object({ valid: Type.Literal(true), expiresAt: Type.String() }) },
      },
    },
    async (request) => {
      if ((await deps.admins.count()) > 0 || !deps.setupLink) {
        throw new CompanionError('conflict', 409, 'setup is done: sign in instead');
      }
      const { expiresAt } = deps.setupLink.check(request.body.setupToken);
      return { valid: true as const, expiresAt: new Date(expiresAt).toISOString() };
    },
  );

  api.post(
    '/setup',
    {
      config: { adminPublic: true },
      schema: {
        summary: 'Create the first owner with the one-time setup token; signs them in',
        tags: ['session'],
        body: SetupBody,
        response: { 201: SessionAnswer },
      },
    },
    async (request, reply) => {
      const { setupToken, username, password } = request.body;
      const who = { id: null, username };
      if ((await deps.admins.count()) > 0 || !deps.setupLink) {
        await deps.auditAs(request, who, 'setup', null, { reason: 'admin exists' }, 'denied');
        throw new CompanionError('conflict', 409, 'setup is done: sign in instead');
      }
      let claim: ReturnType<SetupLink['claim']>;
      try {
        claim = deps.setupLink.claim(setupToken);
      } catch (error) {
        await deps.auditAs(request, who, 'setup', null, { reason: (error as Error).message }, 'denied');
        throw error;
      }
      let admin: Awaited<ReturnType<typeof createAdmin>>;
      try {
        if ((await deps.admins.count()) > 0)
          throw new CompanionError('conflict', 409, 'setup is done: sign in instead');
        admin = await createAdmin(deps.admins, username, password, 'owner');
        claim.finish(true);
      } catch (error) {
        claim.finish(false);
        throw error;
      }
      const session = await deps.sessions.start(admin, {
        ip: request.ip,
        userAgent: request.headers['user-agent'],
      });
      deps.setSessionCookie(request, reply, session.cookieValue);
      await deps.auditAs(
        request,
        admin,
        'setup',
        { type: 'admin', id: admin.id, name: admin.username },
        { role: 'owner' },
        'ok',
      );
      return reply.code(201).send(sessionAnswer(session.signedIn.admin, session.csrfToken));
    },
  );
}
