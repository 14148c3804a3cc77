import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { windowStart } from '../policy/quota-windows.js';
import { createTokenService } from '../policy/token-service.js';
import { type Db, openDatabase } from '../store/database.js';
import { createMetaRepository } from '../store/meta-repository.js';
import { createTokenRepository } from '../store/token-repository.js';
import { TokenDirectory } from './token-directory.js';

/** The server's connection and a second one standing for another process (the CLI). */
function setup(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'directory-test-'));
  const server = openDatabase(dir);
  const other = openDatabase(dir);
  t.after(() => {
    server.close();
    other.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const repo = createTokenRepository(server);
  let loads = 0;
  const counted = {
    ...repo,
    listWithHashes() {
      loads++;
      return repo.listWithHashes();
    },
  };
  const directory = new TokenDirectory(counted, createMetaRepository(server));
  // No polling: what is found must be found by the lookup itself.
  const cli = createTokenService(createTokenRepository(other), 'node-test', windowStart);
  return { directory, cli, other, loads: () => loads };
}

/** A commit by another connection that touches no token, as the history writer makes. */
function unrelatedWrite(db: Db): void {
  db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('unrelated', ?)").run(String(Math.random()));
}

test('a token made by another process is found on its first lookup, without waiting for a poll', (t) => {
  const { directory, cli } = setup(t);
  const { secret, token } = cli.create('fresh', {});
  assert.equal(directory.authenticate(secret).token.id, token.id);
});

test('unknown secrets never re-read the tokens: only a token change by another process does', (t) => {
  const { directory, cli, other, loads } = setup(t);
  const before = loads();
  for (let i = 0; i < 200; i++) {
    if (i % 10 === 0) unrelatedWrite(other);
    assert.throws(() => directory.identify(`oc_made-up-${i}`), /invalid token/);
  }
  assert.equal(loads(), before, 'made-up tokens caused no reload');
  const { secret } = cli.create('real', {});
  directory.identify(secret);
  assert.throws(() => directory.identify('oc_made-up-again'), /invalid token/);
  assert.equal(loads(), before + 1, 'one reload, for the token that was made');
});
