/**
 * Strict per-token call quotas and concurrency caps on this node. A request reserves
 * its slot before it is forwarded: the check and the increment happen in one
 * synchronous step, so concurrent requests can never overshoot a limit.
 *
 * Quotas across a crash. Counters live here and reach the store with the history
 * writer's batches, which a kill -9 can cut off. So for every window that has a limit
 * the ledger holds a lease in a QuotaLeaseStore: a durable high-water mark of calls it
 * may reserve, written before the first call it covers is forwarded. After a crash the
 * lease counts as used up, so a restart can only under-allow (by the unused part of the
 * lease, and by refunds not yet written), never overshoot. A lease covers 1/20 of the
 * limit, between 1 and 1,000 calls: a quota of 20 writes before every call, exactly as
 * strict as a write per call; a large quota writes once per hundreds of calls, so the
 * request path does not pay a synchronous write each time (a write also waits while the
 * history writer holds the database). The next lease is taken ahead of need, without
 * waiting for the database, when three quarters of the current one are used. A clean
 * stop gives the unused leases back. Tokens without call limits never touch the store.
 * The same port fits a shared store: a lease is what an atomic conditional update on a
 * shared counter would hand out to each node.
 *
 * Counters keep `calls` (what the quota sees: reservations minus refunds) and
 * `reserved` (reservations, refunded or not: what the lease bounds). A restart counts
 * `calls + (lease - reserved)` of the last written counter.
 */
import { CompanionError } from '../errors/companion-error.js';
import type { UsageCount } from '../store/token-repository.js';
import { noLeaseStore, type QuotaLease, type QuotaLeaseStore } from './quota-lease-store.js';
import { windowEnd, windowStart } from './quota-windows.js';
import { QUOTA_WINDOWS, type QuotaWindow, type Token } from './token.js';

/** A crash may cost a token at most this share of a window's limit... */
const LEASE_SHARE = 1 / 20;
/** ...and at most this many calls. */
const MAX_LEASE = 1000;
/** After a lease could not be taken ahead (the store was busy), the next try waits this long (ms). */
const AHEAD_RETRY_MS = 2;

export interface Reservation {
  /** Ends the request's hold on a concurrency slot. `refund` gives back its call. */
  release(refund?: boolean): void;
}

interface Counter {
  windowStart: number;
  /** Calls that count against the quota. */
  calls: number;
  /** Calls reserved in this window, refunded ones included; never above `leased` when limited. */
  reserved: number;
  /** The durable lease of this window (0: none yet). */
  leased: number;
}

interface TokenState {
  inFlight: number;
  counters: Map<QuotaWindow, Counter>;
}

/** Calls one lease covers for a window with this limit. */
export function leaseSize(limit: number): number {
  return Math.min(MAX_LEASE, Math.max(1, Math.floor(limit * LEASE_SHARE)));
}

export class QuotaLedger {
  private readonly states = new Map<string, TokenState>();
  private readonly dirty = new Set<string>();
  /** No lease is taken ahead before this time (ms): the last try found the store busy. */
  private aheadAfter = 0;

  /**
   * @param initial counters as last written; the leases in `leases` are merged in, so
   *   calls forwarded after the last written counter still count.
   * @param onChange called when counters change, so the owner can schedule persisting
   *   them (usage must be saved even for tokens whose history is off).
   */
  constructor(
    initial: UsageCount[],
    private readonly now: () => number = Date.now,
    private readonly onChange: () => void = () => {},
    private readonly leases: QuotaLeaseStore = noLeaseStore,
  ) {
    for (const row of initial) {
      this.state(row.tokenId).counters.set(row.window, {
        windowStart: row.windowStart,
        calls: row.calls,
        reserved: row.reserved ?? row.calls,
        leased: 0,
      });
    }
    for (const lease of leases.load()) this.resume(lease);
    if (this.dirty.size > 0) this.onChange();
  }

  /**
   * Takes a concurrency slot and, when `counts`, one call from every quota window.
   * @throws CompanionError 429 (quota_exceeded, rate_limited, concurrency_limited), with
   *   Retry-After unless the quota never resets; 500 when the reservation cannot be made durable.
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
    const starts = counts ? windowStarts(at) : undefined;
    if (starts) {
      for (const window of QUOTA_WINDOWS) {
        const limit = token.limits.calls[window];
        if (limit === null) continue;
        const c = state.counters.get(window);
        const used = c && c.windowStart === starts[window] ? c.calls : 0;
        if (used >= limit) throw quotaError(window, used, limit, at);
      }
      this.lease(token, state, starts, 'needed', at);
      for (const window of QUOTA_WINDOWS) this.add(state, window, starts[window], 1);
      this.dirty.add(token.id);
      this.onChange();
      if (at >= this.aheadAfter) this.lease(token, state, starts, 'ahead', at);
    }
    state.inFlight++;
    let released = false;
    return {
      release: (refund = false) => {
        if (released) return;
        released = true;
        state.inFlight--;
        if (refund && starts) {
          for (const window of QUOTA_WINDOWS) this.add(state, window, starts[window], -1);
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
        changes.push({ tokenId, window, windowStart: c.windowStart, calls: c.calls, reserved: c.reserved });
      }
    }
    this.dirty.clear();
    return changes;
  }

  /**
   * Gives the unused part of every lease back, once no request can reserve any more
   * (a clean stop), so a restart counts exactly the calls made.
   */
  returnLeases(): void {
    const unused: QuotaLease[] = [];
    for (const [tokenId, state] of this.states) {
      for (const [window, c] of state.counters) {
        if (c.leased > c.reserved)
          unused.push({ tokenId, window, windowStart: c.windowStart, reservedTo: c.reserved });
      }
    }
    if (unused.length === 0) return;
    this.leases.save(unused, true);
    for (const lease of unused) {
      const c = this.states.get(lease.tokenId)?.counters.get(lease.window);
      if (c) c.leased = lease.reservedTo;
    }
  }

