/**
 * Failures kept in memory, for counters that need not outlive the process (how many
 * refusals before sign-in an address may still write to the audit log) and for tests.
 * Bounded: past `maxKeys`, the least recently failed keys are forgotten first.
 */
import type { LoginFailureStore } from './login-throttle.js';

interface Failure {
  at: number;
  account: string | null;
}

export class MemoryLoginFailures implements LoginFailureStore {
  /** Failures per key, oldest first. Map order is least recently failed first. */
  private readonly failures = new Map<string, Failure[]>();

  constructor(private readonly maxKeys = 10_000) {}

  recent(key: string, since: number): number[] {
    const kept = (this.failures.get(key) ?? []).filter((f) => f.at > since);
    if (kept.length === 0) this.failures.delete(key);
    else this.failures.set(key, kept);
    return kept.map((f) => f.at);
  }

  add(keys: readonly string[], account: string | null, at: number, forgetBefore: number): void {
    for (const key of keys) {
      const kept = (this.failures.get(key) ?? []).filter((f) => f.at > forgetBefore);
      kept.push({ at, account });
      this.failures.delete(key);
      this.failures.set(key, kept);
    }
    while (this.failures.size > this.maxKeys) {
      const oldest = this.failures.keys().next().value as string;
      this.failures.delete(oldest);
    }
  }

  takeBack(keys: readonly string[], at: number): void {
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

  clear(key: string): void {
    this.failures.delete(key);
  }

  clearAccount(account: string): void {
    for (const [key, list] of this.failures) {
      const kept = list.filter((f) => f.account !== account);
      if (kept.length === 0) this.failures.delete(key);
      else this.failures.set(key, kept);
    }
  }
}
