/**
 * One proxied request, from credentials to the last byte: admit it from its headers
 * (who calls, and may they call this endpoint at all), then with its body authorize the
 * model, reserve a quota slot, forward to Ollama, stream the answer back chunk by chunk
 * while a tap reassembles it for history, then release the slot and record.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { assertEnabled, type KnownToken, type TokenDirectory } from '../auth/token-directory.js';
import { CompanionError } from '../errors/companion-error.js';
import type { HistoryEnd, HistoryStart } from '../history/history-record.js';
import type { HistoryHandle, HistoryWriter } from '../history/history-writer.js';
import { newRecordId } from '../history/record-id.js';
import type { Metrics } from '../metrics/metrics.js';
import { authorize } from '../policy/access-policy.js';
import type { QuotaLedger, Reservation } from '../policy/quota-ledger.js';
import type { HistoryMode } from '../policy/token.js';
import { errorBody, errorHeaders, streamErrorChunk } from '../server/error-shapes.js';
import type { Endpoint } from './endpoint-catalogue.js';
import { filterModelList } from './model-list-filter.js';
import { type ParsedRequest, parseRequest, requestForHistory } from './request-body.js';
import { type AnswerTap, createAnswerTap } from './taps/answer-tap.js';
import { framingOf } from './taps/framing.js';
import type { UpstreamClient } from './upstream-client.js';
import { WholeFrames } from './whole-frames.js';

/** A request as the HTTP layer hands it over. */
export interface InboundRequest {
  method: string;
  /** Path and query as the client meant them (any `/t/<token>` prefix removed). */
  url: string;
  headers: IncomingHttpHeaders;
  params: Record<string, string>;
  /** Buffered body for JSON routes, the raw stream for blob uploads. */
  body: Buffer | Readable | undefined;
  /** A token given in the path prefix, if any. */
  pathToken: string | undefined;
  clientAddr: string;
  /** Headers the HTTP layer already decided on (CORS). */
  presetHeaders: OutgoingHttpHeaders | Record<string, string | number | string[] | undefined>;
}

/**
 * What the headers alone decide: the caller, or why the request is refused. The HTTP
 * layer admits a request before it reads the body, so a refused body is never read.
 */
export interface Admission {
  known: KnownToken | undefined;
  /** Set when the request is refused; its body must then not be read. */
  refusal: CompanionError | undefined;
}

export interface ProxyDeps {
  directory: TokenDirectory;
  ledger: QuotaLedger;
  upstream: UpstreamClient;
  history: HistoryWriter;
  metrics: Metrics;
  log: Logger;
  nodeId: string;
  /** Ollama's base URL, named in the 502 a client gets when it cannot be reached. */
  upstreamUrl: string;
  publicStatus: boolean;
  tokenFromHeaders: (headers: IncomingHttpHeaders) => string | undefined;
  /** Aborted when the companion's shutdown cuts the answers still running at the end of its grace. */
  shutdown: AbortSignal;
}

/**
 * The companion's own headers (CORS) followed by Ollama's, as one flat list: Node writes
 * such a list as it is, where an object would be copied and checked name by name.
 */
function headerList(preset: InboundRequest['presetHeaders'], upstream: string[]): string[] {
  const list: string[] = [];
  for (const name in preset) {
    const value = preset[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const one of value) list.push(name, one);
    else list.push(name, String(value));
  }
  for (const field of upstream) list.push(field);
  return list;
}

function upstreamFailure(error: Error, upstreamUrl: string): CompanionError {
  // The upstream client's own refusals (no connection to Ollama free in time) are final.
  if (error instanceof CompanionError) return error;
  const code = (error as { code?: string }).code ?? '';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new CompanionError('upstream_timeout', 504, 'Ollama did not answer in time', { cause: error });
  }
  return new CompanionError(
    'upstream_unreachable',
    502,
    `cannot reach Ollama at ${upstreamUrl} (${code || error.message}); is it running? set --upstream`,
    { cause: error },
  );
}