  /**
   * Counts a lease left by the last run as used up, beyond what the last written counter
   * of the same window shows. A lease of a newer window than the counter stands alone.
   */
  private resume(lease: QuotaLease): void {
    const state = this.state(lease.tokenId);
    const c = state.counters.get(lease.window);
    if (c && c.windowStart > lease.windowStart) return;
    if (!c || c.windowStart < lease.windowStart) {
      state.counters.set(lease.window, {
        windowStart: lease.windowStart,
        calls: lease.reservedTo,
        reserved: lease.reservedTo,
        leased: lease.reservedTo,
      });
      this.dirty.add(lease.tokenId);
      return;
    }
    c.leased = lease.reservedTo;
    const unknown = lease.reservedTo - c.reserved;
    if (unknown <= 0) return;
    c.calls += unknown;
    c.reserved += unknown;
    this.dirty.add(lease.tokenId);
  }

  /**
   * Extends the leases of the token's limited windows. 'needed': before the call, for
   * windows whose lease does not cover one more reservation; waits for the store and
   * throws when it fails. 'ahead': after the call, for leases three quarters used; gives
   * up at once when the store is busy or failing (the 'needed' path will try again).
   */
  private lease(
    token: Token,
    state: TokenState,
    starts: Readonly<WindowStarts>,
    when: 'needed' | 'ahead',
    at: number,
  ): void {
    let wanted: QuotaLease[] | undefined;
    for (const window of QUOTA_WINDOWS) {
      const limit = token.limits.calls[window];
      if (limit === null) continue;
      const start = starts[window];
      const c = state.counters.get(window);
      const fresh = !c || c.windowStart !== start;
      const calls = fresh ? 0 : c.calls;
      const reserved = fresh ? 0 : c.reserved;
      const leased = fresh ? 0 : c.leased;
      const size = leaseSize(limit);
      const left = leased - reserved;
      const due = when === 'needed' ? left < 1 : size >= 4 && left <= size / 4 && left < limit - calls;
      if (!due) continue;
      wanted ??= [];
      wanted.push({
        tokenId: token.id,
        window,
        windowStart: start,
        reservedTo: reserved + Math.min(size, limit - calls),
      });
    }
    if (!wanted) return;
    const wait = when === 'needed';
    let saved = false;
    let cause: unknown;
    try {
      saved = this.leases.save(wanted, wait);
    } catch (error) {
      cause = error;
    }
    if (!saved) {
      // Strict over available: a call that cannot be counted durably is not forwarded.
      // Tokens without call quotas never get here, so they keep working on a full disk.
      if (wait)
        throw new CompanionError(
          'store_unavailable',
          503,
          "cannot record this call against the token's quota: the companion's store cannot be written",
          { cause, retryAfterSeconds: 5 },
        );
      // The history writer holds the database for a while: the next calls do not each try
      // (and fail) again; a lease a quarter full leaves room for many milliseconds of them.
      this.aheadAfter = at + AHEAD_RETRY_MS;
      return;
    }
    for (const lease of wanted) {
      const c = state.counters.get(lease.window);
      if (c && c.windowStart === lease.windowStart) c.leased = lease.reservedTo;
      else
        state.counters.set(lease.window, {
          windowStart: lease.windowStart,
          calls: 0,
          reserved: 0,
          leased: lease.reservedTo,
        });
    }
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

  /**
   * Adds to the window starting at `start`; a refund after the window rolled over is
   * dropped. A refund lowers `calls` only: `reserved` stays, as the lease bounds it.
   */
  private add(state: TokenState, window: QuotaWindow, start: number, delta: 1 | -1): void {
    const c = state.counters.get(window);
    if (c && c.windowStart === start) {
      c.calls = Math.max(0, c.calls + delta);
      if (delta > 0) c.reserved += 1;
    } else if (delta > 0 && (!c || c.windowStart < start)) {
      state.counters.set(window, { windowStart: start, calls: 1, reserved: 1, leased: 0 });
    }
  }
}

type WindowStarts = Record<QuotaWindow, number>;

/**
 * Every window starts on a minute boundary (hours, days and months too), so the starts
 * are the same for a whole minute: worked out once per minute, not per request.
 */
let startsMinute = Number.NaN;
let startsCached: Readonly<WindowStarts> | undefined;

function windowStarts(at: number): Readonly<WindowStarts> {
  const minute = windowStart('minute', at);
  if (minute !== startsMinute || !startsCached) {
    startsCached = computeWindowStarts(at);
    startsMinute = minute;
  }
  return startsCached;
}

function computeWindowStarts(at: number): WindowStarts {
  return {
    total: windowStart('total', at),
    minute: windowStart('minute', at),
    hour: windowStart('hour', at),
    day: windowStart('day', at),
    month: windowStart('month', at),
  };
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
