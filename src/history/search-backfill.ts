/**
 * The port for making older records searchable: records written without search fields
 * (data from before full-text search existed) get their ordering key, thread and text
 * index entry, a batch at a time, from the background maintenance job.
 */

export interface SearchBackfill {
  /** Indexes up to `limit` records written without search fields. Resolves how many. */
  indexBacklog(limit: number): Promise<number>;
}
