/**
 * Keeps clients from holding the server's sockets without using them. A connection must
 * complete its first request's headers within the header timeout (Node's own headers
 * timeout covers later requests on a kept-alive connection, but not a connection that
 * never sends a byte); a request body may not pause for longer than the idle-body
 * timeout; one address may hold only so many connections that have not yet shown a
 * valid token; and a request answered before its body arrived (a refusal) has the rest
 * of its body discarded for a short while, so the client can read the answer, and then
 * loses its connection instead of feeding it for ever.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';

/**
 * How long the unread body of an answered request is discarded before the connection
 * is closed. Closing at once would reset a client still sending, and a reset can wipe
 * the answer from its receive buffer before it reads it.
 */
const DISCARD_MS = 2000;

export interface GuardSettings {
  headersTimeoutMs: number;
  bodyIdleTimeoutMs: number;
  /** Connections one address may hold before one of its requests carried a valid token. */
  maxUnauthenticatedPerAddress: number;
  /** Addresses the cap does not apply to: trusted reverse proxies, which relay many clients. */
  exempt: (address: string) => boolean;
}

interface SocketState {
  /** Set while the connection counts against its address. */
  address: string | undefined;
  /** Runs until the first request's headers are complete. */
  firstHeaders: NodeJS.Timeout | undefined;
}

/** Whether the request announced a body (Node emits 'request' before the body is read). */
function announcesBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

export class ConnectionGuard {
  private readonly states = new WeakMap<Socket, SocketState>();
  /** Connections per address that have not shown a valid token. */
  private readonly unauthenticated = new Map<string, number>();

  constructor(private readonly settings: GuardSettings) {}

  /** Watches every connection the server accepts. */
  attach(server: Server): void {
    // Over TLS the handshake has its own timeout; the guard starts with the decrypted socket.
    const event = server instanceof https.Server ? 'secureConnection' : 'connection';
    server.on(event, (socket: Socket) => this.accept(socket));
  }

  /** Called as each request's headers are complete, before anything answers it. */
  watchRequest(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    const state = this.states.get(socket);
    if (state?.firstHeaders) {
      clearTimeout(state.firstHeaders);
      state.firstHeaders = undefined;
    }
    // A request without a body is complete once its headers are: nothing more to watch.
    if (!announcesBody(req)) return;
    this.watchBody(req, res, socket);
    res.once('finish', () => {
      if (!req.complete) this.discardRest(req, socket);
    });
  }

  /** A request on this connection carried a valid token: it no longer counts against its address. */
  authenticated(socket: Socket): void {
    const state = this.states.get(socket);
    if (state?.address !== undefined) this.release(state);
  }

  private accept(socket: Socket): void {
    const state: SocketState = { address: undefined, firstHeaders: undefined };
    const address = socket.remoteAddress ?? '';
    if (!this.settings.exempt(address)) {
      const count = this.unauthenticated.get(address) ?? 0;
      if (count >= this.settings.maxUnauthenticatedPerAddress) {
        socket.destroy();
        return;
      }
      this.unauthenticated.set(address, count + 1);
      state.address = address;
    }
    state.firstHeaders = setTimeout(() => socket.destroy(), this.settings.headersTimeoutMs);
    state.firstHeaders.unref();
    this.states.set(socket, state);
    socket.once('close', () => {
      clearTimeout(state.firstHeaders);
      if (state.address !== undefined) this.release(state);
    });
  }

  private release(state: SocketState): void {
    const address = state.address!;
    state.address = undefined;
    const count = (this.unauthenticated.get(address) ?? 1) - 1;
    if (count > 0) this.unauthenticated.set(address, count);
    else this.unauthenticated.delete(address);
  }

  /**
   * The socket's idle timer runs while the body arrives: Node emits 'timeout' on the
   * request whose body is incomplete. Once the body is in, an answer may take as long
   * as Ollama takes, so the timer stops.
   */
  private watchBody(req: IncomingMessage, res: ServerResponse, socket: Socket): void {
    const idleMs = this.settings.bodyIdleTimeoutMs;
    const onTimeout = () => {
      if (req.complete) return;
      // Nothing reads the body yet, or its reader paused it (Ollama is slow to take an
      // upload, or the request waits for a connection): the client is not the one idle.
      if (req.readableFlowing !== true) {
        socket.setTimeout(idleMs);
        return;
      }
      socket.destroy();
    };
    req.on('timeout', onTimeout);
    socket.setTimeout(idleMs);
    req.once('end', () => {
      req.off('timeout', onTimeout);
      // An answer that already finished set the keep-alive timer, which must stay.
      if (!res.writableFinished) socket.setTimeout(0);
    });
  }

  /**
   * The answer left before the body was read (a refusal, or a body over the limit):
   * the rest is read and dropped, never kept, for at most DISCARD_MS, then the
   * connection closes, unless the body ends first and the connection may be reused.
   */
  private discardRest(req: IncomingMessage, socket: Socket): void {
    // An answer with `Connection: close` has Node destroy the socket once it is sent,
    // which would reset a client still sending; the timer below closes it instead.
    socket.removeListener('finish', socket.destroy);
    req.resume();
    const timer = setTimeout(() => socket.destroy(), DISCARD_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    req.once('end', () => {
      clearTimeout(timer);
      if (socket.writableEnded) socket.destroy();
    });
  }
}
