/**
 * The one place where failures of the system under the command line — the network
 * (a port in use, a host that is not this machine), the file system (a data dir that is
 * a file or not writable, a missing TLS file) and SQLite (a database that cannot be
 * opened or read) — become one line that says what is wrong and what to do. Errors are
 * recognised by their errno or SQLite code; the settings the running command uses name
 * the file or address a code is about. Anything not recognised is reported as an
 * unexpected failure; the stack is for `--log-level debug`.
 */
import { userInfo } from 'node:os';
import { isAbsolute, relative, resolve } from 'node:path';

/** The settings a command runs with, as far as they are known when it fails. */
export interface FailureSettings {
  host?: string;
  port?: number;
  dataDir?: string;
  tlsCert?: string;
  tlsKey?: string;
  logLevel?: string;
}

// One command runs per process, so what it has loaded so far is process-wide.
let settings: FailureSettings = {};

/** Called by each command once its settings are known, so failures can name them. */
export function rememberSettings(known: FailureSettings): void {
  settings = { ...settings, ...known };
}

/** Whether a failure should also print its stack (`--log-level debug` or `trace`). */
export function wantsStack(): boolean {
  return settings.logLevel === 'debug' || settings.logLevel === 'trace';
}

interface SystemError {
  code?: unknown;
  syscall?: unknown;
  path?: unknown;
  address?: unknown;
  hostname?: unknown;
  port?: unknown;
  message?: unknown;
  name?: unknown;
}

const userName = () => {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown'); // a uid without a passwd entry
  }
};

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

const inside = (path: string, dir: string) => {
  const rel = relative(resolve(dir), resolve(path));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

/** What a path is to the user: the setting it comes from, and how to change it. */
function fileRole(path: string | undefined): { what: string; change: string } {
  if (path !== undefined && settings.tlsCert !== undefined && resolve(path) === resolve(settings.tlsCert))
    return { what: `TLS certificate ${path}`, change: 'check --tls-cert' };
  if (path !== undefined && settings.tlsKey !== undefined && resolve(path) === resolve(settings.tlsKey))
    return { what: `TLS key ${path}`, change: 'check --tls-key' };
  if (path !== undefined && settings.dataDir !== undefined && inside(path, settings.dataDir)) {
    const what = resolve(path) === resolve(settings.dataDir) ? `data dir ${path}` : `${path} in the data dir`;
    return { what, change: 'choose another --data-dir' };
  }
  return { what: path ?? 'a file', change: 'check the path' };
}

function fileSystem(error: SystemError, code: string): string | undefined {
  const path = text(error.path);
  const { what, change } = fileRole(path);
  const making = error.syscall === 'mkdir';
  switch (code) {
    case 'ENOENT':
      return making
        ? `cannot create ${what}: the file system there does not allow new directories; ${change}`
        : `${what} does not exist; ${change}`;
    case 'EACCES':
    case 'EPERM':
      return `cannot ${making ? 'create' : 'read or write'} ${what}: permission denied for user ${userName()}; run as the user who owns it or ${change}`;
    case 'EROFS':
      return `cannot write ${what}: the file system is read-only; ${change}`;
    case 'ENOTDIR':
    case 'EEXIST':
      return `${what} is not a directory (a file is in the way); ${change}`;
    case 'EISDIR':
      return `${what} is a directory where a file is needed; ${change}`;
    case 'ENOSPC':
    case 'EDQUOT':
      return `no space left for ${what}; free some space or ${change}`;
    case 'ELOOP':
    case 'ENAMETOOLONG':
      return `${what} cannot be reached (${code === 'ELOOP' ? 'a loop of symbolic links' : 'name too long'}); ${change}`;
    default:
      return undefined;
  }
}

function network(error: SystemError, code: string): string | undefined {
  const host = text(error.address) ?? text(error.hostname) ?? settings.host ?? 'the host';
  const port = typeof error.port === 'number' ? error.port : settings.port;
  switch (code) {
    case 'EADDRINUSE':
      return `port ${port} on ${host} is already in use (another companion, or Ollama itself?); stop that program or choose another --port`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${host}: it is not an address of this machine; use 127.0.0.1, 0.0.0.0 (every interface) or one of this machine's addresses with --host`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return `cannot listen on ${host}: the name does not resolve to an address; give an address such as 127.0.0.1 or 0.0.0.0 with --host`;
    case 'EACCES':
    case 'EPERM':
      return `port ${port} needs privileges this user lacks (ports below 1024 are reserved); choose a port above 1023 with --port`;
    default:
      return undefined;
  }
}

function sqlite(code: string): string | undefined {
  const db = settings.dataDir === undefined ? 'the database' : `the database in ${settings.dataDir}`;
  if (code.startsWith('SQLITE_READONLY') || code === 'SQLITE_PERM' || code === 'SQLITE_AUTH')
    return `cannot write ${db}: this user may not change it; run as the user who owns it or choose another --data-dir`;
  if (code.startsWith('SQLITE_CANTOPEN'))
    return `cannot open ${db}: it is missing, not readable or not writable by this user; check --data-dir`;
  if (code === 'SQLITE_NOTADB')
    return `${db} is not a companion database (companion.db is another kind of file); move it away or choose another --data-dir`;
  if (code.startsWith('SQLITE_CORRUPT'))
    return `${db} is damaged; restore it from a backup or choose another --data-dir`;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))
    return `${db} stayed locked by another process; try again, or stop what holds it`;
  if (code === 'SQLITE_FULL') return `the disk holding ${db} is full; free some space`;
  if (code.startsWith('SQLITE_IOERR'))
    return `cannot read or write ${db} (an I/O error); check the disk and --data-dir`;
  return undefined;
}

function tls(code: string): string | undefined {
  if (code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH')
    return 'the TLS certificate and key do not belong together; check --tls-cert and --tls-key';
  if (code.startsWith('ERR_OSSL_'))
    return 'the TLS certificate or key cannot be read as PEM; check --tls-cert and --tls-key';
  return undefined;
}

/**
 * One line for a failure the system reported, or undefined when the error is not one
 * of those (a bug, to be reported as unexpected).
 */
export function explainSystemError(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as SystemError;
  const code = text(e.code);
  if (code === undefined) {
    // better-sqlite3 refuses a missing directory with a plain TypeError.
    if (e.name === 'TypeError' && /directory does not exist/.test(text(e.message) ?? ''))
      return sqlite('SQLITE_CANTOPEN');
    return undefined;
  }
  if (code.startsWith('SQLITE_')) return sqlite(code);
  if (code.startsWith('ERR_OSSL_')) return tls(code);
  if (e.syscall === 'listen' || e.syscall === 'bind' || e.syscall === 'getaddrinfo') return network(e, code);
  return fileSystem(e, code);
}
