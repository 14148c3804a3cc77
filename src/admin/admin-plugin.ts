/**
 * The admin API's frame: cookies, the OpenAPI description, schema validation, the
 * session, CSRF and role guards, the audit trail, and the registration of every admin
 * route module under `/admin/api`. Route modules receive `AdminRouteDeps` and guard
 * each route with `requireRole`; a route under `/admin/api` without a guard (and not
 * marked public) stops the server from starting, so nothing is exposed by omission.
 */
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifySchemaCompiler,
  FastifyTypeProvider,
  RouteOptions,
} from 'fastify';
import type { AuditOutcome } from '../audit/audit-log.js';
import type { AuditStore } from '../audit/audit-store.js';
import { AdminSessions, SESSION_COOKIE, type SignedIn } from '../auth/admin-sessions.js';
import type { AdminRole, AdminStore } from '../auth/admin-store.js';
import { LoginThrottle } from '../auth/login-throttle.js';
import { MemoryLoginFailures } from '../auth/memory-login-failures.js';
import { CompanionError } from '../errors/companion-error.js';
import { schemaProblem } from '../errors/schema-error-message.js';
import type { Companion } from '../server/companion.js';
import type { CurrentSettings } from '../settings/current-settings.js';
import { adminsRoutes } from './admins-routes.js';
import { auditRoutes } from './audit-routes.js';
import { authRoutes } from './auth-routes.js';
import { historyExportRoutes } from './history-export-routes.js';
import { historyListRoutes } from './history-list-routes.js';
import { historyRecordRoutes } from './history-record-routes.js';
import { historyRedactionRoutes } from './history-redaction-routes.js';
import { panelRoutes } from './panel-routes.js';
import { selfServiceRoutes } from './self-service-routes.js';
import { settingsRoutes } from './settings-routes.js';
import { announceSetupLink, SetupLink, setupRoutes } from './setup-routes.js';
import { statusRoutes } from './status-routes.js';
import { tokenRoutes } from './token-routes.js';
import { usageRoutes } from './usage-routes.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in admin on admin routes; null when the request carries no live session. */
    adminSignedIn: SignedIn | null;
  }
  interface FastifyContextConfig {
    /** Audit action recorded when the route's guard refuses a request (default: method and URL). */
    auditAction?: string;
    /** Audit target type for refusals; the target id is the route's `:id` parameter. */
    auditTarget?: string;
    /** Marks an `/admin/api` route that needs no session (login, setup, the OpenAPI document). */
    adminPublic?: boolean;
  }
}

/** Lets route handlers see TypeBox route schemas as TypeScript types. */
export interface TypeBoxProvider extends FastifyTypeProvider {
  validator: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
  serializer: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
}

export const ROLE_RANK: Readonly<Record<AdminRole, number>> = { viewer: 1, admin: 2, owner: 3 };

export interface AuditTarget {
  type: string;
  id?: string | null;
  /** The target's name now (token name, admin username), kept with the entry. */
  name?: string | null;
}

export type RoleGuard = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/** What every admin route module receives. */
export interface AdminRouteDeps {
  companion: Companion;
  admins: AdminStore;
  sessions: AdminSessions;
  settings: CurrentSettings;
  auditLog: AuditStore;
  throttle: LoginThrottle;
  setupLink: SetupLink | undefined;
  /**
   * A hook (use it as the route's `onRequest`) that lets a request through only with a
   * live session, a matching `x-csrf-token` on state-changing methods, and at least
   * `role`. Refusals: 401 without a session, 403 `csrf_failed`, 403 `forbidden_role`
   * (audited as denied).
   */
  requireRole(role: AdminRole): RoleGuard;
  /** The signed-in admin; for handlers behind `requireRole`. @throws CompanionError 401 */
  signedIn(request: FastifyRequest): SignedIn;
  /** Appends to the audit log: who (the signed-in admin), what, when, from where. */
  audit(
    request: FastifyRequest,
    action: string,
    target: AuditTarget | null,
    details?: Record<string, unknown> | null,
    outcome?: AuditOutcome,
  ): Promise<void>;
  /** Like `audit`, naming who acted explicitly (sign-in, where no session exists yet). */
  auditAs(
    request: FastifyRequest,
    who: { id: string | null; username: string | null },
    action: string,
    target: AuditTarget | null,
    details: Record<string, unknown> | null,
    outcome: AuditOutcome,
  ): Promise<void>;
  /** Sets the session cookie: HttpOnly, SameSite=Strict, Path=/, Secure under HTTPS. */
  setSessionCookie(request: FastifyRequest, reply: FastifyReply, value: string): void;
  clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void;
}

