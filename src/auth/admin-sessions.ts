/**
 * Admin sessions: a random id in an HttpOnly cookie, its hash in the store, and a CSRF
 * token that state-changing requests must echo in a header. A session ends when unused
 * for the idle time (a runtime setting), after twelve hours in any case, at sign-out, or
 * when its account goes. Each sign-in makes a new session id.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AdminSessionRecord, AdminSessionStore } from './admin-session-store.js';
import type { Admin } from './admin-store.js';

export const SESSION_COOKIE = 'oc_admin';
export const ABSOLUTE_SESSION_MS = 12 * 3_600_000;
/** Last-seen is written at most this often (or a quarter of the idle time, if shorter). */
const TOUCH_EVERY_MS = 1000;

export interface SignedIn {
  admin: Admin;
  session: AdminSessionRecord;
}

export interface NewSession {
  /** The cookie value; never stored. */
  cookieValue: string;
  csrfToken: string;
  signedIn: SignedIn;
}

const hashId = (cookieValue: string): string => createHash('sha256').update(cookieValue).digest('base64url');

export class AdminSessions {
  constructor(
    private readonly store: AdminSessionStore,
    /** The idle time now; read at each lookup so a settings change applies at once. */
    private readonly idleMs: () => number | Promise<number>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts a session for `admin`, ending the one the browser held before, if any. */
  async start(
    admin: Admin,
    client: { ip: string; userAgent?: string | undefined },
    previous?: string,
  ): Promise<NewSession> {
    const at = this.now();
    if (previous) await this.store.delete(hashId(previous));
    await this.store.deleteExpired(at - (await this.idleMs()), at - ABSOLUTE_SESSION_MS);
    const cookieValue = randomBytes(32).toString('base64url');
    const session: AdminSessionRecord = {
      idHash: hashId(cookieValue),
      adminId: admin.id,
      csrfToken: randomBytes(32).toString('base64url'),
      createdAt: at,
      lastSeenAt: at,
      ip: client.ip,
      userAgent: client.userAgent?.slice(0, 512) ?? null,
    };
    await this.store.insert(session);
    return { cookieValue, csrfToken: session.csrfToken, signedIn: { admin, session } };
  }

  /** The live session for a cookie value, refreshed; undefined when unknown or expired. */
  async lookup(cookieValue: string | undefined): Promise<SignedIn | undefined> {
    if (!cookieValue) return undefined;
    const idHash = hashId(cookieValue);
    const found = await this.store.findWithAdmin(idHash);
    if (!found) return undefined;
    const idle = await this.idleMs();
    const at = this.now();
    const { session } = found;
    if (at - session.lastSeenAt > idle || at - session.createdAt > ABSOLUTE_SESSION_MS) {
      await this.store.delete(idHash);
      return undefined;
    }
    if (at - session.lastSeenAt >= Math.min(TOUCH_EVERY_MS, idle / 4)) {
      await this.store.touch(idHash, at);
      session.lastSeenAt = at;
    }
    return found;
  }

  async end(cookieValue: string | undefined): Promise<void> {
    if (cookieValue) await this.store.delete(hashId(cookieValue));
  }

  /** Signs an account out everywhere, except the session given (e.g. the caller's own). */
  endAllFor(adminId: string, except?: SignedIn): Promise<number> {
    return this.store.deleteForAdmin(adminId, except?.session.idHash);
  }

  /** Constant-time comparison of the header a request sent with the session's token. */
  static csrfMatches(signedIn: SignedIn, header: string | string[] | undefined): boolean {
    if (typeof header !== 'string' || header.length === 0) return false;
    const expected = Buffer.from(signedIn.session.csrfToken);
    const given = Buffer.from(header);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
