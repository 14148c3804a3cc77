/** Admin accounts in SQLite. Passwords arrive here already hashed. */
import type { Db } from '../database.js';

export type AdminRole = 'owner' | 'admin' | 'viewer';
export const ADMIN_ROLES: readonly AdminRole[] = ['owner', 'admin', 'viewer'];

export interface Admin {
  id: string;
  username: string;
  role: AdminRole;
  createdAt: number;
  updatedAt: number;
}

export interface AdminRepository {
  insert(admin: Admin, passwordHash: string): void;
  findByUsername(username: string): (Admin & { passwordHash: string }) | undefined;
  findById(id: string): Admin | undefined;
  list(): Admin[];
  count(): number;
  countOwners(): number;
  updateRole(id: string, role: AdminRole, at: number): void;
  updatePassword(id: string, passwordHash: string, at: number): void;
  /** Removes the account; its sessions go with it. */
  delete(id: string): void;
  /** Runs `fn` in one write transaction (for checks that must hold when the change lands). */
  transaction<T>(fn: () => T): T;
}

interface AdminRow {
  id: string;
  username: string;
  role: AdminRole;
  password_hash: string;
  created_at: number;
  updated_at: number;
}

const toAdmin = (row: AdminRow): Admin => ({
  id: row.id,
  username: row.username,
  role: row.role,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export function createAdminRepository(db: Db): AdminRepository {
  const insert = db.prepare(
    'INSERT INTO admins (id, username, password_hash, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const byUsername = db.prepare<[string], AdminRow>('SELECT * FROM admins WHERE username = ?');
  const all = db.prepare<[], AdminRow>('SELECT * FROM admins ORDER BY created_at');
  const count = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM admins');
  const byId = db.prepare<[string], AdminRow>('SELECT * FROM admins WHERE id = ?');
  const owners = db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM admins WHERE role = 'owner'");
  const setRole = db.prepare('UPDATE admins SET role = ?, updated_at = ? WHERE id = ?');
  const setPassword = db.prepare('UPDATE admins SET password_hash = ?, updated_at = ? WHERE id = ?');
  const remove = db.prepare('DELETE FROM admins WHERE id = ?');
  return {
    insert: (a, hash) => void insert.run(a.id, a.username, hash, a.role, a.createdAt, a.updatedAt),
    findByUsername: (username) => {
      const row = byUsername.get(username);
      return row && { ...toAdmin(row), passwordHash: row.password_hash };
    },
    list: () => all.all().map(toAdmin),
    count: () => count.get()!.n,
    findById: (id) => {
      const row = byId.get(id);
      return row && toAdmin(row);
    },
    countOwners: () => owners.get()!.n,
    updateRole: (id, role, at) => void setRole.run(role, at, id),
    updatePassword: (id, hash, at) => void setPassword.run(hash, at, id),
    delete: (id) => void remove.run(id),
    transaction: (fn) => db.transaction(fn).immediate(),
  };
}
