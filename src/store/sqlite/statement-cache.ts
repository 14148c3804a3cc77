/**
 * Prepared statements for SQL built at run time (a search's filters, a usage series'
 * grouping): each distinct text is prepared once per store and reused, since there are
 * few shapes and preparing costs more than running.
 */
import type { Db } from '../database.js';

export type Prepared = (sql: string) => ReturnType<Db['prepare']>;

export function statementCache(db: Db): Prepared {
  const statements = new Map<string, ReturnType<Db['prepare']>>();
  return (sql) => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
}
