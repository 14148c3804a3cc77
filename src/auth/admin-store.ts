/**
 * Admin accounts as the domain keeps them: the account, its roles, and the port a store
 * implements. Passwords reach the store already hashed. The store holds the invariant
 * that the last owner stays: a change that would leave no owner changes nothing, checked
 * in the same transaction as the change so two admins acting at once cannot both pass.
 */

export type AdminRole = 'owner' | 'admin' | 'viewer';
export const ADMIN_ROLES: readonly AdminRole[] = ['owner', 'admin', 'viewer'];

export interface Admin {
  id: string;
  username: string;
  role: AdminRole;
  createdAt: number;
  updatedAt: number;
}

/** What a guarded change did: the account after it (or as removed), or why nothing changed. */
export type AdminChange = { admin: Admin } | { refused: 'not_found' | 'last_owner' };

export interface AdminStore {
  /** Adds the account; false when its username is taken (case-insensitively, as sign-in matches). */
  insert(admin: Admin, passwordHash: string): Promise<boolean>;
  /** The account by username, case-insensitively, with its password hash. */
  findByUsername(username: string): Promise<(Admin & { passwordHash: string }) | undefined>;
  findById(id: string): Promise<Admin | undefined>;
  /** Every account, oldest first. */
  list(): Promise<Admin[]>;
  count(): Promise<number>;
  /**
   * Changes the role and/or the password at once, unless the account is gone or the new
   * role would leave no owner; then nothing changes.
   */
  updateKeepingAnOwner(
    id: string,
    changes: { role?: AdminRole; passwordHash?: string },
    at: number,
  ): Promise<AdminChange>;
  /** Removes the account and its sessions, unless it is gone or the last owner. */
  removeKeepingAnOwner(id: string): Promise<AdminChange>;
}
