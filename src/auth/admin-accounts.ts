/**
 * Admin accounts: the rules shared by the CLI, the setup link and the admin API —
 * creating, signing in, changing and removing accounts. The invariant kept: there is
 * always at least one owner once the first one exists (the store checks it with the change).
 */
import { randomUUID } from 'node:crypto';
import { badRequest, CompanionError, notFound } from '../errors/companion-error.js';
import type { Admin, AdminChange, AdminRole, AdminStore } from './admin-store.js';
import { hashPassword, verifyPassword } from './password-hash.js';

export const MIN_PASSWORD_LENGTH = 10;
const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/** Verified against when the username is unknown, so both cases take as long. */
let decoyHash: Promise<string> | undefined;

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw badRequest(`password too short: at least ${MIN_PASSWORD_LENGTH} characters`);
  }
}

/** @throws CompanionError 400 for a weak password or bad name, 409 for a taken name. */
export async function createAdmin(
  admins: AdminStore,
  username: string,
  password: string,
  role: AdminRole,
): Promise<Admin> {
  if (!USERNAME.test(username))
    throw badRequest('invalid username: 1–64 letters, digits, ".", "_", "@" or "-"');
  checkPassword(password);
  const taken = () => new CompanionError('conflict', 409, `admin "${username}" exists`);
  if (await admins.findByUsername(username)) throw taken();
  const hash = await hashPassword(password);
  const now = Date.now();
  const admin: Admin = { id: randomUUID(), username, role, createdAt: now, updatedAt: now };
  // The store refuses the name if another request took it during the (slow) hashing.
  if (!(await admins.insert(admin, hash))) throw taken();
  return admin;
}

/** The account when the password is right; undefined otherwise (unknown name included). */
export async function verifyAdmin(
  admins: AdminStore,
  username: string,
  password: string,
): Promise<Admin | undefined> {
  const found = await admins.findByUsername(username);
  if (!found) {
    decoyHash ??= hashPassword(randomUUID());
    await verifyPassword(password, await decoyHash);
    return undefined;
  }
  const { passwordHash, ...admin } = found;
  return (await verifyPassword(password, passwordHash)) ? admin : undefined;
}

/** The account a guarded change left, or the refusal in words. */
function changed(id: string, change: AdminChange): Admin {
  if ('admin' in change) return change.admin;
  if (change.refused === 'not_found') throw notFound(`no admin with id "${id}"`);
  throw new CompanionError(
    'conflict',
    409,
    'the last owner cannot be removed or demoted: make another admin owner first',
  );
}

/**
 * Changes an account's role and/or password.
 * @throws CompanionError 404 unknown id, 400 weak password, 409 when it would leave no owner.
 */
export async function changeAdmin(
  admins: AdminStore,
  id: string,
  changes: { role?: AdminRole; password?: string },
): Promise<Admin> {
  if (!(await admins.findById(id))) throw notFound(`no admin with id "${id}"`);
  if (changes.password !== undefined) checkPassword(changes.password);
  const passwordHash = changes.password === undefined ? undefined : await hashPassword(changes.password);
  const wanted = {
    ...(changes.role !== undefined ? { role: changes.role } : {}),
    ...(passwordHash !== undefined ? { passwordHash } : {}),
  };
  return changed(id, await admins.updateKeepingAnOwner(id, wanted, Date.now()));
}

/** @throws CompanionError 404 unknown id, 409 for the last owner. */
export async function removeAdmin(admins: AdminStore, id: string): Promise<Admin> {
  return changed(id, await admins.removeKeepingAnOwner(id));
}
