/**
 * The stores of admin accounts, sessions, sign-in failures, audit log and settings on
 * each backend, for contract tests that run the same cases on SQLite and PostgreSQL.
 * `open(t)` makes one empty database; each `companion()` of it is a connection of its own
 * (a second SQLite connection to the file, a second PostgreSQL pool with another node id),
 * as two companions sharing the database would hold. Everything closes when the test ends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { AuditStore } from '../../src/audit/audit-store.js';
import type { AdminSessionStore } from '../../src/auth/admin-session-store.js';
import type { AdminStore } from '../../src/auth/admin-store.js';
import type { LoginFailureStore } from '../../src/auth/login-failure-store.js';
import type { SettingsStore } from '../../src/settings/settings-store.js';
import { openDatabase } from '../../src/store/database.js';
import { createPostgresAdminSessionStore } from '../../src/store/postgres/admin-session-store.js';
import { createPostgresAdminStore } from '../../src/store/postgres/admin-store.js';
import { createPostgresAuditStore } from '../../src/store/postgres/audit-store.js';
import { createPostgresLoginFailureStore } from '../../src/store/postgres/login-failure-store.js';
import { migratePostgres } from '../../src/store/postgres/migrate.js';
import { createPostgresPool } from '../../src/store/postgres/postgres-pool.js';
import { createPostgresSettingsStore } from '../../src/store/postgres/settings-store.js';
import { createSqliteAdminSessionStore } from '../../src/store/sqlite/admin-session-store.js';
import { createSqliteAdminStore } from '../../src/store/sqlite/admin-store.js';
import { createSqliteAuditStore } from '../../src/store/sqlite/audit-store.js';
import { createSqliteLoginFailureStore } from '../../src/store/sqlite/login-failure-store.js';
import { createSqliteSettingsStore } from '../../src/store/sqlite/settings-store.js';
import { freshPostgresDatabase, postgresSkip } from './postgres.js';

export interface AdminStores {
  admins: AdminStore;
  sessions: AdminSessionStore;
  loginFailures: LoginFailureStore;
  audit: AuditStore;
  settings: SettingsStore;
}

export interface AdminStoreBackend {
  name: 'sqlite' | 'postgres';
  /** For `test(name, { skip }, …)`: why this backend cannot run here, or false. */
  skip: string | false;
  /** An empty database; `companion()` opens one more connection to it with its stores. */
  open(t: TestContext): Promise<{ companion(): AdminStores }>;
}

export const ADMIN_STORE_BACKENDS: readonly AdminStoreBackend[] = [
  {
    name: 'sqlite',
    skip: false,
    async open(t) {
      const dir = mkdtempSync(join(tmpdir(), 'admin-stores-test-'));
      const closers: (() => void)[] = [];
      t.after(() => {
        for (const close of closers) close();
        rmSync(dir, { recursive: true, force: true });
      });
      return {
        companion() {
          const db = openDatabase(dir);
          closers.push(() => db.close());
          return {
            admins: createSqliteAdminStore(db),
            sessions: createSqliteAdminSessionStore(db),
            loginFailures: createSqliteLoginFailureStore(db),
            audit: createSqliteAuditStore(db),
            settings: createSqliteSettingsStore(db),
          };
        },
      };
    },
  },
  {
    name: 'postgres',
    skip: postgresSkip,
    async open(t) {
      const url = await freshPostgresDatabase(t);
      const first = createPostgresPool(url);
      t.after(() => first.end());
      await migratePostgres(first);
      let companions = 0;
      return {
        companion() {
          const pool = companions === 0 ? first : createPostgresPool(url);
          if (companions > 0) t.after(() => pool.end());
          const nodeId = `node-${++companions}`;
          return {
            admins: createPostgresAdminStore(pool, nodeId),
            sessions: createPostgresAdminSessionStore(pool),
            loginFailures: createPostgresLoginFailureStore(pool),
            audit: createPostgresAuditStore(pool, nodeId),
            settings: createPostgresSettingsStore(pool, nodeId),
          };
        },
      };
    },
  },
];
