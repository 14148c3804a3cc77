/**
 * The process logger. Requests are logged by the companion itself with the cleaned
 * path and the token's public prefix only; the redaction list is a second guard so a
 * secret can never be printed through a header.
 */
import pino, { type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({
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
  });
}
