/**
 * Slows down password guessing: after `maxFailures` failed sign-ins within `windowMs`
 * for the same account or from the same address, further attempts are refused until
 * the oldest of those failures leaves the window. Held in memory; bounded in size.
 */

export interface ThrottleOptions {
  maxFailures: number;
  windowMs: number;
  /** Most keys remembered; the least recently failed are forgotten first. */
  maxKeys: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = { maxFailures: 5, windowMs: 15 * 60_000, maxKeys: 10_000 };

export class LoginThrottle {
  /** Failure times per key, oldest first. Map order is least recently failed first. */
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly options: ThrottleOptions = DEFAULT_THROTTLE,
    private readonly now: () => number = Date.now,
  ) {}

  /** Keys for one attempt: the account (case-insensitive, as usernames are) and the address. */
  static keys(username: string, address: string): string[] {
    return [`user:${username.toLowerCase()}`, `addr:${address}`];
  }

  /** Seconds until an attempt may be made, or undefined when it may be made now. */
  retryAfter(keys: readonly string[]): number | undefined {
    const at = this.now();
    let wait = 0;
    for (const key of keys) {
      const recent = this.recent(key, at);
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
        for (const key of keys) {
          const times = this.failures.get(key);
          const index = times?.lastIndexOf(at) ?? -1;
          if (times && index !== -1) times.splice(index, 1);
          if (times?.length === 0) this.failures.delete(key);
        }
        if (keys[0] !== undefined) this.forget(keys[0]);
      },
    };
  }

  /** Records a failure now for every key; returns its time. */
  fail(keys: readonly string[]): number {
    const at = this.now();
    for (const key of keys) {
      const recent = this.recent(key, at);
      recent.push(at);
      // Only the last maxFailures matter for the decision.
      if (recent.length > this.options.maxFailures)
        recent.splice(0, recent.length - this.options.maxFailures);
      this.failures.delete(key);
      this.failures.set(key, recent);
    }
    while (this.failures.size > this.options.maxKeys) {
      const oldest = this.failures.keys().next().value as string;
      this.failures.delete(oldest);
    }
    return at;
  }

  /** Clears a key's failures. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  private recent(key: string, at: number): number[] {
    const times = this.failures.get(key);
    if (!times) return [];
    const kept = times.filter((t) => t > at - this.options.windowMs);
    if (kept.length === 0) this.failures.delete(key);
    else this.failures.set(key, kept);
    return kept;
  }
}
