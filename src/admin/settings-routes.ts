/**
 * Runtime settings through the API: history retention and the session idle time. A
 * change is stored at once and read by the parts that use it on their next run.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import {
  type RuntimeSettings,
  RuntimeSettingsSchema,
  type SettingKey,
} from '../settings/runtime-settings.js';
import type { AdminRouteDeps, TypeBoxProvider } from './admin-plugin.js';

const PatchBody = Type.Partial(RuntimeSettingsSchema, { additionalProperties: false, minProperties: 1 });

export async function settingsRoutes(app: FastifyInstance, deps: AdminRouteDeps): Promise<void> {
  const api = app.withTypeProvider<TypeBoxProvider>();

  api.get(
    '/settings',
    {
      onRequest: deps.requireRole('viewer'),
      schema: {
        summary: 'The settings that can change while the companion runs',
        tags: ['settings'],
        response: { 200: RuntimeSettingsSchema },
      },
    },
    async () => deps.settings.read(),
  );

  api.patch(
    '/settings',
    {
      onRequest: deps.requireRole('admin'),
      config: { auditAction: 'settings.update', auditTarget: 'settings' },
      schema: {
        summary: 'Change settings; only the fields given change',
        tags: ['settings'],
        body: PatchBody,
        response: { 200: RuntimeSettingsSchema },
      },
    },
    async (request) => {
      const before = await deps.settings.read();
      const after = await deps.settings.write(request.body);
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      for (const key of Object.keys(request.body) as SettingKey[]) {
        if (before[key] !== after[key]) changes[key] = { from: before[key], to: after[key] };
      }
      await deps.audit(request, 'settings.update', { type: 'settings' }, changes);
      return after satisfies RuntimeSettings;
    },
  );
}
