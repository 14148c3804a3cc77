/**
 * Admin sessions as the store keeps them: only the hash of a session id reaches the
 * store; the id itself lives in the browser's cookie.
 */
import type { Admin } from './admin-store.js';

export interface AdminSessionRecord {
  idHash: string;
  adminId: string;
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
  ip: string | null;
  userAgent: string | null;
}

export interface AdminSessionStore {
  insert(session: AdminSessionRecord): Promise<void>;
  /** The session with the account it belongs to, as the account is now. */
  findWithAdmin(idHash: string): Promise<{ session: AdminSessionRecord; admin: Admin } | undefined>;
  touch(idHash: string, at: number): Promise<void>;
  delete(idHash: string): Promise<void>;
  /** Ends every session of an admin except, optionally, one. Resolves to how many ended. */
  deleteForAdmin(adminId: string, exceptIdHash?: string): Promise<number>;
  /** Removes sessions idle since before `idleBefore` or created before `createdBefore`. */
  deleteExpired(idleBefore: number, createdBefore: number): Promise<number>;
}
