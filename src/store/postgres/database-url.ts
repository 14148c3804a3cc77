/**
 * PostgreSQL database URLs as users write them (`postgres://user:pass@host:5432/db`, also
 * `postgresql://`, with libpq's `sslmode`): which strings are one, the form that may be
 * shown (password replaced by `***`), and the connection string handed to the driver.
 * Invariant: nothing this module returns for display contains the password.
 */
import { CompanionError } from '../../errors/companion-error.js';

const SCHEMES = ['postgres:', 'postgresql:'];

/** libpq's values; the driver is told to read them as libpq does (see `driverConnectionString`). */
const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;

/** True when `value` names a PostgreSQL database rather than the embedded store. */
export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value.trim());
}

/**
 * `url` with its password replaced by `***`, in the userinfo and in a `password` query
 * parameter. A string that does not even parse as a URL is redacted by pattern, so a
 * typo never prints the secret either.
 */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    if (parsed.searchParams.has('password')) parsed.searchParams.set('password', '***');
    // URL percent-encodes the stars in the query; show them as typed.
    return parsed.toString().replace(/password=\*\*\*/g, 'password=***');
  } catch {
    return url
      .replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*):[^@/?#]*@/i, '$1:***@')
      .replace(/([?&]password=)[^&#]*/gi, '$1***');
  }
}

/** The password of a database URL ('' when none), so that messages can be scrubbed of it. */
export function databasePassword(url: string): string {
  try {
    const parsed = new URL(url);
    return decodeURIComponent(parsed.password) || (parsed.searchParams.get('password') ?? '');
  } catch {
    return '';
  }
}

/**
 * Checks a PostgreSQL URL and returns the connection string for the driver (node-postgres).
 * `sslmode` keeps libpq's meaning — `require` encrypts without checking the certificate,
 * `verify-ca` checks it against `sslrootcert`, `verify-full` also checks the host name —
 * which node-postgres applies only when asked to (`uselibpqcompat=true`); without it,
 * every mode but `disable` would mean `verify-full`. `prefer` and `allow` encrypt and do
 * not fall back to plain text: node-postgres cannot retry without TLS.
 * @throws CompanionError bad_request naming the redacted URL when it is not one
 */
export function driverConnectionString(url: string): string {
  const shown = redactDatabaseUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    throw new CompanionError('bad_request', 400, `not a valid database URL: ${shown}`);
  }
  if (!SCHEMES.includes(parsed.protocol.toLowerCase())) {
    throw new CompanionError(
      'bad_request',
      400,
      `a database URL starts with postgres:// or postgresql:// (got ${shown})`,
    );
  }
  if (parsed.hostname === '' && !parsed.searchParams.has('host')) {
    throw new CompanionError('bad_request', 400, `the database URL names no host: ${shown}`);
  }
  const sslmode = parsed.searchParams.get('sslmode');
  if (sslmode !== null) {
    if (!(SSL_MODES as readonly string[]).includes(sslmode)) {
      throw new CompanionError(
        'bad_request',
        400,
        `sslmode=${sslmode} in the database URL is not one of ${SSL_MODES.join(', ')}`,
      );
    }
    if (sslmode === 'verify-ca' && !parsed.searchParams.has('sslrootcert')) {
      throw new CompanionError(
        'bad_request',
        400,
        'sslmode=verify-ca needs sslrootcert=<CA file> in the database URL (or use sslmode=verify-full)',
      );
    }
    if (!parsed.searchParams.has('uselibpqcompat')) parsed.searchParams.set('uselibpqcompat', 'true');
  }
  return parsed.toString();
}