/** Ollama's answer broke off after it had begun (its process died, the connection dropped). */
function cutFailure(error: Error): CompanionError {
  const code = (error as { code?: string }).code ?? '';
  const detail = code === 'UND_ERR_BODY_TIMEOUT' ? 'no data within the timeout' : error.message || code;
  return new CompanionError('upstream_cut', 502, `Ollama's answer was cut off mid-stream (${detail})`, {
    cause: error,
  });
}

export class ProxyHandler {
  constructor(private readonly deps: ProxyDeps) {}

  /**
   * Admission from the headers: the token (unless the endpoint is public), whether it is
   * enabled, and whether its scopes cover the endpoint. Models are checked later, with the body.
   */
  admit(endpoint: Endpoint, headers: IncomingHttpHeaders, pathToken: string | undefined): Admission {
    const { deps } = this;
    let known: KnownToken | undefined;
    try {
      if (!(endpoint.statusEndpoint && deps.publicStatus)) {
        known = deps.directory.identify(pathToken ?? deps.tokenFromHeaders(headers));
      }
      if (known) {
        assertEnabled(known);
        authorize({ scopes: known.token.scopes, allowsModel: known.allowsModel }, endpoint.scope, []);
      }
      return { known, refusal: undefined };
    } catch (error) {
      const refusal =
        error instanceof CompanionError
          ? error
          : new CompanionError('internal', 500, 'internal', { cause: error });
      return { known, refusal };
    }
  }

  /**
   * Answers a request. `admission` is what `admit` said from the headers (admitted here
   * when the caller did not); a refused request is answered without its body.
   */
  handle(
    endpoint: Endpoint,
    inbound: InboundRequest,
    res: ServerResponse,
    admission: Admission = this.admit(endpoint, inbound.headers, inbound.pathToken),
  ): void {
    const { deps } = this;
    const t0 = performance.now();
    const startedAt = Date.now();
    const known = admission.known;
    let parsed: ParsedRequest | undefined;
    let record: HistoryHandle | undefined;
    let mode: HistoryMode = 'off';

    const beginHistory = (): void => {
      if (!known || known.token.historyMode === 'off') return;
      mode = known.token.historyMode;
      const start: HistoryStart = {
        id: newRecordId(startedAt),
        servedBy: deps.nodeId,
        tokenId: known.token.id,
        tokenName: known.token.name,
        tokenPrefix: known.token.prefix,
        method: inbound.method,
        endpoint: endpoint.path,
        model: parsed?.models[0] ?? null,
        stream: parsed?.stream ?? null,
        startedAt,
        historyMode: mode,
        request: mode === 'full' && parsed?.json ? requestForHistory(parsed) : null,
        clientAddr: inbound.clientAddr,
        userAgent: inbound.headers['user-agent'] ?? null,
      };
      record = deps.history.begin(start);
    };

    let reservation: Reservation;
    try {
      if (admission.refusal) throw admission.refusal;
      parsed = parseRequest(
        endpoint,
        Buffer.isBuffer(inbound.body) ? inbound.body : undefined,
        inbound.params,
      );
      if (known) {
        authorize(
          { scopes: known.token.scopes, allowsModel: known.allowsModel },
          endpoint.scope,
          parsed.models,
        );
      }
      beginHistory();
      reservation = known ? deps.ledger.reserve(known.token, endpoint.countsAsCall) : { release() {} };
    } catch (error) {
      const failure =
        error instanceof CompanionError
          ? error
          : new CompanionError('internal', 500, 'internal', { cause: error });
      if (failure.status === 401) deps.metrics.unauthenticated.inc();
      else if (failure.status === 403 || failure.status === 429)
        deps.metrics.refusals.inc({ reason: failure.code });
      if (known && !record) beginHistory();
      this.refuse(endpoint, inbound, res, failure);
      this.finish(endpoint, known, record, mode, t0, startedAt, {
        status: failure.status,
        outcome: failure.status === 403 || failure.status === 429 ? 'refused' : 'error',
        error: failure.message,
        ttftMs: null,
        answer: null,
      });
      return;
    }

    const model = parsed.models[0] ?? '';
    this.forward(endpoint, inbound, res, known, parsed, (result) => {
      reservation.release(result.refund);
      this.finish(endpoint, known, record, mode, t0, startedAt, result, model);
    });
  }

