/**
 * Runs the Ollama emulator as its own process, for benchmarks that must not share an event loop with the
 * companion. Prints one JSON line `{"url":"http://127.0.0.1:PORT"}` once listening; exits on SIGTERM/SIGINT.
 *
 *   node --import tsx test/support/emulator-main.ts --port 0 --chunk-delay-ms 20 --chunks 5
 */
import { parseArgs } from 'node:util';
import { startEmulator } from './ollama-emulator.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'chunk-delay-ms': { type: 'string', default: '0' },
    'first-token-delay-ms': { type: 'string', default: '0' },
    chunks: { type: 'string', default: '5' },
    parallel: { type: 'string' },
    'max-queue': { type: 'string' },
    'no-check-host': { type: 'boolean', default: false },
  },
  strict: true,
});

function intOption(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(
      `emulator-main: --${name} must be a non-negative integer, got ${JSON.stringify(raw)}\n`,
    );
    process.exit(2);
  }
  return n;
}

const emulator = await startEmulator({
  port: intOption('port', values.port),
  host: values.host,
  chunkDelayMs: intOption('chunk-delay-ms', values['chunk-delay-ms']),
  firstTokenDelayMs: intOption('first-token-delay-ms', values['first-token-delay-ms']),
  chunks: intOption('chunks', values.chunks),
  parallel: intOption('parallel', values.parallel),
  maxQueue: intOption('max-queue', values['max-queue']),
  checkHost: !values['no-check-host'],
});

process.stdout.write(`${JSON.stringify({ url: emulator.url })}\n`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await emulator.close();
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
