import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompanionError } from '../../errors/companion-error.js';
import { driverConnectionString, isPostgresUrl, redactDatabaseUrl } from './database-url.js';

test('a database URL is shown with its password as ***, wherever the password is', () => {
  assert.equal(
    redactDatabaseUrl('postgres://app:s3cr%40t@db.example:5432/companion'),
    'postgres://app:***@db.example:5432/companion',
  );
  assert.equal(
    redactDatabaseUrl('postgresql://app@db.example/companion?password=s3cret&sslmode=require'),
    'postgresql://app@db.example/companion?password=***&sslmode=require',
  );
  assert.equal(
    redactDatabaseUrl('postgres://app@db.example/companion'),
    'postgres://app@db.example/companion',
  );
  // Not even a URL (a port that is no number): still no password.
  assert.equal(
    redactDatabaseUrl('postgres://app:s3cret@db.example:port/companion'),
    'postgres://app:***@db.example:port/companion',
  );
});

test('postgres:// and postgresql:// name PostgreSQL; a path or another scheme does not', () => {
  assert.equal(isPostgresUrl('postgres://u@h/db'), true);
  assert.equal(isPostgresUrl('PostgreSQL://u@h/db'), true);
  assert.equal(isPostgresUrl('/var/lib/companion'), false);
  assert.equal(isPostgresUrl('mysql://u@h/db'), false);
});

test('a URL that is not a usable PostgreSQL URL is refused with a reason and without its password', () => {
  const cases: [string, RegExp][] = [
    ['mysql://app:s3cret@db.example/companion', /starts with postgres:\/\/ or postgresql:\/\//],
    ['postgres://app:s3cret@db.example:port/companion', /not a valid database URL/],
    ['postgres://app:s3cret@/companion', /not a valid database URL/],
    ['postgres:///companion?password=s3cret', /names no host/],
    [
      'postgres://app:s3cret@db.example/companion?sslmode=strict',
      /sslmode=strict .* not one of disable, allow, prefer, require, verify-ca, verify-full/,
    ],
    ['postgres://app:s3cret@db.example/companion?sslmode=verify-ca', /needs sslrootcert/],
  ];
  for (const [url, reason] of cases) {
    assert.throws(
      () => driverConnectionString(url),
      (error: unknown) => {
        assert.ok(error instanceof CompanionError, url);
        assert.equal(error.code, 'bad_request');
        assert.match(error.message, reason);
        assert.doesNotMatch(error.message, /s3cret/);
        return true;
      },
    );
  }
});

test('sslmode keeps the meaning libpq gives it', () => {
  assert.match(driverConnectionString('postgres://u:p@h/db?sslmode=require'), /[?&]uselibpqcompat=true/);
  assert.doesNotMatch(driverConnectionString('postgres://u:p@h/db'), /uselibpqcompat/);
});
