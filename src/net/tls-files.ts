// The gateway's certificate, key and client CA read from their files and checked before use: at
// start, and on SIGHUP, where a renewed certificate that is broken must not replace a good one.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { GatewayTls, TlsVersion } from './tls-policy.js';
import { fileErrorText, PolymurError } from '../errors.js';

export class TlsFileError extends PolymurError {
  readonly code = 'POLYMUR_ERR_TLS_FILE';
}

function readPem(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new TlsFileError(`${flag} ${path}: ${fileErrorText(err)}`);
  }
}

function parseCertificate(flag: string, path: string, pem: Buffer): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new TlsFileError(`${flag} ${path}: not a PEM certificate (${(err as Error).message})`);
  }
}

/** "sha256 AB:CD:… CN=localhost, valid until …": which certificate, for the log. */
export function certificateSummary(cert: X509Certificate): string {
  return `sha256 ${cert.fingerprint256} ${cert.subject.replace(/\n/g, ', ')}, valid until ${new Date(cert.validTo).toISOString()}`;
}

/** A CA file (-cert on the proxy, -client-ca on the gateway): read and checked to be a certificate. */
export function readCaFile(flag: string, path: string): { pem: Buffer; cert: X509Certificate } {
  const pem = readPem(flag, path);
  return { pem, cert: parseCertificate(flag, path, pem) };
}

export function readGatewayTls(opts: { certPath: string; keyPath: string; clientCaPath: string; minVersion: TlsVersion }): {
  tls: GatewayTls;
  cert: X509Certificate;
} {
  const certPem = readPem('-cert', opts.certPath);
  const keyPem = readPem('-key', opts.keyPath);
  const cert = parseCertificate('-cert', opts.certPath, certPem);
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new TlsFileError(`-key ${opts.keyPath}: not a PEM private key (${(err as Error).message})`);
  }
  if (!cert.checkPrivateKey(key)) throw new TlsFileError(`-key ${opts.keyPath} is not the key of the certificate in -cert ${opts.certPath}`);
  const clientCa = opts.clientCaPath !== '' ? readCaFile('-client-ca', opts.clientCaPath).pem : undefined;
  return { tls: { cert: certPem, key: keyPem, minVersion: opts.minVersion, ...(clientCa ? { clientCa } : {}) }, cert };
}
