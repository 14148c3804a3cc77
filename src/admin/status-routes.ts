/**
 * `GET /admin/api/status`: how the guarded Ollama is doing, for the dashboard — whether
 * it answered the last check, its version, since when, and why it does not answer.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AdminRouteDeps, TypeBoxProvider } from './admin-plugin.js';

const StatusAnswer = Type.Object({
  ollama: Type.Object({
    url: Type.String({ description: 'The upstream setting: where the companion looks for Ollama.' }),
    reachable: Type.Union([Type.Boolean(), Type.Null()], {
      description: 'Whether Ollama answered the last check; null before the first one.',
    }),
    version: Type.Union([Type.String(), Type.Null()], { description: 'The version it last reported.' }),
    since: Type.Union([Type.String(), Type.Null()], {
      description: 'When the current state began (ISO 8601).',
    }),
    failure: Type.Union([Type.String(), Type.Null()], {
      description: 'Why the last check failed (e.g. ECONNREFUSED).',
    }),
  }),
});

export async function statusRoutes(app: FastifyInstance, deps: AdminRouteDeps): Promise<void> {
  const api = app.withTypeProvider<TypeBoxProvider>();
  const { companion } = deps;
  api.get(
    '/status',
    {
      onRequest: deps.requireRole('viewer'),
      schema: {
        summary: 'Whether Ollama answers, and its version',
        tags: ['status'],
        response: { 200: StatusAnswer },
      },
    },
    async () => {
      const state = companion.upstreamWatch.state();
      return {
        ollama: {
          url: companion.config.upstream,
          reachable: state.reachable,
          version: state.version,
          since: state.since === null ? null : new Date(state.since).toISOString(),
          failure: state.failure,
        },
      };
    },
  );
}
