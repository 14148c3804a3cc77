/**
 * The one description of every setting: its type, default and where it may come from.
 * Flags, environment variables (`OLLAMA_COMPANION_<NAME>`) and the optional JSON config
 * file all name settings from this schema; `load-config.ts` is the only reader.
 */
import { type Static, Type } from '@sinclair/typebox';

const HistoryMode = Type.Union([Type.Literal('full'), Type.Literal('metadata'), Type.Literal('off')]);
const LogLevel = Type.Union(
  ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
);

export const ConfigSchema = Type.Object(
  {
    host: Type.String({ minLength: 1, default: '127.0.0.1', description: 'Address to listen on.' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 11435, description: 'Port to listen on.' }),
    upstream: Type.String({
      pattern: '^https?://[^/]+/?$',
      errorMessage: 'must look like http://host:port or https://host:port, without a path',
      default: 'http://127.0.0.1:11434',
      description: 'Base URL of the Ollama this companion guards.',
    }),
    dataDir: Type.String({ minLength: 1, description: 'Where the database lives.' }),
    tlsCert: Type.Optional(Type.String({ minLength: 1, description: 'PEM certificate file for HTTPS.' })),
    tlsKey: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key file for HTTPS.' })),
    publicStatus: Type.Boolean({
      default: false,
      description: 'Answer GET|HEAD / and /api/version without a token.',
    }),
    corsOrigins: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description: 'Browser origins allowed besides Ollama’s defaults (globs, e.g. https://*.example.com).',
    }),
    trustProxy: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description:
        'Reverse proxies whose X-Forwarded-For names the client: addresses, CIDR ranges, loopback, linklocal or uniquelocal.',
    }),
    bodyLimitBytes: Type.Integer({
      minimum: 1024,
      default: 64 * 1024 * 1024,
      description: 'Largest request body accepted (blob uploads excepted).',
    }),
    headersTimeoutMs: Type.Integer({
      minimum: 100,
      default: 10_000,
      description:
        'Most time a client may take to send a request’s headers, from connecting or from the end of its last request.',
    }),
    bodyIdleTimeoutMs: Type.Integer({
      minimum: 100,
      default: 30_000,
      description:
        'Most time a request body may pause between two pieces (a long upload that keeps sending is not cut).',
    }),
    keepAliveTimeoutMs: Type.Integer({
      minimum: 100,
      default: 65_000,
      description: 'How long an idle kept-alive connection stays open for the client’s next request.',
    }),
    maxUnauthenticatedPerAddress: Type.Integer({
      minimum: 1,
      // A script or chat app opening a few hundred connections at once is legitimate: each
      // is counted from its first byte until its first request shows a token.
      default: 512,
      description:
        'Open connections one address may hold before any of its requests carried a valid token (trusted proxies excepted).',
    }),
    upstreamConnections: Type.Integer({
      minimum: 1,
      // Half of them are one token's share: 256 streams from one client (a batch job, a
      // load test) all reach Ollama, and the other tokens still have as many.
      default: 512,
      description:
        'Connections to Ollama for model runs, embeddings, uploads and pulls; listings have their own few.',
    }),
    upstreamPerToken: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'Most of those connections one token may hold (default: half of upstreamConnections).',
      }),
    ),
    upstreamQueueMs: Type.Integer({
      minimum: 0,
      default: 30_000,
      description: 'How long a request may wait for a connection to Ollama before it gets 503 "server busy".',
    }),
    upstreamTimeoutMs: Type.Integer({
      minimum: 1000,
      default: 10 * 60 * 1000,
      description: 'How long Ollama may stay silent (model loading included) before the request fails.',
    }),
    upstreamCheckMs: Type.Integer({
      minimum: 100,
      maximum: 3_600_000,
      default: 10_000,
      description:
        'How often the companion checks that Ollama answers (GET /api/version), for the log and /readyz.',
    }),
    shutdownGraceMs: Type.Integer({
      minimum: 0,
      default: 15_000,
      description: 'On SIGTERM, how long running streams may take to finish.',
    }),
    historyFlushMs: Type.Integer({
      minimum: 5,
      maximum: 5000,
      default: 100,
      description: 'Most time a history record waits in memory before it is written.',
    }),
    defaultHistoryMode: Type.Optional(HistoryMode),
    metricsFromLoopback: Type.Boolean({
      default: true,
      description:
        'Serve /metrics without a token to clients on this machine (not to requests a reverse proxy relays).',
    }),
    logLevel: Type.Union(LogLevel.anyOf, { default: 'info', description: 'Log level.' }),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
export type SettingName = keyof Config;

/** Settings a config file or environment may hold, i.e. every setting. */
export const settingNames = Object.keys(ConfigSchema.properties) as SettingName[];

/** `dataDir` → `OLLAMA_COMPANION_DATA_DIR`. */
export function envName(setting: SettingName): string {
  return `OLLAMA_COMPANION_${setting.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}
