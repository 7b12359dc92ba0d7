// `npm start` (src/cli/demo.ts) as a real process on free ports: it starts a gateway and a proxy, the
// README's data point shows on its console within a second, and stopping it stops both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accepts, freePort } from '../helpers/carbon.js';
import { startProgram } from '../helpers/programs.js';

test('the demo relays `echo "some.test.data 1337 $(date +%s)" | nc localhost PORT` to its console', async () => {
  const [port, gatewayPort, gatewayStat, proxyStat] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const demo = startProgram('demo', [
    '-listen-addr', `127.0.0.1:${port}`, '-gateway-port', String(gatewayPort),
    '-gateway-stat-addr', `127.0.0.1:${gatewayStat}`, '-proxy-stat-addr', `127.0.0.1:${proxyStat}`,
    '-state-dir', mkdtempSync(join(tmpdir(), 'polymur-demo-')),
  ]);
  let exit;
  try {
    await demo.waitForLog(new RegExp(`Metrics listener started: 127\\.0\\.0\\.1:${port}`));
    await demo.waitForLog(/Connection to gateway https:\/\/localhost:\d+ successful/);
    assert.match(demo.stdout(), new RegExp(`nc localhost ${port}\\n`));
    const line = `some.test.data 1337 ${Math.floor(Date.now() / 1000)}`;
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const sent = Date.now();
    socket.end(`${line}\n`);
    await demo.waitForStdout(new RegExp(`^${line}$`, 'm'), 5000);
    const ms = Date.now() - sent;
    process.stdout.write(`# demo: the point showed on the console ${ms} ms after it was sent\n`);
    await demo.waitForLog(/\[client 127\.0\.0\.1:\d+\] key for demo is valid/);
  } finally {
    exit = await demo.stop('SIGTERM');
  }
  assert.equal(exit.code, 0, demo.stderr().slice(-2000));
  // Both programs are gone with it.
  assert.equal(await accepts(port), false, 'the proxy still listens');
  assert.equal(await accepts(gatewayPort), false, 'the gateway still listens');
});
