// A private PostgreSQL server for the tests (and for trying the PostgreSQL store by hand):
// a fresh cluster in a temporary directory, listening only on 127.0.0.1 on a free port,
// with a generated password, tuned for speed rather than durability (fsync off: a crash
// may lose it, and the next run starts a new one anyway). Debian's `postgresql` package
// provides the binaries (sh scripts/ensure-postgres.sh installs it).
//
// As a module: `const pg = await startPrivatePostgres(); … pg.url …; await pg.stop();`
// As a command: `node scripts/private-postgres.mjs` prints the URL, serves until
// SIGINT/SIGTERM (Ctrl-C), then stops the server and removes its directory.
//
// PostgreSQL refuses to run as root, so under root the cluster belongs to the `postgres`
// OS user and every PostgreSQL command runs through `runuser -u postgres --`.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Temporary directories are named `<DIR_PREFIX>XXXXXX`, so leftovers can be found. */
const DIR_PREFIX = 'companion-pg-';
const SUPERUSER = 'postgres';
const DATABASE = 'postgres';

/** The directory holding initdb and pg_ctl: the newest /usr/lib/postgresql/<n>/bin, else PATH. */
export function postgresBinDir() {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((name) => /^\d+$/.test(name) && existsSync(join(root, name, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

/** True when PostgreSQL's server binaries are installed (a private server can start). */
export function postgresInstalled() {
  return postgresBinDir() !== undefined;
}

/** A port on 127.0.0.1 that nothing listens on now (the OS picks it). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const asRoot = () => process.getuid?.() === 0;

/** Runs a PostgreSQL binary as the cluster's owner; rejects with its output on failure. */
async function pg(bin, args) {
  const command = join(postgresBinDir() ?? '', bin);
  const [file, argv] = asRoot() ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
  try {
    return await run(file, argv, { cwd: tmpdir() });
  } catch (error) {
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
    throw new Error(`${bin} failed: ${output || error.message}`);
  }
}

/** True while `pid` runs; a zombie (killed, not yet reaped) counts as gone. */
const alive = (pid) => {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return error.code === 'EPERM';
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state …"
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
};

/**
 * Stops and removes servers left by processes that died without stopping theirs (killed,
 * crashed). Each directory names its owner's pid; a live owner's server is left alone,
 * so concurrent runs on one machine do not disturb each other.
 */
async function removeOrphans() {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    let owner;
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
    } catch {
      continue; // being created right now, or not ours
    }
    if (!Number.isInteger(owner) || alive(owner)) continue;
    await pg('pg_ctl', ['-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop']).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Starts a private PostgreSQL server. Resolves to its superuser URL and a `stop()` that
 * stops it at once (no checkpoint: its data is thrown away) and removes its directory.
 * @throws when PostgreSQL is not installed or the server does not start (with its log)
 */
export async function startPrivatePostgres() {
  if (!postgresInstalled()) {
    throw new Error('PostgreSQL is not installed (sh scripts/ensure-postgres.sh installs it)');
  }
  await removeOrphans();
  const dir = await mkdtemp(join(tmpdir(), DIR_PREFIX));
  const data = join(dir, 'data');
  const password = randomBytes(18).toString('base64url');
  const pwfile = join(dir, 'password');
  await writeFile(join(dir, 'owner.pid'), String(process.pid));
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  let clusterUser;
  if (asRoot()) {
    clusterUser = {
      uid: Number((await run('id', ['-u', 'postgres'])).stdout),
      gid: Number((await run('id', ['-g', 'postgres'])).stdout),
    };
    await chown(dir, clusterUser.uid, clusterUser.gid);
    await chown(pwfile, clusterUser.uid, clusterUser.gid);
  }
  // Also after a start that failed half-way (a server that did not get ready in time).
  const stop = async () => {
    if (existsSync(join(data, 'postmaster.pid'))) {
      await pg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await pg('initdb', [
      '-D',
      data,
      `--username=${SUPERUSER}`,
      '--auth=scram-sha-256',
      `--pwfile=${pwfile}`,
      '--encoding=UTF8',
      '--locale=C.UTF-8',
      '--no-sync',
    ]);
    await rm(pwfile);
    // A port found free may be taken before the server binds it: try another.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const settings = {
        listen_addresses: "'127.0.0.1'",
        port,
        unix_socket_directories: `'${dir}'`,
        // The tests run several companions, each with its pool, at once.
        max_connections: 200,
        // Durability is worth nothing here: the cluster is thrown away after the run.
        fsync: 'off',
        synchronous_commit: 'off',
        full_page_writes: 'off',
        max_wal_size: "'1GB'",
        shared_buffers: "'64MB'",
        log_min_messages: 'warning',
      };
      const conf = Object.entries(settings)
        .map(([key, value]) => `${key} = ${value}`)
        .join('\n');
      const autoConf = join(data, 'postgresql.auto.conf');
      await writeFile(autoConf, `${conf}\n`);
      if (clusterUser) await chown(autoConf, clusterUser.uid, clusterUser.gid);
      try {
        await pg('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
        const url = `postgres://${SUPERUSER}:${password}@127.0.0.1:${port}/${DATABASE}`;
        return { url, port, password, dir, stop };
      } catch (error) {
        const log = await readFile(join(dir, 'server.log'), 'utf8').catch(() => '');
        if (attempt < 3 && /could not bind|Address already in use/i.test(log)) continue;
        throw new Error(`${error.message}\n${log.trim()}`);
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const server = await startPrivatePostgres();
  process.stdout.write(`${server.url}\n`);
  process.stderr.write('private-postgres: serving until Ctrl-C (SIGINT) or SIGTERM\n');
  const keepAlive = setInterval(() => {}, 1 << 30);
  const shutdown = async () => {
    clearInterval(keepAlive);
    await server.stop();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}