/** Refused attempts before sign-in written to the audit log per address and window. */
const ANONYMOUS_AUDIT_BUDGET = { maxFailures: 20, windowMs: 15 * 60_000 };

const GUARD = Symbol('companion.adminGuard');
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const ADMIN_BODY_LIMIT = 1024 * 1024;

type Tagged = RoleGuard & { [GUARD]?: AdminRole };

/**
 * Validates with TypeBox: request bodies exactly (unknown fields are refused, not
 * dropped), query strings and path parameters after converting their strings to the
 * schema's types. Failures become 400 `bad_request` with a sentence naming the field and
 * the values it accepts (see schema-error-message.ts).
 */
const typeBoxValidator: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = TypeCompiler.Compile(schema);
  const part =
    httpPart === 'querystring' ? 'query parameter ' : httpPart === 'params' ? 'path parameter ' : '';
  return (data: unknown) => {
    let value = data;
    if (httpPart !== 'body') value = Value.Convert(schema, Value.Default(schema, Value.Clone(data ?? {})));
    if (check.Check(value)) return { value };
    const first = check.Errors(value).First();
    if (!first) return { error: new CompanionError('bad_request', 400, 'the request is not valid') };
    const { field, problem } = schemaProblem(schema, first);
    const subject = field ? `${part}${field}` : httpPart === 'body' ? 'the request body' : 'the request';
    return { error: new CompanionError('bad_request', 400, `${subject} ${problem}`) };
  };
};

function guardsOf(route: RouteOptions): Tagged[] {
  const hooks = [route.onRequest, route.preHandler, route.preValidation].flat();
  return hooks.filter((hook): hook is Tagged => typeof hook === 'function' && GUARD in hook);
}

async function buildDeps(companion: Companion): Promise<AdminRouteDeps> {
  const { admins, settings, auditLog } = companion;
  // Kept in memory: a restart may reset how many refusals an address may still write.
  const anonymousRefusals = new LoginThrottle(new MemoryLoginFailures(), ANONYMOUS_AUDIT_BUDGET);
  const sessions = new AdminSessions(
    companion.adminSessions,
    async () => (await settings.read()).sessionIdleMinutes * 60_000,
  );

  const auditAs: AdminRouteDeps['auditAs'] = async (request, who, action, target, details, outcome) => {
    if (who.id === null && outcome !== 'ok') {
      // Refusals before sign-in cost the sender nothing; past the address's budget they are
      // counted instead, so nobody can fill the disk with audit rows.
      if ('retryAfter' in (await anonymousRefusals.attempt([request.ip]))) {
        companion.metrics.auditUnrecorded.inc();
        return;
      }
    }
    await auditLog.append({
      at: Date.now(),
      actorKind: 'admin',
      adminId: who.id,
      adminUsername: who.username,
      osUser: null,
      action,
      targetType: target?.type ?? null,
      targetId: target?.id ?? null,
      targetName: target?.name ?? null,
      details,
      ip: request.ip,
      outcome,
    });
  };
  const audit: AdminRouteDeps['audit'] = (request, action, target, details = null, outcome = 'ok') => {
    const admin = request.adminSignedIn?.admin;
    return auditAs(
      request,
      { id: admin?.id ?? null, username: admin?.username ?? null },
      action,
      target,
      details,
      outcome,
    );
  };
  const signedIn = (request: FastifyRequest): SignedIn => {
    if (!request.adminSignedIn) throw new CompanionError('unauthenticated', 401, 'not signed in');
    return request.adminSignedIn;
  };
  const refuse = (request: FastifyRequest, reason: string, details: Record<string, unknown>) => {
    const config = request.routeOptions.config;
    const id = (request.params as Record<string, unknown> | undefined)?.id;
    return audit(
      request,
      config.auditAction ?? `${request.method} ${request.routeOptions.url ?? request.url}`,
      { type: config.auditTarget ?? 'route', id: typeof id === 'string' ? id : null },
      { reason, ...details },
      'denied',
    );
  };

  const requireRole = (role: AdminRole): RoleGuard => {
    const guard: Tagged = async (request) => {
      const current = signedIn(request);
      if (!SAFE_METHODS.has(request.method)) {
        if (!AdminSessions.csrfMatches(current, request.headers['x-csrf-token'])) {
          await refuse(request, 'csrf_failed', {});
          throw new CompanionError('csrf_failed', 403, 'missing or wrong x-csrf-token header');
        }
      }
      if (ROLE_RANK[current.admin.role] < ROLE_RANK[role]) {
        await refuse(request, 'forbidden_role', { required: role, role: current.admin.role });
        throw new CompanionError('forbidden_role', 403, `this needs the ${role} role or higher`);
      }
    };
    guard[GUARD] = role;
    return guard;
  };

  const cookieOptions = (request: FastifyRequest) => ({
    path: '/',
    httpOnly: true,
    sameSite: 'strict' as const,
    secure: request.protocol === 'https',
  });

  return {
    companion,
    admins,
    sessions,
    settings,
    auditLog,
    throttle: new LoginThrottle(companion.loginFailures),
    setupLink: (await admins.count()) === 0 ? new SetupLink() : undefined,
    requireRole,
    signedIn,
    audit,
    auditAs,
    setSessionCookie: (request, reply, value) =>
      void reply.setCookie(SESSION_COOKIE, value, cookieOptions(request)),
    clearSessionCookie: (request, reply) => void reply.clearCookie(SESSION_COOKIE, cookieOptions(request)),
  };
}

