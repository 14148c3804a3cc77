/**
 * What CLI commands share: resolving the data dir through the config module and
 * opening the store the running server also uses. The store must exist already (made by
 * `serve`, or by a command given `--init`), so a mistyped --data-dir is refused.
 */
import { loadConfig } from '../config/load-config.js';
import { windowStart } from '../policy/quota-windows.js';
import { createTokenService, type TokenService } from '../policy/token-service.js';
import { type AdminRepository, createAdminRepository } from '../store/admin-repository.js';
import { type Db, openDatabase } from '../store/database.js';
import { createHistoryRepository, type HistoryRepository } from '../store/history-repository.js';
import {
  createHistorySearchRepository,
  type HistorySearchRepository,
} from '../store/history-search-repository.js';
import { createMetaRepository } from '../store/meta-repository.js';
import { createTokenRepository } from '../store/token-repository.js';
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

export interface CliStore {
  db: Db;
  nodeId: string;
  tokens: TokenService;
  admins: AdminRepository;
  history: HistoryRepository;
  /** Made on first use: only `history` commands read through it. */
  readonly historySearch: HistorySearchRepository;
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
  let historySearch: HistorySearchRepository | undefined;
  return {
    db,
    nodeId,
    tokens: createTokenService(createTokenRepository(db), nodeId, windowStart),
    admins: createAdminRepository(db),
    history: createHistoryRepository(db, nodeId),
    get historySearch() {
      historySearch ??= createHistorySearchRepository(db);
      return historySearch;
    },
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
