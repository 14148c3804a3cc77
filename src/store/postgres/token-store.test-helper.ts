/** Fixtures for the PostgreSQL token tests: a migrated database and a token to store. */
import type { TestContext } from 'node:test';
import { freshPostgresDatabase } from '../../../test/support/postgres.js';
import type { Token } from '../../policy/token.js';
import { openPostgres } from './open-postgres.js';
import type { PostgresPool } from './postgres-pool.js';

/** A migrated database of its own, closed when the test ends. */
export async function migratedPool(t: TestContext, url?: string): Promise<PostgresPool> {
  const pool = await openPostgres(url ?? (await freshPostgresDatabase(t)));
  t.after(() => pool.end());
  return pool;
}

export function sampleToken(overrides: Partial<Token> = {}): Token {
  return {
    id: `tok-${Math.random().toString(36).slice(2)}`,
    name: 'laptop',
    prefix: 'oc_abcd',
    models: ['llama3*', 'qwen3:*'],
    scopes: ['inference', 'read'],
    limits: { calls: { total: 1000, minute: null, hour: 60, day: null, month: 20_000 }, maxConcurrent: 2 },
    expiresAt: 1_900_000_000_000,
    enabled: true,
    revokedAt: null,
    historyMode: 'metadata',
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
    originNode: 'node-a',
    ...overrides,
  };
}
