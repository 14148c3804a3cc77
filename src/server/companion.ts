/**
 * The companion's parts, built once per process from the configuration: the store,
 * the token directory, the quota ledger, the history writer, metrics and the upstream
 * pool. Routes receive this object; they never build parts themselves.
 */
import type { Logger } from 'pino';
import type { AuditStore } from '../audit/audit-store.js';
import type { AdminSessionStore } from '../auth/admin-session-store.js';
import type { AdminStore } from '../auth/admin-store.js';
import type { LoginFailureStore } from '../auth/login-failure-store.js';
import { TokenDirectory } from '../auth/token-directory.js';
import type { Config } from '../config/config-schema.js';
import type { HistoryReads } from '../history/history-reads.js';
import { HistoryWriter } from '../history/history-writer.js';
import { RetentionJob } from '../history/retention-job.js';
import { createMetrics, type Metrics } from '../metrics/metrics.js';
import { QuotaLedger } from '../policy/quota-ledger.js';
import { windowStart } from '../policy/quota-windows.js';
import { createTokenService, type TokenService } from '../policy/token-service.js';
import { UpstreamClient } from '../proxy/upstream-client.js';
import { httpVersionProbe } from '../proxy/upstream-version-probe.js';
import { systemWatchClock, UpstreamWatch } from '../proxy/upstream-watch.js';
import { CurrentSettings } from '../settings/current-settings.js';
import { type Db, openDatabase } from '../store/database.js';
import { createHistoryRepository, type HistoryRepository } from '../store/history-repository.js';
import { startHistoryWriteThread } from '../store/history-write-thread.js';
import { createMetaRepository } from '../store/meta-repository.js';
import { createQuotaLeaseRepository } from '../store/quota-lease-repository.js';
import { createSqliteAdminSessionStore } from '../store/sqlite/admin-session-store.js';
import { createSqliteAdminStore } from '../store/sqlite/admin-store.js';
import { createSqliteAuditStore } from '../store/sqlite/audit-store.js';
import { createSqliteHistoryReads } from '../store/sqlite/history-reads.js';
import { createSqliteLoginFailureStore } from '../store/sqlite/login-failure-store.js';
import { createSqliteSettingsStore } from '../store/sqlite/settings-store.js';
import { createTokenRepository } from '../store/token-repository.js';

export interface Companion {
  config: Config;
  log: Logger;
  db: Db;
  nodeId: string;
  tokens: TokenService;
  directory: TokenDirectory;
  ledger: QuotaLedger;
  historyRepo: HistoryRepository;
  history: HistoryWriter;
  /** Reading history: search, conversations, redaction, retention deletes, usage series. */
  historyReads: HistoryReads;
  /** Background indexing of older records and retention enforcement. */
  retention: RetentionJob;
  admins: AdminStore;
  adminSessions: AdminSessionStore;
  /** Failed sign-ins, shared with the CLI's `admin unlock`. */
  loginFailures: LoginFailureStore;
  auditLog: AuditStore;
  /** Runtime settings (retention, session idle time), changed through the admin API. */
  settings: CurrentSettings;
  metrics: Metrics;
  upstream: UpstreamClient;
  /** Aborted by the shutdown when it cuts the answers still running after its grace period. */
  shutdown: AbortController;
  /** Whether Ollama answers; started and stopped with the server. */
  upstreamWatch: UpstreamWatch;
  /** A write to the store that changes nothing. @throws when the store cannot be written */
  probeStore(): void;
  /** Flushes history and usage, then closes the pool and the database. */
  close(): Promise<void>;
}

export function createCompanion(config: Config, log: Logger): Companion {
  const db = openDatabase(config.dataDir);
  const meta = createMetaRepository(db);
  const nodeId = meta.nodeId();
  const tokenRepo = createTokenRepository(db);
  const historyRepo = createHistoryRepository(db, nodeId);
  const interrupted = historyRepo.closeInterrupted(nodeId, Date.now());
  if (interrupted > 0)
    log.warn({ records: interrupted }, 'marked requests cut off by the last stop as aborted');

  const directory = new TokenDirectory(tokenRepo, meta);
  directory.watch();
  // The ledger, metrics and writer refer to each other; the writer is made last.
  let history: HistoryWriter | undefined;
  const ledger = new QuotaLedger(
    tokenRepo.readUsage(),
    Date.now,
    () => history?.requestFlush(),
    createQuotaLeaseRepository(db),
  );
  const metrics = createMetrics(() => history);
  const writerThread = startHistoryWriteThread({ dataDir: config.dataDir, nodeId });
  history = new HistoryWriter(writerThread, config.historyFlushMs, log, {
    usage: () => ledger.drainChanges(),
    onWritten: (n) => metrics.historyWritten.inc(n),
    onDropped: (n, reason) => metrics.historyDropped.inc({ reason }, n),
    onSummarised: (n) => metrics.historySummarised.inc(n),
  });
  // Counters a crash left only in quota leases are written back soon after the start.
  history.requestFlush();
  const upstream = new UpstreamClient(config.upstream, config.upstreamTimeoutMs, {
    capacity: config.upstreamConnections,
    perHolder: config.upstreamPerToken ?? Math.ceil(config.upstreamConnections / 2),
    waitMs: config.upstreamQueueMs,
  });
  // The probe's timeout stays short so a hung Ollama is reported within one interval.
  const upstreamWatch = new UpstreamWatch({
    url: config.upstream,
    probe: httpVersionProbe(config.upstream, Math.min(2000, config.upstreamCheckMs), upstream.quickPool),
    clock: systemWatchClock,
    log,
    intervalMs: config.upstreamCheckMs,
  });
  const tokens = createTokenService(tokenRepo, nodeId, windowStart);
  const historyReads = createSqliteHistoryReads(db);
  const settings = new CurrentSettings(createSqliteSettingsStore(db), (error) =>
    log.warn({ err: error }, 'could not read the runtime settings; the last ones read stay in use'),
  );
  // Read before the retention job's first pass, which takes the settings as last seen.
  settings.refresh();
  const retention = new RetentionJob(historyReads, { read: () => settings.latest() }, log);
  retention.start();

  return {
    config,
    log,
    db,
    nodeId,
    tokens,
    directory,
    ledger,
    historyRepo,
    history,
    historyReads,
    retention,
    admins: createSqliteAdminStore(db),
    adminSessions: createSqliteAdminSessionStore(db),
    loginFailures: createSqliteLoginFailureStore(db),
    auditLog: createSqliteAuditStore(db),
    settings,
    metrics,
    upstream,
    shutdown: new AbortController(),
    upstreamWatch,
    probeStore: () => {
      if (history.storeFailing) throw new Error('history records cannot be written');
      meta.probeWritable();
    },
    async close() {
      await upstreamWatch.stop();
      await retention.stop();
      directory.stop();
      await history.close();
      try {
        ledger.returnLeases();
      } catch (error) {
        // Safe to leave: the next start counts the unused leases as used.
        log.warn({ err: error }, 'could not give back unused quota leases');
      }
      await writerThread.close();
      await upstream.close();
      db.close();
    },
  };
}
