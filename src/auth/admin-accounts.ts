/** Creating admin accounts: the rules shared by the CLI and the setup link. */
import { randomUUID } from 'node:crypto';
import { badRequest, CompanionError } from '../errors/companion-error.js';
import type { Admin, AdminRepository, AdminRole } from '../store/admin-repository.js';
import { hashPassword } from './password-hash.js';

export const MIN_PASSWORD_LENGTH = 10;
const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/** @throws CompanionError 400 for a weak password or bad name, 409 for a taken name. */
export async function createAdmin(
  repo: AdminRepository,
  username: string,
  password: string,
  role: AdminRole,
): Promise<Admin> {
  if (!USERNAME.test(username))
    throw badRequest('invalid username: 1–64 letters, digits, ".", "_", "@" or "-"');
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw badRequest(`password too short: at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (repo.findByUsername(username)) throw new CompanionError('conflict', 409, `admin "${username}" exists`);
  const now = Date.now();
  const admin: Admin = { id: randomUUID(), username, role, createdAt: now, updatedAt: now };
  repo.insert(admin, await hashPassword(password));
  return admin;
}
