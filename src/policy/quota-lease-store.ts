/**
 * The port through which the quota ledger makes its reservations durable before a call
 * is forwarded. The ledger does not write every call: it takes a lease, a high-water
 * mark of calls it may reserve in a window, and writes the next one only when the
 * current one runs out. Implemented in src/store/.
 *
 * Invariant the ledger keeps with it: for every window with a limit, the calls reserved
 * in that window never exceed the lease the store holds durably. So after a crash the
 * lease is an upper bound of what was forwarded.
 */
import type { QuotaWindow } from './token.js';

export interface QuotaLease {
  tokenId: string;
  window: QuotaWindow;
  windowStart: number;
  /**
   * Calls the node may have reserved in this window, counting refunded ones: the
   * `reserved` of the window's usage count may grow up to here without another write.
   */
  reservedTo: number;
}

export interface QuotaLeaseStore {
  /** The leases as the last run left them. */
  load(): QuotaLease[];
  /**
   * Makes the leases durable, replacing earlier ones of the same token and window. With
   * `wait` false it gives up at once, answering false, when another writer holds the
   * store (the ledger then keeps its current lease and tries again later).
   * @throws when the leases could not be written (disk full, store failing)
   */
  save(leases: QuotaLease[], wait: boolean): boolean;
}

/** For ledgers whose counts need not survive a crash (tests, tools). */
export const noLeaseStore: QuotaLeaseStore = {
  load: () => [],
  save: () => true,
};
