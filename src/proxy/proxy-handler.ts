/**
 * One proxied request, from credentials to the last byte: authenticate, read the body,
 * authorize, reserve a quota slot, forward to Ollama, stream the answer back chunk by
 * chunk while a tap reassembles it for history, then release the slot and record.
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
import { errorBody, errorHeaders, publicMessage, streamErrorChunk } from '../server/error-shapes.js';
import type { Endpoint } from './endpoint-catalogue.js';
import { filterModelList } from './model-list-filter.js';
import { type ParsedRequest, parseRequest, requestForHistory } from './request-body.js';
import { type AnswerTap, createAnswerTap } from './taps/answer-tap.js';
import { type Framing, framingOf } from './taps/framing.js';
import type { UpstreamClient } from './upstream-client.js';

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

export interface ProxyDeps {
  directory: TokenDirectory;
  ledger: QuotaLedger;
  upstream: UpstreamClient;
  history: HistoryWriter;
  metrics: Metrics;
  log: Logger;
  nodeId: string;
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

function upstreamFailure(error: Error): CompanionError {
  const code = (error as { code?: string }).code ?? '';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new CompanionError('upstream_timeout', 504, 'Ollama did not answer in time', { cause: error });
  }
  return new CompanionError('upstream_unreachable', 502, `cannot reach Ollama (${code || error.message})`, {
    cause: error,
  });
}

export class ProxyHandler {
  constructor(private readonly deps: ProxyDeps) {}

  handle(endpoint: Endpoint, inbound: InboundRequest, res: ServerResponse): void {
    const { deps } = this;
    const t0 = performance.now();
    const startedAt = Date.now();
    let known: KnownToken | undefined;
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
      if (!(endpoint.statusEndpoint && deps.publicStatus)) {
        known = deps.directory.identify(inbound.pathToken ?? deps.tokenFromHeaders(inbound.headers));
      }
      parsed = parseRequest(
        endpoint,
        Buffer.isBuffer(inbound.body) ? inbound.body : undefined,
        inbound.params,
      );
      if (known) {
        assertEnabled(known);
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

  /** Answers a refusal or bad input in the route's wire shape. */
  private refuse(
    endpoint: Endpoint,
    inbound: InboundRequest,
    res: ServerResponse,
    error: CompanionError,
  ): void {
    if (error.status >= 500) this.deps.log.error({ err: error.cause ?? error }, error.message);
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
    let framing: Framing = 'json';
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

    const filterList = known && endpoint.listFilter && !known.token.models.includes('*');
    const call = deps.upstream.send(
      {
        method: inbound.method,
        path: inbound.url,
        clientHeaders: inbound.headers,
        body:
          endpoint.body === 'stream'
            ? ((inbound.body as Readable | undefined) ?? null)
            : parsed.json
              ? (inbound.body as Buffer)
              : null,
      },
      {
        onStart(upstreamStatus, head) {
          status = upstreamStatus;
          framing = framingOf(head.contentType);
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
          const flowing = res.write(chunk);
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
            res.end();
          }
          const answer = answerOf();
          const ok = status >= 200 && status < 400 && !answer?.error;
          end({
            status,
            outcome: ok ? 'ok' : 'error',
            error: ok ? null : (answer?.error ?? `HTTP ${status}`),
            ttftMs,
            answer,
          });
        },
        onError(error) {
          if (ended) return;
          const failure = upstreamFailure(error);
          deps.metrics.upstreamErrors.inc({ kind: status === 0 ? failure.code : 'cut_mid_answer' });
          deps.log.warn({ path: endpoint.path, err: error.message }, 'upstream request failed');
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
          if (!res.headersSent) res.writeHead(status, inbound.presetHeaders);
          if (framing !== 'json') res.write(streamErrorChunk(endpoint.wire, framing, failure));
          res.end();
          end({ status, outcome: 'error', error: publicMessage(failure), ttftMs, answer: answerOf() });
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
    const level = result.status >= 500 ? 'warn' : 'debug';
    if (deps.log.isLevelEnabled(level)) {
      deps.log[level](
        {
          method: endpoint.method,
          path: endpoint.path,
          status: result.status,
          token: known?.token.prefix,
          ms: Math.round(durationMs * 10) / 10,
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
  refund?: boolean;
}
