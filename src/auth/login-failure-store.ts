/**
 * Where the sign-in throttle keeps failed attempts. A failure is recorded under each key
 * its attempt counts against, with the account the attempt named, so that unlocking an
 * account also takes back what its failures counted against their addresses.
 */

/** How many failures a key may hold, counted after `since` (the start of the window). */
export interface FailureLimit {
  since: number;
  maxFailures: number;
}

export interface LoginFailureStore {
  /** Times of the failures under `key` after `since`, oldest first. */
  recent(key: string, since: number): Promise<number[]>;
  /**
   * Records one failure at `at` under each key, for `account` (lower-case; null when the
   * attempt named none), unless a key already holds `limit.maxFailures` failures after
   * `limit.since`: the check and the write are one step, so attempts sent in parallel
   * cannot all pass the check before any of them is counted. Failures at or before
   * `limit.since` are forgotten either way.
   * @returns null when recorded; otherwise the failure whose leaving the window lets the
   * next attempt in (the latest such failure over the keys)
   */
  addUnlessThrottled(
    keys: readonly string[],
    account: string | null,
    at: number,
    limit: FailureLimit,
  ): Promise<number | null>;
  /** Takes back one failure at `at` under each key (the attempt turned out right). */
  takeBack(keys: readonly string[], at: number): Promise<void>;
  /** Forgets every failure under `key`. */
  clear(key: string): Promise<void>;
  /** Forgets every failure of attempts on `account` (lower-case), under any key. */
  clearAccount(account: string): Promise<void>;
}

/**
 * The failure that keeps a key throttled: of `recent` (oldest first, within the window),
 * the one whose leaving the window brings the count below `maxFailures`; undefined when
 * the key is not throttled. Shared by every store so they decide alike.
 */
export function blockingFailure(recent: readonly number[], maxFailures: number): number | undefined {
  return recent.length >= maxFailures ? recent[recent.length - maxFailures] : undefined;
}
