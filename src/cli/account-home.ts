/**
 * The home directory of an account other than this process's, for a service that will run
 * as it: read through `getent passwd`, which asks the system's user database (files, LDAP,
 * …) the way the service manager will. Node itself can only tell the current user's.
 */
import { execFileSync } from 'node:child_process';
import { homedir, userInfo } from 'node:os';

/** This process's account name, or undefined for a user id without an entry. */
export function currentAccount(): string | undefined {
  try {
    return userInfo().username || undefined;
  } catch {
    return undefined;
  }
}

/**
 * `{ home }` for a known account, `{ missing: true }` for a name the user database does not
 * hold, `{}` when it cannot be asked (no getent, as on macOS).
 */
export function accountHome(name: string): { home?: string; missing?: boolean } {
  if (name === currentAccount()) return { home: homedir() };
  let line: string;
  try {
    line = execFileSync('getent', ['passwd', name], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch (error) {
    // getent exits 2 for a key it does not know; ENOENT means there is no getent to ask.
    return (error as { status?: unknown }).status === 2 ? { missing: true } : {};
  }
  // name:password:uid:gid:gecos:home:shell
  const home = line.split('\n', 1)[0]?.split(':')[5];
  return home ? { home } : {};
}
