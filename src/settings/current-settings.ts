/**
 * The runtime settings of a running companion: read and written through the settings
 * store, with the last value seen kept for parts that read them synchronously (the
 * retention job, once per pass). A change made here is seen by those parts at once; one
 * made by another process, from their next read on.
 */
import { DEFAULT_SETTINGS, type RuntimeSettings } from './runtime-settings.js';
import type { SettingsStore } from './settings-store.js';

export class CurrentSettings {
  private last: RuntimeSettings = { ...DEFAULT_SETTINGS };

  constructor(
    private readonly store: SettingsStore,
    /** Told when a background refresh fails; the last value seen stays in use. */
    private readonly onRefreshFailed: (error: unknown) => void,
  ) {}

  /** The settings as stored now. */
  async read(): Promise<RuntimeSettings> {
    this.last = await this.store.read();
    return this.last;
  }

  /** Stores the given values (already validated); resolves to the whole set. */
  async write(changes: Partial<RuntimeSettings>): Promise<RuntimeSettings> {
    this.last = await this.store.write(changes);
    return this.last;
  }

  /** Starts a read in the background, so `latest` has the stored settings soon. */
  refresh(): void {
    this.read().catch(this.onRefreshFailed);
  }

  /** The settings as last seen (the defaults before the first read); refreshed for next time. */
  latest(): RuntimeSettings {
    const seen = this.last;
    this.refresh();
    return seen;
  }
}
