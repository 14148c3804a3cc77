/**
 * Connections that were opened and never sent a byte. Browsers and some HTTP clients
 * open such spare connections ahead of need. Node's `closeIdleConnections` leaves them
 * open (it counts a connection's first request as begun once it connects), so a stop
 * would otherwise wait out its whole grace period for a request that never comes.
 */
import type { Server } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';

/** Watches the server's connections; the returned function closes the silent ones. */
export function trackSilentConnections(server: Server): () => void {
  const open = new Set<Socket>();
  // Over TLS, the decrypted socket counts only request bytes; the raw one counts the handshake.
  const event = server instanceof https.Server ? 'secureConnection' : 'connection';
  server.on(event, (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  return () => {
    for (const socket of open) if (socket.bytesRead === 0) socket.destroy();
  };
}
