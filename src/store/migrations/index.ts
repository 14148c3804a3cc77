/** The numbered migrations, in order. A migration, once released, never changes. */
import { sql as initial } from './001-initial.js';

export const migrations: readonly { version: number; name: string; sql: string }[] = [
  { version: 1, name: 'initial', sql: initial },
];
