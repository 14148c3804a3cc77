/**
 * Strict per-token call quotas and concurrency caps on this node. A request reserves
 * its slot before it is forwarded: the check and the increment happen in one
 * synchronous step, so concurrent requests can never overshoot a limit.
 */
import { CompanionError } from '../errors/companion-error.js';
import type { UsageCount } from '../store/token-repository.js';
import { windowEnd, windowStart } from './quota-windows.js';
import { QUOTA_WINDOWS, type QuotaWindow, type Token } from './token.js';

export interface Reservation {
  /** Ends the request's hold on a concurrency slot. `refund` gives back its call. */
  release(refund?: boolean): void;
}

interface Counter {
  windowStart: number;
  calls: number;
}

interface TokenState {
  inFlight: number;
  counters: Map<QuotaWindow, Counter>;
}

export class QuotaLedger {
  private readonly states = new Map<string, TokenState>();
  private readonly dirty = new Set<string>();

  /**
   * @param onChange called when counters change, so the owner can schedule persisting
   *   them (usage must be saved even for tokens whose history is off).
   */
  constructor(
    initial: UsageCount[],
    private readonly now: () => number = Date.now,
    private readonly onChange: () => void = () => {},
  ) {
    for (const row of initial) {
      this.state(row.tokenId).counters.set(row.window, { windowStart: row.windowStart, calls: row.calls });
    }
  }

  /**
   * Takes a concurrency slot and, when `counts`, one call from every quota window.
   * @throws CompanionError 429 (quota_exceeded, rate_limited, concurrency_limited), with
   *   Retry-After unless the quota never resets.
   */
  reserve(token: Token, counts: boolean): Reservation {
    const state = this.state(token.id);
    const at = this.now();
    const cap = token.limits.maxConcurrent;
    if (cap !== null && state.inFlight >= cap) {
      throw new CompanionError(
        'concurrency_limited',
        429,
        `too many concurrent requests for this token (limit ${cap})`,
        { retryAfterSeconds: 1 },
      );
    }
    if (counts) {
      for (const window of QUOTA_WINDOWS) {
        const limit = token.limits.calls[window];
        if (limit === null) continue;
        const used = this.current(state, window, at);
        if (used >= limit) throw quotaError(window, used, limit, at);
      }
      for (const window of QUOTA_WINDOWS) this.add(state, window, at, 1);
      this.dirty.add(token.id);
      this.onChange();
    }
    state.inFlight++;
    let released = false;
    return {
      release: (refund = false) => {
        if (released) return;
        released = true;
        state.inFlight--;
        if (refund && counts) {
          for (const window of QUOTA_WINDOWS) this.add(state, window, at, -1);
          this.dirty.add(token.id);
          this.onChange();
        }
      },
    };
  }

  /** Calls counted in each window now, and requests in flight. */
  usage(tokenId: string): { calls: Record<QuotaWindow, number>; inFlight: number } {
    const state = this.state(tokenId);
    const at = this.now();
    const calls = Object.fromEntries(QUOTA_WINDOWS.map((w) => [w, this.current(state, w, at)]));
    return { calls: calls as Record<QuotaWindow, number>, inFlight: state.inFlight };
  }

  /** Counters changed since the last call, for persisting. */
  drainChanges(): UsageCount[] {
    const changes: UsageCount[] = [];
    for (const tokenId of this.dirty) {
      for (const [window, c] of this.state(tokenId).counters) {
        changes.push({ tokenId, window, windowStart: c.windowStart, calls: c.calls });
      }
    }
    this.dirty.clear();
    return changes;
  }

  private state(tokenId: string): TokenState {
    let state = this.states.get(tokenId);
    if (!state) {
      state = { inFlight: 0, counters: new Map() };
      this.states.set(tokenId, state);
    }
    return state;
  }

  private current(state: TokenState, window: QuotaWindow, at: number): number {
    const c = state.counters.get(window);
    return c && c.windowStart === windowStart(window, at) ? c.calls : 0;
  }

  /** Adds to the window that contained `at`; a refund after the window rolled over is dropped. */
  private add(state: TokenState, window: QuotaWindow, at: number, delta: number): void {
    const start = windowStart(window, at);
    const c = state.counters.get(window);
    if (c && c.windowStart === start) c.calls = Math.max(0, c.calls + delta);
    else if (delta > 0 && (!c || c.windowStart < start))
      state.counters.set(window, { windowStart: start, calls: delta });
  }
}

function quotaError(window: QuotaWindow, used: number, limit: number, at: number): CompanionError {
  if (window === 'total') {
    // It never resets by itself: no Retry-After, and clients that retry 429s (the OpenAI
    // SDKs) are told not to.
    return new CompanionError(
      'quota_exceeded',
      429,
      `token quota used up: ${used} of ${limit} calls; an admin can raise it`,
      { headers: { 'x-should-retry': 'false' } },
    );
  }
  const seconds = Math.max(1, Math.ceil((windowEnd(window, at) - at) / 1000));
  return new CompanionError('rate_limited', 429, `rate limit reached: ${limit} calls per ${window}`, {
    retryAfterSeconds: seconds,
  });
}
