/**
 * The launchd property list that starts the companion on macOS: a LaunchAgent (the user's,
 * at login) or a LaunchDaemon (the machine's, at boot, as an unprivileged user). Restarted
 * when it fails, like systemd's Restart=on-failure; output goes to files in the log dir,
 * since launchd keeps no journal. Pure text; the command line decides paths and writes it.
 */
import { join } from 'node:path';
import { checkPrintable, type ServiceDescription } from './service-description.js';

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/** @throws CompanionError(bad_request) for a control character, which XML 1.0 cannot hold. */
export function xmlText(what: string, value: string): string {
  return checkPrintable(what, value).replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/** The files launchd sends the companion's stdout (its JSON log lines) and stderr to. */
export function launchdLogFiles(logDir: string): { stdout: string; stderr: string } {
  return { stdout: join(logDir, 'companion.log'), stderr: join(logDir, 'companion-error.log') };
}

/** @throws CompanionError(bad_request) when a value holds a control character. */
export function launchdPlist(service: ServiceDescription): string {
  const string = (what: string, value: string) => `<string>${xmlText(what, value)}</string>`;
  const entry = (key: string, value: string) => [`  <key>${key}</key>`, `  ${value}`];
  const logs = launchdLogFiles(service.logDir);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<!-- Written by `ollama-companion service install`; `ollama-companion service uninstall` removes it. -->',
    '<plist version="1.0">',
    '<dict>',
    ...entry('Label', string('Label', service.label)),
    '  <key>ProgramArguments</key>',
    '  <array>',
    ...[service.program, ...service.args].map((arg) => `    ${string('a service argument', arg)}`),
    '  </array>',
    ...(service.workingDir !== undefined
      ? entry('WorkingDirectory', string('WorkingDirectory', service.workingDir))
      : []),
    ...(service.scope === 'system' && service.user !== undefined
      ? entry('UserName', string('UserName', service.user))
      : []),
    ...entry('RunAtLoad', '<true/>'),
    // Restarted after a crash, not after a clean stop (SIGTERM lets streams finish, then exits 0).
    '  <key>KeepAlive</key>',
    '  <dict>',
    '    <key>SuccessfulExit</key>',
    '    <false/>',
    '  </dict>',
    ...entry('StandardOutPath', string('StandardOutPath', logs.stdout)),
    ...entry('StandardErrorPath', string('StandardErrorPath', logs.stderr)),
    '</dict>',
    '</plist>',
    '',
  ];
  return lines.join('\n');
}
