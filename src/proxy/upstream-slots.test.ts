import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { UpstreamSlots } from './upstream-slots.js';

/** Takes a slot for `holder`, recording when it was granted or expired. */
function ask(slots: UpstreamSlots, holder: string, log: string[]) {
  let release: (() => void) | undefined;
  const cancel = slots.acquire(
    holder,
    (r) => {
      release = r;
      log.push(`${holder} granted`);
    },
    () => log.push(`${holder} expired`),
  );
  return { cancel, release: () => release?.() };
}

test('a holder takes at most its share, even with slots free', () => {
  const slots = new UpstreamSlots({ capacity: 4, perHolder: 2, waitMs: 60_000 });
  const log: string[] = [];
  const held = [ask(slots, 'a', log), ask(slots, 'a', log), ask(slots, 'a', log)];
  assert.deepEqual(log, ['a granted', 'a granted']);
  assert.deepEqual(slots.usage, { inUse: 2, waiting: 1 });
  ask(slots, 'b', log);
  assert.equal(log.at(-1), 'b granted', 'another holder gets a free slot at once');
  held[0]!.release();
  assert.equal(log.at(-1), 'a granted', 'a freed share goes to its waiting holder');
  for (const h of held) h.cancel();
});

test('a freed slot goes to the waiting holder that holds the fewest', () => {
  const slots = new UpstreamSlots({ capacity: 3, perHolder: 3, waitMs: 60_000 });
  const log: string[] = [];
  const a = [ask(slots, 'a', log), ask(slots, 'a', log), ask(slots, 'a', log)];
  ask(slots, 'a', log);
  ask(slots, 'b', log);
  assert.deepEqual(slots.usage, { inUse: 3, waiting: 2 });
  a[0]!.release();
  assert.equal(log.at(-1), 'b granted', 'b holds none, so it goes before a’s earlier request');
  a[1]!.release();
  assert.equal(log.at(-1), 'a granted');
});

test('a request waits at most waitMs, and one that leaves frees its place in line', async () => {
  const slots = new UpstreamSlots({ capacity: 1, perHolder: 1, waitMs: 50 });
  const log: string[] = [];
  const first = ask(slots, 'a', log);
  const leaving = ask(slots, 'b', log);
  ask(slots, 'c', log);
  leaving.cancel();
  await sleep(120);
  assert.deepEqual(log, ['a granted', 'c expired']);
  first.release();
  first.release();
  assert.deepEqual(slots.usage, { inUse: 0, waiting: 0 }, 'a second release changes nothing');
});