/** Registers the admin API (`/admin/api/*`), the token holders' `/api/companion/me` and the panel pages. */
export async function adminPlugin(app: FastifyInstance, companion: Companion): Promise<void> {
  const deps = await buildDeps(companion);

  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Ollama Companion admin API',
        version: '1',
        description:
          'Sign in with POST /admin/api/login; send the session cookie it sets and, on every ' +
          'state-changing call, the header x-csrf-token with the csrfToken it answered.',
      },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
          csrf: { type: 'apiKey', in: 'header', name: 'x-csrf-token' },
          token: { type: 'http', scheme: 'bearer' },
        },
      },
    },
  });
  app.setValidatorCompiler(typeBoxValidator);
  // Response schemas document the API; answers are written as they are, never trimmed.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // An empty JSON body (a bare POST /logout from fetch) reads as no body.
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '' || body === undefined) done(null, undefined);
    else json(request, body as string, done);
  });
  app.decorateRequest('adminSignedIn', null);

  await app.register(
    async (api) => {
      api.addHook('onRoute', (route) => {
        route.bodyLimit ??= ADMIN_BODY_LIMIT;
        if (route.config?.adminPublic === true || guardsOf(route).length > 0) return;
        throw new Error(
          `admin route ${route.method} ${route.url} has no guard: add onRequest: deps.requireRole(role) ` +
            'or config: { adminPublic: true }',
        );
      });
      api.addHook('onRequest', async (request) => {
        request.adminSignedIn = (await deps.sessions.lookup(request.cookies[SESSION_COOKIE])) ?? null;
      });
      // Answers carry session data (CSRF tokens, history): never kept by browsers or proxies.
      api.addHook('onSend', async (_request, reply, payload) => {
        if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
        return payload;
      });
      await api.register(authRoutes, deps);
      await api.register(setupRoutes, deps);
      await api.register(tokenRoutes, deps);
      await api.register(adminsRoutes, deps);
      await api.register(auditRoutes, deps);
      await api.register(settingsRoutes, deps);
      await api.register(historyListRoutes, deps);
      await api.register(historyRecordRoutes, deps);
      await api.register(historyRedactionRoutes, deps);
      await api.register(historyExportRoutes, deps);
      await api.register(usageRoutes, deps);
      await api.register(statusRoutes, deps);
      api.get('/openapi.json', { schema: { hide: true }, config: { adminPublic: true } }, async () =>
        app.swagger(),
      );
    },
    { prefix: '/admin/api' },
  );
  await app.register(selfServiceRoutes, deps);
  await app.register(panelRoutes);

  if (deps.setupLink) announceSetupLink(app, deps.setupLink, companion);
}
