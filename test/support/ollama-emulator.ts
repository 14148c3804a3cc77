/**
 * Ollama emulator: an in-process HTTP server that speaks Ollama's wire format (native /api/*, the
 * OpenAI-compatible /v1/*, the Anthropic-compatible /v1/messages) so tests and benchmarks can stand it in
 * for a real Ollama. It records every request that reaches it, streams deterministic answers chunk by
 * chunk, queues and rejects like Ollama's scheduler, and reproduces Ollama's status codes, content types,
 * error strings and Host/Origin checks (checked against ollama/ollama server/routes.go, middleware/,
 * openai/, anthropic/ and Gin's defaults). Behaviour can be changed live through `emulator.options`.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import { type AddressInfo, isIP } from 'node:net';
import { networkInterfaces, hostname as osHostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';

// ---------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------

export type ModelCapability = 'completion' | 'tools' | 'thinking' | 'embedding' | 'vision' | 'insert';

export interface EmulatorModel {
  /** Installed name as `/api/tags` shows it, e.g. `llama3.2:latest`. */
  name: string;
  family?: string;
  parameterSize?: string;
  quantizationLevel?: string;
  size?: number;
  /** 64 hex chars; derived from the name when omitted. */
  digest?: string;
  /** Go RFC3339Nano time; a fixed time when omitted. */
  modifiedAt?: string;
  /** Defaults to `['completion']`. A model without `thinking` answers 400 to `think: true`, as Ollama does. */
  capabilities?: ModelCapability[];
  contextLength?: number;
  embeddingLength?: number;
  /**
   * A cloud model of a signed-in Ollama (`gpt-oss:120b-cloud`): served from ollama.com. Its
   * listing entries carry `remote_model` and `remote_host`, as Ollama's do.
   */
  remote?: { model: string; host: string };
}

/** What the answer generator sees; `prompt` is the last user message (or the generate prompt). */
export interface AnswerInput {
  endpoint: string;
  model: string;
  prompt: string;
  system: string;
  messages: Array<{ role: string; content: string }>;
}

export interface FailMidStream {
  /** Number of chunks written before the error. 0 means the request fails before any byte (status 500). */
  afterChunks: number;
  error?: string;
}

export interface CutMidStream {
  /**
   * Whole chunks written before the cut. Then the first half of the next chunk goes out (never
   * ending on a line break) and the connection is destroyed, as when Ollama's process dies or the
   * network drops mid-line: the response has no terminating chunk and its last line is incomplete.
   */
  afterChunks: number;
}

/** Live-mutable behaviour: tests change these fields on `emulator.options` while the emulator runs. */
export interface EmulatorSettings {
  /** Time between two stream chunks, on a fixed schedule from the first (also paid, in total, by non-streamed answers). */
  chunkDelayMs: number;
  /** Delay before the first chunk (time to first token), after the request got a slot. */
  firstTokenDelayMs: number;
  /** How many content chunks an answer is split into (fewer if the answer has fewer characters). */
  chunks: number;
  /** Requests served at once (OLLAMA_NUM_PARALLEL); the rest wait in the queue. */
  parallel: number;
  /** Requests allowed to wait (OLLAMA_MAX_QUEUE); one more gets Ollama's 503. */
  maxQueue: number;
  models: EmulatorModel[];
  /** Names shown by /api/ps. Generation and embedding add the model they use, delete removes it. */
  loaded: string[];
  /** Ollama on loopback answers an empty 403 to a foreign Host header. */
  checkHost: boolean;
  /** Ollama's CORS layer answers an empty 403 to an Origin that is not in OLLAMA_ORIGINS' defaults. */
  checkOrigin: boolean;
  failMidStream: FailMidStream | null;
  /** Streams (and non-streamed bodies) break off mid-line; see CutMidStream. */
  cutMidStream: CutMidStream | null;
  /** When false, `think` is ignored and no thinking is produced. */
  thinking: boolean;
  /** When false, `tools` are ignored and a plain answer is produced. */
  toolCalls: boolean;
  version: string;
  /** 0 means the model's own embedding length. */
  embeddingDimensions: number;
  /** Replaces the default `Echo: <prompt>` answer. */
  answer: ((input: AnswerInput) => string) | null;
  /**
   * When false, the companion's periodic health checks (`GET /api/version` with the user
   * agent HEALTH_CHECK_USER_AGENT) are answered but left out of `requests`, so tests can
   * count the requests clients made.
   */
  recordHealthChecks: boolean;
}

/** The user agent of the companion's health checks (src/proxy/upstream-version-probe.ts). */
export const HEALTH_CHECK_USER_AGENT = 'ollama-companion-health-check';

export interface EmulatorOptions extends Partial<EmulatorSettings> {
  port?: number;
  host?: string;
}

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  /** Raw request target, query included. */
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  /** Parsed JSON body, or undefined when the body was empty or not JSON. */
  body: unknown;
  rawBody: Buffer;
  receivedAt: number;
}

export interface EmulatorStats {
  /** Tracked requests (inference, pull, push, create) being served or waiting for a slot. */
  readonly inFlight: number;
  readonly maxInFlight: number;
  /** Inference requests holding a slot. */
  readonly active: number;
  /** Inference requests waiting for a slot. */
  readonly queued: number;
  /** Tracked requests whose client went away before the response ended. */
  readonly aborted: number;
  readonly completed: number;
  /** Requests refused with 503 because the queue was full. */
  readonly rejected: number;
}

export interface Emulator {
  url: string;
  port: number;
  host: string;
  options: EmulatorSettings;
  requests: RecordedRequest[];
  stats: EmulatorStats;
  /** Forget recorded requests and counters (in-flight work keeps running). */
  reset(): void;
  /** Resolve once `predicate` holds; reject after `timeoutMs`. */
  waitFor(predicate: (emulator: Emulator) => boolean, timeoutMs?: number): Promise<void>;
  /** Stop listening and close every connection, in-flight streams included. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// Wire constants (from Ollama's source)
// ---------------------------------------------------------------------------------------------------

const BUSY_MESSAGE = 'server busy, please try again.  maximum pending requests exceeded';
const DEFAULT_STREAM_ERROR = 'an error was encountered while running the model: unexpected EOF';
const CT_GIN_JSON = 'application/json; charset=utf-8';
const CT_JSON = 'application/json';
const CT_NDJSON = 'application/x-ndjson';
const CT_SSE = 'text/event-stream';
const CT_GIN_TEXT = 'text/plain; charset=utf-8';
const CT_PLAIN = 'text/plain';
const DEFAULT_HOST = 'registry.ollama.ai';
const DEFAULT_NAMESPACE = 'library';
const FIXED_MODIFIED_AT = '2025-06-01T10:00:00.123456789Z';

export function defaultModels(): EmulatorModel[] {
  return [
    {
      name: 'llama3.2:latest',
      family: 'llama',
      parameterSize: '3.2B',
      quantizationLevel: 'Q4_K_M',
      size: 2019393189,
      digest: 'a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72',
      capabilities: ['completion', 'tools'],
      contextLength: 131072,
      embeddingLength: 3072,
    },
    {
      name: 'qwen3:8b',
      family: 'qwen3',
      parameterSize: '8.2B',
      quantizationLevel: 'Q4_K_M',
      size: 5225388164,
      digest: '500a1f067a9f782620b40bee6f7b0c89e17ae61f686b92c24933e4ca4b2b8b41',
      capabilities: ['completion', 'tools', 'thinking'],
      contextLength: 40960,
      embeddingLength: 4096,
    },
    {
      name: 'nomic-embed-text:latest',
      family: 'nomic-bert',
      parameterSize: '137M',
      quantizationLevel: 'F16',
      size: 274302450,
      digest: '0a109f422b47e3a30ba2b10eca18548e944e8a23073ee3f3e947efcf3c45e59f',
      capabilities: ['embedding'],
      contextLength: 2048,
      embeddingLength: 768,
    },
  ];
}

/** Two cloud models as a signed-in Ollama lists them (name suffix `-cloud`, and the `cloud` tag). */
export function cloudModels(): EmulatorModel[] {
  return [
    {
      name: 'gpt-oss:120b-cloud',
      family: 'gptoss',
      parameterSize: '116.8B',
      quantizationLevel: 'MXFP4',
      size: 384,
      capabilities: ['completion', 'tools', 'thinking'],
      contextLength: 131072,
      remote: { model: 'gpt-oss:120b', host: 'https://ollama.com:443' },
    },
    {
      name: 'gemma4:cloud',
      family: 'gemma4',
      parameterSize: '31B',
      quantizationLevel: 'BF16',
      size: 330,
      capabilities: ['completion', 'vision'],
      contextLength: 131072,
      remote: { model: 'gemma4', host: 'https://ollama.com:443' },
    },
  ];
}

function defaultSettings(): EmulatorSettings {
  return {
    chunkDelayMs: 0,
    firstTokenDelayMs: 0,
    chunks: 5,
    parallel: 4,
    maxQueue: 512,
    models: defaultModels(),
    loaded: [],
    checkHost: true,
    checkOrigin: true,
    failMidStream: null,
    cutMidStream: null,
    thinking: true,
    toolCalls: true,
    version: '0.12.6',
    embeddingDimensions: 0,
    answer: null,
    recordHealthChecks: false,
  };
}

// ---------------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;
type Family = 'ollama' | 'openai' | 'anthropic';

function isObj(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Go's encoding/json escapes <, >, & and the JS line separators; keep byte-level parity with Ollama. */
function goJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Go's time.RFC3339Nano in UTC: nanosecond fraction with trailing zeros trimmed. */
function goTime(ms: number = Date.now()): string {
  const iso = new Date(ms).toISOString();
  const subMs = Number(process.hrtime.bigint() % 1_000_000n);
  const nanos = (Math.floor(ms) % 1000) * 1_000_000 + subMs;
  const fraction = nanos.toString().padStart(9, '0').replace(/0+$/, '');
  return `${iso.slice(0, 19)}${fraction ? `.${fraction}` : ''}Z`;
}

function unixSeconds(goTimeString: string): number {
  const t = Date.parse(goTimeString);
  return Number.isNaN(t) ? 0 : Math.floor(t / 1000);
}

function sha256Hex(input: string | Buffer): string {
  return createHash('sha256').update(input).digest('hex');
}

/** Go's %q for plain strings is close enough to a JSON string literal. */
function goQuote(s: string): string {
  return JSON.stringify(s);
}

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return 'number';
  if (typeof value === 'string') return 'string';
  return 'object';
}

/** Go's %T for a decoded JSON value. */
function goTypeOf(value: unknown): string {
  if (value === null || value === undefined) return '<nil>';
  if (Array.isArray(value)) return '[]interface {}';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return 'float64';
  if (typeof value === 'string') return 'string';
  return 'map[string]interface {}';
}

function goQuoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '"') return `'"'`;
  const quoted = JSON.stringify(c);
  return `'${quoted.slice(1, -1)}'`;
}

type Parsed = { ok: true; value: unknown } | { ok: false; error: string };

/**
 * Decode a body the way Gin's ShouldBindJSON does: json.Decoder reads the first value only, an empty body
 * is io.EOF, and syntax errors carry Go's wording.
 */
function decodeGoJson(raw: Buffer): Parsed {
  const text = raw.toString('utf8');
  if (text.trim() === '') return { ok: false, error: 'EOF' };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const at = /at position (\d+)/.exec(message);
    const pos = at?.[1] !== undefined ? Number(at[1]) : -1;
    if (/non-whitespace character after JSON/.test(message) && pos > 0) {
      // json.Decoder stops after the first value and ignores what follows.
      try {
        return { ok: true, value: JSON.parse(text.slice(0, pos)) };
      } catch {
        // fall through to the generic error
      }
    }
    if (/Unexpected end of JSON input|Unterminated string/.test(message)) {
      return { ok: false, error: 'unexpected EOF' };
    }
    const tokenMatch = /Unexpected token '?(.)'?/.exec(message);
    const c = pos >= 0 ? (text[pos] ?? '') : (tokenMatch?.[1] ?? '');
    if (c === '') return { ok: false, error: 'unexpected EOF' };
    const q = goQuoteChar(c);
    if (/Bad control character/.test(message))
      return { ok: false, error: `invalid character ${q} in string literal` };
    if (/Expected property name/.test(message)) {
      return { ok: false, error: `invalid character ${q} looking for beginning of object key string` };
    }
    if (/after property value/.test(message)) {
      return { ok: false, error: `invalid character ${q} after object key:value pair` };
    }
    if (/after property name/.test(message))
      return { ok: false, error: `invalid character ${q} after object key` };
    if (/after array element/.test(message))
      return { ok: false, error: `invalid character ${q} after array element` };
    return { ok: false, error: `invalid character ${q} looking for beginning of value` };
  }
}

type FieldKind = 'string' | 'bool' | 'array' | 'object' | 'number';

