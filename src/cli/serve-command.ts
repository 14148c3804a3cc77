/** `ollama-companion serve`: flags map one-to-one onto settings of the config schema. */
import type { Command } from 'commander';
import { type ConfigOverrides, loadConfig } from '../config/load-config.js';
import { prepareDataDir } from './data-dir.js';
import { settingsHelp } from './settings-help.js';
import { rememberSettings } from './startup-errors.js';
import { checkTlsFiles } from './tls-files.js';

export interface ServeFlags {
  host?: string;
  port?: string;
  upstream?: string;
  dataDir?: string;
  tlsCert?: string;
  tlsKey?: string;
  config?: string;
  publicStatus?: boolean;
  corsOrigins?: string;
  trustProxy?: string;
  bodyLimitBytes?: string;
  logLevel?: string;
}

/** A numeric flag; an empty value stays a string so validation names it instead of reading 0. */
const number = (value: string | undefined) =>
  value === undefined ? undefined : value.trim() === '' ? value : Number(value);

/**
 * The settings `serve` takes as flags, added to `command`; `service install` takes the
 * same ones to put into the service it writes.
 */
export function addServeOptions(command: Command): Command {
  return command
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--port <port>', 'port to listen on (default 11435)')
    .option('--upstream <url>', 'Ollama base URL (default http://127.0.0.1:11434)')
    .option('--data-dir <dir>', 'data directory (default: the platform’s user data dir)')
    .option('--tls-cert <file>', 'PEM certificate for HTTPS')
    .option('--tls-key <file>', 'PEM private key for HTTPS')
    .option('--config <file>', 'JSON config file (default <data-dir>/config.json)')
    .option('--public-status', 'answer GET / and /api/version without a token')
    .option('--cors-origins <globs>', 'extra browser origins, comma-separated')
    .option('--trust-proxy <addresses>', 'reverse proxies whose X-Forwarded-For is believed, comma-separated')
    .option('--body-limit-bytes <n>', 'largest request body accepted')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent');
}

/** The flags of `serve` as config settings, for `loadConfig` to validate. */
export function serveSettings(flags: ServeFlags): ConfigOverrides {
  return {
    host: flags.host,
    port: number(flags.port),
    upstream: flags.upstream,
    dataDir: flags.dataDir,
    tlsCert: flags.tlsCert,
    tlsKey: flags.tlsKey,
    publicStatus: flags.publicStatus,
    corsOrigins: flags.corsOrigins?.split(',').map((o) => o.trim()),
    trustProxy: flags.trustProxy?.split(',').map((a) => a.trim()),
    bodyLimitBytes: number(flags.bodyLimitBytes),
    logLevel: flags.logLevel,
  };
}

export function registerServeCommand(program: Command): void {
  const serve: Command = addServeOptions(
    program.command('serve').description('guard the Ollama at --upstream and serve clients with tokens'),
  )
    .addHelpText('after', (): string => settingsHelp(serve))
    .action(async (flags: ServeFlags) => {
      if (flags.logLevel !== undefined) rememberSettings({ logLevel: flags.logLevel });
      const config = loadConfig({ configFile: flags.config, flags: serveSettings(flags) });
      rememberSettings(config);
      // Checked before anything starts, so a mistake is named instead of failing deep inside.
      prepareDataDir(config.dataDir, { create: true });
      if (config.tlsCert && config.tlsKey) checkTlsFiles(config.tlsCert, config.tlsKey);
      // Loaded here so that token, admin and history commands start without the HTTP stack.
      const { serveUntilSignalled } = await import('../server/lifecycle.js');
      await serveUntilSignalled(config);
    });
}