  /**
   * Answers a refusal or bad input in the route's wire shape. Only an internal error is
   * logged here, with its stack; every other failure is the one line `finish` writes.
   */
  private refuse(
    endpoint: Endpoint,
    inbound: InboundRequest,
    res: ServerResponse,
    error: CompanionError,
  ): void {
    if (error.code === 'internal') this.deps.log.error({ err: error.cause ?? error }, error.message);
    const body = inbound.method === 'HEAD' ? '' : errorBody(endpoint.wire, error);
    res.writeHead(error.status, { ...inbound.presetHeaders, ...errorHeaders(error) });
    res.end(body);
  }

  private forward(
    endpoint: Endpoint,
    inbound: InboundRequest,
    res: ServerResponse,
    known: KnownToken | undefined,
    parsed: ParsedRequest,
    done: (result: ForwardResult) => void,
  ): void {
    const { deps } = this;
    const refuse = this.refuse.bind(this);
    const t0 = performance.now();
    let tap: AnswerTap | undefined;
    // Streams reach the client in whole lines or events, so a cut can be followed by a readable error.
    let frames: WholeFrames | undefined;
    let status = 0;
    let ttftMs: number | null = null;
    let ended = false;
    // Listings are narrowed to the token's models: buffered, filtered, then sent.
    let listBuffer: Buffer[] | undefined;

    const end = (result: ForwardResult): void => {
      if (ended) return;
      ended = true;
      res.removeListener('close', onClientClose);
      done(result);
    };
    const answerOf = () => (tap ? tap.finish() : null);

    const onClientClose = (): void => {
      if (res.writableFinished) return;
      // The shutdown closes the connections it cuts: the client did not leave on its own.
      const reason = deps.shutdown.aborted
        ? "cut by the companion's shutdown"
        : 'client closed the connection';
      // Recorded before the abort: undici reports the abort through onError synchronously.
      end({
        status: status || 499,
        outcome: 'aborted',
        error: reason,
        ttftMs,
        answer: answerOf(),
      });
      call.abort(new Error(reason));
    };

    // Every token's listing is filtered: even "all models" (`*`) leaves out cloud models.
    const filterList = known && endpoint.listFilter;
    const call = deps.upstream.send(
      {
        method: inbound.method,
        path: inbound.url,
        presentedToken: () => inbound.pathToken ?? deps.tokenFromHeaders(inbound.headers),
        clientHeaders: inbound.headers,
        body:
          endpoint.body === 'stream'
            ? ((inbound.body as Readable | undefined) ?? null)
            : parsed.json
              ? (inbound.body as Buffer)
              : null,
        quick: endpoint.quick,
        holder: known?.token.id ?? '',
      },
      {
        onStart(upstreamStatus, head) {
          status = upstreamStatus;
          const framing = framingOf(head.contentType);
          if (framing !== 'json') frames = new WholeFrames(framing);
          tap = createAnswerTap(endpoint.answer, head.contentType, status);
          if (filterList && status === 200) {
            listBuffer = [];
            return;
          }
          // The headers leave with the first body chunk, in one write, as Ollama's do.
          res.writeHead(status, headerList(inbound.presetHeaders, head.fields));
        },
        onData(chunk, resume) {
          if (ttftMs === null) ttftMs = performance.now() - t0;
          if (listBuffer) {
            listBuffer.push(chunk);
            tap!.push(chunk);
            return true;
          }
          // The chunk leaves first; reading it for history can wait that long.
          const whole = frames ? frames.take(chunk) : chunk;
          const flowing = whole === undefined || res.write(whole);
          tap!.push(chunk);
          if (flowing) return true;
          res.once('drain', resume);
          return false;
        },
        onEnd() {
          if (listBuffer && known) {
            const filtered = filterModelList(
              endpoint.listFilter!,
              Buffer.concat(listBuffer),
              known.allowsModel,
            );
            res.writeHead(status, {
              ...inbound.presetHeaders,
              'content-type': 'application/json; charset=utf-8',
              'content-length': Buffer.byteLength(filtered),
            });
            res.end(filtered);
          } else {
            res.end(frames?.rest());
          }
          const answer = answerOf();
          const ok = status >= 200 && status < 400 && !answer?.error;
          end({
            status,
            outcome: ok ? 'ok' : 'error',
            error: ok ? null : (answer?.error ?? `HTTP ${status}`),
            ttftMs,
            answer,
            // Ollama refused it (unknown model, busy, bad options): no model ran, no call is used.
            refund: status >= 400,
          });
        },
        onError(error) {
          if (ended) return;
          const failure = upstreamFailure(error, deps.upstreamUrl);
          deps.metrics.upstreamErrors.inc({ kind: status === 0 ? failure.code : 'cut_mid_answer' });
          if (status === 0) {
            // Nothing reached the client yet: a clean error, and the call is not charged.
            refuse(endpoint, inbound, res, failure);
            end({
              status: failure.status,
              outcome: 'error',
              error: failure.message,
              ttftMs,
              answer: null,
              refund: true,
            });
            return;
          }
          const cut = cutFailure(error);
          if (!res.headersSent) {
            // A listing still being buffered: the client has nothing yet, so it gets a clean error.
            refuse(endpoint, inbound, res, cut);
            end({ status: cut.status, outcome: 'error', error: cut.message, ttftMs, answer: null });
            return;
          }
          end({ status, outcome: 'error', error: cut.message, ttftMs, answer: answerOf() });
          if (frames) {
            // Whatever was sent ends on a frame boundary (or is ended here): the error is a frame of its own.
            res.end(frames.closing() + streamErrorChunk(endpoint.wire, frames.framing, cut));
          } else {
            // A one-piece body cannot carry an error after its start: the client must see it break
            // off rather than take a truncated body for a whole one (or wait for the missing bytes).
            res.destroy();
          }
        },
      },
    );
    res.on('close', onClientClose);
  }

