/** The port the audit log's store implements: append-only, read newest first. */
import type { AuditActorName, AuditEntry, AuditQuery, NewAuditEntry } from './audit-log.js';

export interface AuditStore {
  /** Resolves to the new entry's id. */
  append(entry: NewAuditEntry): Promise<number>;
  /** Newest first. */
  list(query: AuditQuery): Promise<AuditEntry[]>;
  /** Everyone who acted (signed-in admins and CLI users, not names merely tried), by name. */
  actors(): Promise<AuditActorName[]>;
  /** Every action name in the log, sorted. */
  actions(): Promise<string[]>;
}
