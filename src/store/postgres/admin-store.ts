/**
 * Admin accounts in PostgreSQL (the `AdminStore` port), shared by every companion on the
 * database. Passwords arrive here already hashed. origin_node: the companion where the
 * account was made or last changed.
 *
 * The last owner stays, also when two admins act at once on two companions: every change
 * that can take an owner away first takes one transaction-scoped advisory lock, so such
 * changes run one after the other, and each reads the owners (READ COMMITTED: a fresh
 * snapshot per statement, taken after the lock) with every earlier change committed.
 */
import type { Admin, AdminChange, AdminRole, AdminStore } from '../../auth/admin-store.js';
import type { PostgresClient, PostgresPool } from './postgres-pool.js';
import { inTransaction } from './transaction.js';

/** The bytes of 'olow' (owners) read as an integer: the lock of changes to roles and accounts. */
const OWNERS_LOCK = 0x6f6c6f77;

interface AdminRow {
  id: string;
  username: string;
  role: AdminRole;
  password_hash: string;
  created_at: string;
  updated_at: string;
}

const COLUMNS = 'id, username, role, password_hash, created_at, updated_at';

const toAdmin = (row: AdminRow): Admin => ({
  id: row.id,
  username: row.username,
  role: row.role,
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at),
});

export function createPostgresAdminStore(pool: PostgresPool, nodeId: string): AdminStore {
  const byId = async (db: PostgresClient | PostgresPool, id: string): Promise<Admin | undefined> => {
    const { rows } = await db.query<AdminRow>(`SELECT ${COLUMNS} FROM admins WHERE id = $1`, [id]);
    return rows[0] && toAdmin(rows[0]);
  };
  /** Whether taking the owner role from `admin` would leave no owner (under OWNERS_LOCK). */
  const isLastOwner = async (db: PostgresClient, admin: Admin): Promise<boolean> => {
    if (admin.role !== 'owner') return false;
    const { rows } = await db.query<{ n: number }>(
      "SELECT COUNT(*)::int AS n FROM admins WHERE role = 'owner'",
    );
    return rows[0]!.n <= 1;
  };

  return {
    async insert(admin, passwordHash) {
      // The unique index on lower(username): a taken name, in any case, inserts nothing;
      // of two inserts at once, the second waits for the first and then inserts nothing.
      const { rowCount } = await pool.query(
        `INSERT INTO admins (id, username, password_hash, role, created_at, updated_at, origin_node)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (lower(username)) DO NOTHING`,
        [admin.id, admin.username, passwordHash, admin.role, admin.createdAt, admin.updatedAt, nodeId],
      );
      return rowCount === 1;
    },
    async findByUsername(username) {
      const { rows } = await pool.query<AdminRow>(
        `SELECT ${COLUMNS} FROM admins WHERE lower(username) = lower($1)`,
        [username],
      );
      const row = rows[0];
      return row && { ...toAdmin(row), passwordHash: row.password_hash };
    },
    findById: (id) => byId(pool, id),
    async list() {
      const { rows } = await pool.query<AdminRow>(`SELECT ${COLUMNS} FROM admins ORDER BY created_at, id`);
      return rows.map(toAdmin);
    },
    async count() {
      const { rows } = await pool.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM admins');
      return rows[0]!.n;
    },
    updateKeepingAnOwner: (id, changes, at) =>
      inTransaction(pool, async (db): Promise<AdminChange> => {
        const changesRole = changes.role !== undefined;
        if (changesRole) await db.query('SELECT pg_advisory_xact_lock($1)', [OWNERS_LOCK]);
        const current = await byId(db, id);
        if (!current) return { refused: 'not_found' };
        const role = changes.role ?? current.role;
        if (role !== current.role && (await isLastOwner(db, current))) return { refused: 'last_owner' };
        if (role === current.role && changes.passwordHash === undefined) return { admin: current };
        const { rows } = await db.query<AdminRow>(
          `UPDATE admins SET role = $2, password_hash = COALESCE($3, password_hash), updated_at = $4,
                             origin_node = $5
           WHERE id = $1 RETURNING ${COLUMNS}`,
          [id, role, changes.passwordHash ?? null, at, nodeId],
        );
        // Gone since it was read (removed by another companion): nothing changed.
        return rows[0] ? { admin: toAdmin(rows[0]) } : { refused: 'not_found' };
      }),
    removeKeepingAnOwner: (id) =>
      inTransaction(pool, async (db): Promise<AdminChange> => {
        await db.query('SELECT pg_advisory_xact_lock($1)', [OWNERS_LOCK]);
        const current = await byId(db, id);
        if (!current) return { refused: 'not_found' };
        if (await isLastOwner(db, current)) return { refused: 'last_owner' };
        // Sessions go with the account (ON DELETE CASCADE).
        const { rowCount } = await db.query('DELETE FROM admins WHERE id = $1', [id]);
        return rowCount === 1 ? { admin: current } : { refused: 'not_found' };
      }),
  };
}
