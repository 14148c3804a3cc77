/**
 * The user who ran `sudo`, as sudo tells the command it starts (`SUDO_USER`). The config
 * module is the one place that reads the environment; whether to believe it is the
 * caller's decision.
 */
export function sudoUser(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.SUDO_USER || undefined;
}