  private finish(
    endpoint: Endpoint,
    known: KnownToken | undefined,
    record: HistoryHandle | undefined,
    mode: HistoryMode,
    t0: number,
    startedAt: number,
    result: ForwardResult,
    /** The model the request named, for token counters. */
    model = '',
  ): void {
    const { deps } = this;
    const durationMs = performance.now() - t0;
    const answer = result.answer;
    deps.metrics.tally.request(
      endpoint.path,
      result.status,
      durationMs / 1000,
      result.ttftMs === null ? null : result.ttftMs / 1000,
    );
    if (answer) deps.metrics.tally.modelTokens(model, answer.promptTokens ?? 0, answer.completionTokens ?? 0);
    if (record) {
      const full = mode === 'full';
      const end: HistoryEnd = {
        finishedAt: startedAt + Math.round(durationMs),
        ttftMs: result.ttftMs,
        durationMs,
        status: result.status,
        outcome: result.outcome,
        error: result.error,
        answerContent: full ? (answer?.content ?? null) : null,
        answerThinking: full && answer?.thinking ? answer.thinking : null,
        answerToolCalls: full && answer?.toolCalls.length ? answer.toolCalls : null,
        answerSummary: full ? (answer?.summary ?? null) : null,
        doneReason: answer?.doneReason ?? null,
        promptTokens: answer?.promptTokens ?? null,
        completionTokens: answer?.completionTokens ?? null,
        totalNs: answer?.timings.totalNs ?? null,
        loadNs: answer?.timings.loadNs ?? null,
        promptEvalNs: answer?.timings.promptEvalNs ?? null,
        evalNs: answer?.timings.evalNs ?? null,
      };
      record.finish(end);
    }
    // History and metrics keep every request; the log line is for debugging and failures.
    // A failure is this one line, with its reason and no stack.
    const level = result.status >= 500 ? 'warn' : 'debug';
    if (deps.log.isLevelEnabled(level)) {
      deps.log[level](
        {
          method: endpoint.method,
          path: endpoint.path,
          status: result.status,
          token: known?.token.prefix,
          ms: Math.round(durationMs * 10) / 10,
          ...(result.status >= 500 && result.error ? { error: result.error } : {}),
        },
        'request',
      );
    }
  }
}

interface ForwardResult {
  status: number;
  outcome: HistoryEnd['outcome'];
  error: string | null;
  ttftMs: number | null;
  answer: ReturnType<AnswerTap['finish']> | null;
  /** The call is given back to the token's quota: the model did not run. */
  refund?: boolean;
}
