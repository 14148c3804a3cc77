/** The port a store of runtime settings implements (values as runtime-settings.ts reads them). */
import type { RuntimeSettings } from './runtime-settings.js';

export interface SettingsStore {
  /** Every setting, defaults filled in, as stored now: another process may have written. */
  read(): Promise<RuntimeSettings>;
  /** Stores the given values (already validated) together and resolves to the whole set. */
  write(changes: Partial<RuntimeSettings>): Promise<RuntimeSettings>;
}
