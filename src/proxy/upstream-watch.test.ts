import assert from 'node:assert/strict';
import { test } from 'node:test';
import { failureReason, UpstreamWatch, type WatchClock } from './upstream-watch.js';

const URL = 'http://127.0.0.1:11434';

/** A clock whose timer fires only when the test says so. */
function fakeClock(): WatchClock & { tick(): void; at: number; timers: number } {
  const ticks = new Set<() => void>();
  const clock = {
    at: 1_000,
    get timers() {
      return ticks.size;
    },
    now: () => clock.at,
    every(_ms: number, tick: () => void) {
      ticks.add(tick);
      return () => ticks.delete(tick);
    },
    tick() {
      for (const tick of ticks) tick();
    },
  };
  return clock;
}

function refused(): Error {
  return Object.assign(new TypeError('fetch failed'), {
    cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:11434'), { code: 'ECONNREFUSED' }),
  });
}

function recordingLog() {
  const lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
  return {
    lines,
    info: (fields: Record<string, unknown>, message: string) =>
      lines.push({ level: 'info', message, fields }),
    warn: (fields: Record<string, unknown>, message: string) =>
      lines.push({ level: 'warn', message, fields }),
  };
}

test('one line per change of state, however many checks see the same state', async () => {
  const clock = fakeClock();
  const log = recordingLog();
  let answer: () => Promise<string> = () => Promise.reject(refused());
  const watch = new UpstreamWatch({ url: URL, probe: () => answer(), clock, log, intervalMs: 10_000 });
  assert.equal(watch.state().reachable, null, 'unknown before the first check');

  watch.start();
  await watch.check();
  for (let i = 0; i < 4; i++) {
    clock.at += 10_000;
    clock.tick();
    await watch.check();
  }
  assert.deepEqual(
    log.lines.map((l) => `${l.level} ${l.message}`),
    [
      `warn Ollama at ${URL} is not answering (ECONNREFUSED); is it running? set --upstream or OLLAMA_COMPANION_UPSTREAM`,
    ],
  );
  assert.deepEqual(watch.state(), { reachable: false, version: null, since: 1_000, failure: 'ECONNREFUSED' });

  answer = () => Promise.resolve('0.12.6');
  clock.at = 60_000;
  clock.tick();
  await watch.check();
  clock.at = 70_000;
  clock.tick();
  await watch.check();
  assert.equal(log.lines.length, 2);
  assert.equal(log.lines[1]?.message, `Ollama at ${URL} answers again (version 0.12.6)`);
  assert.deepEqual(watch.state(), { reachable: true, version: '0.12.6', since: 60_000, failure: null });

  answer = () => Promise.reject(new Error('no answer within 2000 ms'));
  clock.at = 80_000;
  clock.tick();
  await watch.check();
  assert.equal(log.lines.length, 3);
  assert.match(log.lines[2]?.message ?? '', /is not answering \(no answer within 2000 ms\)/);
  assert.equal(watch.state().version, '0.12.6', 'the last known version is kept');

  await watch.stop();
  assert.equal(clock.timers, 0, 'the timer is stopped');
});

test('an Ollama answering at start is said once, without "again"', async () => {
  const clock = fakeClock();
  const log = recordingLog();
  const watch = new UpstreamWatch({
    url: URL,
    probe: () => Promise.resolve('0.12.6'),
    clock,
    log,
    intervalMs: 10_000,
  });
  watch.start();
  await watch.check();
  clock.tick();
  await watch.check();
  assert.deepEqual(
    log.lines.map((l) => l.message),
    [`Ollama at ${URL} answers (version 0.12.6)`],
  );
  await watch.stop();
});

test('checks never overlap: a tick during a slow check is skipped', async () => {
  const clock = fakeClock();
  let probes = 0;
  let finish: (version: string) => void = () => {};
  const watch = new UpstreamWatch({
    url: URL,
    probe: () => {
      probes++;
      return new Promise<string>((resolve) => {
        finish = resolve;
      });
    },
    clock,
    log: recordingLog(),
    intervalMs: 10,
  });
  watch.start();
  clock.tick();
  clock.tick();
  assert.equal(probes, 1);
  finish('0.12.6');
  await watch.stop();
  assert.equal(watch.state().reachable, true);
});

test('a failure reads as its socket code, found through wrapping causes', () => {
  assert.equal(failureReason(refused()), 'ECONNREFUSED');
  assert.equal(failureReason(new Error('HTTP 403 from /api/version')), 'HTTP 403 from /api/version');
});
