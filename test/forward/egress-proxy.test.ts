// Which forward proxy reaches a gateway: -http-proxy, else the environment as Go's net/http reads
// it (HTTPS_PROXY for https://, HTTP_PROXY for http://, NO_PROXY), lower-case names too. Each row is
// a gateway, a flag value, an environment, and the proxy (or none) with the reason logged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseEgressProxy, describeProxy, EgressProxyError, parseProxyUrl } from '../../src/forward/egress-proxy.js';

const GW = 'https://gw.example.com:8443';
const cases: Array<[gateway: string, flag: string, env: NodeJS.ProcessEnv, proxy: string | undefined, why: RegExp]> = [
  [GW, '', {}, undefined, /^no HTTPS_PROXY in the environment$/],
  [GW, '', { HTTPS_PROXY: 'http://egress:3128' }, 'http://egress:3128/', /^HTTPS_PROXY$/],
  [GW, '', { https_proxy: 'http://lower:3128' }, 'http://lower:3128/', /^https_proxy$/],
  // Upper case first, as Go; an empty value counts as unset.
  [GW, '', { HTTPS_PROXY: 'http://upper:3128', https_proxy: 'http://lower:3128' }, 'http://upper:3128/', /^HTTPS_PROXY$/],
  [GW, '', { HTTPS_PROXY: '', https_proxy: 'http://lower:3128' }, 'http://lower:3128/', /^https_proxy$/],
  // An https:// gateway does not fall back to HTTP_PROXY (Go, curl); an http:// one uses it.
  [GW, '', { HTTP_PROXY: 'http://plain:3128' }, undefined, /^no HTTPS_PROXY/],
  ['http://gw.example.com', '', { HTTP_PROXY: 'http://plain:3128', HTTPS_PROXY: 'http://tls:3128' }, 'http://plain:3128/', /^HTTP_PROXY$/],
  // Go's rule: a proxy without a scheme is http://.
  [GW, '', { HTTPS_PROXY: 'egress:3128' }, 'http://egress:3128/', /^HTTPS_PROXY$/],
  // NO_PROXY: hosts, domains, ports, *, IPv6; comma or space separated.
  [GW, '', { HTTPS_PROXY: 'http://e:1', NO_PROXY: 'gw.example.com' }, undefined, /^NO_PROXY entry "gw\.example\.com"$/],
  [GW, '', { HTTPS_PROXY: 'http://e:1', NO_PROXY: 'other.org, .example.com' }, undefined, /^NO_PROXY entry "\.example\.com"$/],
  [GW, '', { HTTPS_PROXY: 'http://e:1', no_proxy: 'x *.example.com' }, undefined, /^no_proxy entry "\*\.example\.com"$/],
  [GW, '', { HTTPS_PROXY: 'http://e:1', NO_PROXY: 'example.com:8443' }, undefined, /^NO_PROXY entry "example\.com:8443"$/],
  [GW, '', { HTTPS_PROXY: 'http://e:1', NO_PROXY: 'example.com:443' }, 'http://e:1/', /^HTTPS_PROXY$/],
  [GW, '', { HTTPS_PROXY: 'http://e:1', NO_PROXY: 'ample.com,gw.example' }, 'http://e:1/', /^HTTPS_PROXY$/],
  [GW, '', { HTTPS_PROXY: 'http://e:1', NO_PROXY: '*' }, undefined, /^NO_PROXY entry "\*"$/],
  ['https://[::1]:8443', '', { HTTPS_PROXY: 'http://e:1', NO_PROXY: '[::1]:8443' }, undefined, /^NO_PROXY entry "\[::1\]:8443"$/],
  ['https://[::1]:8443', '', { HTTPS_PROXY: 'http://e:1', NO_PROXY: '::1' }, undefined, /^NO_PROXY entry "::1"$/],
  ['https://localhost:8443', '', { HTTPS_PROXY: 'http://e:1' }, 'http://e:1/', /^HTTPS_PROXY$/],
  // The flag wins over everything the environment says.
  [GW, 'http://flag:3128', { HTTPS_PROXY: 'http://env:3128', NO_PROXY: '*' }, 'http://flag:3128/', /^-http-proxy$/],
  [GW, 'none', { HTTPS_PROXY: 'http://env:3128' }, undefined, /^-http-proxy none$/],
];

test('chooseEgressProxy: flag, environment, NO_PROXY', () => {
  for (const [gateway, flag, env, proxy, why] of cases) {
    const choice = chooseEgressProxy(new URL(gateway), flag, env);
    const label = `${gateway} flag=${JSON.stringify(flag)} env=${JSON.stringify(env)}`;
    assert.equal(choice.proxy?.href, proxy, label);
    assert.match(choice.why, why, label);
  }
});

test('proxy URLs that cannot work are refused, naming where they came from; a password is never shown', () => {
  assert.throws(
    () => parseProxyUrl('socks5://h:1080', '-http-proxy'),
    new EgressProxyError('-http-proxy "socks5://h:1080": only http:// proxies are supported (the tunnel to the gateway is TLS, end to end)'),
  );
  assert.throws(() => chooseEgressProxy(new URL(GW), '', { https_proxy: 'http://[x' }), /^EgressProxyError: https_proxy "http:\/\/\[x" is not a proxy URL/);
  assert.throws(() => parseProxyUrl('http://bob:pw@[x', 'HTTPS_PROXY'), /^EgressProxyError: HTTPS_PROXY "http:\/\/\*\*\*@\[x" is not a proxy URL/);
  // A bad value is refused even when NO_PROXY would bypass it: it is a mistake either way.
  assert.throws(() => chooseEgressProxy(new URL(GW), '', { HTTPS_PROXY: 'ftp://h', NO_PROXY: '*' }), /HTTPS_PROXY "ftp:\/\/h": only http:\/\//);
  assert.equal(describeProxy(new URL('http://alice:s3cret@egress:3128/path')), 'http://alice:***@egress:3128');
  assert.equal(describeProxy(new URL('http://alice@egress:3128')), 'http://alice@egress:3128');
  assert.equal(describeProxy(new URL('http://egress:3128')), 'http://egress:3128');
});
