// How the etcd key store reaches a cluster: TLS for `etcds://` (a CA, optionally a client
// certificate and key) and etcd's user/password auth. Read once at start: the files' contents go
// to the client, so a changed file takes a restart.
import type { IOptions } from 'etcd3';

export interface EtcdAccess {
  /** PEM of the CA that signed the members' certificates (undefined: the system's CAs). */
  readonly ca?: Buffer;
  /** PEM of a client certificate and its key, for members run with --client-cert-auth (only with a CA). */
  readonly client?: { readonly cert: Buffer; readonly key: Buffer };
  readonly auth?: { readonly user: string; readonly password: string };
}

/** A watch stream that failed is opened again after this long, not etcd3's default (up to 30 s): a revocation must reach every gateway quickly. */
const WATCH_RETRY_MS = 500;
const constantBackoff = { duration: WATCH_RETRY_MS, next: () => constantBackoff };

/**
 * Every call (not the watch stream) ends after this long: etcd3 sets no deadline of its own, and a
 * call stuck on a member that went away would hold up every key refresh behind it; failed, it is
 * made again on another member.
 */
const CALL_TIMEOUT_MS = 2000;

/** The etcd3 client's options for these endpoints. */
export function etcdClientOptions(endpoints: readonly string[], tls: boolean, access: EtcdAccess): IOptions {
  return {
    hosts: endpoints.map((h) => `${tls ? 'https' : 'http'}://${h}`),
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + CALL_TIMEOUT_MS }),
    faultHandling: { watchBackoff: constantBackoff },
    // Without a CA, https:// hosts alone make the client trust the system's CAs.
    ...(tls && access.ca
      ? {
          credentials: {
            rootCertificate: access.ca,
            ...(access.client ? { privateKey: access.client.key, certChain: access.client.cert } : {}),
          },
        }
      : {}),
    ...(access.auth ? { auth: { username: access.auth.user, password: access.auth.password } } : {}),
  };
}
