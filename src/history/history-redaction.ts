/**
 * The port for redacting history: erasing a record's content everywhere it is kept and
 * then purging what the erasure left on disk. Both halves are one concept held in one
 * port: a redaction is only complete once the purge has run, and whether a purge is
 * pending is state the redaction sets and the purge clears. The admin API redacts; the
 * retention job runs the purge in small steps.
 */
import type { HistoryView } from './history-search.js';

export interface HistoryRedaction {
  /**
   * Erases the record's content (request, answer, its text index entry, copies of it in
   * later requests of the same conversation) and keeps a tombstone. Idempotent:
   * redacting a redacted record changes nothing. Undefined for no such record.
   */
  redact(id: string, by: string, at: number): Promise<HistoryView | undefined>;
  /**
   * Whether a redaction left words of erased content in the text index's segments
   * (unsearchable, but still on disk) that a purge should rewrite away.
   */
  purgePending(): Promise<boolean>;
  /**
   * One step of rewriting the text index without erased entries (about `pages` pages),
   * old pages overwritten with zeros. Resolves true while more steps are needed.
   */
  purgeStep(pages?: number): Promise<boolean>;
}
