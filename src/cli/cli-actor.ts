/** Who runs the command line, as the audit log names them: the OS user of the process. */
import { userInfo } from 'node:os';

/**
 * The OS user's name, read from the system's user database by the process's user id (not
 * from the environment, which the caller controls); `uid N` when the id has no name.
 */
export function osUserName(): string {
  try {
    const { username } = userInfo();
    if (username) return username;
  } catch {
    // A user id without an entry in the user database (a bare container): name it by id.
  }
  return `uid ${process.getuid?.() ?? 'unknown'}`;
}