/** Reproduce Go's unmarshal type errors for the fields a handler reads. `null` is accepted, as in Go. */
function checkFields(
  body: unknown,
  goStruct: string,
  spec: Record<string, [FieldKind, string]>,
): string | null {
  if (!isObj(body)) {
    return `json: cannot unmarshal ${jsonKind(body)} into Go value of type ${goStruct}`;
  }
  const short = goStruct.includes('.') ? goStruct.slice(goStruct.lastIndexOf('.') + 1) : goStruct;
  for (const [field, [kind, goType]] of Object.entries(spec)) {
    const value = body[field];
    if (value === undefined || value === null) continue;
    if (jsonKind(value) !== kind) {
      return `json: cannot unmarshal ${jsonKind(value)} into Go struct field ${short}.${field} of type ${goType}`;
    }
  }
  return null;
}

/** Split into at most `n` non-empty parts by code points, so every chunk carries text. */
function splitParts(text: string, n: number): string[] {
  const chars = Array.from(text);
  if (chars.length === 0) return [];
  const count = Math.max(1, Math.min(Math.floor(n), chars.length));
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    const from = Math.floor((i * chars.length) / count);
    const to = Math.floor(((i + 1) * chars.length) / count);
    parts.push(chars.slice(from, to).join(''));
  }
  return parts;
}

function randomInt(maxExclusive: number): number {
  return Math.floor(Math.random() * maxExclusive);
}

// ---------------------------------------------------------------------------------------------------
// Model names (Ollama's model.ParseName, simplified)
// ---------------------------------------------------------------------------------------------------

interface ModelName {
  host: string;
  namespace: string;
  model: string;
  tag: string;
}

const HOST_RE = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,349}$/;
const NAMESPACE_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/;
const MODEL_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}$/;

function parseModelName(input: string): ModelName | null {
  let rest = input.trim();
  const at = rest.indexOf('@');
  if (at >= 0) rest = rest.slice(0, at);
  let tag = 'latest';
  const lastSlash = rest.lastIndexOf('/');
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > lastSlash) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
  }
  const parts = rest.split('/');
  let host = DEFAULT_HOST;
  let namespace = DEFAULT_NAMESPACE;
  let model: string;
  if (parts.length === 1) {
    model = parts[0] ?? '';
  } else if (parts.length === 2) {
    namespace = parts[0] ?? '';
    model = parts[1] ?? '';
  } else if (parts.length === 3) {
    host = parts[0] ?? '';
    namespace = parts[1] ?? '';
    model = parts[2] ?? '';
  } else {
    return null;
  }
  if (!HOST_RE.test(host) || !NAMESPACE_RE.test(namespace) || !MODEL_RE.test(model) || !TAG_RE.test(tag)) {
    return null;
  }
  return { host, namespace, model, tag };
}

function nameKey(n: ModelName): string {
  return `${n.host}/${n.namespace}/${n.model}:${n.tag}`.toLowerCase();
}

function fullName(n: ModelName): string {
  return `${n.host}/${n.namespace}/${n.model}:${n.tag}`;
}

function displayName(n: ModelName): string {
  if (n.host === DEFAULT_HOST && n.namespace === DEFAULT_NAMESPACE) return `${n.model}:${n.tag}`;
  if (n.host === DEFAULT_HOST) return `${n.namespace}/${n.model}:${n.tag}`;
  return fullName(n);
}

function modelDigest(m: EmulatorModel): string {
  return m.digest ?? sha256Hex(`model:${m.name}`);
}

function modelDetails(m: EmulatorModel): Json {
  const family = m.family ?? 'llama';
  return {
    parent_model: '',
    format: 'gguf',
    family,
    families: [family],
    parameter_size: m.parameterSize ?? '3.2B',
    quantization_level: m.quantizationLevel ?? 'Q4_K_M',
  };
}

/** Ollama's `remote_model` / `remote_host`, present (omitempty) only for cloud models. */
function remoteFields(m: EmulatorModel): Json {
  return m.remote ? { remote_model: m.remote.model, remote_host: m.remote.host } : {};
}

function capabilitiesOf(m: EmulatorModel): ModelCapability[] {
  return m.capabilities ?? ['completion'];
}

// ---------------------------------------------------------------------------------------------------
// Host and Origin checks (server/routes.go allowedHostsMiddleware, gin-contrib/cors with Ollama's origins)
// ---------------------------------------------------------------------------------------------------

/** net.SplitHostPort, falling back to the whole value on error as Ollama does. */
function hostOnly(hostHeader: string): string {
  if (hostHeader.startsWith('[')) {
    const end = hostHeader.indexOf(']');
    if (end > 0 && hostHeader[end + 1] === ':') return hostHeader.slice(1, end);
    return hostHeader;
  }
  const colons = hostHeader.split(':').length - 1;
  if (colons === 1) return hostHeader.slice(0, hostHeader.indexOf(':'));
  return hostHeader;
}

function ipv4Octets(ip: string): number[] | null {
  const parts = ip.split('.').map(Number);
  return parts.length === 4 && parts.every((p) => Number.isInteger(p) && p >= 0 && p <= 255) ? parts : null;
}

function localIpAllowed(ip: string): boolean {
  let addr = ip.toLowerCase();
  const zone = addr.indexOf('%');
  if (zone >= 0) addr = addr.slice(0, zone);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(addr);
  if (mapped?.[1]) addr = mapped[1];
  const v4 = ipv4Octets(addr);
  if (v4) {
    const [a = 0, b = 0] = v4;
    if (a === 127 || a === 10 || addr === '0.0.0.0') return true;
    if (a === 172 && b >= 16 && b <= 31) return true;
    if (a === 192 && b === 168) return true;
  } else {
    if (addr === '::1' || addr === '::' || /^0*:0*:0*:0*:0*:0*:0*:0*1$/.test(addr)) return true;
    if (/^f[cd][0-9a-f]{0,2}:/.test(addr)) return true;
  }
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) {
      if (info.address.toLowerCase() === addr) return true;
    }
  }
  return false;
}

function hostAllowed(hostHeader: string | undefined): boolean {
  const host = hostOnly(hostHeader ?? '');
  if (isIP(host.replace(/%.*$/, '')) !== 0 && localIpAllowed(host)) return true;
  const lower = host.toLowerCase();
  if (lower === '' || lower === 'localhost') return true;
  if (lower === osHostname().toLowerCase()) return true;
  return ['.localhost', '.local', '.internal'].some((tld) => lower.endsWith(tld));
}

/** Only hostnames (not IP literals) take the OPTIONS shortcut in allowedHostsMiddleware. */
function hostNameAllowed(hostHeader: string | undefined): boolean {
  const host = hostOnly(hostHeader ?? '');
  return isIP(host.replace(/%.*$/, '')) === 0 && hostAllowed(hostHeader);
}

