/**
 * The user's configuration directory by the XDG spec, where systemd's user manager looks
 * for units (`<it>/systemd/user`): `$XDG_CONFIG_HOME`, else ~/.config. Read here because
 * the config module is the one reader of the environment.
 */
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

export function userConfigHome(env: NodeJS.ProcessEnv = process.env): string {
  // The spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const xdg = env.XDG_CONFIG_HOME;
  return xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.config');
}
