/**
 * The process logger. Requests are logged by the companion itself with the cleaned
 * path and the token's public prefix only; the redaction list is a second guard so a
 * secret can never be printed through a header.
 *
 * Lines are buffered (a write per 4 KiB, not per request line) and flushed every
 * quarter second, after start-up and at stop; a `kill -9` may lose the last fraction
 * of a second of log lines, never history.
 */
import pino, { type Logger } from 'pino';

const FLUSH_EVERY_MS = 250;

export function createLogger(level: string): Logger {
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => destination.flush(), FLUSH_EVERY_MS).unref();
  return pino(
    {
      level,
      base: { service: 'ollama-companion' },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers["x-api-key"]',
          'req.headers.cookie',
          'headers.authorization',
          'headers["x-api-key"]',
          'headers.cookie',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
