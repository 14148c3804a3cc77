/**
 * Admin accounts: the rules shared by the CLI, the setup link and the admin API —
 * creating, signing in, changing and removing accounts. The invariant kept here: there
 * is always at least one owner once the first one exists.
 */
import { randomUUID } from 'node:crypto';
import { badRequest, CompanionError, notFound } from '../errors/companion-error.js';
import type { Admin, AdminRepository, AdminRole } from '../store/sqlite/admin-store.js';
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
  repo: AdminRepository,
  username: string,
  password: string,
  role: AdminRole,
): Promise<Admin> {
  if (!USERNAME.test(username))
    throw badRequest('invalid username: 1–64 letters, digits, ".", "_", "@" or "-"');
  checkPassword(password);
  if (repo.findByUsername(username)) throw new CompanionError('conflict', 409, `admin "${username}" exists`);
  const hash = await hashPassword(password);
  // Checked again after the (slow) hashing: another request may have taken the name meanwhile.
  if (repo.findByUsername(username)) throw new CompanionError('conflict', 409, `admin "${username}" exists`);
  const now = Date.now();
  const admin: Admin = { id: randomUUID(), username, role, createdAt: now, updatedAt: now };
  repo.insert(admin, hash);
  return admin;
}

/** The account when the password is right; undefined otherwise (unknown name included). */
export async function verifyAdmin(
  repo: AdminRepository,
  username: string,
  password: string,
): Promise<Admin | undefined> {
  const found = repo.findByUsername(username);
  if (!found) {
    decoyHash ??= hashPassword(randomUUID());
    await verifyPassword(password, await decoyHash);
    return undefined;
  }
  const { passwordHash, ...admin } = found;
  return (await verifyPassword(password, passwordHash)) ? admin : undefined;
}

function lastOwner(): CompanionError {
  return new CompanionError(
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
  repo: AdminRepository,
  id: string,
  changes: { role?: AdminRole; password?: string },
): Promise<Admin> {
  if (!repo.findById(id)) throw notFound(`no admin with id "${id}"`);
  if (changes.password !== undefined) checkPassword(changes.password);
  const hash = changes.password === undefined ? undefined : await hashPassword(changes.password);
  return repo.transaction(() => {
    const current = repo.findById(id);
    if (!current) throw notFound(`no admin with id "${id}"`);
    const at = Date.now();
    if (changes.role !== undefined && changes.role !== current.role) {
      if (current.role === 'owner' && repo.countOwners() <= 1) throw lastOwner();
      repo.updateRole(id, changes.role, at);
    }
    if (hash !== undefined) repo.updatePassword(id, hash, at);
    return repo.findById(id)!;
  });
}

/** @throws CompanionError 404 unknown id, 409 for the last owner. */
export function removeAdmin(repo: AdminRepository, id: string): Admin {
  return repo.transaction(() => {
    const current = repo.findById(id);
    if (!current) throw notFound(`no admin with id "${id}"`);
    if (current.role === 'owner' && repo.countOwners() <= 1) throw lastOwner();
    repo.delete(id);
    return current;
  });
}
