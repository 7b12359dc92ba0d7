// The gateway's TLS settings: TLS 1.2 or later, and only cipher suites with forward secrecy and
// authenticated encryption (ECDHE/DHE key exchange, GCM or ChaCha20-Poly1305; TLS 1.3's suites
// have both). Node's default list would also take plain-RSA key exchange and CBC-SHA1 suites.
export const TLS_VERSIONS = { '1.2': 'TLSv1.2', '1.3': 'TLSv1.3' } as const;
export type TlsVersion = keyof typeof TLS_VERSIONS;

/** Mozilla's "intermediate" list: every client of the last years (Go's crypto/tls included) has them. */
export const FORWARD_SECRET_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'DHE-RSA-AES128-GCM-SHA256',
  'DHE-RSA-AES256-GCM-SHA384',
].join(':');

export interface GatewayTls {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly minVersion: TlsVersion;
  /** -client-ca: clients must present a certificate this CA signed (the API key is still required). */
  readonly clientCa?: Buffer;
}

/** The options node:tls takes for these settings. */
export function tlsServerOptions(tls: GatewayTls): {
  cert: Buffer;
  key: Buffer;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  ciphers: string;
  honorCipherOrder: boolean;
  requestCert: boolean;
  rejectUnauthorized: boolean;
  ca?: Buffer;
} {
  return {
    cert: tls.cert,
    key: tls.key,
    minVersion: TLS_VERSIONS[tls.minVersion],
    ciphers: FORWARD_SECRET_CIPHERS,
    honorCipherOrder: true,
    requestCert: tls.clientCa !== undefined,
    rejectUnauthorized: tls.clientCa !== undefined,
    ...(tls.clientCa !== undefined ? { ca: tls.clientCa } : {}),
  };
}
