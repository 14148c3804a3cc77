/**
 * What CLI commands share: resolving the data dir through the config module, opening
 * the store the running server also uses, and recording what they change in the audit
 * log as actions of the command line run by the OS user. The store must exist already
 * (made by `serve`, or by a command given `--init`), so a mistyped --data-dir is refused.
 */
import type { AuditStore } from '../audit/audit-store.js';
import type { AdminSessionStore } from '../auth/admin-session-store.js';
import type { AdminStore } from '../auth/admin-store.js';
import type { LoginFailureStore } from '../auth/login-failure-store.js';
import { loadConfig } from '../config/load-config.js';
import { sudoUser } from '../config/sudo-user.js';
import type { HistoryReads } from '../history/history-reads.js';
import { windowStart } from '../policy/quota-windows.js';
import { createTokenService, type TokenService } from '../policy/token-service.js';
import { openDatabase } from '../store/database.js';
import { createHistoryRepository, type HistoryRepository } from '../store/history-repository.js';
import { createMetaRepository } from '../store/meta-repository.js';
import { createSqliteAdminSessionStore } from '../store/sqlite/admin-session-store.js';
import { createSqliteAdminStore } from '../store/sqlite/admin-store.js';
import { createSqliteAuditStore } from '../store/sqlite/audit-store.js';
import { createSqliteHistoryReads } from '../store/sqlite/history-reads.js';
import { createSqliteLoginFailureStore } from '../store/sqlite/login-failure-store.js';
import { createTokenRepository } from '../store/token-repository.js';
import { osUserName } from './cli-actor.js';
import { prepareDataDir } from './data-dir.js';
import { rememberSettings } from './startup-errors.js';

export interface StoreOptions {
  dataDir?: string;
  config?: string;
  /** Create the data dir and an empty database when there is none (commands that offer --init). */
  init?: boolean;
}

/** The flag commands that may make a store offer; a command without it never creates one. */
export const INIT_FLAG = '--init';
export const INIT_HELP = 'create the data dir and its database when there is none yet';

export interface CliTarget {
  type: string;
  /** Absent for actions on a whole kind of thing (an export of the history). */
  id?: string;
  name?: string;
}

export interface CliStore {
  nodeId: string;
  tokens: TokenService;
  admins: AdminStore;
  sessions: AdminSessionStore;
  loginFailures: LoginFailureStore;
  history: HistoryRepository;
  /** Made on first use: only `history` commands read through it. */
  readonly historyReads: HistoryReads;
  /** Appends a done action to the audit log, by the command line and this OS user. */
  audit(action: string, target: CliTarget, details: Record<string, unknown> | null): Promise<void>;
  close(): void;
}

export interface StoreUse {
  /** The command accepts `--init` (so the refusal can suggest it). */
  offersInit?: boolean;
}

export function openCliStore(options: StoreOptions, use: StoreUse = {}): CliStore {
  const config = loadConfig({ flags: { dataDir: options.dataDir }, configFile: options.config });
  rememberSettings({ dataDir: config.dataDir, logLevel: config.logLevel });
  prepareDataDir(config.dataDir, {
    create: options.init === true,
    ...(use.offersInit ? { createFlag: INIT_FLAG } : {}),
  });
  const db = openDatabase(config.dataDir);
  const nodeId = createMetaRepository(db).nodeId();
  let historyReads: HistoryReads | undefined;
  const auditLog: AuditStore = createSqliteAuditStore(db);
  const osUser = osUserName(sudoUser());
  return {
    nodeId,
    tokens: createTokenService(createTokenRepository(db), nodeId, windowStart),
    admins: createSqliteAdminStore(db),
    sessions: createSqliteAdminSessionStore(db),
    loginFailures: createSqliteLoginFailureStore(db),
    history: createHistoryRepository(db, nodeId),
    get historyReads() {
      historyReads ??= createSqliteHistoryReads(db);
      return historyReads;
    },
    audit: async (action, target, details) =>
      void (await auditLog.append({
        at: Date.now(),
        actorKind: 'cli',
        adminId: null,
        adminUsername: null,
        osUser,
        action,
        targetType: target.type,
        targetId: target.id ?? null,
        targetName: target.name ?? null,
        details,
        ip: null,
        outcome: 'ok',
      })),
    close: () => db.close(),
  };
}

/** Runs a command against the store and always closes it. */
export async function withStore<T>(
  options: StoreOptions,
  run: (store: CliStore) => T | Promise<T>,
  use: StoreUse = {},
): Promise<T> {
  const store = openCliStore(options, use);
  try {
    return await run(store);
  } finally {
    store.close();
  }
}
