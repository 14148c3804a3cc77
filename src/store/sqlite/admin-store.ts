/** Admin accounts in SQLite (the `AdminStore` port). Passwords arrive here already hashed. */
import type { Admin, AdminChange, AdminRole, AdminStore } from '../../auth/admin-store.js';
import type { Db } from '../database.js';

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

export function createSqliteAdminStore(db: Db): AdminStore {
  // The username column is UNIQUE COLLATE NOCASE: a taken name, in any case, inserts nothing.
  const insert = db.prepare(`
    INSERT INTO admins (id, username, password_hash, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (username) DO NOTHING`);
  const byUsername = db.prepare<[string], AdminRow>('SELECT * FROM admins WHERE username = ?');
  const all = db.prepare<[], AdminRow>('SELECT * FROM admins ORDER BY created_at');
  const count = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM admins');
  const byId = db.prepare<[string], AdminRow>('SELECT * FROM admins WHERE id = ?');
  const owners = db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM admins WHERE role = 'owner'");
  const setRole = db.prepare('UPDATE admins SET role = ?, updated_at = ? WHERE id = ?');
  const setPassword = db.prepare('UPDATE admins SET password_hash = ?, updated_at = ? WHERE id = ?');
  // Sessions go with the account (ON DELETE CASCADE).
  const remove = db.prepare('DELETE FROM admins WHERE id = ?');

  const findById = (id: string): Admin | undefined => {
    const row = byId.get(id);
    return row && toAdmin(row);
  };
  /** Whether taking the owner role from `admin` would leave no owner. */
  const isLastOwner = (admin: Admin): boolean => admin.role === 'owner' && owners.get()!.n <= 1;

  // Immediate transactions: the owner count is read under the write lock, so no other
  // connection can demote or remove the other owner between the check and the change.
  const update = db.transaction(
    (id: string, changes: { role?: AdminRole; passwordHash?: string }, at: number): AdminChange => {
      const current = findById(id);
      if (!current) return { refused: 'not_found' };
      if (changes.role !== undefined && changes.role !== current.role) {
        if (isLastOwner(current)) return { refused: 'last_owner' };
        setRole.run(changes.role, at, id);
      }
      if (changes.passwordHash !== undefined) setPassword.run(changes.passwordHash, at, id);
      return { admin: findById(id)! };
    },
  );
  const removeOne = db.transaction((id: string): AdminChange => {
    const current = findById(id);
    if (!current) return { refused: 'not_found' };
    if (isLastOwner(current)) return { refused: 'last_owner' };
    remove.run(id);
    return { admin: current };
  });

  return {
    insert: async (a, hash) =>
      insert.run(a.id, a.username, hash, a.role, a.createdAt, a.updatedAt).changes === 1,
    findByUsername: async (username) => {
      const row = byUsername.get(username);
      return row && { ...toAdmin(row), passwordHash: row.password_hash };
    },
    findById: async (id) => findById(id),
    list: async () => all.all().map(toAdmin),
    count: async () => count.get()!.n,
    updateKeepingAnOwner: async (id, changes, at) => update.immediate(id, changes, at),
    removeKeepingAnOwner: async (id) => removeOne.immediate(id),
  };
}
