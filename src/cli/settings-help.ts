/**
 * The settings part of `serve --help`, generated from the config schema when help is
 * shown: every setting with its config file key, environment variable, flag (when
 * `serve` has one), allowed values and default. A setting added to the schema appears
 * here without further work.
 */
import type { Command } from 'commander';
import { ConfigSchema, envName, type SettingName, settingNames } from '../config/config-schema.js';
import { defaultDataDir } from '../config/load-config.js';

interface SettingSchema {
  description?: string;
  default?: unknown;
  type?: string;
  anyOf?: { const?: unknown }[];
  minimum?: number;
  maximum?: number;
}

const kebab = (setting: string) => setting.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const sentence = (part: string) => {
  const capital = part.charAt(0).toUpperCase() + part.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
};
const WIDTH = 88;
const INDENT = '      ';

/** Breaks `text` into indented lines of at most WIDTH characters, at spaces. */
function wrap(text: string): string[] {
  const lines: string[] = [];
  let line = INDENT;
  for (const word of text.split(' ')) {
    if (line.length > INDENT.length && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = INDENT;
    }
    line += line.length > INDENT.length ? ` ${word}` : word;
  }
  lines.push(line);
  return lines;
}

function allowed(schema: SettingSchema): string | undefined {
  const values = schema.anyOf?.map((option) => option.const);
  if (values?.length && values.every((v) => typeof v === 'string')) return `one of ${values.join(', ')}`;
  if (schema.type === 'integer') {
    if (schema.minimum !== undefined && schema.maximum !== undefined)
      return `a whole number from ${schema.minimum} to ${schema.maximum}`;
    if (schema.minimum !== undefined) return `a whole number, at least ${schema.minimum}`;
    return 'a whole number';
  }
  if (schema.type === 'boolean') return 'true or false';
  if (schema.type === 'array') return 'a list: comma-separated in a flag or the environment';
  return undefined;
}

function defaultOf(setting: SettingName, schema: SettingSchema): string {
  if (setting === 'dataDir') return defaultDataDir();
  if (!('default' in schema)) return 'not set';
  const value = schema.default;
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.join(',');
  return String(value);
}

/** The text shown after `serve`'s options, built from the schema as it is now. */
export function settingsHelp(command: Command): string {
  const flags = new Set(command.options.map((option) => option.long));
  const lines = [
    '',
    'Settings: each can be a config file key (in --config FILE, $OLLAMA_COMPANION_CONFIG or',
    '<data-dir>/config.json), an environment variable or, where there is one, a flag. Flags win',
    'over the environment, which wins over the file.',
  ];
  for (const setting of settingNames) {
    const schema = ConfigSchema.properties[setting] as SettingSchema;
    const flag = `--${kebab(setting)}`;
    const names = [envName(setting), ...(flags.has(flag) ? [flag] : [])].join(', ');
    const about = [schema.description, allowed(schema), `default: ${defaultOf(setting, schema)}`]
      .filter((part): part is string => part !== undefined && part !== '')
      .map(sentence)
      .join(' ');
    lines.push('', `  ${setting} (${names})`, ...wrap(about));
  }
  return `${lines.join('\n')}\n`;
}
