/**
 * The connections to Ollama for model runs, shared fairly among tokens. At most
 * `capacity` requests hold one at a time, and one holder (a token) at most `perHolder`
 * of them, so one busy client always leaves room for others. A request that finds no
 * slot it may take waits; when a slot frees, it goes to the waiting holder that holds
 * the fewest (earliest first within a holder). A request still waiting after `waitMs`
 * gives up.
 */

interface Waiter {
  holder: string;
  grant: (release: () => void) => void;
  timer: NodeJS.Timeout | undefined;
}

export interface SlotLimits {
  capacity: number;
  perHolder: number;
  waitMs: number;
}

export class UpstreamSlots {
  private inUse = 0;
  private readonly held = new Map<string, number>();
  /** Waiting requests by holder, each queue in arrival order. */
  private readonly waiting = new Map<string, Waiter[]>();

  constructor(private readonly limits: SlotLimits) {}

  /**
   * Calls `grant` with the slot's release, at once when a slot is free to this holder,
   * else when one frees up; calls `expire` if none came within `waitMs`.
   * @returns a cancel function for a request that leaves while it waits.
   */
  acquire(holder: string, grant: (release: () => void) => void, expire: () => void): () => void {
    if (this.mayTake(holder)) {
      grant(this.take(holder));
      return () => {};
    }
    const waiter: Waiter = { holder, grant, timer: undefined };
    let queue = this.waiting.get(holder);
    if (!queue) {
      queue = [];
      this.waiting.set(holder, queue);
    }
    queue.push(waiter);
    waiter.timer = setTimeout(() => {
      if (this.remove(waiter)) expire();
    }, this.limits.waitMs);
    return () => {
      this.remove(waiter);
    };
  }

  /** Slots held now, and requests waiting, for metrics and tests. */
  get usage(): { inUse: number; waiting: number } {
    let waiting = 0;
    for (const queue of this.waiting.values()) waiting += queue.length;
    return { inUse: this.inUse, waiting };
  }

  private mayTake(holder: string): boolean {
    return this.inUse < this.limits.capacity && (this.held.get(holder) ?? 0) < this.limits.perHolder;
  }

  private take(holder: string): () => void {
    this.inUse++;
    this.held.set(holder, (this.held.get(holder) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inUse--;
      const left = (this.held.get(holder) ?? 1) - 1;
      if (left > 0) this.held.set(holder, left);
      else this.held.delete(holder);
      this.grantNext();
    };
  }

  /** Hands free slots to waiting holders, the one holding fewest first. */
  private grantNext(): void {
    while (this.inUse < this.limits.capacity) {
      let next: Waiter[] | undefined;
      let fewest = Number.POSITIVE_INFINITY;
      for (const [holder, queue] of this.waiting) {
        const count = this.held.get(holder) ?? 0;
        if (count < this.limits.perHolder && count < fewest) {
          fewest = count;
          next = queue;
        }
      }
      const waiter = next?.shift();
      if (!waiter) return;
      if (next!.length === 0) this.waiting.delete(waiter.holder);
      clearTimeout(waiter.timer);
      waiter.grant(this.take(waiter.holder));
    }
  }

  private remove(waiter: Waiter): boolean {
    const queue = this.waiting.get(waiter.holder);
    const index = queue ? queue.indexOf(waiter) : -1;
    if (index === -1) return false;
    queue!.splice(index, 1);
    if (queue!.length === 0) this.waiting.delete(waiter.holder);
    clearTimeout(waiter.timer);
    return true;
  }
}
