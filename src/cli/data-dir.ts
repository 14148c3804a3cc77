/**
 * Checks the data directory before a command opens the store. `serve` makes it when it
 * is missing; every other command needs a companion database to be there already,
 * unless told `--init`: a typo in --data-dir must not quietly start an empty store whose
 * tokens no running server will ever see. What the file system refuses (a file in the
 * way, no permission, a read-only mount) is thrown as the system's own error, for
 * startup-errors.ts to put into words.
 */
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CompanionError } from '../errors/companion-error.js';
import { DATABASE_FILE } from '../store/database.js';

export interface DataDirUse {
  /** Make the directory (and an empty database in it) when there is none. */
  create: boolean;
  /** The flag that would allow creating it, to name in the refusal (`--init`). */
  createFlag?: string;
}

/**
 * Makes `dir` and its missing parents, one level at a time. Node's recursive mkdir
 * never returns for a path the kernel refuses with ENOENT although the parent exists
 * (anything under /proc).
 */
function makeDirectory(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw error;
    makeDirectory(parent);
    mkdirSync(dir, { mode: 0o700 });
  }
}

function notADirectory(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOTDIR: not a directory, '${path}'`), {
    code: 'ENOTDIR',
    syscall: 'stat',
    path,
  });
}

/**
 * Ready for `openDatabase`: the directory exists, is a directory, and this user may
 * read and write it and the database in it.
 * @throws CompanionError(not_found) when there is no database and `create` is false.
 * @throws the file system's error (ENOTDIR, EACCES, EROFS, …) with its `path`.
 */
export function prepareDataDir(dataDir: string, use: DataDirUse): void {
  const dir = resolve(dataDir);
  const file = join(dir, DATABASE_FILE);
  if (use.create) makeDirectory(dir);
  const refuse = () => {
    const create = use.createFlag ? `; pass ${use.createFlag} to create an empty one here` : '';
    return new CompanionError(
      'not_found',
      404,
      `no companion database in ${dir} (is --data-dir right? \`serve\` creates it${create})`,
    );
  };
  try {
    if (!statSync(dir).isDirectory()) throw notADirectory(dataDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !use.create) throw refuse();
    throw error;
  }
  // access() also reports a read-only mount (EROFS), which permissions do not show to root.
  accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  try {
    statSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    if (!use.create) throw refuse();
    return;
  }
  accessSync(file, constants.R_OK | constants.W_OK);
}
