/**
 * Where each service manager keeps the companion's file, which generator writes it, and
 * the commands that start and stop it, per platform and scope. The command line prints
 * those commands rather than running them: enabling a service at boot is the user's call,
 * and they may want to read the file first.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { userConfigHome } from '../config/user-config-home.js';
import { launchdLogFiles, launchdPlist } from '../service/launchd-plist.js';
import type { ServiceDescription, ServiceScope } from '../service/service-description.js';
import { systemdUnit } from '../service/systemd-unit.js';

export type ServicePlatform = 'linux' | 'darwin';
export const SERVICE_PLATFORMS: readonly ServicePlatform[] = ['linux', 'darwin'];

export const UNIT_NAME = 'ollama-companion';
export const LAUNCHD_LABEL = 'dev.ollama-companion';

/** A step to print: what it does, then the command line to run. */
export interface NextStep {
  what: string;
  command: string;
}

/** A word as a POSIX shell reads it back, for commands printed to be pasted. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface ServiceTarget {
  /** The directory the manager reads such files from. */
  dir: string;
  fileName: string;
  render(service: ServiceDescription): string;
  /** To run after install; `replaced` when an older file was overwritten. */
  afterInstall(file: string, service: ServiceDescription, replaced: boolean): NextStep[];
  /** To run after uninstall, to stop it and keep it from starting again. */
  afterUninstall(): NextStep[];
}

export interface TargetContext {
  platform: ServicePlatform;
  scope: ServiceScope;
  /** Whether this process is root, so commands need no `sudo`. */
  asRoot: boolean;
}

function systemd({ scope, asRoot }: TargetContext): ServiceTarget {
  const user = scope === 'user';
  const ctl = user ? 'systemctl --user' : `${asRoot ? '' : 'sudo '}systemctl`;
  const journal = user ? 'journalctl --user' : 'journalctl';
  return {
    dir: user ? join(userConfigHome(), 'systemd', 'user') : '/etc/systemd/system',
    fileName: `${UNIT_NAME}.service`,
    render: systemdUnit,
    afterInstall: (_file, _service, replaced) => [
      {
        what: user ? 'Start it now and at every login:' : 'Start it now and at every boot:',
        command: `${ctl} daemon-reload && ${ctl} enable --now ${UNIT_NAME}`,
      },
      ...(replaced
        ? [{ what: 'If it runs already, to use the new file:', command: `${ctl} restart ${UNIT_NAME}` }]
        : []),
      // A user manager starts at login; lingering starts it at boot.
      ...(user
        ? [{ what: 'Start it at boot, before anyone logs in:', command: 'loginctl enable-linger' }]
        : []),
      { what: 'Follow its log:', command: `${journal} -u ${UNIT_NAME} -f` },
    ],
    afterUninstall: () => [
      {
        what: 'If it was enabled, stop it and take it out of boot:',
        command: `${ctl} disable --now ${UNIT_NAME} && ${ctl} daemon-reload`,
      },
    ],
  };
}

function launchd({ scope, asRoot }: TargetContext): ServiceTarget {
  const user = scope === 'user';
  const sudo = user || asRoot ? '' : 'sudo ';
  return {
    dir: user ? join(homedir(), 'Library', 'LaunchAgents') : '/Library/LaunchDaemons',
    fileName: `${LAUNCHD_LABEL}.plist`,
    render: launchdPlist,
    afterInstall: (file, service, replaced) => [
      {
        what: user ? 'Start it now and at every login:' : 'Start it now and at every boot:',
        command: `${replaced ? `${sudo}launchctl unload ${shellWord(file)}; ` : ''}${sudo}launchctl load -w ${shellWord(file)}`,
      },
      { what: 'Follow its log:', command: `tail -f ${shellWord(launchdLogFiles(service.logDir).stdout)}` },
    ],
    // By label: the file is gone, and `unload` would need it.
    afterUninstall: () => [
      {
        what: 'If it was loaded, stop it:',
        command: user
          ? `launchctl bootout gui/$(id -u)/${LAUNCHD_LABEL}`
          : `${sudo}launchctl bootout system/${LAUNCHD_LABEL}`,
      },
    ],
  };
}

export function serviceTarget(context: TargetContext): ServiceTarget {
  return context.platform === 'darwin' ? launchd(context) : systemd(context);
}
