import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ConfigSchema } from '../config/config-schema.js';
import { schemaErrorMessage } from './schema-error-message.js';

function messageFor(schema: Parameters<typeof Value.Errors>[0], value: unknown): string {
  const first = Value.Errors(schema, value).First();
  assert.ok(first, 'the value is refused');
  return schemaErrorMessage(schema, first);
}

test('a bad upstream URL is described in words, not as the pattern it must match', () => {
  const config = Value.Default(ConfigSchema, { dataDir: '/tmp/x', upstream: 'gpu-box:11434' });
  assert.equal(
    messageFor(ConfigSchema, config),
    'upstream must look like http://host:port or https://host:port, without a path',
  );
});

test('nested fields, list entries and literal unions are named as a reader would', () => {
  const schema = Type.Object({
    limits: Type.Object({ day: Type.Integer({ minimum: 0, maximum: 10 }) }),
    roles: Type.Array(Type.Union([Type.Literal('viewer'), Type.Literal('owner')])),
    note: Type.Optional(Type.String({ maxLength: 3 })),
  });
  assert.equal(
    messageFor(schema, { limits: { day: 11 }, roles: [] }),
    'limits.day must be a whole number from 0 to 10',
  );
  assert.equal(
    messageFor(schema, { limits: { day: 1 }, roles: ['root'] }),
    'roles entries must be one of viewer, owner',
  );
  assert.equal(
    messageFor(schema, { limits: { day: 1 }, roles: [], note: 'long' }),
    'note must be text of at most 3 characters',
  );
  assert.equal(messageFor(schema, { roles: [] }), 'limits is required');
  assert.equal(messageFor(schema, 5), 'the request body must be an object with limits, roles, note');
  assert.equal(messageFor(schema, { limits: 5, roles: [] }), 'limits must be an object with day');
});

test('an unknown key inside a nested object names the keys that object takes', () => {
  const schema = Type.Object(
    {
      limits: Type.Object(
        { day: Type.Optional(Type.Integer()), hour: Type.Optional(Type.Integer()) },
        {
          additionalProperties: false,
        },
      ),
    },
    { additionalProperties: false },
  );
  assert.equal(
    messageFor(schema, { limits: { week: 3 } }),
    'limits.week is not a known field; limits takes day, hour',
  );
  assert.equal(messageFor(schema, { limits: {}, colour: 1 }), 'colour is not a known field');
});
