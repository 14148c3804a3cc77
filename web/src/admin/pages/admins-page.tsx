/**
 * Admin accounts and their roles. Owners add, change and remove accounts; the server
 * refuses to remove or demote the last owner.
 */
import { useState } from 'preact/hooks';
import { ErrorNote, Loading, OkNote } from '../../components/notice.js';
import { api, messageOf } from '../../lib/api.js';
import { dateTime } from '../../lib/format.js';
import type { AdminUser, Role, Session } from '../../lib/types.js';
import { useAdminList } from '../../lib/use-admin-list.js';

const ROLES: Role[] = ['owner', 'admin', 'viewer'];
const ROLE_HELP: Record<Role, string> = {
  owner: 'everything, including admin accounts',
  admin: 'tokens, history and settings',
  viewer: 'reads only',
};

function AdminRow({
  admin,
  self,
  canManage,
  onChanged,
  onError,
}: {
  admin: AdminUser;
  self: boolean;
  canManage: boolean;
  onChanged: (message: string) => void;
  onError: (message: string) => void;
}) {
  const [role, setRole] = useState<Role>(admin.role);
  const [confirming, setConfirming] = useState(false);
  const path = `/admins/${encodeURIComponent(admin.id)}`;
  const run = async (action: () => Promise<unknown>, message: string) => {
    try {
      await action();
      onChanged(message);
    } catch (e) {
      setRole(admin.role);
      onError(messageOf(e));
    }
  };
  return (
    <tr>
      <th scope="row" data-label="Username">
        {admin.username}
        {self ? <span class="muted"> (you)</span> : null}
      </th>
      <td data-label="Role">
        {canManage ? (
          <span class="inline-field">
            <label for={`role-${admin.id}`} class="sr-only">
              Role of {admin.username}
            </label>
            <select
              id={`role-${admin.id}`}
              value={role}
              onChange={(e) => setRole(e.currentTarget.value as Role)}
            >
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
            {role !== admin.role && (
              <button
                type="button"
                class="primary small"
                onClick={() => run(() => api.patch(path, { role }), `${admin.username} is now ${role}.`)}
              >
                Save
              </button>
            )}
          </span>
        ) : (
          <span class="badge info">{admin.role}</span>
        )}
      </td>
      <td data-label="Created">{dateTime(admin.createdAt)}</td>
      <td data-label="Actions">
        <div class="row-actions">
          {canManage &&
            (confirming ? (
              <span class="confirm">
                <button
                  type="button"
                  class="danger small"
                  onClick={() => run(() => api.delete(path), `${admin.username} removed.`)}
                >
                  Remove now
                </button>
                <button type="button" class="small" onClick={() => setConfirming(false)}>
                  Keep
                </button>
              </span>
            ) : (
              <button
                type="button"
                class="danger small"
                onClick={() => setConfirming(true)}
                aria-label={`Remove ${admin.username}`}
              >
                Remove
              </button>
            ))}
        </div>
      </td>
    </tr>
  );
}

function NewAdmin({ onCreated }: { onCreated: (message: string) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      await api.post('/admins', { username, password, role });
      setUsername('');
      setPassword('');
      onCreated(`Admin ${username} created.`);
    } catch (e) {
      setError(messageOf(e));
    }
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="new-admin-title">
      <h2 id="new-admin-title">New admin</h2>
      <div class="grid form-grid three">
        <div>
          <label for="new-admin-username">Username</label>
          <input
            id="new-admin-username"
            autoComplete="off"
            required
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </div>
        <div>
          <label for="new-admin-password">Password (at least 10 characters)</label>
          <input
            id="new-admin-password"
            type="password"
            autoComplete="new-password"
            minLength={10}
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </div>
        <div>
          <label for="new-admin-role">Role</label>
          <select id="new-admin-role" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r} — {ROLE_HELP[r]}
              </option>
            ))}
          </select>
        </div>
      </div>
      <ErrorNote error={error} />
      <button type="submit" class="primary">
        Create admin
      </button>
    </form>
  );
}

export function AdminsPage({ session }: { session: Session }) {
  const canManage = session.admin.role === 'owner';
  const { items: admins, error, setError, message, setMessage, changed } = useAdminList<AdminUser>('/admins');
  return (
    <section aria-labelledby="admins-title">
      <div class="page-head">
        <h1 id="admins-title">Admins</h1>
      </div>
      {!canManage && <p class="muted">Only owners can add, change or remove admins.</p>}
      <ErrorNote error={error} />
      <OkNote message={message} />
      {admins === null ? (
        !error && <Loading what="Loading admins" />
      ) : (
        <div class="table-wrap">
          <table class="cards">
            <caption class="sr-only">Admin accounts</caption>
            <thead>
              <tr>
                <th scope="col">Username</th>
                <th scope="col">Role</th>
                <th scope="col">Created</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {admins.map((a) => (
                <AdminRow
                  key={`${a.id}-${a.role}`}
                  admin={a}
                  self={a.id === session.admin.id}
                  canManage={canManage}
                  onChanged={changed}
                  onError={(text) => {
                    setMessage(null);
                    setError(text);
                  }}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {canManage && <NewAdmin onCreated={changed} />}
    </section>
  );
}
