/**
 * The audit log through the API: every admin action and refused attempt, newest first,
 * from the admin API and from the command line alike. Each entry names its actor and
 * target by name and says what changed in words (`summary`) beside the raw `details`.
 * Filters: actor, action (one or a family), outcome and a time range.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import {
  type AuditEntry,
  type AuditQuery,
  actionFilter,
  actorFilter,
  actorName,
} from '../audit/audit-log.js';
import { auditSummary } from '../audit/audit-summary.js';
import { badRequest } from '../errors/companion-error.js';
import type { AdminRouteDeps, TypeBoxProvider } from './admin-plugin.js';
import { Page } from './api-views.js';

const Outcome = Type.Union([Type.Literal('ok'), Type.Literal('denied'), Type.Literal('failed')]);
const ActorKind = Type.Union([Type.Literal('admin'), Type.Literal('cli')], {
  description: 'admin: through the admin API or panel; cli: the command line on the machine.',
});
const NullableString = Type.Union([Type.String(), Type.Null()]);

const AuditItem = Type.Object({
  id: Type.Integer(),
  at: Type.String({ description: 'When, ISO 8601.' }),
  actor: Type.Union([Type.String(), Type.Null()], {
    description: 'Who: the admin’s username, or cli:<os user> for the command line.',
  }),
  actorKind: ActorKind,
  adminId: NullableString,
  adminUsername: Type.Union([Type.String(), Type.Null()], {
    description: 'The admin; for sign-in attempts, the name that was tried.',
  }),
  osUser: Type.Union([Type.String(), Type.Null()], { description: 'The OS user who ran the command.' }),
  action: Type.String({ description: 'What: login, logout, setup, token.create, admin.update, …' }),
  targetType: NullableString,
  targetId: NullableString,
  targetName: Type.Union([Type.String(), Type.Null()], {
    description: 'The target’s name when it happened: the token’s name, the admin’s username.',
  }),
  summary: Type.String({
    description: 'The details in words, e.g. "models: llama3.2:* → *; calls/day: 100".',
  }),
  details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()], { description: 'From where; null from the command line.' }),
  outcome: Outcome,
});

const Time = (description: string) =>
  Type.Optional(
    Type.String({ maxLength: 40, description: `${description}: ISO 8601 or epoch milliseconds.` }),
  );

const AuditQuerySchema = Type.Object(
  {
    cursor: Type.Optional(Type.String({ maxLength: 32 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
    outcome: Type.Optional(Outcome),
    actor: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'An admin’s username, cli for every command-line action, or cli:<os user>.',
      }),
    ),
    action: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 100,
        description: 'One action (token.update), or a family (token.*).',
      }),
    ),
    admin: Type.Optional(Type.String({ maxLength: 100, description: 'Only this admin id.' })),
    since: Time('Entries at or after this time'),
    until: Time('Entries before this time'),
  },
  { additionalProperties: false },
);

const Facets = Type.Object({
  actors: Type.Array(Type.Object({ actor: Type.String(), kind: ActorKind })),
  actions: Type.Array(Type.String()),
});

/** @throws CompanionError(bad_request) */
function parseTime(value: string | undefined, field: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = /^\d{1,15}$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw badRequest(`${field} must be an ISO 8601 time or epoch milliseconds`);
  return ms;
}

const item = (entry: AuditEntry) => ({
  id: entry.id,
  at: new Date(entry.at).toISOString(),
  actor: actorName(entry),
  actorKind: entry.actorKind,
  adminId: entry.adminId,
  adminUsername: entry.adminUsername,
  osUser: entry.osUser,
  action: entry.action,
  targetType: entry.targetType,
  targetId: entry.targetId,
  targetName: entry.targetName,
  summary: auditSummary(entry),
  details: entry.details,
  ip: entry.ip,
  outcome: entry.outcome,
});

export async function auditRoutes(app: FastifyInstance, deps: AdminRouteDeps): Promise<void> {
  const api = app.withTypeProvider<TypeBoxProvider>();

  api.get(
    '/audit',
    {
      onRequest: deps.requireRole('viewer'),
      schema: {
        summary: 'Admin actions and refused attempts: who, what, when, from where',
        tags: ['audit'],
        querystring: AuditQuerySchema,
        response: { 200: Page(AuditItem) },
      },
    },
    async (request) => {
      const { cursor, outcome, action, admin, actor } = request.query;
      const limit = request.query.limit ?? 100;
      const query: AuditQuery = { limit: limit + 1 };
      if (cursor !== undefined) {
        const before = Number(cursor);
        if (!Number.isSafeInteger(before) || before < 1) throw badRequest('invalid cursor');
        query.before = before;
      }
      if (outcome !== undefined) query.outcome = outcome;
      if (action !== undefined) query.action = actionFilter(action);
      if (admin !== undefined) query.adminId = admin;
      if (actor !== undefined) query.actor = actorFilter(actor);
      const since = parseTime(request.query.since, 'since');
      const until = parseTime(request.query.until, 'until');
      if (since !== undefined) query.since = since;
      if (until !== undefined) query.until = until;
      const entries = await deps.auditLog.list(query);
      const page = entries.slice(0, limit);
      const next = entries.length > limit ? String(page[page.length - 1]!.id) : null;
      return { items: page.map(item), next };
    },
  );

  api.get(
    '/audit/facets',
    {
      onRequest: deps.requireRole('viewer'),
      schema: {
        summary: 'The actors and actions the audit log holds, for its filters',
        tags: ['audit'],
        response: { 200: Facets },
      },
    },
    async () => ({ actors: await deps.auditLog.actors(), actions: await deps.auditLog.actions() }),
  );
}
