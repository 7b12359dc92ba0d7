// `npm start`: the main job on an embedded default. A gateway (HTTPS, self-signed certificate made
// on first run, file key store with a generated key, destination: the console) and a proxy wired to
// it on :2003. State lives in ./.demo so a second run reuses the certificate and the key.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openKeyStore } from '../keys/store.js';
import { generateKey } from '../keys/generate.js';
import { log } from '../observe/log.js';

const GATEWAY_PORT = 8443;
const here = dirname(fileURLToPath(import.meta.url));
const stateDir = resolve('.demo');
const certPath = join(stateDir, 'cert.pem');
const keyPath = join(stateDir, 'key.pem');
const keyStoreUrl = `file:${join(stateDir, 'keys.json')}`;

function ensureCertificate(): void {
  if (existsSync(certPath) && existsSync(keyPath)) return;
  log(`Making a self-signed certificate for localhost in ${stateDir}`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyPath, '-out', certPath, '-days', '365', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
  ], { stdio: 'ignore' });
}

async function ensureKey(): Promise<string> {
  const store = openKeyStore(keyStoreUrl);
  try {
    const existing = await store.get('demo');
    if (existing) return existing;
    const key = generateKey();
    await store.put('demo', key);
    log('Registered the key "demo" in the demo key store');
    return key;
  } finally {
    await store.close();
  }
}

function run(program: string, args: string[]): ChildProcess {
  return spawn(process.execPath, [join(here, program), ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
}

function waitForPort(port: number, deadlineMs = 15_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  return new Promise((resolvePort, reject) => {
    const attempt = (): void => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolvePort();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > until) reject(new Error(`the demo gateway did not open port ${port}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

mkdirSync(stateDir, { recursive: true });
ensureCertificate();
const apiKey = await ensureKey();

const children: ChildProcess[] = [];
const gateway = run('gateway.js', [
  '-listen-addr', '127.0.0.1', '-listen-https-port', String(GATEWAY_PORT),
  '-cert', certPath, '-key', keyPath, '-key-store', keyStoreUrl,
  '-console-out', '-stat-addr', 'localhost:2021', '-api-addr', 'localhost:2031',
]);
children.push(gateway);
await waitForPort(GATEWAY_PORT);
const proxy = run('proxy.js', [
  '-gateway', `https://localhost:${GATEWAY_PORT}`, '-cert', certPath, '-api-key', apiKey,
  '-listen-addr', '0.0.0.0:2003', '-stat-addr', 'localhost:2020', '-flush-interval', '1s',
]);
children.push(proxy);

process.stdout.write(
  '\nPolymur demo: proxy on :2003 -> gateway https://localhost:8443 -> console.\n' +
    'Send a data point:\n  echo "some.test.data 1337 $(date +%s)" | nc localhost 2003\n' +
    'It is printed here within the flush interval (1s). Ctrl-C stops both.\n\n',
);

let exiting = false;
function stopAll(code: number): void {
  if (exiting) return;
  exiting = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  let left = children.filter((c) => c.exitCode === null).length;
  if (left === 0) process.exit(code);
  for (const child of children) child.once('exit', () => (--left === 0 ? process.exit(code) : undefined));
}
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));
for (const child of children) {
  child.once('exit', (code) => {
    if (!exiting) {
      log(`a demo program exited with code ${code}; stopping the other`);
      stopAll(code ?? 1);
    }
  });
}
