/**
 * The dashboard says whether Ollama answers: not answering (with why and the setting to
 * change) while nothing listens at the upstream, then answering with its version once
 * Ollama starts there.
 */
import { createServer } from 'node:net';
import { test } from 'node:test';
import { addAdmin, openBrowser, signInToPanel } from '../support/browser.js';
import { eventually, startCompanion } from '../support/companion-harness.js';
import { startEmulator } from '../support/ollama-emulator.js';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('the dashboard shows Ollama down, then up with its version', async (t) => {
  const port = await closedPort();
  const upstream = `http://127.0.0.1:${port}`;
  const companion = await startCompanion(t, upstream, { upstreamCheckMs: 100 });
  await addAdmin(companion, 'olivia', 'owner password', 'owner');
  await eventually(() => (companion.companion.upstreamWatch.state().reachable === false ? true : undefined));

  const browser = await openBrowser(t);
  const { page } = browser;
  await signInToPanel(page, companion.url, 'olivia', 'owner password');
  const line = page.getByRole('status', { name: 'Ollama' });
  await line.filter({ hasText: `Ollama at ${upstream} is not answering (ECONNREFUSED)` }).waitFor();
  await line.filter({ hasText: 'set --upstream' }).waitFor();
  await browser.screenshot('dashboard-ollama-down');

  const emulator = await startEmulator({ port });
  t.after(() => emulator.close());
  await eventually(() => (companion.companion.upstreamWatch.state().reachable === true ? true : undefined));
  await page.reload();
  await line.filter({ hasText: `Ollama at ${upstream} answers (version 0.12.6)` }).waitFor();
  await browser.screenshot('dashboard-ollama-up');
});
