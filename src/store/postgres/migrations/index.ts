/** The numbered PostgreSQL migrations, in order. A migration, once released, never changes. */
import { sql as initial } from './001-initial.js';

export interface PostgresMigration {
  version: number;
  name: string;
  sql: string;
}

export const postgresMigrations: readonly PostgresMigration[] = [
  { version: 1, name: 'initial', sql: initial },
];
