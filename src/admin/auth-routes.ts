/**
 * Signing in and out: `POST /login` (throttled per account and per address, a new
 * session id each time), `POST /logout`, and `GET /me`, which the panel calls on load
 * to learn who is signed in and the CSRF token to send.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { verifyAdmin } from '../auth/admin-accounts.js';
import { SESSION_COOKIE } from '../auth/admin-sessions.js';
import { LoginThrottle } from '../auth/login-throttle.js';
import { CompanionError } from '../errors/companion-error.js';
import type { AdminRouteDeps, TypeBoxProvider } from './admin-plugin.js';
import { SessionAnswer, sessionAnswer } from './api-views.js';

const LoginBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 128 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);

/** A wait in words, rounded up to what a person would wait: "15 minutes", "40 seconds". */
function waitText(seconds: number): string {
  if (seconds < 60) return seconds === 1 ? '1 second' : `${Math.max(1, Math.ceil(seconds))} seconds`;
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

export async function authRoutes(app: FastifyInstance, deps: AdminRouteDeps): Promise<void> {
  const api = app.withTypeProvider<TypeBoxProvider>();

  api.post(
    '/login',
    {
      config: { adminPublic: true },
      schema: {
        summary: 'Sign in: sets the session cookie and answers the CSRF token',
        tags: ['session'],
        body: LoginBody,
        response: { 200: SessionAnswer },
      },
    },
    async (request, reply) => {
      const { username, password } = request.body;
      const attempt = await deps.throttle.attempt(LoginThrottle.keys(username, request.ip));
      if ('retryAfter' in attempt) {
        await deps.auditAs(request, { id: null, username }, 'login', null, { reason: 'throttled' }, 'denied');
        throw new CompanionError(
          'throttled',
          429,
          `too many failed sign-ins; try again in ${waitText(attempt.retryAfter)}`,
          {
            retryAfterSeconds: attempt.retryAfter,
          },
        );
      }
      const admin = await verifyAdmin(deps.admins, username, password);
      if (!admin) {
        await deps.auditAs(
          request,
          { id: null, username },
          'login',
          null,
          { reason: 'wrong credentials' },
          'failed',
        );
        throw new CompanionError('unauthenticated', 401, 'wrong username or password');
      }
      await attempt.succeeded();
      const session = await deps.sessions.start(
        admin,
        { ip: request.ip, userAgent: request.headers['user-agent'] },
        request.cookies[SESSION_COOKIE],
      );
      request.adminSignedIn = session.signedIn;
      deps.setSessionCookie(request, reply, session.cookieValue);
      await deps.audit(request, 'login', { type: 'admin', id: admin.id, name: admin.username });
      return sessionAnswer(admin, session.csrfToken);
    },
  );

  api.post(
    '/logout',
    {
      onRequest: deps.requireRole('viewer'),
      schema: { summary: 'Sign out: ends this session', tags: ['session'] },
    },
    async (request, reply) => {
      await deps.sessions.end(request.cookies[SESSION_COOKIE]);
      deps.clearSessionCookie(request, reply);
      const { admin } = deps.signedIn(request);
      await deps.audit(request, 'logout', { type: 'admin', id: admin.id, name: admin.username });
      return reply.code(204).send();
    },
  );

  api.get(
    '/me',
    {
      onRequest: deps.requireRole('viewer'),
      schema: {
        summary: 'The signed-in admin and the CSRF token of this session',
        tags: ['session'],
        response: { 200: SessionAnswer },
      },
    },
    async (request) => {
      const { admin, session } = deps.signedIn(request);
      return sessionAnswer(admin, session.csrfToken);
    },
  );
}
