/** The audit log through the API: every admin action and refused attempt, newest first. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { badRequest } from '../errors/companion-error.js';
import type { AuditEntry } from '../store/audit-repository.js';
import type { AdminRouteDeps, TypeBoxProvider } from './admin-plugin.js';
import { Page } from './api-views.js';

const Outcome = Type.Union([Type.Literal('ok'), Type.Literal('denied'), Type.Literal('failed')]);

const AuditItem = Type.Object({
  id: Type.Integer(),
  at: Type.String({ description: 'When, ISO 8601.' }),
  adminId: Type.Union([Type.String(), Type.Null()]),
  adminUsername: Type.Union([Type.String(), Type.Null()], {
    description: 'Who; for sign-in attempts, the name that was tried.',
  }),
  action: Type.String({ description: 'What: login, logout, setup, token.create, admin.update, …' }),
  targetType: Type.Union([Type.String(), Type.Null()]),
  targetId: Type.Union([Type.String(), Type.Null()]),
  details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()], { description: 'From where.' }),
  outcome: Outcome,
});

const AuditQuery = Type.Object(
  {
    cursor: Type.Optional(Type.String({ maxLength: 32 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
    outcome: Type.Optional(Outcome),
    action: Type.Optional(Type.String({ maxLength: 100 })),
    admin: Type.Optional(Type.String({ maxLength: 100, description: 'Only this admin id.' })),
  },
  { additionalProperties: false },
);

const item = (entry: AuditEntry) => ({ ...entry, at: new Date(entry.at).toISOString() });

export async function auditRoutes(app: FastifyInstance, deps: AdminRouteDeps): Promise<void> {
  const api = app.withTypeProvider<TypeBoxProvider>();

  api.get(
    '/audit',
    {
      onRequest: deps.requireRole('viewer'),
      schema: {
        summary: 'Admin actions and refused attempts: who, what, when, from where',
        tags: ['audit'],
        querystring: AuditQuery,
        response: { 200: Page(AuditItem) },
      },
    },
    async (request) => {
      const { cursor, outcome, action, admin } = request.query;
      const limit = request.query.limit ?? 100;
      let before: number | undefined;
      if (cursor !== undefined) {
        before = Number(cursor);
        if (!Number.isSafeInteger(before) || before < 1) throw badRequest('invalid cursor');
      }
      const entries = deps.auditLog.list({
        limit: limit + 1,
        ...(before !== undefined ? { before } : {}),
        ...(outcome !== undefined ? { outcome } : {}),
        ...(action !== undefined ? { action } : {}),
        ...(admin !== undefined ? { adminId: admin } : {}),
      });
      const page = entries.slice(0, limit);
      const next = entries.length > limit ? String(page[page.length - 1]!.id) : null;
      return { items: page.map(item), next };
    },
  );
}
