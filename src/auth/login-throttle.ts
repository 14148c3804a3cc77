/**
 * Slows down password guessing: after `maxFailures` failed sign-ins within `windowMs`
 * for the same account or from the same address, further attempts are refused until
 * the oldest of those failures leaves the window. The failures live in a
 * `LoginFailureStore`: for sign-in, the data store, so a restart does not lift the
 * throttle and `admin unlock` on the command line can.
 */
import { blockingFailure, type LoginFailureStore } from './login-failure-store.js';

export interface ThrottleOptions {
  maxFailures: number;
  windowMs: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = { maxFailures: 5, windowMs: 15 * 60_000 };

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
  async retryAfter(keys: readonly string[]): Promise<number | undefined> {
    const at = this.now();
    let blocker: number | undefined;
    for (const key of keys) {
      const found = blockingFailure(
        await this.store.recent(key, at - this.options.windowMs),
        this.options.maxFailures,
      );
      if (found !== undefined) blocker = Math.max(blocker ?? found, found);
    }
    return blocker === undefined ? undefined : this.secondsUntilFree(blocker, at);
  }

  /**
   * Starts a sign-in attempt. It counts as a failure from the start, so guesses sent in
   * parallel are counted before any of them is checked; `succeeded` takes it back and
   * clears the account's failures (the address keeps its own).
   */
  async attempt(keys: readonly string[]): Promise<{ retryAfter: number } | { succeeded(): Promise<void> }> {
    const at = this.now();
    const account = keys.find((key) => key.startsWith(USER));
    const blocker = await this.store.addUnlessThrottled(keys, account?.slice(USER.length) ?? null, at, {
      since: at - this.options.windowMs,
      maxFailures: this.options.maxFailures,
    });
    if (blocker !== null) return { retryAfter: this.secondsUntilFree(blocker, at) };
    return {
      succeeded: async () => {
        await this.store.takeBack(keys, at);
        if (account !== undefined) await this.store.clear(account);
      },
    };
  }

  /**
   * Lifts the throttle on an account: its failed sign-ins are forgotten, also as counted
   * against the addresses they came from. Resolves to how many failures within the window
   * counted against the account.
   */
  async unlock(username: string): Promise<number> {
    const account = username.toLowerCase();
    const counted = (await this.store.recent(`${USER}${account}`, this.now() - this.options.windowMs)).length;
    await this.store.clearAccount(account);
    return counted;
  }

  /** Whole seconds, at least one, until the failure at `blocker` leaves the window. */
  private secondsUntilFree(blocker: number, at: number): number {
    return Math.max(1, Math.ceil((blocker + this.options.windowMs - at) / 1000));
  }
}
