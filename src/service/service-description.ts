/**
 * What a service manager needs to know to start the companion at boot, independent of
 * which manager it is: the generators (systemd-unit.ts, launchd-plist.ts) turn it into
 * their file's text and do nothing else, so the same description gives both.
 */
import { CompanionError } from '../errors/companion-error.js';

/** `user`: started by the user's own service manager; `system`: by the machine's, at boot. */
export type ServiceScope = 'user' | 'system';

export interface ServiceDescription {
  scope: ServiceScope;
  /** launchd's Label (reverse-DNS); systemd names the unit by its file name instead. */
  label: string;
  /** One line for `systemctl status` and the like. */
  summary: string;
  /** Absolute path of the executable (node). */
  program: string;
  /** Arguments after the program, each one word whatever it holds (spaces included). */
  args: readonly string[];
  /** Absolute; absent leaves the manager's default. */
  workingDir?: string;
  /** The account a `system` service runs as; ignored for `user`, which runs as its owner. */
  user?: string;
  /** Where launchd writes the companion's stdout and stderr (systemd has the journal). */
  logDir: string;
}

/**
 * Neither file format can hold a line break or other control character in a value (a
 * systemd line would end, XML 1.0 forbids most of them), and no real path or flag has
 * one: such a value is refused rather than mangled.
 * @throws CompanionError(bad_request) naming the value.
 */
export function checkPrintable(what: string, value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new CompanionError(
      'bad_request',
      400,
      `${what} holds a line break or control character: ${JSON.stringify(value)}`,
    );
  }
  return value;
}
