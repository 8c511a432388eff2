// Serving certificates are re-read when their files change (cert-manager or a Secret volume
// swaps them in place), validated first, and only then put in front of new connections.
import { createHash, X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';

export interface CertificatePair {
  cert: Buffer;
  key: Buffer;
  fingerprint: string;
  notAfter: Date;
}

export class CertificateError extends Error {}

/** Reads and checks a certificate/key pair: parseable, matching, not expired. */
export function loadCertificatePair(certFile: string, keyFile: string, now = new Date()): CertificatePair {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(certFile);
    key = readFileSync(keyFile);
  } catch (error) {
    throw new CertificateError(`cannot read the serving certificate (${certFile}, ${keyFile}): ${(error as Error).message}`);
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (error) {
    throw new CertificateError(`${certFile} is not a PEM certificate: ${(error as Error).message}`);
  }
  try {
    if (!x509.checkPrivateKey(createPrivateKey(key))) throw new Error('the key does not match the certificate');
    createSecureContext({ cert, key });
  } catch (error) {
    throw new CertificateError(`${keyFile} cannot serve ${certFile}: ${(error as Error).message}`);
  }
  const notAfter = new Date(x509.validTo);
  if (notAfter.getTime() < now.getTime()) throw new CertificateError(`${certFile} expired at ${notAfter.toISOString()}`);
  return { cert, key, notAfter, fingerprint: createHash('sha256').update(cert).update(key).digest('hex') };
}

/**
 * Polls the files rather than using fs.watch: Secret volumes replace a symlinked directory,
 * which inotify on the file itself does not report.
 */
export function watchCertificatePair(options: {
  certFile: string;
  keyFile: string;
  intervalMs: number;
  current: CertificatePair;
  onChange: (pair: CertificatePair) => void;
  onError: (error: Error) => void;
}): () => void {
  let current = options.current;
  let lastError = '';
  const timer = setInterval(() => {
    try {
      const next = loadCertificatePair(options.certFile, options.keyFile);
      lastError = '';
      if (next.fingerprint === current.fingerprint) return;
      current = next;
      options.onChange(next);
    } catch (error) {
      // A rotation writes cert and key one after the other: a mismatch may last a moment. Report once.
      const message = (error as Error).message;
      if (message !== lastError) options.onError(error as Error);
      lastError = message;
    }
  }, options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