const ALLOWED_ORIGINS: RegExp[] = (() => {
  const patterns: string[] = [];
  for (const h of ['localhost', '127.0.0.1', '0.0.0.0']) {
    patterns.push(`http://${h}`, `https://${h}`, `http://${h}:*`, `https://${h}:*`);
  }
  patterns.push('app://*', 'file://*', 'tauri://*', 'vscode-webview://*', 'vscode-file://*');
  patterns.push(
    'chrome-extension://*',
    'safari-extension://*',
    'moz-extension://*',
    'ms-browser-extension://*',
  );
  return patterns.map(
    (p) => new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, (c) => (c === '*' ? '.*' : `\\${c}`))}$`),
  );
})();

const CORS_ALLOW_HEADERS = [
  'Authorization',
  'Content-Type',
  'User-Agent',
  'Accept',
  'X-Requested-With',
  'OpenAI-Beta',
  'x-stainless-arch',
  'x-stainless-async',
  'x-stainless-custom-poll-interval',
  'x-stainless-helper-method',
  'x-stainless-lang',
  'x-stainless-os',
  'x-stainless-package-version',
  'x-stainless-poll-helper',
  'x-stainless-retry-count',
  'x-stainless-runtime',
  'x-stainless-runtime-version',
  'x-stainless-timeout',
].join(',');

// ---------------------------------------------------------------------------------------------------
// Generation plan: what a model "says", independent of the API family that renders it
// ---------------------------------------------------------------------------------------------------

interface ToolSpec {
  name: string;
  parameters: unknown;
}

interface NativeToolCall {
  id: string;
  function: { name: string; arguments: Json };
}

interface GenInput {
  endpoint: string;
  requestedModel: string;
  model: EmulatorModel;
  prompt: string;
  system: string;
  messages: Array<{ role: string; content: string }>;
  promptText: string;
  tools: ToolSpec[];
  think: boolean;
  numPredict: number | undefined;
}

interface Piece {
  thinking?: string;
  content?: string;
  toolCalls?: NativeToolCall[];
}

interface Plan {
  pieces: Piece[];
  thinking: string;
  content: string;
  toolCalls: NativeToolCall[];
  /** Ollama's done_reason: stop, length, or load for a load-only request. */
  doneReason: string;
  promptTokens: number;
  evalCount: number;
}

interface Timing {
  start: bigint;
  acquired: bigint;
}

function toolArguments(tool: ToolSpec, prompt: string): Json {
  const args: Json = {};
  const params = tool.parameters;
  if (!isObj(params) || !isObj(params.properties)) return args;
  for (const [key, schema] of Object.entries(params.properties)) {
    const s = isObj(schema) ? schema : {};
    if (Array.isArray(s.enum) && s.enum.length > 0) {
      args[key] = s.enum[0];
      continue;
    }
    const type = Array.isArray(s.type) ? s.type[0] : s.type;
    switch (type) {
      case 'number':
      case 'integer':
        args[key] = 42;
        break;
      case 'boolean':
        args[key] = true;
        break;
      case 'array':
        args[key] = [];
        break;
      case 'object':
        args[key] = {};
        break;
      default:
        args[key] = prompt;
    }
  }
  return args;
}

function toolCallId(seed: string): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = createHash('sha256').update(seed).digest();
  let id = '';
  for (let i = 0; i < 8; i++) id += alphabet[(bytes[i] ?? 0) % alphabet.length];
  return `call_${id}`;
}

function promptTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

// ---------------------------------------------------------------------------------------------------
// The emulator
// ---------------------------------------------------------------------------------------------------

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  path: string;
  raw: Buffer;
  params: Record<string, string>;
  signal: AbortSignal;
  start: bigint;
}

type Handler = (ctx: Ctx) => Promise<void> | void;

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const { port = 0, host = '127.0.0.1', ...overrides } = options;
  const settings: EmulatorSettings = defaultSettings();
  // Keys given as undefined (e.g. from optional CLI flags) keep their defaults.
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) Object.assign(settings, { [key]: value });
  }
  if (overrides.models) settings.models = overrides.models.map((m) => ({ ...m }));
  if (overrides.loaded) settings.loaded = [...overrides.loaded];

  const requests: RecordedRequest[] = [];
  const counters = { inFlight: 0, maxInFlight: 0, aborted: 0, completed: 0, rejected: 0 };
  let active = 0;
  const waiters: Array<() => void> = [];
  const blobs = new Map<string, number>();

  const stats: EmulatorStats = {
    get inFlight() {
      return counters.inFlight;
    },
    get maxInFlight() {
      return counters.maxInFlight;
    },
    get active() {
      return active;
    },
    get queued() {
      return waiters.length;
    },
    get aborted() {
      return counters.aborted;
    },
    get completed() {
      return counters.completed;
    },
    get rejected() {
      return counters.rejected;
    },
  };

  // ----- model registry -----

  function findModel(name: string): EmulatorModel | undefined {
    const wanted = parseModelName(name);
    if (!wanted) return undefined;
    const key = nameKey(wanted);
    return settings.models.find((m) => {
      const parsed = parseModelName(m.name);
      return parsed !== null && nameKey(parsed) === key;
    });
  }

  function modelFull(m: EmulatorModel): string {
    const parsed = parseModelName(m.name);
    return parsed ? fullName(parsed) : m.name;
  }

  function modelDisplay(m: EmulatorModel): string {
    const parsed = parseModelName(m.name);
    return parsed ? displayName(parsed) : m.name;
  }

  function markLoaded(m: EmulatorModel): void {
    const name = modelDisplay(m);
    if (!settings.loaded.some((n) => findModel(n) === m)) settings.loaded.push(name);
  }

  function unload(m: EmulatorModel): void {
    settings.loaded = settings.loaded.filter((n) => findModel(n) !== m);
  }

  function addModel(name: string, like?: EmulatorModel): EmulatorModel {
    const existing = findModel(name);
    if (existing) return existing;
    const parsed = parseModelName(name);
    const created: EmulatorModel = {
      ...(like ?? { family: 'llama', capabilities: ['completion'] }),
      name: parsed ? displayName(parsed) : name,
      digest: sha256Hex(`model:${name}`),
      modifiedAt: goTime(),
    };
    settings.models.push(created);
    return created;
  }

  // ----- writers -----

  function sendBody(ctx: Ctx, status: number, contentType: string | null, body: string): void {
    if (ctx.res.headersSent || ctx.signal.aborted) return;
    const headers: OutgoingHttpHeaders = { 'Content-Length': Buffer.byteLength(body) };
    if (contentType) headers['Content-Type'] = contentType;
    ctx.res.writeHead(status, headers);
    ctx.res.end(ctx.method === 'HEAD' ? undefined : body);
  }

  /** Gin's c.JSON. */
  function ginJson(ctx: Ctx, status: number, value: unknown): void {
    sendBody(ctx, status, CT_GIN_JSON, goJson(value));
  }

  function nativeError(ctx: Ctx, status: number, message: string): void {
    ginJson(ctx, status, { error: message });
  }

  function openaiErrorBody(status: number, message: string): Json {
    const type = status === 400 ? 'invalid_request_error' : status === 404 ? 'not_found_error' : 'api_error';
    return { error: { message, type, param: null, code: null } };
  }

  function anthropicErrorBody(status: number, message: string): Json {
    const types: Record<number, string> = {
      400: 'invalid_request_error',
      401: 'authentication_error',
      403: 'permission_error',
      404: 'not_found_error',
      429: 'rate_limit_error',
      503: 'overloaded_error',
      529: 'overloaded_error',
    };
    return {
      type: 'error',
      error: { type: types[status] ?? 'api_error', message },
      request_id: `req_${randomBytes(12).toString('hex')}`,
    };
  }

  /**
   * Errors raised in Ollama's compatibility middleware go out through Gin's c.JSON (charset, no newline);
   * errors raised by the handler behind it are re-encoded by the middleware's writer (plain
   * application/json, trailing newline).
   */
  function familyError(
    ctx: Ctx,
    family: Family,
    status: number,
    message: string,
    stage: 'middleware' | 'handler',
  ) {
    if (family === 'ollama') return nativeError(ctx, status, message);
    const body = family === 'openai' ? openaiErrorBody(status, message) : anthropicErrorBody(status, message);
    if (stage === 'middleware') return ginJson(ctx, status, body);
    sendBody(ctx, status, CT_JSON, `${goJson(body)}\n`);
  }

  function ginText(ctx: Ctx, status: number, text: string, contentType = CT_PLAIN): void {
    sendBody(ctx, status, contentType, text);
  }

  function sendEmpty(ctx: Ctx, status: number): void {
    if (ctx.res.headersSent || ctx.signal.aborted) return;
    ctx.res.writeHead(status, { 'Content-Length': 0 });
    ctx.res.end();
  }

  /** Parse a request body; on failure answer in the family's error shape and return undefined. */
  function body(
    ctx: Ctx,
    family: Family,
    goStruct: string,
    spec: Record<string, [FieldKind, string]>,
  ): Json | undefined {
    const parsed = decodeGoJson(ctx.raw);
    let error: string | null;
    if (!parsed.ok) {
      error = family === 'ollama' && parsed.error === 'EOF' ? 'missing request body' : parsed.error;
    } else {
      // A JSON null decodes into a zero struct without error in Go.
      error = parsed.value === null ? null : checkFields(parsed.value, goStruct, spec);
    }
    if (error !== null || !parsed.ok) {
      familyError(ctx, family, 400, error ?? 'invalid request', 'middleware');
      return undefined;
    }
    return isObj(parsed.value) ? parsed.value : {};
  }

  // ----- scheduling -----

  function pump(): void {
    while (active < Math.max(1, settings.parallel) && waiters.length > 0) {
      const grant = waiters.shift();
      grant?.();
    }
  }

  function queueFull(): boolean {
    return active >= Math.max(1, settings.parallel) && waiters.length >= settings.maxQueue;
  }

  function track(ctx: Ctx): void {
    if (ctx.signal.aborted) {
      counters.aborted++;
      return;
    }
    counters.inFlight++;
    counters.maxInFlight = Math.max(counters.maxInFlight, counters.inFlight);
    ctx.res.once('close', () => {
      counters.inFlight--;
      if (ctx.res.writableFinished) counters.completed++;
      else counters.aborted++;
    });
  }

  /** Wait for a slot like Ollama's scheduler; resolves false when the client left while queued. */
  function acquire(ctx: Ctx): Promise<boolean> {
    let released = false;
    if (ctx.signal.aborted) return Promise.resolve(false);
    const release = () => {
      if (released) return;
      released = true;
      active--;
      pump();
    };
    if (active < Math.max(1, settings.parallel) && waiters.length === 0) {
      active++;
      ctx.res.once('close', release);
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const grant = () => {
        ctx.signal.removeEventListener('abort', onAbort);
        active++;
        ctx.res.once('close', release);
        resolve(true);
      };
      const onAbort = () => {
        const i = waiters.indexOf(grant);
        if (i >= 0) waiters.splice(i, 1);
        resolve(false);
      };
      waiters.push(grant);
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      pump();
    });
  }

  async function pause(ctx: Ctx, ms: number): Promise<boolean> {
    if (ctx.signal.aborted) return false;
    if (ms > 0) {
      try {
        await delay(ms, undefined, { signal: ctx.signal });
      } catch {
        return false;
      }
    }
    return !ctx.signal.aborted;
  }

  // ----- generation -----

  function makePlan(input: GenInput): Plan {
    const n = Math.max(1, settings.chunks);
    const useTools = settings.toolCalls && input.tools.length > 0;
    const answerInput: AnswerInput = {
      endpoint: input.endpoint,
      model: input.requestedModel,
      prompt: input.prompt,
      system: input.system,
      messages: input.messages,
    };
    const contentText = useTools
      ? ''
      : settings.answer
        ? settings.answer(answerInput)
        : `Echo: ${input.prompt}`;
    const thinkingText = input.think ? `Thinking about: ${input.prompt}` : '';
    let thinkingParts = splitParts(thinkingText, n);
    let contentParts = splitParts(contentText, n);
    const firstTool = input.tools[0];
    let toolCalls: NativeToolCall[] =
      useTools && firstTool
        ? [
            {
              id: toolCallId(`${firstTool.name}:${input.prompt}`),
              function: { name: firstTool.name, arguments: toolArguments(firstTool, input.prompt) },
            },
          ]
        : [];
    let doneReason = 'stop';
    const limit = input.numPredict;
    if (limit !== undefined && limit > 0) {
      const total = thinkingParts.length + contentParts.length + (toolCalls.length > 0 ? 1 : 0);
      if (total > limit) {
        doneReason = 'length';
        thinkingParts = thinkingParts.slice(0, limit);
        contentParts = contentParts.slice(0, Math.max(0, limit - thinkingParts.length));
        if (thinkingParts.length + contentParts.length >= limit) toolCalls = [];
      }
    }
    const pieces: Piece[] = [
      ...thinkingParts.map((thinking) => ({ thinking })),
      ...contentParts.map((content) => ({ content })),
    ];
    if (toolCalls.length > 0) pieces.push({ toolCalls });
    return {
      pieces,
      thinking: thinkingParts.join(''),
      content: contentParts.join(''),
      toolCalls,
      doneReason,
      promptTokens: promptTokens(input.promptText),
      evalCount: Math.max(1, pieces.length),
    };
  }

  function metrics(t: Timing, plan: Plan): Json {
    const now = process.hrtime.bigint();
    const load = Math.max(100_000, Number(t.acquired - t.start));
    const promptEval = plan.promptTokens * 50_000;
    const evalDuration = Math.max(1_000, Number(now - t.start) - load - promptEval);
    return {
      total_duration: load + promptEval + evalDuration,
      load_duration: load,
      prompt_eval_count: plan.promptTokens,
      prompt_eval_duration: promptEval,
      eval_count: plan.evalCount,
      eval_duration: evalDuration,
    };
  }

  interface Rendering {
    contentType: string;
    headers?: Record<string, string>;
    /** One entry per upstream chunk; each is written with a single res.write. */
    groups: Array<() => string>;
    errorFrame: (message: string, chunkIndex: number) => string;
    nonStream: () => { contentType: string; body: string };
  }

  /**
   * Serve a generation: 503 when the queue is full, wait for a slot, then stream the rendering chunk by
   * chunk (or answer once after the same total time when not streaming).
   */
  async function serveGeneration(
    ctx: Ctx,
    family: Family,
    input: GenInput,
    stream: boolean,
    render: (plan: Plan, timing: Timing) => Rendering,
  ): Promise<void> {
    if (queueFull()) {
      counters.rejected++;
      familyError(ctx, family, 503, BUSY_MESSAGE, 'handler');
      return;
    }
    track(ctx);
    if (!(await acquire(ctx))) return;
    const timing: Timing = { start: ctx.start, acquired: process.hrtime.bigint() };
    markLoaded(input.model);
    const plan = makePlan(input);
    const rendering = render(plan, timing);
    await deliver(ctx, family, rendering, stream);
  }

  async function deliver(ctx: Ctx, family: Family, r: Rendering, stream: boolean): Promise<void> {
    const fail = settings.failMidStream;
    const failAt = fail ? Math.max(0, Math.floor(fail.afterChunks)) : -1;
    const failMessage = fail?.error ?? DEFAULT_STREAM_ERROR;
    const cut = settings.cutMidStream;
    const cutAt = cut ? Math.max(0, Math.floor(cut.afterChunks)) : -1;
    if (!(await pause(ctx, settings.firstTokenDelayMs))) return;
    if (!stream) {
      if (!(await pause(ctx, (r.groups.length - 1) * settings.chunkDelayMs))) return;
      if (fail && failAt < r.groups.length) {
        familyError(ctx, family, 500, failMessage, 'handler');
        return;
      }
      const out = r.nonStream();
      if (cut) {
        ctx.res.writeHead(200, {
          'Content-Type': out.contentType,
          'Content-Length': Buffer.byteLength(out.body),
        });
        cutOff(ctx, out.body);
        return;
      }
      sendBody(ctx, 200, out.contentType, out.body);
      return;
    }
    // Chunk i is due chunkDelayMs × i after the first: a model produces tokens at its own
    // pace, so a chunk the server wrote late does not push back the ones after it.
    const firstAt = performance.now();
    for (let i = 0; i < r.groups.length; i++) {
      const due = firstAt + i * settings.chunkDelayMs;
      if (i > 0 && !(await pause(ctx, Math.round(due - performance.now())))) return;
      if (i === failAt) {
        if (i === 0) {
          // Nothing written yet: Ollama turns the error into a proper status and JSON body.
          familyError(ctx, family, 500, failMessage, 'handler');
        } else {
          ctx.res.end(r.errorFrame(failMessage, i));
        }
        return;
      }
      if (ctx.signal.aborted) return;
      if (i === 0) ctx.res.writeHead(200, { 'Content-Type': r.contentType, ...r.headers });
      if (i === cutAt) {
        cutOff(ctx, r.groups[i]?.() ?? '');
        return;
      }
      ctx.res.write(r.groups[i]?.() ?? '');
    }
    if (!ctx.signal.aborted) ctx.res.end();
  }

  /** Writes the first half of `text` (cut inside a line, never just after a break), then drops the connection. */
  function cutOff(ctx: Ctx, text: string): void {
    let at = Math.max(1, Math.floor(text.length / 2));
    while (at > 1 && text[at - 1] === '\n') at--;
    const socket = ctx.res.socket;
    // Destroyed only once the half is handed to the kernel, so the client does receive it.
    ctx.res.write(text.slice(0, at), () => socket?.destroy());
  }

  /** Stream NDJSON progress lines (pull, push, create) or answer with the last one. */
  async function serveProgress(ctx: Ctx, stream: boolean, lines: Json[]): Promise<void> {
    track(ctx);
    const errorIndex = lines.findIndex((l) => typeof l.error === 'string');
    if (!stream) {
      for (let i = 1; i < lines.length; i++) {
        if (!(await pause(ctx, settings.chunkDelayMs))) return;
      }
      const err = errorIndex >= 0 ? lines[errorIndex] : undefined;
      if (err) {
        sendBody(
          ctx,
          typeof err.status === 'number' ? err.status : 500,
          CT_JSON,
          goJson({ error: err.error }),
        );
        return;
      }
      // waitForStream sets a plain application/json before c.JSON.
      sendBody(ctx, 200, CT_JSON, goJson(lines[lines.length - 1] ?? {}));
      return;
    }
    const rendering: Rendering = {
      contentType: CT_NDJSON,
      // A mid-stream error is a bare {"error"} line; the status hint only matters before the first byte.
      groups: lines.map((l) => () => `${goJson(typeof l.error === 'string' ? { error: l.error } : l)}\n`),
      errorFrame: (message) => `${goJson({ error: message })}\n`,
      nonStream: () => ({ contentType: CT_JSON, body: '' }),
    };
    if (errorIndex === 0) {
      const first = lines[0];
      sendBody(
        ctx,
        typeof first?.status === 'number' ? first.status : 500,
        CT_JSON,
        goJson({ error: first?.error }),
      );
      return;
    }
    await deliver(ctx, 'ollama', rendering, true);
  }

  // ----- native renderings -----

  function nativeChatRendering(input: GenInput, plan: Plan, timing: Timing): Rendering {
    const model = input.requestedModel;
    const message = (p: Piece): Json => {
      const m: Json = { role: 'assistant', content: p.content ?? '' };
      if (p.thinking) m.thinking = p.thinking;
      if (p.toolCalls) m.tool_calls = p.toolCalls;
      return m;
    };
    const final = (full: boolean): Json => ({
      model,
      created_at: goTime(),
      message: full
        ? message({
            content: plan.content,
            thinking: plan.thinking,
            toolCalls: plan.toolCalls.length > 0 ? plan.toolCalls : undefined,
          })
        : { role: 'assistant', content: '' },
      done_reason: plan.doneReason,
      done: true,
      ...metrics(timing, plan),
    });
    return {
      contentType: CT_NDJSON,
      groups: [
        ...plan.pieces.map(
          (p) => () => `${goJson({ model, created_at: goTime(), message: message(p), done: false })}\n`,
        ),
        () => `${goJson(final(false))}\n`,
      ],
      errorFrame: (msg) => `${goJson({ error: msg })}\n`,
      nonStream: () => ({ contentType: CT_GIN_JSON, body: goJson(final(true)) }),
    };
  }

  function contextTokens(plan: Plan): number[] {
    const count = plan.promptTokens + plan.evalCount;
    const seed = createHash('sha256').update(plan.content).digest();
    return Array.from({ length: count }, (_, i) => 1 + (((seed[i % seed.length] ?? 0) * 131 + i) % 128000));
  }

  function nativeGenerateRendering(input: GenInput, plan: Plan, timing: Timing, raw: boolean): Rendering {
    const model = input.requestedModel;
    const final = (full: boolean): Json => {
      const out: Json = { model, created_at: goTime(), response: full ? plan.content : '' };
      if (full && plan.thinking) out.thinking = plan.thinking;
      out.done = true;
      out.done_reason = plan.doneReason;
      if (!raw) out.context = contextTokens(plan);
      return { ...out, ...metrics(timing, plan) };
    };
    return {
      contentType: CT_NDJSON,
      groups: [
        ...plan.pieces.map((p) => () => {
          const chunk: Json = { model, created_at: goTime(), response: p.content ?? '' };
          if (p.thinking) chunk.thinking = p.thinking;
          chunk.done = false;
          return `${goJson(chunk)}\n`;
        }),
        () => `${goJson(final(false))}\n`,
      ],
      errorFrame: (msg) => `${goJson({ error: msg })}\n`,
      nonStream: () => ({ contentType: CT_GIN_JSON, body: goJson(final(true)) }),
    };
  }

  // ----- OpenAI renderings -----

  function openaiToolCalls(calls: NativeToolCall[]): Json[] {
    return calls.map((c, i) => ({
      id: c.id,
      index: i,
      type: 'function',
      function: { name: c.function.name, arguments: goJson(c.function.arguments) },
    }));
  }

  function openaiChatRendering(input: GenInput, plan: Plan, includeUsage: boolean): Rendering {
    const id = `chatcmpl-${randomInt(999)}`;
    const created = Math.floor(Date.now() / 1000);
    const model = input.requestedModel;
    const usage = () => ({
      prompt_tokens: plan.promptTokens,
      completion_tokens: plan.evalCount,
      total_tokens: plan.promptTokens + plan.evalCount,
    });
    const finishReason = plan.toolCalls.length > 0 ? 'tool_calls' : plan.doneReason;
    const chunk = (delta: Json, finish: string | null): string =>
      `data: ${goJson({
        id,
        object: 'chat.completion.chunk',
        created,
        model,
        system_fingerprint: 'fp_ollama',
        choices: [{ index: 0, delta, finish_reason: finish }],
      })}\n\n`;
    const delta = (p: Piece): Json => {
      const d: Json = { role: 'assistant', content: p.content ?? '' };
      if (p.thinking) d.reasoning = p.thinking;
      if (p.toolCalls) d.tool_calls = openaiToolCalls(p.toolCalls);
      return d;
    };
    return {
      contentType: CT_SSE,
      groups: [
        ...plan.pieces.map((p) => () => chunk(delta(p), null)),
        () => {
          let out = chunk({ role: 'assistant', content: '' }, finishReason);
          if (includeUsage) {
            out += `data: ${goJson({
              id,
              object: 'chat.completion.chunk',
              created,
              model,
              system_fingerprint: 'fp_ollama',
              choices: [],
              usage: usage(),
            })}\n\n`;
          }
          return `${out}data: [DONE]\n\n`;
        },
      ],
      errorFrame: (msg) => `data: ${goJson(openaiErrorBody(500, msg))}\n\n`,
      nonStream: () => {
        const message: Json = { role: 'assistant', content: plan.content };
        if (plan.thinking) message.reasoning = plan.thinking;
        if (plan.toolCalls.length > 0) message.tool_calls = openaiToolCalls(plan.toolCalls);
        return {
          contentType: CT_JSON,
          body: `${goJson({
            id,
            object: 'chat.completion',
            created,
            model,
            system_fingerprint: 'fp_ollama',
            choices: [{ index: 0, message, finish_reason: finishReason }],
            usage: usage(),
          })}\n`,
        };
      },
    };
  }

  function openaiCompletionRendering(input: GenInput, plan: Plan, includeUsage: boolean): Rendering {
    const id = `cmpl-${randomInt(999)}`;
    const created = Math.floor(Date.now() / 1000);
    const model = input.requestedModel;
    const usage = {
      prompt_tokens: plan.promptTokens,
      completion_tokens: plan.evalCount,
      total_tokens: plan.promptTokens + plan.evalCount,
    };
    const chunk = (text: string, finish: string | null, extra: Json = {}): Json => ({
      id,
      object: 'text_completion',
      created,
      choices: [{ text, index: 0, finish_reason: finish }],
      model,
      system_fingerprint: 'fp_ollama',
      // Ollama attaches an all-zero usage object to every chunk when include_usage is set.
      ...(includeUsage ? { usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 } } : {}),
      ...extra,
    });
    return {
      contentType: CT_SSE,
      groups: [
        // Thinking is dropped by /v1/completions, leaving empty-text chunks, as in Ollama.
        ...plan.pieces.map((p) => () => `data: ${goJson(chunk(p.content ?? '', null))}\n\n`),
        () => {
          let out = `data: ${goJson(chunk('', plan.doneReason))}\n\n`;
          if (includeUsage) out += `data: ${goJson(chunk('', null, { choices: [], usage }))}\n\n`;
          return `${out}data: [DONE]\n\n`;
        },
      ],
      errorFrame: (msg) => `data: ${goJson(openaiErrorBody(500, msg))}\n\n`,
      nonStream: () => ({
        contentType: CT_JSON,
        body: `${goJson({
          id,
          object: 'text_completion',
          created,
          model,
          system_fingerprint: 'fp_ollama',
          choices: [{ text: plan.content, index: 0, finish_reason: plan.doneReason }],
          usage,
        })}\n`,
      }),
    };
  }

  function responsesRendering(input: GenInput, plan: Plan, request: Json): Rendering {
    const responseId = `resp_${randomInt(999999)}`;
    const itemId = `msg_${randomInt(999999)}`;
    const reasoningId = `rs_${randomInt(999999)}`;
    const model = input.requestedModel;
    let seq = 0;
    const event = (type: string, data: Json): string =>
      `event: ${type}\ndata: ${goJson({ ...data, type, sequence_number: seq++ })}\n\n`;
    const requestTools = Array.isArray(request.tools) ? request.tools : [];
    const reasoningReq = isObj(request.reasoning) ? request.reasoning : {};
    const textFormat =
      isObj(request.text) && isObj(request.text.format) ? request.text.format : { type: 'text' };
    const usage = () => ({
      input_tokens: plan.promptTokens,
      output_tokens: plan.evalCount,
      total_tokens: plan.promptTokens + plan.evalCount,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens_details: { reasoning_tokens: 0 },
    });
    const responseObject = (
      status: string,
      output: Json[],
      withUsage: boolean,
      completed: boolean,
    ): Json => ({
      id: responseId,
      object: 'response',
      created_at: Math.floor(Date.now() / 1000),
      completed_at: completed ? Math.floor(Date.now() / 1000) : null,
      status,
      incomplete_details: null,
      model,
      previous_response_id: null,
      instructions: str(request.instructions) || null,
      output,
      error: null,
      tools: requestTools,
      tool_choice: 'auto',
      truncation: str(request.truncation) || 'disabled',
      parallel_tool_calls: true,
      text: { format: textFormat },
      top_p: typeof request.top_p === 'number' ? request.top_p : 1,
      presence_penalty: 0,
      frequency_penalty: 0,
      top_logprobs: 0,
      temperature: typeof request.temperature === 'number' ? request.temperature : 1,
      reasoning:
        str(reasoningReq.effort) || str(reasoningReq.summary)
          ? { effort: str(reasoningReq.effort) || null, summary: str(reasoningReq.summary) || null }
          : null,
      usage: withUsage ? usage() : null,
      max_output_tokens: typeof request.max_output_tokens === 'number' ? request.max_output_tokens : null,
      max_tool_calls: null,
      store: false,
      background: request.background === true,
      service_tier: 'default',
      metadata: {},
      safety_identifier: null,
      prompt_cache_key: null,
    });
    const textPart = (text: string): Json => ({ type: 'output_text', text, annotations: [], logprobs: [] });
    const messageItem = (status: string, content: Json[]): Json => ({
      id: itemId,
      type: 'message',
      status,
      role: 'assistant',
      content,
    });
    const reasoningItem = (): Json => ({
      id: reasoningId,
      type: 'reasoning',
      summary: [{ type: 'summary_text', text: plan.thinking }],
      encrypted_content: plan.thinking,
    });
    const callItems = (): Json[] =>
      openaiToolCalls(plan.toolCalls).map((tc, i) => {
        const fn = isObj(tc.function) ? tc.function : {};
        return {
          id: `fc_${responseId}_${i}`,
          type: 'function_call',
          status: 'completed',
          call_id: tc.id,
          name: fn.name,
          arguments: fn.arguments,
        };
      });
    const finalOutput = (): Json[] => {
      const out: Json[] = [];
      if (plan.thinking) out.push(reasoningItem());
      if (plan.toolCalls.length > 0) out.push(...callItems());
      else if (plan.content) out.push(messageItem('completed', [textPart(plan.content)]));
      return out;
    };

    let outputIndex = 0;
    let reasoningStarted = false;
    let reasoningDone = false;
    let contentStarted = false;
    let accumulatedThinking = '';
    let accumulatedText = '';
    const finishReasoning = (): string => {
      if (!reasoningStarted || reasoningDone) return '';
      reasoningDone = true;
      const out =
        event('response.reasoning_summary_text.done', {
          item_id: reasoningId,
          output_index: outputIndex,
          summary_index: 0,
          text: accumulatedThinking,
        }) +
        event('response.output_item.done', {
          output_index: outputIndex,
          item: {
            id: reasoningId,
            type: 'reasoning',
            summary: [{ type: 'summary_text', text: accumulatedThinking }],
            encrypted_content: accumulatedThinking,
          },
        });
      outputIndex++;
      return out;
    };
    const pieceEvents = (p: Piece, first: boolean): string => {
      let out = '';
      if (first) {
        out += event('response.created', { response: responseObject('in_progress', [], false, false) });
        out += event('response.in_progress', { response: responseObject('in_progress', [], false, false) });
      }
      if (p.thinking) {
        if (!reasoningStarted) {
          reasoningStarted = true;
          out += event('response.output_item.added', {
            output_index: outputIndex,
            item: { id: reasoningId, type: 'reasoning', summary: [] },
          });
        }
        accumulatedThinking += p.thinking;
        out += event('response.reasoning_summary_text.delta', {
          item_id: reasoningId,
          output_index: outputIndex,
          summary_index: 0,
          delta: p.thinking,
        });
      }
      if (p.toolCalls) {
        out += finishReasoning();
        callItems().forEach((item, i) => {
          out += event('response.output_item.added', {
            output_index: outputIndex + i,
            item: { ...item, status: 'in_progress', arguments: '' },
          });
          out += event('response.function_call_arguments.delta', {
            item_id: item.id,
            output_index: outputIndex + i,
            delta: item.arguments,
          });
          out += event('response.function_call_arguments.done', {
            item_id: item.id,
            output_index: outputIndex + i,
            arguments: item.arguments,
          });
          out += event('response.output_item.done', { output_index: outputIndex + i, item });
        });
      }
      if (p.content) {
        out += finishReasoning();
        if (!contentStarted) {
          contentStarted = true;
          out += event('response.output_item.added', {
            output_index: outputIndex,
            item: messageItem('in_progress', []),
          });
          out += event('response.content_part.added', {
            item_id: itemId,
            output_index: outputIndex,
            content_index: 0,
            part: textPart(''),
          });
        }
        accumulatedText += p.content;
        out += event('response.output_text.delta', {
          item_id: itemId,
          output_index: outputIndex,
          content_index: 0,
          delta: p.content,
          logprobs: [],
        });
      }
      return out;
    };
    const completion = (first: boolean): string => {
      let out = first ? pieceEvents({}, true) : '';
      out += finishReasoning();
      if (plan.toolCalls.length === 0 && contentStarted) {
        out += event('response.output_text.done', {
          item_id: itemId,
          output_index: outputIndex,
          content_index: 0,
          text: accumulatedText,
          logprobs: [],
        });
        out += event('response.content_part.done', {
          item_id: itemId,
          output_index: outputIndex,
          content_index: 0,
          part: textPart(accumulatedText),
        });
        out += event('response.output_item.done', {
          output_index: outputIndex,
          item: messageItem('completed', [textPart(accumulatedText)]),
        });
      }
      out += event('response.completed', {
        response: responseObject('completed', finalOutput(), true, true),
      });
      return out;
    };
    return {
      contentType: CT_SSE,
      headers: { 'Cache-Control': 'no-cache', Connection: 'keep-alive' },
      groups: [
        ...plan.pieces.map((p, i) => () => pieceEvents(p, i === 0)),
        () => completion(plan.pieces.length === 0),
      ],
      errorFrame: (msg) => event('error', { code: 'api_error', message: msg, param: null }),
      nonStream: () => {
        const output = finalOutput();
        if (output.length === 0 || (plan.toolCalls.length === 0 && !plan.content)) {
          output.push(messageItem('completed', [textPart(plan.content)]));
        }
        return { contentType: CT_JSON, body: `${goJson(responseObject('completed', output, true, true))}\n` };
      },
    };
  }

  // ----- Anthropic rendering -----

  function anthropicRendering(input: GenInput, plan: Plan, estimatedInput: number): Rendering {
    const id = `msg_${randomBytes(12).toString('hex')}`;
    const model = input.requestedModel;
    const stopReason =
      plan.toolCalls.length > 0 ? 'tool_use' : plan.doneReason === 'length' ? 'max_tokens' : 'end_turn';
    const event = (type: string, data: Json): string =>
      `event: ${type}\ndata: ${goJson({ type, ...data })}\n\n`;
    let index = 0;
    let thinkingStarted = false;
    let thinkingDone = false;
    let textStarted = false;
    const start = (): string =>
      event('message_start', {
        message: {
          id,
          type: 'message',
          role: 'assistant',
          model,
          content: [],
          usage: { input_tokens: estimatedInput, output_tokens: 0 },
        },
      });
    const pieceEvents = (p: Piece, first: boolean): string => {
      let out = first ? start() : '';
      if (p.thinking && !thinkingDone) {
        if (!thinkingStarted) {
          thinkingStarted = true;
          out += event('content_block_start', { index, content_block: { type: 'thinking', thinking: '' } });
        }
        out += event('content_block_delta', {
          index,
          delta: { type: 'thinking_delta', thinking: p.thinking },
        });
      }
      if (p.content) {
        if (thinkingStarted && !thinkingDone) {
          thinkingDone = true;
          out += event('content_block_stop', { index });
          index++;
        }
        if (!textStarted) {
          textStarted = true;
          out += event('content_block_start', { index, content_block: { type: 'text', text: '' } });
        }
        out += event('content_block_delta', { index, delta: { type: 'text_delta', text: p.content } });
      }
      for (const tc of p.toolCalls ?? []) {
        if (thinkingStarted && !thinkingDone) {
          thinkingDone = true;
          out += event('content_block_stop', { index });
          index++;
        }
        if (textStarted) {
          out += event('content_block_stop', { index });
          index++;
          textStarted = false;
        }
        out += event('content_block_start', {
          index,
          content_block: { type: 'tool_use', id: tc.id, name: tc.function.name, input: {} },
        });
        out += event('content_block_delta', {
          index,
          delta: { type: 'input_json_delta', partial_json: goJson(tc.function.arguments) },
        });
        out += event('content_block_stop', { index });
        index++;
      }
      return out;
    };
    const finish = (first: boolean): string => {
      let out = first ? start() : '';
      if (textStarted || (thinkingStarted && !thinkingDone)) out += event('content_block_stop', { index });
      out += event('message_delta', {
        delta: { stop_reason: stopReason },
        usage: { input_tokens: plan.promptTokens, output_tokens: plan.evalCount },
      });
      out += event('message_stop', {});
      return out;
    };
    return {
      contentType: CT_SSE,
      headers: { 'Cache-Control': 'no-cache', Connection: 'keep-alive' },
      groups: [
        ...plan.pieces.map((p, i) => () => pieceEvents(p, i === 0)),
        () => finish(plan.pieces.length === 0),
      ],
      errorFrame: (msg) => {
        const errorBody = anthropicErrorBody(500, msg);
        return `event: error\ndata: ${goJson({ type: 'error', error: errorBody.error })}\n\n`;
      },
      nonStream: () => {
        const content: Json[] = [];
        if (plan.thinking) content.push({ type: 'thinking', thinking: plan.thinking });
        if (plan.content) content.push({ type: 'text', text: plan.content });
        for (const tc of plan.toolCalls) {
          content.push({ type: 'tool_use', id: tc.id, name: tc.function.name, input: tc.function.arguments });
        }
        return {
          contentType: CT_JSON,
          body: `${goJson({
            id,
            type: 'message',
            role: 'assistant',
            model,
            // Ollama's []ContentBlock marshals to null when nothing was produced.
            content: content.length > 0 ? content : null,
            stop_reason: stopReason,
            usage: { input_tokens: plan.promptTokens, output_tokens: plan.evalCount },
          })}\n`,
        };
      },
    };
  }

  // ----- shared checks for chat-like requests -----

  interface ChatChecks {
    family: Family;
    /** Model name exactly as the client sent it (echoed back). */
    modelName: string;
    kind: 'chat' | 'generate';
    think: unknown;
    hasTools: boolean;
    /** Anthropic compatibility drops `think` for models that cannot think instead of failing. */
    relaxThinking?: boolean;
  }

  /**
   * The checks Ollama's Chat/GenerateHandler run before scheduling, in Ollama's order. Returns the model
   * and the resolved thinking flag, or answers the error itself.
   */
  function chatPreflight(ctx: Ctx, c: ChatChecks): { model: EmulatorModel; think: boolean } | undefined {
    const trimmed = c.modelName.trim();
    if (trimmed === '') {
      // GenerateHandler reports an empty name as not found; ChatHandler as required.
      if (c.kind === 'generate')
        familyError(ctx, c.family, 404, `model '${c.modelName}' not found`, 'handler');
      else familyError(ctx, c.family, 400, 'model is required', 'handler');
      return undefined;
    }
    if (!parseModelName(trimmed)) {
      familyError(ctx, c.family, 400, 'invalid model name', 'handler');
      return undefined;
    }
    const model = findModel(trimmed);
    if (!model) {
      familyError(ctx, c.family, 404, `model '${c.modelName}' not found`, 'handler');
      return undefined;
    }
    const caps = capabilitiesOf(model);
    const wantsThink = c.think === true || (typeof c.think === 'string' && c.think !== '');
    let think: boolean;
    if (caps.includes('thinking')) {
      think = c.think === undefined || c.think === null ? true : wantsThink;
    } else {
      if (wantsThink && !c.relaxThinking) {
        familyError(ctx, c.family, 400, `${goQuote(c.modelName)} does not support thinking`, 'handler');
        return undefined;
      }
      think = false;
    }
    if (!caps.includes('completion')) {
      familyError(ctx, c.family, 400, `${goQuote(c.modelName)} does not support ${c.kind}`, 'handler');
      return undefined;
    }
    if (c.hasTools && !caps.includes('tools')) {
      familyError(ctx, c.family, 400, `${modelFull(model)} does not support tools`, 'handler');
      return undefined;
    }
    return { model, think: think && settings.thinking };
  }

  function isZeroKeepAlive(v: unknown): boolean {
    if (v === 0) return true;
    return typeof v === 'string' && /^0+(\.0+)?(ns|us|µs|ms|s|m|h)?$/.test(v.trim());
  }

  function numPredictOf(options: unknown): number | undefined {
    if (!isObj(options)) return undefined;
    const n = options.num_predict;
    return typeof n === 'number' ? n : undefined;
  }

  // ----- native handlers -----

  const CHAT_SPEC: Record<string, [FieldKind, string]> = {
    model: ['string', 'string'],
    messages: ['array', '[]api.Message'],
    stream: ['bool', 'bool'],
    tools: ['array', 'api.Tools'],
    options: ['object', 'map[string]interface {}'],
  };

  function nativeMessages(raw: unknown[]): {
    messages: Array<{ role: string; content: string }>;
    error?: string;
  } {
    const messages: Array<{ role: string; content: string }> = [];
    for (const m of raw) {
      if (!isObj(m)) {
        return {
          messages,
          error: `json: cannot unmarshal ${jsonKind(m)} into Go struct field ChatRequest.messages of type api.Message`,
        };
      }
      if (m.content !== undefined && m.content !== null && typeof m.content !== 'string') {
        return {
          messages,
          error: `json: cannot unmarshal ${jsonKind(m.content)} into Go struct field Message.messages.content of type string`,
        };
      }
      messages.push({ role: str(m.role), content: str(m.content) });
    }
    return { messages };
  }

  function lastUser(messages: Array<{ role: string; content: string }>): string {
    for (let i = messages.length - 1; i >= 0; i--) {
      const m = messages[i];
      if (m && m.role === 'user') return m.content;
    }
    return '';
  }

  function normalizeTools(raw: unknown): ToolSpec[] {
    if (!Array.isArray(raw)) return [];
    const tools: ToolSpec[] = [];
    for (const t of raw) {
      if (!isObj(t)) continue;
      const fn = isObj(t.function) ? t.function : t;
      const name = str(fn.name);
      if (name) tools.push({ name, parameters: fn.parameters ?? fn.input_schema });
    }
    return tools;
  }

  async function apiChat(ctx: Ctx): Promise<void> {
    const b = body(ctx, 'ollama', 'api.ChatRequest', CHAT_SPEC);
    if (!b) return;
    const conv = nativeMessages(Array.isArray(b.messages) ? b.messages : []);
    if (conv.error) return nativeError(ctx, 400, conv.error);
    const modelName = str(b.model);
    const trimmed = modelName.trim();
    if (trimmed !== '' && isZeroKeepAlive(b.keep_alive) && conv.messages.length === 0) {
      const m = findModel(trimmed);
      if (!m) return nativeError(ctx, 404, `model '${modelName}' not found`);
      unload(m);
      return ginJson(ctx, 200, {
        model: modelName,
        created_at: goTime(),
        message: { role: 'assistant', content: '' },
        done_reason: 'unload',
        done: true,
      });
    }
    const tools = normalizeTools(b.tools);
    const pre = chatPreflight(ctx, {
      family: 'ollama',
      modelName,
      kind: 'chat',
      think: b.think,
      hasTools: tools.length > 0,
    });
    if (!pre) return;
    if (conv.messages.length === 0) {
      if (queueFull()) {
        counters.rejected++;
        return nativeError(ctx, 503, BUSY_MESSAGE);
      }
      markLoaded(pre.model);
      return ginJson(ctx, 200, {
        model: modelName,
        created_at: goTime(),
        message: { role: 'assistant', content: '' },
        done_reason: 'load',
        done: true,
      });
    }
    const input: GenInput = {
      endpoint: ctx.path,
      requestedModel: modelName,
      model: pre.model,
      prompt: lastUser(conv.messages),
      system: conv.messages.find((m) => m.role === 'system')?.content ?? '',
      messages: conv.messages,
      promptText: conv.messages.map((m) => m.content).join('\n'),
      tools,
      think: pre.think,
      numPredict: numPredictOf(b.options),
    };
    await serveGeneration(ctx, 'ollama', input, b.stream !== false, (plan, timing) =>
      nativeChatRendering(input, plan, timing),
    );
  }

  async function apiGenerate(ctx: Ctx): Promise<void> {
    const b = body(ctx, 'ollama', 'api.GenerateRequest', {
      model: ['string', 'string'],
      prompt: ['string', 'string'],
      system: ['string', 'string'],
      template: ['string', 'string'],
      suffix: ['string', 'string'],
      stream: ['bool', 'bool'],
      raw: ['bool', 'bool'],
      context: ['array', '[]int'],
      options: ['object', 'map[string]interface {}'],
    });
    if (!b) return;
    const modelName = str(b.model);
    const trimmed = modelName.trim();
    const prompt = str(b.prompt);
    if (trimmed !== '' && parseModelName(trimmed)) {
      const m = findModel(trimmed);
      if (m && prompt === '' && isZeroKeepAlive(b.keep_alive)) {
        unload(m);
        return ginJson(ctx, 200, {
          model: modelName,
          created_at: goTime(),
          response: '',
          done: true,
          done_reason: 'unload',
        });
      }
    }
    const raw = b.raw === true;
    const pre = chatPreflight(ctx, {
      family: 'ollama',
      modelName,
      kind: 'generate',
      think: b.think,
      hasTools: false,
    });
    if (!pre) return;
    if (raw && (str(b.template) !== '' || str(b.system) !== '' || Array.isArray(b.context))) {
      return nativeError(ctx, 400, 'raw mode does not support template, system, or context');
    }
    if (prompt === '') {
      if (queueFull()) {
        counters.rejected++;
        return nativeError(ctx, 503, BUSY_MESSAGE);
      }
      markLoaded(pre.model);
      return ginJson(ctx, 200, {
        model: modelName,
        created_at: goTime(),
        response: '',
        done: true,
        done_reason: 'load',
      });
    }
    const system = str(b.system);
    const input: GenInput = {
      endpoint: ctx.path,
      requestedModel: modelName,
      model: pre.model,
      prompt,
      system,
      messages: [...(system ? [{ role: 'system', content: system }] : []), { role: 'user', content: prompt }],
      promptText: `${system}\n${prompt}`,
      tools: [],
      think: pre.think,
      numPredict: numPredictOf(b.options),
    };
    await serveGeneration(ctx, 'ollama', input, b.stream !== false, (plan, timing) =>
      nativeGenerateRendering(input, plan, timing, raw),
    );
  }

  function embeddingFor(text: string, dims: number): number[] {
    const values: number[] = [];
    let block = 0;
    while (values.length < dims) {
      const bytes = createHash('sha256').update(`${block++}:${text}`).digest();
      for (let i = 0; i + 1 < bytes.length && values.length < dims; i += 2) {
        values.push((bytes.readUInt16LE(i) / 65535) * 2 - 1 || 0.5);
      }
    }
    const norm = Math.sqrt(values.reduce((s, v) => s + v * v, 0)) || 1;
    return values.map((v) => Math.fround(v / norm));
  }

  /** Go prints a float32 with the fewest digits that round-trip at 32 bits. */
  function float32Json(v: number): number {
    for (let p = 1; p <= 9; p++) {
      const candidate = Number(v.toPrecision(p));
      if (Math.fround(candidate) === v) return candidate;
    }
    return v;
  }

  function dimsFor(m: EmulatorModel): number {
    return settings.embeddingDimensions > 0 ? settings.embeddingDimensions : (m.embeddingLength ?? 768);
  }

  /** Shared by /api/embed and /v1/embeddings (which Ollama routes into the same handler). */
  async function serveEmbed(
    ctx: Ctx,
    family: Family,
    modelName: string,
    rawInput: unknown,
    dimensions: number,
    respond: (model: EmulatorModel, embeddings: number[][], tokens: number, timing: Timing) => void,
  ): Promise<void> {
    const trimmed = modelName.trim();
    if (trimmed === '') return familyError(ctx, family, 404, `model '${modelName}' not found`, 'handler');
    if (!parseModelName(trimmed)) return familyError(ctx, family, 400, 'invalid model name', 'handler');
    let inputs: string[] = [];
    if (typeof rawInput === 'string') {
      if (rawInput.length > 0) inputs = [rawInput];
    } else if (Array.isArray(rawInput)) {
      if (!rawInput.every((v) => typeof v === 'string')) {
        return familyError(ctx, family, 400, 'invalid input type', 'handler');
      }
      inputs = rawInput as string[];
    } else if (rawInput !== undefined && rawInput !== null) {
      return familyError(ctx, family, 400, 'invalid input type', 'handler');
    }
    const model = findModel(trimmed);
    if (!model) return familyError(ctx, family, 404, `model '${modelName}' not found`, 'handler');
    if (queueFull()) {
      counters.rejected++;
      return familyError(ctx, family, 503, BUSY_MESSAGE, 'handler');
    }
    track(ctx);
    if (!(await acquire(ctx))) return;
    const timing: Timing = { start: ctx.start, acquired: process.hrtime.bigint() };
    markLoaded(model);
    if (!(await pause(ctx, settings.firstTokenDelayMs))) return;
    const full = dimsFor(model);
    const dims = dimensions > 0 && dimensions < full ? dimensions : full;
    const embeddings = inputs.map((text) => embeddingFor(text, dims));
    const tokens = inputs.reduce((sum, text) => sum + promptTokens(text), 0);
    respond(model, embeddings, tokens, timing);
  }

  async function apiEmbed(ctx: Ctx): Promise<void> {
    const b = body(ctx, 'ollama', 'api.EmbedRequest', {
      model: ['string', 'string'],
      truncate: ['bool', 'bool'],
      dimensions: ['number', 'int'],
      options: ['object', 'map[string]interface {}'],
    });
    if (!b) return;
    const modelName = str(b.model);
    await serveEmbed(
      ctx,
      'ollama',
      modelName,
      b.input,
      Number(b.dimensions) || 0,
      (_m, embeddings, tokens, t) => {
        if (embeddings.length === 0) return ginJson(ctx, 200, { model: modelName, embeddings: [] });
        const load = Math.max(100_000, Number(t.acquired - t.start));
        const total = Math.max(load + 1_000, Number(process.hrtime.bigint() - t.start));
        ginJson(ctx, 200, {
          model: modelName,
          embeddings: embeddings.map((e) => e.map(float32Json)),
          total_duration: total,
          load_duration: load,
          prompt_eval_count: tokens,
        });
      },
    );
  }

  async function apiEmbeddings(ctx: Ctx): Promise<void> {
    const b = body(ctx, 'ollama', 'api.EmbeddingRequest', {
      model: ['string', 'string'],
      prompt: ['string', 'string'],
      options: ['object', 'map[string]interface {}'],
    });
    if (!b) return;
    const modelName = str(b.model);
    const trimmed = modelName.trim();
    if (trimmed === '') return nativeError(ctx, 400, 'model is required');
    if (!parseModelName(trimmed)) return nativeError(ctx, 400, 'invalid model name');
    const model = findModel(trimmed);
    // The legacy handler reports a missing model through handleScheduleError, with %q quoting.
    if (!model) return nativeError(ctx, 404, `model ${goQuote(modelName)} not found, try pulling it first`);
    if (queueFull()) {
      counters.rejected++;
      return nativeError(ctx, 503, BUSY_MESSAGE);
    }
    track(ctx);
    if (!(await acquire(ctx))) return;
    markLoaded(model);
    if (!(await pause(ctx, settings.firstTokenDelayMs))) return;
    const prompt = str(b.prompt);
    // float32 values widened to float64, as Ollama does for this endpoint.
    ginJson(ctx, 200, { embedding: prompt === '' ? [] : embeddingFor(prompt, dimsFor(model)) });
  }

  function apiShow(ctx: Ctx) {
    const b = body(ctx, 'ollama', 'api.ShowRequest', {
      model: ['string', 'string'],
      name: ['string', 'string'],
      verbose: ['bool', 'bool'],
    });
    if (!b) return;
    const requested = str(b.model) || str(b.name);
    if (requested === '') return nativeError(ctx, 400, 'model is required');
    const parsed = parseModelName(requested);
    if (!parsed) return nativeError(ctx, 400, 'invalid model name');
    const m = findModel(requested);
    if (!m) return nativeError(ctx, 404, `model '${requested}' not found`);
    ginJson(ctx, 200, showResponse(m));
  }

  function showResponse(m: EmulatorModel): Json {
    const family = m.family ?? 'llama';
    const template = '{{ .Prompt }}';
    const display = modelDisplay(m);
    const modelInfo: Json = {
      'general.architecture': family,
      'general.basename': (parseModelName(m.name)?.model ?? m.name).split(/[:.]/)[0],
      'general.file_type': 15,
      'general.parameter_count': Math.round(Number.parseFloat(m.parameterSize ?? '3.2') * 1e9),
      'general.quantization_version': 2,
      [`${family}.context_length`]: m.contextLength ?? 4096,
      [`${family}.embedding_length`]: m.embeddingLength ?? 768,
    };
    return {
      modelfile: `# Modelfile generated by "ollama show"\n# To build a new Modelfile based on this, replace FROM with:\n# FROM ${display}\n\nFROM /root/.ollama/models/blobs/sha256-${modelDigest(m)}\nTEMPLATE """${template}"""\n`,
      parameters: 'stop                           "<|eot_id|>"',
      template,
      details: modelDetails(m),
      model_info: modelInfo,
      capabilities: capabilitiesOf(m),
      modified_at: m.modifiedAt ?? FIXED_MODIFIED_AT,
    };
  }

  function tagsEntries(): Json[] {
    return [...settings.models]
      .sort(
        (a, b) =>
          unixSeconds(b.modifiedAt ?? FIXED_MODIFIED_AT) - unixSeconds(a.modifiedAt ?? FIXED_MODIFIED_AT),
      )
      .map((m) => ({
        name: modelDisplay(m),
        model: modelDisplay(m),
        ...remoteFields(m),
        modified_at: m.modifiedAt ?? FIXED_MODIFIED_AT,
        size: m.size ?? 1_000_000_000,
        digest: modelDigest(m),
        details: modelDetails(m),
      }));
  }

  function apiPs(ctx: Ctx) {
    const expires = goTime(Date.now() + 5 * 60_000);
    const models: Json[] = [];
    for (const name of settings.loaded) {
      const m = findModel(name);
      if (!m) continue;
      models.push({
        name: modelDisplay(m),
        model: modelDisplay(m),
        ...remoteFields(m),
        size: m.size ?? 1_000_000_000,
        digest: modelDigest(m),
        details: modelDetails(m),
        expires_at: expires,
        size_vram: m.size ?? 1_000_000_000,
        context_length: Math.min(4096, m.contextLength ?? 4096),
      });
    }
    ginJson(ctx, 200, { models });
  }

  function layerLines(verb: 'pulling' | 'pushing', m: EmulatorModel): Json[] {
    const digest = `sha256:${modelDigest(m)}`;
    const total = m.size ?? 1_000_000_000;
    const small = `sha256:${sha256Hex(`template:${m.name}`)}`;
    return [
      { status: `${verb} ${digest.slice(7, 19)}`, digest, total },
      { status: `${verb} ${digest.slice(7, 19)}`, digest, total, completed: Math.floor(total / 2) },
      { status: `${verb} ${digest.slice(7, 19)}`, digest, total, completed: total },
      { status: `${verb} ${small.slice(7, 19)}`, digest: small, total: 1429, completed: 1429 },
    ];
  }

  async function apiPull(ctx: Ctx): Promise<void> {
    const b = body(ctx, 'ollama', 'api.PullRequest', {
      model: ['string', 'string'],
      name: ['string', 'string'],
      stream: ['bool', 'bool'],
      insecure: ['bool', 'bool'],
    });
    if (!b) return;
    const requested = (str(b.model) || str(b.name)).trim();
    if (requested === '' || !parseModelName(requested)) return nativeError(ctx, 400, 'invalid model name');
    const parsed = parseModelName(requested);
    const m: EmulatorModel = findModel(requested) ?? {
      name: parsed ? displayName(parsed) : requested,
      family: 'llama',
      size: 2_000_000_000,
      digest: sha256Hex(`model:${requested}`),
      capabilities: ['completion'],
    };
    const lines: Json[] = [
      { status: 'pulling manifest' },
      ...layerLines('pulling', m),
      { status: 'verifying sha256 digest' },
      { status: 'writing manifest' },
      { status: 'success' },
    ];
    ctx.res.once('finish', () => {
      if (!findModel(requested)) settings.models.push({ ...m, modifiedAt: goTime() });
    });
    await serveProgress(ctx, b.stream !== false, lines);
  }

  async function apiPush(ctx: Ctx): Promise<void> {
    const b = body(ctx, 'ollama', 'api.PushRequest', {
      model: ['string', 'string'],
      name: ['string', 'string'],
      stream: ['bool', 'bool'],
      insecure: ['bool', 'bool'],
    });
    if (!b) return;
    const requested = str(b.model) || str(b.name);
    if (requested === '') return nativeError(ctx, 400, 'model is required');
    const m = findModel(requested);
    const parsed = parseModelName(requested);
    const lines: Json[] = m
      ? [
          { status: 'retrieving manifest' },
          ...layerLines('pushing', m),
          { status: 'pushing manifest' },
          { status: 'success' },
        ]
      : [
          { status: 'retrieving manifest' },
          { status: "couldn't retrieve manifest" },
          {
            error: `open /root/.ollama/models/manifests/${parsed ? `${parsed.host}/${parsed.namespace}/${parsed.model}/${parsed.tag}` : requested}: no such file or directory`,
          },
        ];
    await serveProgress(ctx, b.stream !== false, lines);
  }

  async function apiCreate(ctx: Ctx): Promise<void> {
    const b = body(ctx, 'ollama', 'api.CreateRequest', {
      model: ['string', 'string'],
      name: ['string', 'string'],
      from: ['string', 'string'],
      files: ['object', 'map[string]string'],
      stream: ['bool', 'bool'],
      system: ['string', 'string'],
      template: ['string', 'string'],
    });
    if (!b) return;
    const requested = str(b.model) || str(b.name);
    if (!parseModelName(requested)) return nativeError(ctx, 400, 'invalid model name');
    const stream = b.stream !== false;
    const from = str(b.from);
    const files = isObj(b.files) ? b.files : undefined;
    let base: EmulatorModel | undefined;
    const lines: Json[] = [];
    if (from !== '') {
      base = findModel(from);
      if (!base) {
        lines.push({ error: 'pull model manifest: file does not exist' });
      } else {
        lines.push({ status: `using existing layer sha256:${modelDigest(base)}` });
      }
    } else if (files) {
      for (const digest of Object.values(files)) {
        const d = str(digest).replace('-', ':');
        if (!blobs.has(d)) {
          lines.push({
            error: `open /root/.ollama/models/blobs/${d.replace(':', '-')}: no such file or directory`,
            status: 400,
          });
          break;
        }
        lines.push({ status: 'parsing GGUF' }, { status: `using existing layer ${d}` });
      }
    } else {
      lines.push({ error: "neither 'from' or 'files' was specified", status: 400 });
    }
    if (!lines.some((l) => typeof l.error === 'string')) {
      if (str(b.template) !== '' || str(b.system) !== '' || isObj(b.parameters)) {
        lines.push({ status: `creating new layer sha256:${sha256Hex(`layer:${requested}`)}` });
      }
      lines.push({ status: 'writing manifest' }, { status: 'success' });
      ctx.res.once('finish', () => addModel(requested, base));
    }
    await serveProgress(ctx, stream, lines);
  }

  function apiCopy(ctx: Ctx) {
    const b = body(ctx, 'ollama', 'api.CopyRequest', {
      source: ['string', 'string'],
      destination: ['string', 'string'],
    });
    if (!b) return;
    const source = str(b.source);
    const destination = str(b.destination);
    if (!parseModelName(source) || source.trim() === '') {
      return nativeError(ctx, 400, `source ${goQuote(source)} is invalid`);
    }
    if (!parseModelName(destination) || destination.trim() === '') {
      return nativeError(ctx, 400, `destination ${goQuote(destination)} is invalid`);
    }
    const m = findModel(source);
    if (!m) return nativeError(ctx, 404, `model ${goQuote(source)} not found`);
    addModel(destination, m);
    // CopyHandler writes nothing on success: Gin answers 200 with an empty body.
    sendEmpty(ctx, 200);
  }

  function apiDelete(ctx: Ctx) {
    const b = body(ctx, 'ollama', 'api.DeleteRequest', {
      model: ['string', 'string'],
      name: ['string', 'string'],
    });
    if (!b) return;
    const requested = str(b.model) || str(b.name);
    if (requested.trim() === '') return nativeError(ctx, 400, 'model is required');
    if (!parseModelName(requested)) return nativeError(ctx, 400, `name ${goQuote(requested)} is invalid`);
    const m = findModel(requested);
    if (!m) return nativeError(ctx, 404, `model '${requested}' not found`);
    settings.models = settings.models.filter((x) => x !== m);
    unload(m);
    sendEmpty(ctx, 200);
  }

  const DIGEST_RE = /^sha256[:-][0-9a-fA-F]{64}$/;

  function blobHead(ctx: Ctx) {
    const digest = ctx.params.digest ?? '';
    if (!DIGEST_RE.test(digest)) return nativeError(ctx, 400, 'invalid digest format');
    if (!blobs.has(digest.replace('-', ':')))
      return nativeError(ctx, 404, `blob ${goQuote(digest)} not found`);
    sendEmpty(ctx, 200);
  }

  function blobPost(ctx: Ctx) {
    const digest = ctx.params.digest ?? '';
    if (!DIGEST_RE.test(digest)) return nativeError(ctx, 400, 'invalid digest format');
    const key = digest.replace('-', ':');
    if (blobs.has(key)) return sendEmpty(ctx, 200);
    const actual = `sha256:${sha256Hex(ctx.raw)}`;
    if (actual !== key) {
      return nativeError(ctx, 400, `digest mismatch, expected ${goQuote(digest)}, got ${goQuote(actual)}`);
    }
    blobs.set(key, ctx.raw.length);
    sendEmpty(ctx, 201);
  }

  // ----- OpenAI-compatible handlers -----

  /** Text of an OpenAI/Anthropic content value; arrays keep their last text part (Ollama splits parts). */
  function contentText(content: unknown): string {
    if (typeof content === 'string') return content;
    if (!Array.isArray(content)) return '';
    let last = '';
    const texts: string[] = [];
    for (const part of content) {
      if (
        isObj(part) &&
        (part.type === 'text' || part.type === 'input_text' || part.type === 'output_text')
      ) {
        last = str(part.text);
        texts.push(last);
      }
    }
    return texts.length > 0 ? last : '';
  }

  function reasoningThink(effort: string): { think?: boolean; error?: string } {
    if (effort === '') return {};
    if (!['high', 'medium', 'low', 'none'].includes(effort)) {
      return { error: `invalid reasoning value: '${effort}' (must be "high", "medium", "low", or "none")` };
    }
    return { think: effort !== 'none' };
  }

  async function v1ChatCompletions(ctx: Ctx): Promise<void> {
    const b = body(ctx, 'openai', 'openai.ChatCompletionRequest', {
      model: ['string', 'string'],
      messages: ['array', '[]openai.Message'],
      stream: ['bool', 'bool'],
      stream_options: ['object', 'openai.StreamOptions'],
      tools: ['array', '[]api.Tool'],
      max_tokens: ['number', 'int'],
    });
    if (!b) return;
    const rawMessages = Array.isArray(b.messages) ? b.messages : [];
    if (rawMessages.length === 0)
      return familyError(ctx, 'openai', 400, "[] is too short - 'messages'", 'middleware');
    const messages: Array<{ role: string; content: string }> = [];
    for (const m of rawMessages) {
      const msg = isObj(m) ? m : {};
      const content = msg.content;
      if (typeof content !== 'string' && !Array.isArray(content) && !Array.isArray(msg.tool_calls)) {
        return familyError(
          ctx,
          'openai',
          400,
          `invalid message content type: ${goTypeOf(content)}`,
          'middleware',
        );
      }
      messages.push({ role: str(msg.role), content: contentText(content) });
    }
    const effort = isObj(b.reasoning) ? str(b.reasoning.effort) : str(b.reasoning_effort);
    const reasoning = reasoningThink(effort);
    if (reasoning.error) return familyError(ctx, 'openai', 400, reasoning.error, 'middleware');
    const tools = normalizeTools(b.tools);
    const modelName = str(b.model);
    const pre = chatPreflight(ctx, {
      family: 'openai',
      modelName,
      kind: 'chat',
      think: reasoning.think,
      hasTools: tools.length > 0,
    });
    if (!pre) return;
    const input: GenInput = {
      endpoint: ctx.path,
      requestedModel: modelName,
      model: pre.model,
      prompt: lastUser(messages),
      system: messages.find((m) => m.role === 'system')?.content ?? '',
      messages,
      promptText: messages.map((m) => m.content).join('\n'),
      tools,
      think: pre.think,
      numPredict: typeof b.max_tokens === 'number' ? b.max_tokens : undefined,
    };
    const includeUsage = isObj(b.stream_options) && b.stream_options.include_usage === true;
    await serveGeneration(ctx, 'openai', input, b.stream === true, (plan) =>
      openaiChatRendering(input, plan, includeUsage),
    );
  }

  async function v1Completions(ctx: Ctx): Promise<void> {
    const b = body(ctx, 'openai', 'openai.CompletionRequest', {
      model: ['string', 'string'],
      prompt: ['string', 'string'],
      stream: ['bool', 'bool'],
      stream_options: ['object', 'openai.StreamOptions'],
      max_tokens: ['number', 'int'],
      suffix: ['string', 'string'],
    });
    if (!b) return;
    const modelName = str(b.model);
    const pre = chatPreflight(ctx, {
      family: 'openai',
      modelName,
      kind: 'generate',
      think: undefined,
      hasTools: false,
    });
    if (!pre) return;
    const prompt = str(b.prompt);
    const input: GenInput = {
      endpoint: ctx.path,
      requestedModel: modelName,
      model: pre.model,
      prompt,
      system: '',
      messages: [{ role: 'user', content: prompt }],
      promptText: prompt,
      tools: [],
      think: pre.think,
      numPredict: typeof b.max_tokens === 'number' ? b.max_tokens : undefined,
    };
    const includeUsage = isObj(b.stream_options) && b.stream_options.include_usage === true;
    if (prompt === '') {
      // GenerateHandler answers a load-only response; the completions writer turns it into an empty
      // completion with finish_reason "load".
      if (queueFull()) {
        counters.rejected++;
        return familyError(ctx, 'openai', 503, BUSY_MESSAGE, 'handler');
      }
      markLoaded(pre.model);
      const loadPlan: Plan = {
        pieces: [],
        thinking: '',
        content: '',
        toolCalls: [],
        doneReason: 'load',
        promptTokens: 0,
        evalCount: 0,
      };
      const r = openaiCompletionRendering(input, loadPlan, includeUsage);
      if (b.stream === true) {
        ctx.res.writeHead(200, { 'Content-Type': r.contentType });
        ctx.res.end(r.groups.map((g) => g()).join(''));
      } else {
        const out = r.nonStream();
        sendBody(ctx, 200, out.contentType, out.body);
      }
      return;
    }
    await serveGeneration(ctx, 'openai', input, b.stream === true, (plan) =>
      openaiCompletionRendering(input, plan, includeUsage),
    );
  }

  async function v1Embeddings(ctx: Ctx): Promise<void> {
    const b = body(ctx, 'openai', 'openai.EmbedRequest', {
      model: ['string', 'string'],
      dimensions: ['number', 'int'],
      encoding_format: ['string', 'string'],
    });
    if (!b) return;
    const format = str(b.encoding_format);
    if (format !== '' && !['float', 'base64'].includes(format.toLowerCase())) {
      return familyError(
        ctx,
        'openai',
        400,
        `Invalid value for 'encoding_format' = ${format}. Supported values: ['float', 'base64'].`,
        'middleware',
      );
    }
    let input = b.input;
    if (input === '') input = [''];
    if (input === undefined || input === null || (Array.isArray(input) && input.length === 0)) {
      return familyError(ctx, 'openai', 400, 'invalid input', 'middleware');
    }
    const modelName = str(b.model);
    await serveEmbed(ctx, 'openai', modelName, input, Number(b.dimensions) || 0, (_m, embeddings, tokens) => {
      const data = embeddings.map((e, index) => ({
        object: 'embedding',
        embedding:
          format.toLowerCase() === 'base64'
            ? Buffer.from(new Float32Array(e).buffer).toString('base64')
            : e.map(float32Json),
        index,
      }));
      sendBody(
        ctx,
        200,
        CT_JSON,
        `${goJson({ object: 'list', data, model: modelName, usage: { prompt_tokens: tokens, total_tokens: tokens } })}\n`,
      );
    });
  }

  function v1Models(ctx: Ctx) {
    const entries = tagsEntries();
    // Ollama builds `data` from a nil slice, so an empty list marshals to null.
    const data =
      entries.length === 0
        ? null
        : entries.map((e) => ({
            id: e.name,
            object: 'model',
            created: unixSeconds(str(e.modified_at)),
            owned_by: parseModelName(str(e.name))?.namespace ?? DEFAULT_NAMESPACE,
          }));
    sendBody(ctx, 200, CT_JSON, `${goJson({ object: 'list', data })}\n`);
  }

  function v1Model(ctx: Ctx) {
    const requested = ctx.params.model ?? '';
    const m = parseModelName(requested) ? findModel(requested) : undefined;
    if (!m) return familyError(ctx, 'openai', 404, `model '${requested}' not found`, 'handler');
    const created = unixSeconds(m.modifiedAt ?? FIXED_MODIFIED_AT);
    sendBody(
      ctx,
      200,
      CT_JSON,
      `${goJson({ id: requested, object: 'model', created, owned_by: parseModelName(requested)?.namespace ?? DEFAULT_NAMESPACE })}\n`,
    );
  }

  async function v1Responses(ctx: Ctx): Promise<void> {
    const b = body(ctx, 'openai', 'openai.ResponsesRequest', {
      model: ['string', 'string'],
      instructions: ['string', 'string'],
      stream: ['bool', 'bool'],
      tools: ['array', '[]openai.ResponsesTool'],
      max_output_tokens: ['number', 'int'],
    });
    if (!b) return;
    const messages: Array<{ role: string; content: string }> = [];
    const instructions = str(b.instructions);
    if (instructions) messages.push({ role: 'system', content: instructions });
    if (typeof b.input === 'string') {
      if (b.input !== '') messages.push({ role: 'user', content: b.input });
    } else if (Array.isArray(b.input)) {
      for (const [i, item] of b.input.entries()) {
        const it = isObj(item) ? item : {};
        const type = str(it.type) || (str(it.role) ? 'message' : '');
        if (type === 'message') messages.push({ role: str(it.role), content: contentText(it.content) });
        else if (type === 'function_call_output') messages.push({ role: 'tool', content: str(it.output) });
        else if (type === 'function_call' || type === 'reasoning') continue;
        else {
          const msg =
            type === ''
              ? `input[${i}]: input item missing required 'type' field`
              : `input[${i}]: unknown input item type: ${goQuote(type)}`;
          return familyError(ctx, 'openai', 400, msg, 'middleware');
        }
      }
    } else if (b.input !== undefined && b.input !== null) {
      return familyError(ctx, 'openai', 400, 'input must be a string or array', 'middleware');
    }
    const reasoningReq = isObj(b.reasoning) ? b.reasoning : {};
    const effort = str(reasoningReq.effort);
    let think: boolean | undefined;
    if (effort !== '') {
      if (!['none', 'low', 'medium', 'high', 'max'].includes(effort)) {
        return familyError(
          ctx,
          'openai',
          400,
          `invalid reasoning value: ${goQuote(effort)} (must be "high", "medium", "low", "max", or "none")`,
          'middleware',
        );
      }
      think = effort !== 'none';
    }
    const tools = normalizeTools(b.tools);
    const modelName = str(b.model);
    const pre = chatPreflight(ctx, {
      family: 'openai',
      modelName,
      kind: 'chat',
      think,
      hasTools: tools.length > 0,
    });
    if (!pre) return;
    const input: GenInput = {
      endpoint: ctx.path,
      requestedModel: modelName,
      model: pre.model,
      prompt: lastUser(messages),
      system: instructions,
      messages,
      promptText: messages.map((m) => m.content).join('\n'),
      tools,
      think: pre.think,
      numPredict: typeof b.max_output_tokens === 'number' ? b.max_output_tokens : undefined,
    };
    await serveGeneration(ctx, 'openai', input, b.stream === true, (plan) =>
      responsesRendering(input, plan, b),
    );
  }

  // ----- Anthropic-compatible handler -----

  async function v1Messages(ctx: Ctx): Promise<void> {
    const b = body(ctx, 'anthropic', 'anthropic.MessagesRequest', {
      model: ['string', 'string'],
      max_tokens: ['number', 'int'],
      messages: ['array', '[]anthropic.MessageParam'],
      stream: ['bool', 'bool'],
      tools: ['array', '[]anthropic.Tool'],
      thinking: ['object', 'anthropic.ThinkingConfig'],
    });
    if (!b) return;
    const modelName = str(b.model);
    if (modelName === '') return familyError(ctx, 'anthropic', 400, 'model is required', 'middleware');
    if (typeof b.max_tokens !== 'number' || b.max_tokens <= 0) {
      return familyError(ctx, 'anthropic', 400, 'max_tokens is required and must be positive', 'middleware');
    }
    const rawMessages = Array.isArray(b.messages) ? b.messages : [];
    if (rawMessages.length === 0)
      return familyError(ctx, 'anthropic', 400, 'messages is required', 'middleware');
    const messages: Array<{ role: string; content: string }> = [];
    let system = '';
    if (typeof b.system === 'string') system = b.system;
    else if (Array.isArray(b.system)) {
      system = b.system.map((blk) => (isObj(blk) && blk.type === 'text' ? str(blk.text) : '')).join('');
    }
    if (system) messages.push({ role: 'system', content: system });
    for (const m of rawMessages) {
      const msg = isObj(m) ? m : {};
      let text = '';
      if (typeof msg.content === 'string') text = msg.content;
      else if (Array.isArray(msg.content)) {
        text = msg.content.map((blk) => (isObj(blk) && blk.type === 'text' ? str(blk.text) : '')).join('');
      }
      messages.push({ role: str(msg.role).toLowerCase(), content: text });
    }
    const thinkingCfg = isObj(b.thinking) ? str(b.thinking.type) : '';
    const think = thinkingCfg === 'enabled' ? true : thinkingCfg === 'disabled' ? false : undefined;
    const tools = normalizeTools(b.tools);
    const pre = chatPreflight(ctx, {
      family: 'anthropic',
      modelName,
      kind: 'chat',
      think,
      hasTools: tools.length > 0,
      relaxThinking: true,
    });
    if (!pre) return;
    const promptText = messages.map((m) => m.content).join('\n');
    const estimated = Math.max(1, Math.floor((promptText.length + messages.length * 4) / 4));
    const input: GenInput = {
      endpoint: ctx.path,
      requestedModel: modelName,
      model: pre.model,
      prompt: lastUser(messages),
      system,
      messages,
      promptText,
      tools,
      think: pre.think,
      numPredict: b.max_tokens,
    };
    await serveGeneration(ctx, 'anthropic', input, b.stream === true, (plan) =>
      anthropicRendering(input, plan, estimated),
    );
  }

  // ----- routing (Gin semantics: 404/405 plain text, trailing-slash redirects) -----

  const exact = new Map<string, Map<string, Handler>>();
  const paramRoutes: Array<{ prefix: string; param: string; methods: Map<string, Handler> }> = [];

  function route(method: string, path: string, handler: Handler): void {
    const colon = path.indexOf('/:');
    if (colon >= 0) {
      const prefix = path.slice(0, colon + 1);
      const param = path.slice(colon + 2);
      let entry = paramRoutes.find((r) => r.prefix === prefix);
      if (!entry) {
        entry = { prefix, param, methods: new Map() };
        paramRoutes.push(entry);
      }
      entry.methods.set(method, handler);
      return;
    }
    let methods = exact.get(path);
    if (!methods) {
      methods = new Map();
      exact.set(path, methods);
    }
    methods.set(method, handler);
  }

  const root: Handler = (ctx) => ginText(ctx, 200, 'Ollama is running', CT_GIN_TEXT);
  const version: Handler = (ctx) => ginJson(ctx, 200, { version: settings.version });
  const tags: Handler = (ctx) => ginJson(ctx, 200, { models: tagsEntries() });
  route('GET', '/', root);
  route('HEAD', '/', root);
  route('GET', '/api/version', version);
  route('HEAD', '/api/version', version);
  route('POST', '/api/pull', apiPull);
  route('POST', '/api/push', apiPush);
  route('GET', '/api/tags', tags);
  route('HEAD', '/api/tags', tags);
  route('POST', '/api/show', apiShow);
  route('DELETE', '/api/delete', apiDelete);
  route('POST', '/api/create', apiCreate);
  route('POST', '/api/blobs/:digest', blobPost);
  route('HEAD', '/api/blobs/:digest', blobHead);
  route('POST', '/api/copy', apiCopy);
  route('GET', '/api/ps', apiPs);
  route('POST', '/api/generate', apiGenerate);
  route('POST', '/api/chat', apiChat);
  route('POST', '/api/embed', apiEmbed);
  route('POST', '/api/embeddings', apiEmbeddings);
  route('POST', '/v1/chat/completions', v1ChatCompletions);
  route('POST', '/v1/completions', v1Completions);
  route('POST', '/v1/embeddings', v1Embeddings);
  route('GET', '/v1/models', v1Models);
  route('GET', '/v1/models/:model', v1Model);
  route('POST', '/v1/responses', v1Responses);
  route('POST', '/v1/messages', v1Messages);

  function lookup(
    path: string,
  ): { methods: Map<string, Handler>; params: Record<string, string> } | undefined {
    const methods = exact.get(path);
    if (methods) return { methods, params: {} };
    for (const r of paramRoutes) {
      if (!path.startsWith(r.prefix)) continue;
      const value = path.slice(r.prefix.length);
      if (value !== '' && !value.includes('/')) {
        return { methods: r.methods, params: { [r.param]: decodeURIComponent(value) } };
      }
    }
    return undefined;
  }

  /** gin-contrib/cors as Ollama configures it; returns false when it answered the request. */
  function cors(ctx: Ctx): boolean {
    const origin = ctx.req.headers.origin;
    if (!settings.checkOrigin || !origin) return true;
    const hostHeader = ctx.req.headers.host ?? '';
    if (origin === `http://${hostHeader}` || origin === `https://${hostHeader}`) return true;
    if (!ALLOWED_ORIGINS.some((re) => re.test(origin))) {
      sendEmpty(ctx, 403);
      return false;
    }
    ctx.res.setHeader('Access-Control-Allow-Origin', origin);
    ctx.res.setHeader('Vary', 'Origin');
    if (ctx.method === 'OPTIONS') {
      ctx.res.setHeader('Access-Control-Allow-Methods', 'GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS');
      ctx.res.setHeader('Access-Control-Allow-Headers', CORS_ALLOW_HEADERS);
      ctx.res.setHeader('Access-Control-Max-Age', '43200');
      sendEmpty(ctx, 204);
      return false;
    }
    return true;
  }

  async function dispatch(ctx: Ctx): Promise<void> {
    if (!cors(ctx)) return;
    if (settings.checkHost) {
      if (!hostAllowed(ctx.req.headers.host)) return sendEmpty(ctx, 403);
      if (ctx.method === 'OPTIONS' && hostNameAllowed(ctx.req.headers.host)) return sendEmpty(ctx, 204);
    }
    const found = lookup(ctx.path);
    if (found) {
      const handler = found.methods.get(ctx.method);
      if (handler) {
        ctx.params = found.params;
        await handler(ctx);
        return;
      }
      ctx.res.setHeader('Allow', [...found.methods.keys()].join(', '));
      return ginText(ctx, 405, '405 method not allowed');
    }
    if (ctx.path.length > 1 && ctx.path.endsWith('/') && lookup(ctx.path.slice(0, -1))) {
      const target = ctx.path.slice(0, -1);
      const status = ctx.method === 'GET' ? 301 : 307;
      ctx.res.setHeader('Location', target);
      const text = status === 301 ? 'Moved Permanently' : 'Temporary Redirect';
      return ginText(ctx, status, `<a href="${target}">${text}</a>.\n\n`, 'text/html; charset=utf-8');
    }
    ginText(ctx, 404, '404 page not found');
  }

  const server = createServer({ noDelay: true, keepAliveTimeout: 65_000 }, (req, res) => {
    const start = process.hrtime.bigint();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => {});
    res.on('error', () => {});
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q >= 0 ? url.slice(0, q) : url;
      let parsedBody: unknown;
      if (raw.length > 0) {
        try {
          parsedBody = JSON.parse(raw.toString('utf8'));
        } catch {
          parsedBody = undefined;
        }
      }
      const healthCheck = req.headers['user-agent'] === HEALTH_CHECK_USER_AGENT;
      if (settings.recordHealthChecks || !healthCheck)
        requests.push({
          method: req.method ?? 'GET',
          path,
          url,
          headers: req.headers,
          rawHeaders: req.rawHeaders,
          body: parsedBody,
          rawBody: raw,
          receivedAt: Date.now(),
        });
      const controller = new AbortController();
      res.once('close', () => {
        if (!res.writableFinished) controller.abort();
      });
      // The client may already be gone; then 'close' has fired and will not fire again.
      if (req.socket.destroyed) controller.abort();
      const ctx: Ctx = {
        req,
        res,
        method: req.method ?? 'GET',
        path,
        raw,
        params: {},
        signal: controller.signal,
        start,
      };
      dispatch(ctx).catch((err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        if (!res.headersSent) nativeError(ctx, 500, message);
        else res.destroy();
      });
    });
  });
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  const emulator: Emulator = {
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    host: address.address,
    options: settings,
    requests,
    stats,
    reset() {
      requests.length = 0;
      counters.aborted = 0;
      counters.completed = 0;
      counters.rejected = 0;
      counters.maxInFlight = counters.inFlight;
    },
    async waitFor(predicate, timeoutMs = 2000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(emulator)) {
        if (Date.now() > deadline) throw new Error(`emulator.waitFor timed out after ${timeoutMs} ms`);
        await delay(5);
      }
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  return emulator;
}
