/**
 * The connection pool to Ollama. Requests go out with only the headers Ollama needs —
 * never the client's credentials, cookies or Origin, nor a credential in the query
 * (forwarded-query.ts) — and with `Host` set to the upstream's own host, because Ollama
 * on loopback refuses foreign Host headers.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import { forwardedPath } from './forwarded-query.js';

/** Request headers passed on to Ollama; everything else stays with the companion. */
const FORWARDED_REQUEST_HEADERS = [
  'content-type',
  'accept',
  'user-agent',
  'anthropic-version',
  'anthropic-beta',
];

/** Response headers that describe one hop, or that the companion answers itself (CORS). */
const DROPPED_RESPONSE_HEADERS = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-allow-headers',
  'access-control-allow-methods',
  'access-control-expose-headers',
  'access-control-max-age',
  'vary',
]);

/** Ollama's answer head: its status line's headers, minus the dropped ones. */
export interface UpstreamHead {
  contentType: string | undefined;
  /** Name/value pairs, flat (`[name, value, name, value, …]`), names lower-cased. */
  fields: string[];
}

function upstreamHead(raw: Buffer[]): UpstreamHead {
  const fields: string[] = [];
  let contentType: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase();
    if (DROPPED_RESPONSE_HEADERS.has(name)) continue;
    const value = raw[i + 1]!.toString('latin1');
    if (name === 'content-type') contentType = value;
    fields.push(name, value);
  }
  return { contentType, fields };
}

export interface UpstreamSink {
  /** Status and headers arrived; the body follows. */
  onStart(status: number, head: UpstreamHead): void;
  /** A body chunk; return false to pause until `resume` is called. */
  onData(chunk: Buffer, resume: () => void): boolean;
  onEnd(): void;
  /** The connection failed or was cut, before or after `onStart`. */
  onError(error: Error): void;
}

export interface UpstreamRequest {
  method: string;
  /** Path and query as the client sent them; credentials in the query are taken out here. */
  path: string;
  /** The token the client presented (header or path prefix), so a query carrying it is cleaned. */
  presentedToken?: () => string | undefined;
  clientHeaders: IncomingHttpHeaders;
  body: Buffer | Readable | null;
}

export interface UpstreamCall {
  /** Cuts the upstream request (the client went away). */
  abort(reason: Error): void;
}

const noToken = (): undefined => undefined;

export class UpstreamClient {
  private readonly agent: Agent;
  private readonly host: string;

  constructor(
    readonly origin: string,
    timeoutMs: number,
  ) {
    this.host = new URL(origin).host;
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connections: 256,
    });
  }

  send(request: UpstreamRequest, sink: UpstreamSink): UpstreamCall {
    const headers: Record<string, string> = { host: this.host };
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = request.clientHeaders[name];
      if (typeof value === 'string') headers[name] = value;
    }
    // undici's own handler interface (raw header bytes, resume callback): the newer
    // controller-style interface goes through an adapter that costs a header parse and
    // two extra calls per chunk on the hot path.
    let abortUpstream: ((reason: Error) => void) | undefined;
    let pendingAbort: Error | undefined;
    let resumeUpstream: () => void = () => {};
    const handler: Dispatcher.DispatchHandler = {
      onConnect(abort) {
        abortUpstream = abort;
        if (pendingAbort) abort(pendingAbort);
      },
      onHeaders(status, rawHeaders, resume) {
        if (status < 200) return true; // 1xx informational
        resumeUpstream = resume;
        sink.onStart(status, upstreamHead(rawHeaders));
        return true;
      },
      onData(chunk) {
        return sink.onData(chunk, resumeUpstream);
      },
      onComplete() {
        sink.onEnd();
      },
      onError(error) {
        sink.onError(error);
      },
    };
    this.agent.dispatch(
      {
        origin: this.origin,
        method: request.method as Dispatcher.HttpMethod,
        path: forwardedPath(request.path, request.presentedToken ?? noToken),
        headers,
        body: request.body,
      },
      handler,
    );
    return {
      abort(reason) {
        if (abortUpstream) abortUpstream(reason);
        else pendingAbort = reason;
      },
    };
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
