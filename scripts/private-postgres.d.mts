// Types of private-postgres.mjs, for the TypeScript test support that imports it.
export interface PrivatePostgres {
  /** The superuser's URL: postgres://postgres:<password>@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  password: string;
  /** The temporary directory holding the cluster, its socket and its log. */
  dir: string;
  /** Stops the server at once and removes its directory. */
  stop(): Promise<void>;
}
export function postgresBinDir(): string | undefined;
export function postgresInstalled(): boolean;
export function startPrivatePostgres(): Promise<PrivatePostgres>;
