import assert from 'node:assert/strict';
import test from 'node:test';
import { newRecordId } from './record-id.js';

test('record ids are RFC 9562 version-7 UUIDs carrying their creation time', () => {
  const at = Date.UTC(2026, 10, 27, 17, 30, 0, 123);
  const id = newRecordId(at);
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(Number.parseInt(id.replace('-', '').slice(0, 12), 16), at);
});

test('record ids sort by time and do not repeat within a millisecond', () => {
  const at = Date.now();
  const ids = [newRecordId(at + 2), newRecordId(at), newRecordId(at + 1000)];
  assert.deepEqual([...ids].sort(), [ids[1], ids[0], ids[2]]);
  const same = new Set(Array.from({ length: 10_000 }, () => newRecordId(at)));
  assert.equal(same.size, 10_000);
});
