/**
 * Failures kept in memory, for counters that need not outlive the process (how many
 * refusals before sign-in an address may still write to the audit log) and for tests.
 * Bounded: past `maxKeys`, the least recently failed keys are forgotten first.
 */
import { blockingFailure, type FailureLimit, type LoginFailureStore } from './login-failure-store.js';

interface Failure {
  at: number;
  account: string | null;
}

export class MemoryLoginFailures implements LoginFailureStore {
  /** Failures per key, oldest first. Map order is least recently failed first. */
  private readonly failures = new Map<string, Failure[]>();

  constructor(private readonly maxKeys = 10_000) {}

  async recent(key: string, since: number): Promise<number[]> {
    return this.recentNow(key, since);
  }

  async addUnlessThrottled(
    keys: readonly string[],
    account: string | null,
    at: number,
    limit: FailureLimit,
  ): Promise<number | null> {
    let blocker: number | null = null;
    for (const key of keys) {
      const found = blockingFailure(this.recentNow(key, limit.since), limit.maxFailures);
      if (found !== undefined) blocker = Math.max(blocker ?? found, found);
    }
    if (blocker !== null) return blocker;
    for (const key of keys) {
      const kept = this.failures.get(key) ?? [];
      kept.push({ at, account });
      this.failures.delete(key);
      this.failures.set(key, kept);
    }
    while (this.failures.size > this.maxKeys) {
      const oldest = this.failures.keys().next().value as string;
      this.failures.delete(oldest);
    }
    return null;
  }

  /** The failures under `key` after `since`, forgetting older ones. */
  private recentNow(key: string, since: number): number[] {
    const kept = (this.failures.get(key) ?? []).filter((f) => f.at > since);
    if (kept.length === 0) this.failures.delete(key);
    else this.failures.set(key, kept);
    return kept.map((f) => f.at);
  }

  async takeBack(keys: readonly string[], at: number): Promise<void> {
    for (const key of keys) {
      const list = this.failures.get(key);
      if (!list) continue;
      for (let i = list.length - 1; i >= 0; i--) {
        if (list[i]!.at !== at) continue;
        list.splice(i, 1);
        break;
      }
      if (list.length === 0) this.failures.delete(key);
    }
  }

  async clear(key: string): Promise<void> {
    this.failures.delete(key);
  }

  async clearAccount(account: string): Promise<void> {
    for (const [key, list] of this.failures) {
      const kept = list.filter((f) => f.account !== account);
      if (kept.length === 0) this.failures.delete(key);
      else this.failures.set(key, kept);
    }
  }
}
