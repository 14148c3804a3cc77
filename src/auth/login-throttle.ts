/**
 * Slows down password guessing: after `maxFailures` failed sign-ins within `windowMs`
 * for the same account or from the same address, further attempts are refused until
 * the oldest of those failures leaves the window. The failures live in a
 * `LoginFailureStore`: for sign-in, the data store, so a restart does not lift the
 * throttle and `admin unlock` on the command line can.
 */

export interface ThrottleOptions {
  maxFailures: number;
  windowMs: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = { maxFailures: 5, windowMs: 15 * 60_000 };

/**
 * Where failures are kept. A failure is recorded under each key its attempt counts
 * against, with the account the attempt named, so that unlocking an account also takes
 * back what its failures counted against their addresses.
 */
export interface LoginFailureStore {
  /** Times of the failures under `key` after `since`, oldest first. */
  recent(key: string, since: number): number[];
  /**
   * Records one failure at `at` under each key, for `account` (lower-case; null when the
   * attempt named none), and forgets failures at or before `forgetBefore`.
   */
  add(keys: readonly string[], account: string | null, at: number, forgetBefore: number): void;
  /** Takes back one failure at `at` under each key (the attempt turned out right). */
  takeBack(keys: readonly string[], at: number): void;
  /** Forgets every failure under `key`. */
  clear(key: string): void;
  /** Forgets every failure of attempts on `account` (lower-case), under any key. */
  clearAccount(account: string): void;
}

const USER = 'user:';

export class LoginThrottle {
  constructor(
    private readonly store: LoginFailureStore,
    private readonly options: ThrottleOptions = DEFAULT_THROTTLE,
    private readonly now: () => number = Date.now,
  ) {}

  /** Keys for one attempt: the account (case-insensitive, as usernames are) and the address. */
  static keys(username: string, address: string): string[] {
    return [`${USER}${username.toLowerCase()}`, `addr:${address}`];
  }

  /** Seconds until an attempt may be made, or undefined when it may be made now. */
  retryAfter(keys: readonly string[]): number | undefined {
    const at = this.now();
    let wait = 0;
    for (const key of keys) {
      const recent = this.store.recent(key, at - this.options.windowMs);
      if (recent.length >= this.options.maxFailures) {
        const oldest = recent[recent.length - this.options.maxFailures]!;
        wait = Math.max(wait, oldest + this.options.windowMs - at);
      }
    }
    return wait > 0 ? Math.max(1, Math.ceil(wait / 1000)) : undefined;
  }

  /**
   * Starts a sign-in attempt. It counts as a failure from the start, so guesses sent in
   * parallel are counted before any of them is checked; `succeeded` takes it back and
   * clears the account's failures (the address keeps its own).
   */
  attempt(keys: readonly string[]): { retryAfter: number } | { succeeded(): void } {
    const retryAfter = this.retryAfter(keys);
    if (retryAfter !== undefined) return { retryAfter };
    const at = this.fail(keys);
    return {
      succeeded: () => {
        this.store.takeBack(keys, at);
        const account = keys.find((key) => key.startsWith(USER));
        if (account !== undefined) this.store.clear(account);
      },
    };
  }

  /** Records a failure now for every key; returns its time. */
  fail(keys: readonly string[]): number {
    const at = this.now();
    const account = keys.find((key) => key.startsWith(USER))?.slice(USER.length) ?? null;
    this.store.add(keys, account, at, at - this.options.windowMs);
    return at;
  }

  /**
   * Lifts the throttle on an account: its failed sign-ins are forgotten, also as counted
   * against the addresses they came from. Returns how many failures within the window
   * counted against the account.
   */
  unlock(username: string): number {
    const account = username.toLowerCase();
    const counted = this.store.recent(`${USER}${account}`, this.now() - this.options.windowMs).length;
    this.store.clearAccount(account);
    return counted;
  }
}
