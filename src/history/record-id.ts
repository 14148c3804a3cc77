/**
 * History record ids: UUID version 7 (RFC 9562), the creation time in milliseconds
 * followed by 74 random bits. Globally unique across nodes like any UUID, and ordered
 * by time, so a new record's id lands at the end of the id index (and of the thread
 * index, which is keyed by a thread's first id). Random ids put every record on a
 * random page of those indexes, and every batch rewrote hundreds of pages.
 */
import { randomUUID } from 'node:crypto';

/** The time part of the last id made, for the millisecond it was made in: many ids share one. */
let prefixMs = Number.NaN;
let prefix = '';

export function newRecordId(now: number = Date.now()): string {
  if (now !== prefixMs) {
    const time = now.toString(16).padStart(12, '0');
    prefix = `${time.slice(0, 8)}-${time.slice(8)}-7`;
    prefixMs = now;
  }
  // A v4 UUID from Node's buffered pool: past its version digit (index 14) it is random
  // bits and the RFC variant, exactly what follows the version digit in a v7.
  return prefix + randomUUID().slice(15);
}
