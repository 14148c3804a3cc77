/** Who runs the command line, as the audit log names them: the OS user of the process. */
import { userInfo } from 'node:os';

/**
 * The OS user's name, read from the system's user database by the process's user id (not
 * from the environment, which the caller controls); `uid N` when the id has no name.
 *
 * Under sudo the process is root, yet the person is who ran sudo: root's `SUDO_USER` is
 * named beside it (`root (sudo: alice)`). Only root's is believed, since only root could
 * have set it otherwise, and root can write the audit log directly anyway.
 */
export function osUserName(sudoUser: string | undefined): string {
  let name = `uid ${process.getuid?.() ?? 'unknown'}`;
  try {
    const { username } = userInfo();
    if (username) name = username;
  } catch {
    // A user id without an entry in the user database (a bare container): name it by id.
  }
  const asRoot = process.getuid?.() === 0;
  return asRoot && sudoUser && sudoUser !== 'root' ? `${name} (sudo: ${sudoUser})` : name;
}
