// `npm start` (src/cli/demo.ts) as a real process on free ports: it starts a gateway and a proxy, the
// README's data point shows on its console within a second, and stopping it stops both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accepts, freePort } from '../helpers/carbon.js';
import { startProgram } from '../../harness/programs.js';

test('the demo relays the README\'s `echo "some.test.data 1337 $(date +%s)" | nc -N localhost PORT` to its console', async () => {
  const [port, gatewayPort, gatewayStat, gatewayApi, proxyStat] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const demo = startProgram('demo', [
    '-listen-addr',
    `127.0.0.1:${port}`,
    '-gateway-port',
    String(gatewayPort),
    '-gateway-stat-addr',
    `127.0.0.1:${gatewayStat}`,
    '-gateway-api-addr',
    `127.0.0.1:${gatewayApi}`,
    '-proxy-stat-addr',
    `127.0.0.1:${proxyStat}`,
    '-state-dir',
    mkdtempSync(join(tmpdir(), 'polymur-demo-')),
  ]);
  let exit;
  try {
    await demo.waitForLog(new RegExp(`Metrics listener started: 127\\.0\\.0\\.1:${port}`));
    await demo.waitForLog(/Connection to gateway https:\/\/localhost:\d+ successful/);
    // The command the demo prints, run as printed by the shell with Debian's nc: it must return.
    const command = new RegExp(`^  (echo "some\\.test\\.data 1337 \\$\\(date \\+%s\\)" \\| nc -N localhost ${port})$`, 'm').exec(demo.stdout());
    assert.ok(command, demo.stdout());
    const sent = Date.now();
    execFileSync('bash', ['-c', command[1]!], { timeout: 10_000 });
    const line = (await demo.waitForStdout(/^some\.test\.data 1337 (\d+)$/m, 5000))[0];
    assert.ok(Math.abs(Number(line.split(' ')[2]) - sent / 1000) < 5, line);
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
