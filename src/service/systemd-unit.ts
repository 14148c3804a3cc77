/**
 * The systemd unit that starts the companion: a user unit (wanted by default.target) or
 * a system unit (wanted by multi-user.target, after the network and Ollama, as an
 * unprivileged user). Pure text; the command line decides paths and writes the file.
 */
import { CompanionError } from '../errors/companion-error.js';
import { checkPrintable, type ServiceDescription } from './service-description.js';

/**
 * `%` starts a specifier in every setting (`%h`, `%u`) and `$` an environment variable in
 * ExecStart, so both are doubled to stay literal.
 */
const literal = (value: string) => value.replace(/%/g, '%%');

/** Characters an ExecStart word may hold without quotes. */
const BARE = /^[A-Za-z0-9_@+=:,./-]+$/;

/**
 * One ExecStart word as systemd splits the line: bare when safe, otherwise in double
 * quotes with `\` and `"` escaped (C-style escapes apply inside quotes). A lone `;` would
 * separate commands in older systemd, so it is written `\;`.
 */
export function execWord(arg: string): string {
  checkPrintable('a service argument', arg);
  const text = literal(arg).replace(/\$/g, '$$$$');
  if (arg === ';') return '\\;';
  if (BARE.test(arg)) return text;
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * @throws CompanionError(bad_request) when a value holds a line break or control character,
 *   or the program's path a quote or backslash (systemd refuses to run such a path).
 */
export function systemdUnit(service: ServiceDescription): string {
  if (/["'\\]/.test(service.program)) {
    throw new CompanionError(
      'bad_request',
      400,
      `systemd cannot run a program whose path holds a quote or backslash: ${service.program}`,
    );
  }
  const system = service.scope === 'system';
  const setting = (name: string, value: string) => `${name}=${literal(checkPrintable(name, value))}`;
  const lines = [
    '# Written by `ollama-companion service install`; `ollama-companion service uninstall` removes it.',
    '[Unit]',
    setting('Description', service.summary),
    // A user manager cannot order itself after system units, so only a system unit waits
    // for the network and Ollama; the companion watches Ollama anyway and says when it answers.
    ...(system ? ['After=network-online.target ollama.service', 'Wants=network-online.target'] : []),
    '',
    '[Service]',
    'Type=simple',
    ...(system && service.user !== undefined ? [setting('User', service.user)] : []),
    ...(service.workingDir !== undefined ? [setting('WorkingDirectory', service.workingDir)] : []),
    `ExecStart=${[service.program, ...service.args].map(execWord).join(' ')}`,
    'Restart=on-failure',
    'RestartSec=5',
    // It never needs more rights than it starts with.
    'NoNewPrivileges=yes',
    '',
    '[Install]',
    `WantedBy=${system ? 'multi-user.target' : 'default.target'}`,
    '',
  ];
  return lines.join('\n');
}
