/**
 * Who sent a request. Without trusted proxies, the socket's peer. Behind the reverse
 * proxies named in `trustProxy`, the nearest address in X-Forwarded-For that is not one
 * of them. The header is believed only from those proxies, since any client can send it.
 */
import type { IncomingMessage } from 'node:http';
import proxyAddress, { compile } from '@fastify/proxy-addr';

export type ProxyTrust = (address: string, hop: number) => boolean;

/** The trust test for the configured proxies, or undefined when none is configured. */
export function proxyTrust(trustProxy: readonly string[]): ProxyTrust | undefined {
  return trustProxy.length > 0 ? compile([...trustProxy]) : undefined;
}

export function clientAddress(req: IncomingMessage, trust: ProxyTrust | undefined): string {
  return trust ? proxyAddress(req, trust) : (req.socket.remoteAddress ?? '');
}
