/**
 * Reads the TLS certificate and key `serve` was given and checks them before the server
 * starts, so that a wrong file is named: OpenSSL's own error ("PEM routines::no start
 * line") says neither which file nor what to do. A file that cannot be read at all
 * throws the file system's error, put into words by startup-errors.ts.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { badRequest } from '../errors/companion-error.js';

const certificate = (pem: Buffer): X509Certificate | undefined => {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
};

const privateKey = (pem: Buffer): KeyObject | undefined => {
  try {
    return createPrivateKey(pem);
  } catch {
    return undefined;
  }
};

/** @throws CompanionError(bad_request) naming the file that is wrong and how. */
export function checkTlsFiles(certFile: string, keyFile: string): void {
  const certPem = readFileSync(certFile);
  const keyPem = readFileSync(keyFile);
  const cert = certificate(certPem);
  const key = privateKey(keyPem);
  if (!cert && !key && certificate(keyPem) && privateKey(certPem)) {
    throw badRequest(
      `--tls-cert ${certFile} holds a private key and --tls-key ${keyFile} a certificate; swap the two`,
    );
  }
  if (!cert) {
    const holds = privateKey(certPem) ? 'a private key, not a certificate' : 'no PEM certificate';
    throw badRequest(`TLS certificate ${certFile} holds ${holds}; check --tls-cert`);
  }
  if (!key) {
    const holds = certificate(keyPem)
      ? 'a certificate, not a private key'
      : 'no PEM private key (or one protected by a passphrase)';
    throw badRequest(`TLS key ${keyFile} holds ${holds}; check --tls-key`);
  }
  if (!cert.checkPrivateKey(key)) {
    throw badRequest(
      `TLS key ${keyFile} does not belong to certificate ${certFile}; give the key the certificate was made for`,
    );
  }
}
