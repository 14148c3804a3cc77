/**
 * Watches whether the Ollama this companion guards answers: one check at start, then
 * one every `intervalMs`. It says so once per change of state — a warning naming the
 * URL and the setting to change when Ollama stops answering, an info line when it
 * answers again — and keeps the current state for /readyz and the dashboard.
 *
 * Invariant: checks never overlap; a tick that comes while a check is still running
 * is skipped, so a slow Ollama cannot pile up probes.
 */

/** Asks Ollama for its version. @throws an Error whose `code` (or message) says why it failed. */
export type VersionProbe = () => Promise<string>;

/** Time and a repeating timer, so the watch can be driven by a fake clock in tests. */
export interface WatchClock {
  now(): number;
  /** Calls `tick` every `ms` until the returned function is called. */
  every(ms: number, tick: () => void): () => void;
}

/** Where the log lines go (a pino logger fits). */
export interface WatchLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface UpstreamState {
  /** Null until the first check has finished. */
  reachable: boolean | null;
  /** Ollama's version from its last answer; kept while it does not answer. */
  version: string | null;
  /** When the current state began (epoch ms); null before the first check. */
  since: number | null;
  /** Why the last check failed (an error code or a short reason); null when it answered. */
  failure: string | null;
}

export interface UpstreamWatchOptions {
  /** The upstream's base URL, as configured; named in the log lines. */
  url: string;
  probe: VersionProbe;
  clock: WatchClock;
  log: WatchLog;
  intervalMs: number;
}

/** Why a probe failed, in a few words: the socket error's code when there is one. */
export function failureReason(error: unknown): string {
  const seen = new Set<unknown>();
  let current: unknown = error;
  // fetch wraps the socket error in a TypeError("fetch failed") whose cause has the code.
  while (current instanceof Error && !seen.has(current)) {
    seen.add(current);
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    if (current.cause === undefined) break;
    current = current.cause;
  }
  return error instanceof Error && error.message ? error.message : String(error);
}

export class UpstreamWatch {
  private current: UpstreamState = { reachable: null, version: null, since: null, failure: null };
  private running: Promise<void> | undefined;
  private stopTimer: (() => void) | undefined;

  constructor(private readonly options: UpstreamWatchOptions) {}

  /** The state as of the last finished check. */
  state(): UpstreamState {
    return { ...this.current };
  }

  /** Checks at once (not awaited by the caller's start-up), then every `intervalMs`. */
  start(): void {
    if (this.stopTimer) return;
    this.stopTimer = this.options.clock.every(this.options.intervalMs, () => void this.check());
    void this.check();
  }

  /** Stops the timer and waits for a check still running. */
  async stop(): Promise<void> {
    this.stopTimer?.();
    this.stopTimer = undefined;
    await this.running;
  }

  /** Runs one check unless one is running (then waits for that one). Never rejects. */
  check(): Promise<void> {
    this.running ??= this.runCheck().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async runCheck(): Promise<void> {
    const { probe, clock, log, url } = this.options;
    let version: string | undefined;
    let failure: string | undefined;
    try {
      version = await probe();
    } catch (error) {
      failure = failureReason(error);
    }
    const before = this.current;
    const now = clock.now();
    if (version !== undefined) {
      if (before.reachable !== true) {
        const message =
          before.reachable === false
            ? `Ollama at ${url} answers again (version ${version})`
            : `Ollama at ${url} answers (version ${version})`;
        log.info({ upstream: url, version }, message);
      }
      this.current = {
        reachable: true,
        version,
        since: before.reachable === true ? before.since : now,
        failure: null,
      };
      return;
    }
    if (before.reachable !== false) {
      log.warn(
        { upstream: url, reason: failure },
        `Ollama at ${url} is not answering (${failure}); is it running? set --upstream or OLLAMA_COMPANION_UPSTREAM`,
      );
    }
    this.current = {
      reachable: false,
      version: before.version,
      since: before.reachable === false ? before.since : now,
      failure: failure ?? null,
    };
  }
}

/** The real clock; its timer never keeps the process alive by itself. */
export const systemWatchClock: WatchClock = {
  now: () => Date.now(),
  every(ms, tick) {
    const timer = setInterval(tick, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
};
