/**
 * Builds the validated configuration from, in rising precedence: defaults, the JSON
 * config file, environment variables, then command-line flags. The only module that
 * reads `process.env`. Fails with a message naming the setting and where it came from.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { compile as compileTrust } from '@fastify/proxy-addr';
import { Value } from '@sinclair/typebox/value';
import envPaths from 'env-paths';
import { schemaProblem } from '../errors/schema-error-message.js';
import { type Config, ConfigSchema, envName, type SettingName, settingNames } from './config-schema.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type ConfigOverrides = Partial<Record<SettingName, unknown>>;

/**
 * The platform's user data directory: `$XDG_DATA_HOME/ollama-companion`, else
 * ~/.local/share/ollama-companion, on Linux and other XDG systems. Read from `env` (env-paths
 * would read the process environment once, at import).
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (env.OLLAMA_COMPANION_DATA_DIR !== undefined) return env.OLLAMA_COMPANION_DATA_DIR;
  if (platform === 'darwin' || platform === 'win32') return envPaths('ollama-companion', { suffix: '' }).data;
  // The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
  const xdg = env.XDG_DATA_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.local', 'share');
  return join(base, 'ollama-companion');
}

/** Environment strings become the setting's type: numbers, booleans, comma lists. */
function fromEnv(setting: SettingName, raw: string): unknown {
  const schema = ConfigSchema.properties[setting] as { type?: string };
  if (schema.type === 'integer' || schema.type === 'number') return raw.trim() === '' ? raw : Number(raw);
  if (schema.type === 'boolean') {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    return raw;
  }
  if (schema.type === 'array')
    return raw
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean);
  return raw;
}

function readConfigFile(path: string): ConfigOverrides {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`config file ${path}: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path}: expected a JSON object of settings`);
  }
  for (const key of Object.keys(parsed)) {
    if (!settingNames.includes(key as SettingName)) {
      throw new ConfigError(`config file ${path}: unknown setting "${key}"`);
    }
  }
  return parsed as ConfigOverrides;
}

export interface LoadConfigInput {
  /** Values given on the command line (undefined entries are ignored). */
  flags?: ConfigOverrides;
  /** Explicit config file; otherwise `<dataDir>/config.json` when it exists. */
  configFile?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

/** @throws ConfigError naming the offending setting. */
export function loadConfig({ flags = {}, configFile, env = process.env }: LoadConfigInput = {}): Config {
  const sources = new Map<SettingName, string>();
  const merged: ConfigOverrides = {};
  const apply = (values: ConfigOverrides, source: (setting: SettingName) => string) => {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) continue;
      merged[key as SettingName] = value;
      sources.set(key as SettingName, source(key as SettingName));
    }
  };

  const envValues: ConfigOverrides = {};
  for (const setting of settingNames) {
    const raw = env[envName(setting)];
    if (raw !== undefined) envValues[setting] = fromEnv(setting, raw);
  }

  const dataDir = String(flags.dataDir ?? envValues.dataDir ?? defaultDataDir(env));
  const filePath = configFile ?? env.OLLAMA_COMPANION_CONFIG ?? join(dataDir, 'config.json');
  if (configFile !== undefined || env.OLLAMA_COMPANION_CONFIG !== undefined || existsSync(filePath)) {
    apply(readConfigFile(filePath), () => `config file ${filePath}`);
  }
  apply(envValues, (setting) => `environment variable ${envName(setting)}`);
  apply(flags, (setting) => `flag --${setting.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
  merged.dataDir = merged.dataDir ?? dataDir;

  const candidate = Value.Default(ConfigSchema, structuredClone(merged));
  const firstError = Value.Errors(ConfigSchema, candidate).First();
  if (firstError) {
    const setting = firstError.path.split('/')[1] as SettingName | undefined;
    const origin = setting ? (sources.get(setting) ?? 'default') : 'config';
    throw new ConfigError(
      `invalid setting ${setting ?? firstError.path} (from ${origin}): ${schemaProblem(ConfigSchema, firstError).problem}`,
    );
  }
  const config = candidate as Config;
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw new ConfigError('invalid setting tlsCert/tlsKey: HTTPS needs both a certificate and a key');
  }
  try {
    compileTrust(config.trustProxy);
  } catch (error) {
    const origin = sources.get('trustProxy') ?? 'default';
    throw new ConfigError(`invalid setting trustProxy (from ${origin}): ${(error as Error).message}`);
  }
  if (config.upstreamPerToken !== undefined && config.upstreamPerToken > config.upstreamConnections) {
    const origin = sources.get('upstreamPerToken') ?? 'default';
    throw new ConfigError(
      `invalid setting upstreamPerToken (from ${origin}): at most upstreamConnections (${config.upstreamConnections})`,
    );
  }
  config.upstream = config.upstream.replace(/\/$/, '');
  return config;
}
