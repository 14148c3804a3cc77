/**
 * What CLI commands share: resolving the data dir through the config module and
 * opening the store the running server also uses.
 */
import { loadConfig } from '../config/load-config.js';
import { windowStart } from '../policy/quota-windows.js';
import { createTokenService, type TokenService } from '../policy/token-service.js';
import { type AdminRepository, createAdminRepository } from '../store/admin-repository.js';
import { type Db, openDatabase } from '../store/database.js';
import { createHistoryRepository, type HistoryRepository } from '../store/history-repository.js';
import { createMetaRepository } from '../store/meta-repository.js';
import { createTokenRepository } from '../store/token-repository.js';

export interface StoreOptions {
  dataDir?: string;
  config?: string;
}

export interface CliStore {
  db: Db;
  nodeId: string;
  tokens: TokenService;
  admins: AdminRepository;
  history: HistoryRepository;
  close(): void;
}

export function openCliStore(options: StoreOptions): CliStore {
  const config = loadConfig({ flags: { dataDir: options.dataDir }, configFile: options.config });
  const db = openDatabase(config.dataDir);
  const nodeId = createMetaRepository(db).nodeId();
  return {
    db,
    nodeId,
    tokens: createTokenService(createTokenRepository(db), nodeId, windowStart),
    admins: createAdminRepository(db),
    history: createHistoryRepository(db, nodeId),
    close: () => db.close(),
  };
}

/** Runs a command against the store and always closes it. */
export async function withStore<T>(
  options: StoreOptions,
  run: (store: CliStore) => T | Promise<T>,
): Promise<T> {
  const store = openCliStore(options);
  try {
    return await run(store);
  } finally {
    store.close();
  }
}
