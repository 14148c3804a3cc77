/** The numbered migrations, in order. A migration, once released, never changes. */
import { sql as initial } from './001-initial.js';
import { sql as admin } from './002-admin.js';
import { sql as historySearch } from './003-history-search.js';
import { sql as tokensVersion } from './004-tokens-version.js';
import { sql as quotaLeases } from './005-quota-leases.js';
import { sql as auditActors } from './006-audit-actors.js';
import { sql as historyLegacyIndexes } from './007-history-legacy-indexes.js';

export const migrations: readonly { version: number; name: string; sql: string }[] = [
  { version: 1, name: 'initial', sql: initial },
  { version: 2, name: 'admin', sql: admin },
  { version: 3, name: 'history-search', sql: historySearch },
  { version: 4, name: 'tokens-version', sql: tokensVersion },
  { version: 5, name: 'quota-leases', sql: quotaLeases },
  { version: 6, name: 'audit-actors', sql: auditActors },
  { version: 7, name: 'history-legacy-indexes', sql: historyLegacyIndexes },
];
