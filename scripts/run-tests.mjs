// Runs every test file (unit tests beside the code, integration and browser tests
// under test/) with Node's test runner; Node 20 takes no globs, so the files are listed here.
// `node scripts/run-tests.mjs file…` runs only those files.
//
// The PostgreSQL tests need a server: unless COMPANION_TEST_POSTGRES_URL names one, this
// starts a private one for the run (scripts/private-postgres.mjs), passes its URL to the
// test processes in that variable, and stops it at the end, on failure and on Ctrl-C.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startPrivatePostgres } from './private-postgres.mjs';

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : find(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** A URL for the PostgreSQL tests and how to let go of it; undefined when none can be had. */
async function postgresForTests() {
  if (process.env.COMPANION_TEST_POSTGRES_URL)
    return { url: process.env.COMPANION_TEST_POSTGRES_URL, stop() {} };
  const ensured = spawnSync('sh', [join(import.meta.dirname, 'ensure-postgres.sh')], { stdio: 'inherit' });
  if (ensured.status !== 0) {
    // Without the binaries the PostgreSQL tests skip and say why; the rest still run.
    process.stderr.write('run-tests: no PostgreSQL; its tests will be skipped\n');
    return undefined;
  }
  return startPrivatePostgres();
}

const only = process.argv.slice(2);
const files = only.length > 0 ? only : [...find('src'), ...find('test')].sort();

// Started before any signal can arrive, so a Ctrl-C during start-up still stops it.
const postgresReady = postgresForTests();
let child;
let stopping;
/** Stops the private server (once, after it finished starting) and exits with `code`. */
function finish(code) {
  stopping ??= postgresReady
    .then((postgres) => postgres?.stop())
    .catch(() => {})
    .finally(() => process.exit(code));
  return stopping;
}
let interrupted;
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
]) {
  process.on(signal, () => {
    // The test runner gets the signal too when it comes from the terminal; pass it on in
    // case it came only to us, and stop the server once the runner has gone. A second
    // signal does not wait for the runner.
    const again = interrupted !== undefined;
    interrupted = code;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill(again ? 'SIGKILL' : signal);
      if (!again) return;
    }
    void finish(code);
  });
}

let postgres;
try {
  postgres = await postgresReady;
} catch (error) {
  process.stderr.write(`run-tests: the private PostgreSQL server did not start: ${error.message}\n`);
  process.exit(1);
}
child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=120000', ...files],
  {
    stdio: 'inherit',
    env: postgres ? { ...process.env, COMPANION_TEST_POSTGRES_URL: postgres.url } : process.env,
  },
);
child.on('exit', (status, signal) => void finish(interrupted ?? status ?? (signal ? 1 : 0)));
child.on('error', (error) => {
  process.stderr.write(`run-tests: ${error.message}\n`);
  void finish(1);
});
