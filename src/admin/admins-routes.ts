/**
 * Admin accounts through the API: everyone signed in may list them; only owners create,
 * change (role, password) and remove them. The last owner can be neither demoted nor
 * removed. A changed password signs that account out everywhere else; a removed account's
 * sessions end with it; a changed role applies to the account's next request.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { changeAdmin, createAdmin, removeAdmin } from '../auth/admin-accounts.js';
import type { AdminRouteDeps, TypeBoxProvider } from './admin-plugin.js';
import { AdminView, adminView, Role } from './api-views.js';

const Password = Type.String({ minLength: 1, maxLength: 1024 });
const CreateBody = Type.Object(
  { username: Type.String({ minLength: 1, maxLength: 64 }), password: Password, role: Role },
  { additionalProperties: false },
);
const PatchBody = Type.Object(
  { role: Type.Optional(Role), password: Type.Optional(Password) },
  { additionalProperties: false, minProperties: 1 },
);
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });

export async function adminsRoutes(app: FastifyInstance, deps: AdminRouteDeps): Promise<void> {
  const api = app.withTypeProvider<TypeBoxProvider>();
  const target = (admin: { id: string; username: string }) => ({
    type: 'admin',
    id: admin.id,
    name: admin.username,
  });

  api.get(
    '/admins',
    {
      onRequest: deps.requireRole('viewer'),
      schema: {
        summary: 'Every admin account',
        tags: ['admins'],
        response: { 200: Type.Object({ items: Type.Array(AdminView) }) },
      },
    },
    async () => ({ items: (await deps.admins.list()).map(adminView) }),
  );

  api.post(
    '/admins',
    {
      onRequest: deps.requireRole('owner'),
      config: { auditAction: 'admin.create', auditTarget: 'admin' },
      schema: {
        summary: 'Create an admin account (owners only)',
        tags: ['admins'],
        body: CreateBody,
        response: { 201: AdminView },
      },
    },
    async (request, reply) => {
      const { username, password, role } = request.body;
      const admin = await createAdmin(deps.admins, username, password, role);
      await deps.audit(request, 'admin.create', target(admin), { username, role });
      return reply.code(201).send(adminView(admin));
    },
  );

  api.patch(
    '/admins/:id',
    {
      onRequest: deps.requireRole('owner'),
      config: { auditAction: 'admin.update', auditTarget: 'admin' },
      schema: {
        summary: 'Change an account’s role or password (owners only)',
        tags: ['admins'],
        params: IdParams,
        body: PatchBody,
        response: { 200: AdminView },
      },
    },
    async (request) => {
      const { role, password } = request.body;
      const before = await deps.admins.findById(request.params.id);
      const admin = await changeAdmin(deps.admins, request.params.id, {
        ...(role !== undefined ? { role } : {}),
        ...(password !== undefined ? { password } : {}),
      });
      const ended =
        password === undefined ? 0 : await deps.sessions.endAllFor(admin.id, deps.signedIn(request));
      await deps.audit(request, 'admin.update', target(admin), {
        username: admin.username,
        ...(role !== undefined ? { role: { from: before?.role ?? null, to: admin.role } } : {}),
        ...(password !== undefined ? { passwordChanged: true, sessionsEnded: ended } : {}),
      });
      return adminView(admin);
    },
  );

  api.delete(
    '/admins/:id',
    {
      onRequest: deps.requireRole('owner'),
      config: { auditAction: 'admin.delete', auditTarget: 'admin' },
      schema: {
        summary: 'Remove an account and end its sessions (owners only)',
        tags: ['admins'],
        params: IdParams,
        response: { 200: AdminView },
      },
    },
    async (request) => {
      const admin = await removeAdmin(deps.admins, request.params.id);
      await deps.audit(request, 'admin.delete', target(admin), {
        username: admin.username,
        role: admin.role,
      });
      return adminView(admin);
    },
  );
}
