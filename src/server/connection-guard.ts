/**
 * Watches the server's requests so that an answer that leaves before its request's
 * body was read (a refusal, or a body over the limit) does not have to read that body
 * for ever: the rest is discarded for a short while, so the client can read the answer,
 * and then the connection closes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * How long the unread body of an answered request is discarded before the connection
 * is closed. Closing at once would reset a client still sending, and a reset can wipe
 * the answer from its receive buffer before it reads it.
 */
const DISCARD_MS = 2000;

export class ConnectionGuard {
  /** Called as each request's headers are complete, before anything answers it. */
  watchRequest(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    res.once('finish', () => {
      if (!req.complete) this.discardRest(req, socket);
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
